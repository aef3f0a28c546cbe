"""THE worker contract: how an inference worker is started and configured.

The Orchestrator starts one worker beside every shard (or colocated store) with
:func:`worker_argv`; the worker reads it back with :func:`parse_worker_argv`. The store
password travels only in the environment variable :data:`WORKER_PASSWORD_ENV`, never on the
command line, and so does the CA certificate of a TLS store (:data:`WORKER_TLS_CA_ENV`, a
path); :data:`WORKER_SPIN_ENV` and :data:`WORKER_LOG_LEVEL_ENV` are read from the
environment the worker inherits from the driver.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from insitu.errors import InvalidArgumentError

WORKER_PASSWORD_ENV = "INSITU_WORKER_PASSWORD"
"""The worker reads the store password from this environment variable (never argv)."""

WORKER_TLS_CA_ENV = "INSITU_WORKER_TLS_CA"
"""Path of the CA certificate of a TLS store (unset: the store is plain TCP or a socket)."""

WORKER_MODULE = "insitu.inference.worker"

WORKER_LOG_LEVEL_ENV = "INSITU_WORKER_LOG_LEVEL"
"""The worker's log level (a :mod:`logging` level name; default ``INFO``)."""

WORKER_SPIN_ENV = "INSITU_WORKER_SPIN_US"
"""How long (µs) a worker that just served a request polls for the next one before it
sleeps; read from the worker's environment, which it inherits from the driver."""
DEFAULT_WORKER_SPIN_US = 1000
_MAX_WORKER_SPIN_US = 1_000_000


def worker_spin_us(environ: Mapping[str, str]) -> int:
    """The polling time :data:`WORKER_SPIN_ENV` sets in ``environ`` (default
    :data:`DEFAULT_WORKER_SPIN_US`; empty: the default). InvalidArgumentError naming the
    variable unless it is an integer from 0 (never poll) to 1,000,000.

    Why poll: a request that finds its worker asleep pays the wake-up of a sleeping thread
    (tens of µs on a virtual machine, where an idle CPU must be woken too), and the model
    then runs with cold caches. Requests that follow each other closely find it awake. Each
    empty poll yields the CPU, so other work on it still runs at once; an idle worker (no
    request for longer than this) sleeps."""
    raw = environ.get(WORKER_SPIN_ENV, "").strip()
    if not raw:
        return DEFAULT_WORKER_SPIN_US
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= _MAX_WORKER_SPIN_US:
        raise InvalidArgumentError(
            f"{WORKER_SPIN_ENV} must be an integer from 0 to {_MAX_WORKER_SPIN_US:,} "
            f"(µs), got {raw!r}"
        )
    return value


@dataclass(frozen=True)
class WorkerThreads:
    """Thread settings of one worker (SmartSim's Orchestrator kwargs of the same names).

    ``threads_per_queue``: requests the worker runs concurrently (default 1);
    ``inter_op_threads``/``intra_op_threads``: the backend's thread pools (default: the
    backend's own choice). ``None`` means "not set".
    """

    threads_per_queue: int | None = None
    inter_op_threads: int | None = None
    intra_op_threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("threads_per_queue", "inter_op_threads", "intra_op_threads"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise InvalidArgumentError(f"{name} must be an int or None, got {value!r}")
            if value is not None and value < 1:
                raise InvalidArgumentError(f"{name} must be at least 1, got {value}")


def worker_argv(
    address: str,
    shard_index: int,
    num_shards: int,
    device: str = "CPU",
    threads: WorkerThreads = WorkerThreads(),
    db_identifier: str = "orchestrator",
) -> list[str]:
    """The command that starts the worker of shard ``shard_index`` (of ``num_shards``) of
    the store at ``address`` (``host:port`` or ``unix:///path``), running models on
    ``device`` (``CPU``, ``GPU`` or ``GPU:<n>``). Set :data:`WORKER_PASSWORD_ENV` in its
    environment."""
    if not 0 <= shard_index < num_shards:
        raise InvalidArgumentError(f"shard_index {shard_index} is outside 0..{num_shards - 1}")
    argv = [sys.executable, "-m", WORKER_MODULE, "--address", address]
    argv += ["--shard-index", str(shard_index), "--num-shards", str(num_shards)]
    argv += ["--device", device, "--db-identifier", db_identifier]
    for flag, value in (
        ("--threads-per-queue", threads.threads_per_queue),
        ("--inter-op-threads", threads.inter_op_threads),
        ("--intra-op-threads", threads.intra_op_threads),
    ):
        if value is not None:
            argv += [flag, str(value)]
    return argv


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker is told at start."""

    address: str
    shard_index: int
    num_shards: int
    device: str = "CPU"
    threads: WorkerThreads = field(default_factory=WorkerThreads)
    db_identifier: str = "orchestrator"
    password: str | None = None
    spin_us: int = DEFAULT_WORKER_SPIN_US  # see worker_spin_us
    tls_ca: str | None = None  # the CA certificate of a TLS store


def parse_worker_argv(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> WorkerConfig:
    """The configuration from the command line (:func:`worker_argv`) and the password and
    polling time from ``environ`` (default ``os.environ``); exits with status 2 and a usage
    message on a bad command line, as a command-line program does."""
    parser = argparse.ArgumentParser(prog="python -m insitu.inference.worker")
    parser.add_argument("--address", required=True)
    parser.add_argument("--shard-index", type=int, required=True)
    parser.add_argument("--num-shards", type=int, required=True)
    parser.add_argument("--device", default="CPU")
    parser.add_argument("--db-identifier", default="orchestrator")
    parser.add_argument("--threads-per-queue", type=int)
    parser.add_argument("--inter-op-threads", type=int)
    parser.add_argument("--intra-op-threads", type=int)
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    try:
        spin_us = worker_spin_us(env)
    except InvalidArgumentError as err:
        parser.error(str(err))
    threads = WorkerThreads(args.threads_per_queue, args.inter_op_threads, args.intra_op_threads)
    return WorkerConfig(
        address=args.address,
        shard_index=args.shard_index,
        num_shards=args.num_shards,
        device=args.device.strip().upper(),
        threads=threads,
        db_identifier=args.db_identifier,
        password=env.get(WORKER_PASSWORD_ENV) or None,
        spin_us=spin_us,
        tls_ca=env.get(WORKER_TLS_CA_ENV) or None,
    )
