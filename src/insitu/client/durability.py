"""Waiting for replicas after a write (``WAIT``): opt-in durability of a client (pure).

Redis and Valkey replicate asynchronously: a write is acknowledged by the master as soon
as the master applied it, and reaches the replicas a moment later. A master that dies in
that moment takes the write with it, and the replica promoted in its place never saw it.

``INSITU_WAIT_REPLICAS=<n>`` (default 0: off) makes every write of a client end with
``WAIT <n> <INSITU_WAIT_TIMEOUT_MS>`` on the same connection: the call returns only once
``n`` replicas of the key's shard confirmed they received the write (everything the
connection wrote before, in fact), and otherwise raises
:class:`~insitu.errors.ReplicationTimeoutError`, whose write *was applied on the master*
but may be lost in a failover. So with the option on, a write that returned normally
survives the failure of its master, provided one of those ``n`` replicas is promoted (a
cluster promotes the most up-to-date replica). It is not fsync durability: replicas keep
data in memory (add ``persist="aof"`` for that) and a write can still be lost if the
master and those replicas all die. Writes cost one more round trip to the replicas.
Every write of the client waits (values, datasets, lists, deletes, copies, model and
script records); the outputs of a run, which the store module writes when a worker
answers, do not.
``INSITU_WAIT_TIMEOUT_MS`` (default 1000) bounds the wait; it is cut to half of
``SR_CMD_TIMEOUT``, so that a wait never looks like a dead server to the connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from insitu.errors import RedisParameterError, ReplicationTimeoutError

WAIT_REPLICAS_ENV = "INSITU_WAIT_REPLICAS"
WAIT_TIMEOUT_ENV = "INSITU_WAIT_TIMEOUT_MS"
DEFAULT_WAIT_MS = 1000


@dataclass(frozen=True)
class Durability:
    """How many replicas must confirm each write, and how long to wait for them."""

    replicas: int = 0
    timeout_ms: int = DEFAULT_WAIT_MS

    @property
    def enabled(self) -> bool:
        """True when writes wait for replicas."""
        return self.replicas > 0

    def bounded(self, limit_ms: int) -> Durability:
        """This durability with its wait cut to ``limit_ms`` (at least 1 ms): a WAIT must
        end before the connection's read timeout would take it for a dead server."""
        return replace(self, timeout_ms=max(1, min(self.timeout_ms, limit_ms)))

    def wait_command(self) -> tuple[str, int, int]:
        """The command that follows each write on its connection."""
        return ("WAIT", self.replicas, self.timeout_ms)

    def check(self, reply: object, key: str, address: str) -> None:
        """ReplicationTimeoutError unless ``reply`` (WAIT's) counts enough replicas."""
        confirmed = reply if isinstance(reply, int) else -1
        if confirmed < self.replicas:
            raise ReplicationTimeoutError(
                f"the write of {key!r} was applied by the master at {address} but only "
                f"{max(confirmed, 0)} of {self.replicas} replicas confirmed it within "
                f"{self.timeout_ms} ms ({WAIT_TIMEOUT_ENV}); a failover may lose it",
                key=key,
                confirmed=max(confirmed, 0),
                requested=self.replicas,
            )


NO_WAIT = Durability()
"""Writes return once the master applied them (Redis's default)."""


def durability_from_env(env: Mapping[str, str]) -> Durability:
    """The durability ``env`` asks for; RedisParameterError naming a bad variable."""
    return Durability(
        _non_negative(env, WAIT_REPLICAS_ENV, 0, minimum=0),
        _non_negative(env, WAIT_TIMEOUT_ENV, DEFAULT_WAIT_MS, minimum=1),
    )


def _non_negative(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise RedisParameterError(f"{name}={raw!r} must be an integer >= {minimum}")
    return value
