"""Form a Redis Cluster from running shards, with redis-py (no ``redis-cli --cluster``).

Steps, in order: give each node a distinct config epoch and its even share of the 16384
slots (``CLUSTER SET-CONFIG-EPOCH``, ``CLUSTER ADDSLOTSRANGE``), introduce every node to the
first (``CLUSTER MEET``), then poll until every node reports ``cluster_state:ok``, knows all
nodes and sees all slots assigned. No replicas.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import redis

from insitu.connection.redis_clients import shard_session
from insitu.errors import ClusterSetupError
from insitu.log import get_logger
from insitu.store.topology import CLUSTER_SLOTS, slot_ranges
from insitu.wire.endpoint import Endpoint

logger = get_logger(__name__)

_FIRST_POLL = 0.02
_MAX_POLL = 0.2

# redis-py leaves execute_command unannotated; this typed alias keeps the calls checkable.
_execute: Callable[..., object] = redis.Redis.execute_command


def parse_cluster_info(text: str) -> dict[str, str]:
    """``CLUSTER INFO`` reply text → field map (pure)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep:
            fields[key] = value
    return fields


def cluster_ready(info: Mapping[str, str], num_nodes: int) -> bool:
    """True if one node's ``CLUSTER INFO`` shows a complete, healthy cluster of ``num_nodes``."""
    return (
        info.get("cluster_state") == "ok"
        and info.get("cluster_known_nodes") == str(num_nodes)
        and info.get("cluster_slots_assigned") == str(CLUSTER_SLOTS)
        and info.get("cluster_slots_ok") == str(CLUSTER_SLOTS)
    )


def form_cluster(shards: Sequence[Endpoint], deadline: float) -> None:
    """Turn the fresh cluster-mode shards at ``shards`` (TCP) into one cluster.

    ``deadline`` is a ``time.monotonic()`` instant. Raises :class:`ClusterSetupError` with
    what each node reported if a command fails or the cluster is not ready in time.
    """
    ranges = slot_ranges(len(shards))
    try:
        for index, (shard, (first, last)) in enumerate(zip(shards, ranges, strict=True)):
            with shard_session(shard) as conn:
                # Distinct epochs up front (as `redis-cli --cluster create` does) spare the
                # cluster an epoch-collision round before it settles.
                _execute(conn, "CLUSTER", "SET-CONFIG-EPOCH", index + 1)
                missing = missing_ranges(first, last, _owned(conn), str(shard))
                if missing:
                    _execute(conn, "CLUSTER", "ADDSLOTSRANGE", *[s for r in missing for s in r])
        with shard_session(shards[0]) as conn:
            for shard in shards[1:]:
                _execute(conn, "CLUSTER", "MEET", shard.address.host, shard.address.port)
    except (redis.RedisError, OSError) as err:
        raise ClusterSetupError(f"cluster setup command failed: {err}") from err
    _wait_until_ready(shards, deadline)
    logger.debug("cluster of %d shards ready: %s", len(shards), ", ".join(map(str, shards)))


def missing_ranges(
    first: int, last: int, owned: Sequence[tuple[int, int]], shard: str
) -> list[tuple[int, int]]:
    """The sub-ranges of ``first..last`` a node still has to claim, given the ranges it
    ``owned`` already: a shard restarted from persistence files claims the slots of the
    keys it loaded (pure). ClusterSetupError if it owns a slot outside its range (its
    files are from a store of another layout)."""
    taken = sorted(owned)
    for start, end in taken:
        if start < first or end > last:
            raise ClusterSetupError(
                f"shard {shard} loaded keys of slots {start}-{end}, outside its range "
                f"{first}-{last}: its data files are from a store with another number of shards"
            )
    out: list[tuple[int, int]] = []
    cursor = first
    for start, end in taken:
        if start > cursor:
            out.append((cursor, start - 1))
        cursor = max(cursor, end + 1)
    if cursor <= last:
        out.append((cursor, last))
    return out


def _owned(conn: redis.Redis) -> list[tuple[int, int]]:
    """The slot ranges a fresh node already serves (those of keys it loaded from disk)."""
    return [(int(entry[0]), int(entry[1])) for entry in _execute(conn, "CLUSTER", "SLOTS")]  # type: ignore[attr-defined]


def _node_info(shard: Endpoint) -> dict[str, str]:
    try:
        with shard_session(shard) as conn:
            reply = _execute(conn, "CLUSTER", "INFO")
    except (redis.RedisError, OSError) as err:
        return {"error": f"{type(err).__name__}: {err}"}
    return parse_cluster_info(str(reply))


def _summary(seen: Mapping[str, Mapping[str, str]]) -> str:
    keys = ("cluster_state", "cluster_known_nodes", "cluster_slots_assigned", "error")
    return "; ".join(
        f"{address}: " + ", ".join(f"{k}={info[k]}" for k in keys if k in info)
        for address, info in seen.items()
    )


def _wait_until_ready(shards: Sequence[Endpoint], deadline: float) -> None:
    interval = _FIRST_POLL
    while True:
        seen = {str(shard): _node_info(shard) for shard in shards}
        if all(cluster_ready(info, len(shards)) for info in seen.values()):
            return
        if time.monotonic() >= deadline:
            raise ClusterSetupError(
                f"cluster not ready before the deadline; seen: {_summary(seen)}"
            )
        time.sleep(interval)  # a poll interval: the loop re-checks every node
        interval = min(interval * 2, _MAX_POLL)
