"""Which hash tag addresses one shard's inference keys (the I/O half of
:func:`insitu.wire.keys.slot_tag`).

A standalone server owns every slot, so its tag is that of slot 0; a cluster shard's tag
is that of the lowest slot it serves as primary.
"""

from __future__ import annotations

import redis

from insitu.connection.redis_clients import redis_client
from insitu.wire.addresses import parse_address
from insitu.wire.endpoint import STORE_USER, Credentials, Endpoint, TlsOptions
from insitu.wire.keys import slot_tag


def shard_endpoint(
    address: str, password: str | None, *, timeout: float = 5.0, tls_ca: str | None = None
) -> Endpoint:
    """How a worker (or a readiness probe) reaches the one server at ``address``
    (``host:port`` or ``unix:///path``) with ``password``: as the store's own ACL user,
    which has every permission whoever else the store lets in; over TLS verified against
    ``tls_ca`` when given."""
    credentials = Credentials(password, STORE_USER) if password else Credentials()
    return Endpoint(
        parse_address(address), credentials, TlsOptions.from_ca(tls_ca),
        connect_timeout=timeout, timeout=timeout,
    )  # fmt: skip


def connect(
    address: str, password: str | None, *, timeout: float = 5.0, tls_ca: str | None = None
) -> redis.Redis:
    """A plain (non-cluster) redis-py client of the one server at ``address``; connects
    lazily and never retries by itself (callers decide: a worker must notice a stop)."""
    return redis_client(shard_endpoint(address, password, timeout=timeout, tls_ca=tls_ca))


def is_clustered(conn: redis.Redis) -> bool:
    """True if the server runs with ``cluster-enabled yes``."""
    info = conn.info("cluster")
    return bool(info.get("cluster_enabled"))


def lowest_owned_slot(conn: redis.Redis) -> int | None:
    """The lowest slot this server serves as primary; 0 for a standalone server, None for
    a cluster node that owns no slot (yet)."""
    if not is_clustered(conn):
        return 0
    myid = _text(conn.execute_command("CLUSTER", "MYID"))  # type: ignore[no-untyped-call]
    owned: list[int] = []
    for entry in conn.execute_command("CLUSTER", "SLOTS"):  # type: ignore[no-untyped-call]
        start, primary = int(entry[0]), entry[2]
        if len(primary) > 2 and _text(primary[2]) == myid:
            owned.append(start)
    return min(owned) if owned else None


def shard_tag(conn: redis.Redis) -> str | None:
    """The hash tag of this server's inference keys; None while it owns no slot."""
    slot = lowest_owned_slot(conn)
    return None if slot is None else slot_tag(slot)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
