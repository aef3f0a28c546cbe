"""Model batching settings: SmartRedis's three batch arguments of ``set_model`` and their
checks (pure). Stored with the model (:mod:`insitu.wire.model_record`) and read by the
worker that merges requests (:mod:`insitu.inference.batching`).

With ``batch_size > 0`` a worker merges requests for the same model whose inputs agree in
count, dtype and every dimension but the first, up to ``batch_size`` samples (dimension 0
summed). It waits up to ``min_batch_timeout`` ms for at least ``min_batch_size`` samples;
with ``min_batch_timeout == 0`` it waits for them at most until the oldest request's caller
would have waited half of its remaining time (RedisAI waits without limit; insitu never
lets a caller time out because of batching). A request larger than ``batch_size`` runs
alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from insitu._checks import check_int
from insitu.errors import BatchingParameterError, RedisParameterError


@dataclass(frozen=True)
class ModelBatching:
    """``batch_size`` (0: no batching), ``min_batch_size``, ``min_batch_timeout`` (ms)."""

    batch_size: int = 0
    min_batch_size: int = 0
    min_batch_timeout: int = 0

    @property
    def enabled(self) -> bool:
        """True if requests may be merged."""
        return self.batch_size > 0


def check_batch_settings(
    batch_size: object, min_batch_size: object, min_batch_timeout: object
) -> ModelBatching:
    """The settings, checked as SmartRedis checks them (TypeError for non-ints,
    RedisParameterError for inconsistent values)."""
    size = check_int("batch_size", batch_size, minimum=None)
    min_size = check_int("min_batch_size", min_batch_size, minimum=None)
    timeout = check_int("min_batch_timeout", min_batch_timeout, minimum=None)
    for name, value in (
        ("batch_size", size),
        ("min_batch_size", min_size),
        ("min_batch_timeout", timeout),
    ):
        if value < 0:
            raise RedisParameterError(f"{name} must be a non-negative integer")
    if size == 0 and (min_size > 0 or timeout > 0):
        raise BatchingParameterError(
            "batch_size must be non-zero if min_batch_size or min_batch_timeout is used; "
            "otherwise batching will not be performed."
        )
    if timeout > 0 and min_size == 0:
        raise BatchingParameterError(
            "min_batch_size must be non-zero if min_batch_timeout is used; otherwise the "
            "min_batch_timeout parameter is ignored."
        )
    return ModelBatching(size, min_size, timeout)
