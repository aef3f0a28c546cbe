"""Replicas of a clustered store: their layout (pure) and their attachment (redis-py).

``create_database(db_nodes=N, replicas=R)`` runs ``N * (1 + R)`` server processes, all
with the same generated config (cluster mode, the store's password for clients and, as
``masteruser``/``masterauth``, for replication). Nodes ``0 .. N-1`` start as the masters
and share the 16384 slots (:func:`insitu.store.cluster_setup.form_cluster`); node
``N * k + i`` (``k = 1 .. R``) starts as a replica of master ``i`` (:func:`master_of`) and
is attached by :func:`attach_replicas`: met by the cluster, then ``CLUSTER REPLICATE``.
Roles change at a failover: a node's index says how it started, not what it is now.

Failover is Redis Cluster's own: a master that does not answer its peers for
``cluster-node-timeout`` (insitu's default 5000 ms; the option ``cluster_node_timeout``
changes it) is marked failed and its replica is promoted, typically within one to two
timeouts. Replication is asynchronous: a write acknowledged by a master may be lost if the
master dies before it reached a replica, unless the client waits for the replicas
(``INSITU_WAIT_REPLICAS``, see :mod:`insitu.client.durability`).

Every node has an inference worker beside it; a worker serves only while its node is a
master (it owns slots), so the worker beside a promoted replica takes over its shard's
requests (see :mod:`insitu.inference.shard`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import redis

from insitu._checks import check_int
from insitu.connection.redis_clients import shard_session
from insitu.errors import ClusterSetupError, InvalidArgumentError, UnsupportedOptionError
from insitu.log import get_logger
from insitu.store.cluster_setup import cluster_ready, parse_cluster_info
from insitu.store.topology import CLUSTER_SLOTS
from insitu.wire.endpoint import Endpoint

logger = get_logger(__name__)

_POLL = 0.05
_execute: Callable[..., object] = redis.Redis.execute_command


def check_replicas(value: object, db_nodes: int, *, multi_host: bool) -> int:
    """``replicas``: an int >= 0; more than 0 needs a cluster (``db_nodes >= 3``) on the
    local launcher (typed errors otherwise, before anything starts)."""
    count = check_int("replicas", value, minimum=0)
    if count and db_nodes < 3:
        raise InvalidArgumentError(
            f"replicas={count} needs a cluster (db_nodes >= 3): a standalone store has no failover"
        )
    if count and multi_host:
        raise UnsupportedOptionError(
            "replicas", "this version of insitu on a workload manager",
            "replicas run on the local launcher only for now",
        )  # fmt: skip
    return count


def master_of(node: int, db_nodes: int) -> int | None:
    """The master a node starts as a replica of, or None for a master (pure)."""
    return None if node < db_nodes else node % db_nodes


def attach_replicas(
    masters: Sequence[Endpoint], replicas: Sequence[Endpoint], deadline: float
) -> None:
    """Make every node of ``replicas`` a replica of its master (``replicas[j]`` of
    ``masters[j % len(masters)]``) in the cluster the ``masters`` already form, and wait
    until the cluster is whole and every replica is in sync. ClusterSetupError naming
    what was seen once ``deadline`` (``time.monotonic()``) passed."""
    try:
        ids = [str(_call(m, "CLUSTER", "MYID")) for m in masters]
        for replica in replicas:
            _call(masters[0], "CLUSTER", "MEET", replica.address.host, replica.address.port)
        for j, replica in enumerate(replicas):
            _replicate(replica, ids[j % len(masters)], deadline)
    except (redis.RedisError, OSError) as err:
        raise ClusterSetupError(f"attaching replicas failed: {err}") from err
    total = len(masters) + len(replicas)
    while True:
        seen = {str(node): _state(node, total) for node in [*masters, *replicas]}
        waiting = {where: what for where, what in seen.items() if what != "ok"}
        if not waiting:
            logger.debug("%d replicas in sync", len(replicas))
            return
        if time.monotonic() >= deadline:
            detail = "; ".join(f"{w}: {s}" for w, s in waiting.items())
            raise ClusterSetupError(f"replicas not in sync before the deadline; seen: {detail}")
        time.sleep(_POLL)  # a poll interval: the cluster gossips on its own schedule


def cluster_serving(nodes: Sequence[Endpoint]) -> bool:
    """True if every node that answers reports ``cluster_state:ok`` and every slot's
    master answers (so a master that died is not counted until its replica took over)."""
    answering: list[Endpoint] = []
    for node in nodes:
        try:
            info = parse_cluster_info(str(_call(node, "CLUSTER", "INFO")))
        except (redis.RedisError, OSError):
            continue
        if info.get("cluster_state") != "ok":
            return False
        answering.append(node)
    if not answering:
        return False
    reachable = {(n.address.host, n.address.port) for n in answering}
    try:
        slots = _call(answering[0], "CLUSTER", "SLOTS")
    except (redis.RedisError, OSError):
        return False
    entries = slots if isinstance(slots, list) else []
    served = sum(int(e[1]) - int(e[0]) + 1 for e in entries)
    masters = {(str(e[2][0]), int(e[2][1])) for e in entries}
    return served == CLUSTER_SLOTS and masters <= reachable


def _replicate(replica: Endpoint, master_id: str, deadline: float) -> None:
    """``CLUSTER REPLICATE`` once the replica has heard of its master (gossip)."""
    while True:
        try:
            _call(replica, "CLUSTER", "REPLICATE", master_id)
            return
        except redis.ResponseError as err:
            if "Unknown node" not in str(err) or time.monotonic() >= deadline:
                raise
        time.sleep(_POLL)  # a poll interval: the MEET spreads by gossip


def _state(node: Endpoint, total: int) -> str:
    """ "ok", or what the node lacks: the whole cluster in view, or (a replica) its sync."""
    try:
        info = parse_cluster_info(str(_call(node, "CLUSTER", "INFO")))
        if not cluster_ready(info, total):
            state, known = info.get("cluster_state"), info.get("cluster_known_nodes")
            return f"cluster_state={state}, known nodes={known}"
        with shard_session(node) as conn:
            replication = conn.info("replication")
        if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
            return f"replica link {replication.get('master_link_status')}"
    except (redis.RedisError, OSError) as err:
        return f"{type(err).__name__}: {err}"
    return "ok"


def _call(node: Endpoint, *args: object) -> object:
    with shard_session(node) as conn:
        return _execute(conn, *args)
