"""How the runtime starts an inference worker and learns that it serves requests.

This module is the contract between the Orchestrator (which starts one worker beside
every shard or colocated store, and restarts it if it dies) and the worker:

* :func:`worker_argv` is the command line; the store password travels only in the
  environment variable :data:`WORKER_PASSWORD_ENV`, never on the command line.
* :func:`worker_is_ready` is True once a worker of that shard serves requests (its
  heartbeat key exists, see :mod:`insitu.client.keys`). Requests sent before a worker is
  ready wait in the shard's stream, so a caller may also proceed without waiting.

The worker imports no ML framework until a model of that backend is used, exits cleanly on
SIGTERM, and reconnects when its store restarts.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

import redis.exceptions as rex

from insitu.client.keys import heartbeat_key
from insitu.errors import InvalidArgumentError, RedisConnectionError
from insitu.inference.shard import connect, shard_tag

WORKER_PASSWORD_ENV = "INSITU_WORKER_PASSWORD"
"""The worker reads the store password from this environment variable (never argv)."""

WORKER_MODULE = "insitu.inference.worker"

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


def worker_is_ready(address: str, password: str, shard_index: int) -> bool:
    """True once a worker serves shard ``shard_index`` of the store at ``address``.

    False while the store or the worker is not up yet; RedisConnectionError if the store
    refuses ``password`` (waiting would not help)."""
    conn = connect(address, password, timeout=2.0)
    try:
        tag = shard_tag(conn)
        return tag is not None and bool(conn.exists(heartbeat_key(tag, shard_index)))
    except rex.AuthenticationError as err:
        raise RedisConnectionError(f"the store at {address} refused the password: {err}") from err
    except (rex.RedisError, OSError):
        return False
    finally:
        conn.close()
