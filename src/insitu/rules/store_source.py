"""Store metrics for rules: the :class:`~insitu.rules.metrics.MetricSource` over insitu's
``Client``.

An application publishes a metric by writing a decimal string to ``insitu:metric:<name>``
(the bytes of ``repr(float(value))``; :func:`publish_metric` does it with a redis-py client,
``Client.put_bytes`` with insitu's, prefixing off); rules read it as ``store.<name>``. The
key is never prefixed: metrics are the ensemble's, not one member's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis

from insitu.client import Client
from insitu.errors import RedisKeyError
from insitu.rules.metrics import metric_key, parse_metric_value


class StoreMetricSource:
    """Reads ``insitu:metric:<name>`` from a standalone store or a Redis Cluster through a
    ``Client`` (so connection, retries and errors are the client's).

    ``addresses`` are ``host:port`` strings (or one ``unix://<path>``); ``password`` is the
    store's (insitu's stores always have one); ``tls_ca`` the CA certificate of a TLS
    store. Raises the Client's errors (e.g. RedisConnectionError) if the store cannot be
    reached.
    """

    def __init__(
        self,
        addresses: Sequence[str],
        password: str = "",
        clustered: bool = False,
        tls_ca: str | None = None,
    ):
        if not addresses:
            raise ValueError("a store metric source needs at least one address")
        self._client = Client(
            clustered, ",".join(addresses), password=password or None, tls_ca=tls_ca or None
        )
        self._client.use_tensor_ensemble_prefix(False)

    def read(self, names: Sequence[str]) -> Mapping[str, float]:
        """Current values of ``names`` (absent or non-numeric ones left out)."""
        out: dict[str, float] = {}
        for name in names:
            try:
                raw = self._client.get_bytes(metric_key(name))
            except RedisKeyError:
                continue
            value = parse_metric_value(raw)
            if value is not None:
                out[name] = value
        return out

    def close(self) -> None:
        """Close the connections."""
        self._client.close()


def publish_metric(client: redis.Redis, name: str, value: float) -> None:
    """Write metric ``name`` as an application would (for scripts without insitu's Client)."""
    client.set(metric_key(name), repr(float(value)))
