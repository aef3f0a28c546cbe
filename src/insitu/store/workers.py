"""The inference workers beside a store's shards, as JobSpecs (pure).

Every shard (standalone, each cluster shard, each colocated store) gets
``workers`` worker processes per inference device, started by the runtime once the shard is
ready and stopped with it. A worker runs models on its device: ``CPU``, or ``GPU:<n>`` —
"pinned" to that GPU by its device argument, so that models stored with the ``*_multigpu``
calls find one worker per GPU. The worker reaches its shard at the shard's own address and
reads the store password from :data:`~insitu.wire.worker.WORKER_PASSWORD_ENV`, never
from its command line. It shares the shard's CPU pinning (the CPUs given to the store serve
both the server and its inference, as RedisAI did inside the server).

Job names are ``<shard>.worker`` for a single worker, ``<shard>.worker<k>`` otherwise; their
entity type is ``EntityType.WORKER``. A worker runs in its shard's directory and logs
there (``<shard>/<shard>.worker.out``/``.err``), so that the store's own directory keeps
only what SmartSim users expect (one ``<shard>.out`` per shard).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from insitu import _checks as tc
from insitu.errors import InvalidArgumentError
from insitu.jobs import JobSpec, Resources
from insitu.jobs.entity_types import EntityType
from insitu.wire.worker import (
    WORKER_PASSWORD_ENV,
    WORKER_TLS_CA_ENV,
    WorkerThreads,
    worker_argv,
)

"""Entity type of worker jobs (left out of ``Experiment.summary()``)."""

_DEVICE_RE = re.compile(r"^(CPU|GPU:\d+)$")


@dataclass(frozen=True)
class WorkerLayout:
    """How many workers run beside each shard, on which devices, with which threads.

    ``workers`` per device per shard (0: none); ``devices`` are ``CPU`` or ``GPU:<n>``.
    """

    workers: int = 1
    devices: tuple[str, ...] = ("CPU",)
    threads: WorkerThreads = field(default_factory=WorkerThreads)

    @property
    def per_shard(self) -> int:
        """Worker processes beside each shard."""
        return self.workers * len(self.devices)


@dataclass(frozen=True)
class ShardFacts:
    """What a worker needs of its shard: job name, address, directory, CPU pinning."""

    name: str
    address: str
    directory: Path
    cpu_pinning: tuple[int, ...] = ()


def check_workers(value: object) -> int:
    """``inference_workers``: an int >= 0."""
    return tc.check_int("inference_workers", value, minimum=0)


def parse_devices(value: object) -> tuple[str, ...]:
    """``inference_devices``: ``"CPU"``, ``"GPU:<n>"`` or a list of them (upper-cased,
    distinct, at least one). A bare ``"GPU"`` is refused: say which GPUs."""
    names = tc.check_str_list("inference_devices", value)
    devices = tuple(dict.fromkeys(name.strip().upper() for name in names))
    if not devices:
        raise InvalidArgumentError("inference_devices must name at least one device")
    for device in devices:
        if not _DEVICE_RE.match(device):
            raise InvalidArgumentError(
                f"inference device {device!r} is not valid; use 'CPU' or 'GPU:<n>' "
                "(one worker is pinned to each GPU listed)"
            )
    return devices


def worker_names(shard: str, layout: WorkerLayout) -> list[str]:
    """Job names of the workers beside ``shard``."""
    if layout.per_shard == 1:
        return [f"{shard}.worker"]
    return [f"{shard}.worker{k}" for k in range(layout.per_shard)]


def worker_specs(
    shards: Sequence[ShardFacts],
    layout: WorkerLayout,
    password: str,
    db_identifier: str,
    tls_ca: str | None = None,
) -> list[JobSpec]:
    """One JobSpec per worker of every shard, in shard order (``tls_ca``: the CA
    certificate of a TLS store, handed on in the environment)."""
    specs: list[JobSpec] = []
    env = {WORKER_PASSWORD_ENV: password, "PYTHONUNBUFFERED": "1"}
    if tls_ca:
        env[WORKER_TLS_CA_ENV] = tls_ca
    devices = [d for d in layout.devices for _ in range(layout.workers)]
    for index, shard in enumerate(shards):
        directory = shard.directory
        for name, device in zip(worker_names(shard.name, layout), devices, strict=True):
            argv = worker_argv(
                shard.address, index, len(shards), device, layout.threads, db_identifier
            )
            specs.append(
                JobSpec(
                    name=name,
                    exe=argv[0],
                    args=tuple(argv[1:]),
                    cwd=directory,
                    env=dict(env),
                    out_path=directory / f"{name}.out",
                    err_path=directory / f"{name}.err",
                    resources=Resources(cpu_pinning=shard.cpu_pinning),
                    entity_type=EntityType.WORKER,
                )
            )
    return specs
