"""redis-py clients built from :class:`~insitu.wire.endpoint.Endpoint` values.

Every client here talks RESP2 (the bulk path in :mod:`insitu.connection.resp` reads RESP2;
redis-py 8 defaults to RESP3), never retries on its own (``Retry(NoBackoff(), 0)``: callers
poll against their own deadlines, and a hidden retry would also repeat a refused password)
and does no background health checks. The helpers at the bottom are the only code in insitu
that touches redis-py's connection internals.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import AbstractConnection
from redis.retry import Retry

from insitu.connection.resp import ServerReplyError
from insitu.connection.tls import redis_py_options
from insitu.errors import RedisParameterError
from insitu.wire.addresses import Address
from insitu.wire.endpoint import Endpoint

_DEFAULT_NODE_TRIES = 3


def _options(endpoint: Endpoint) -> dict[str, object]:
    creds = endpoint.credentials
    tls = {} if endpoint.tls is None else redis_py_options(endpoint.tls)
    return {
        **tls,
        "username": creds.user,
        "password": creds.password or None,
        "protocol": 2,
        "socket_connect_timeout": endpoint.connect_timeout,
        "socket_timeout": endpoint.timeout,
        "socket_keepalive": True,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }


def _where(address: Address) -> dict[str, object]:
    if address.is_unix:
        return {"unix_socket_path": address.path}
    return {"host": address.host, "port": address.port}


def redis_client(endpoint: Endpoint, *, decode: bool = False) -> redis.Redis:
    """A client of the one server at ``endpoint`` (connects lazily, pools connections).
    ``decode``: replies as ``str`` instead of ``bytes``."""
    return redis.Redis(
        **_where(endpoint.address),  # type: ignore[arg-type]
        **_options(endpoint),  # type: ignore[arg-type]
        decode_responses=decode,
    )


def cluster_client(endpoint: Endpoint, startup: Sequence[Address]) -> RedisCluster:
    """A Redis Cluster client that learns the layout from the ``startup`` addresses (TCP
    only) and reaches every shard with ``endpoint``'s credentials and timeouts. Raises
    RedisParameterError for a Unix socket, and redis-py's errors if no shard answers."""
    if any(a.is_unix for a in startup) or endpoint.address.is_unix:
        raise RedisParameterError("a Redis Cluster cannot be reached over a Unix socket")
    nodes = [ClusterNode(a.host, a.port) for a in startup]  # type: ignore[no-untyped-call]
    options = _options(endpoint)
    # While it is built, redis-py sends COMMAND to its "default node", the first primary
    # of the layout, which may be a dead shard; a few retries let it pick another primary,
    # so that one dead shard does not keep a new client out. Afterwards: no retries (the
    # transport retries, and never sends a non-idempotent command twice).
    options["retry"] = Retry(NoBackoff(), _DEFAULT_NODE_TRIES)
    cluster = RedisCluster(
        startup_nodes=nodes,
        require_full_coverage=False,
        **options,  # type: ignore[arg-type]
    )
    cluster.set_retry(Retry(NoBackoff(), 0))
    return cluster


@contextmanager
def shard_session(endpoint: Endpoint) -> Iterator[redis.Redis]:
    """A short-lived client of one shard, replies as ``str``, closed on exit."""
    conn = redis_client(endpoint, decode=True)
    try:
        yield conn
    finally:
        conn.close()


def ping_error(endpoint: Endpoint) -> str | None:
    """``None`` if the server answers an authenticated PING, else why it did not."""
    try:
        with shard_session(endpoint) as conn:
            conn.ping()
    except (redis.RedisError, OSError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def node_address(node: redis.Redis) -> Address | None:
    """The address a client of one server connects to (None if it cannot be told)."""
    options = node.connection_pool.connection_kwargs
    if options.get("path"):
        return Address(path=str(options["path"]))
    host, port = options.get("host"), options.get("port")
    if not host or not port:
        return None
    return Address(str(host), int(port))


@contextmanager
def checked_out(node: redis.Redis) -> Iterator[AbstractConnection]:
    """A pooled connection of ``node`` for one exchange; returned to the pool on exit, or
    dropped if the exchange failed (except on a complete error reply, after which the
    connection is still in step: :class:`~insitu.connection.resp.ServerReplyError` and
    redis-py's ``ResponseError``)."""
    pool = node.connection_pool
    conn = pool.get_connection()
    try:
        yield conn
    except (ServerReplyError, redis.ResponseError):
        raise
    except BaseException:
        conn.disconnect()  # type: ignore[no-untyped-call]
        raise
    finally:
        pool.release(conn)


def raw_socket(conn: AbstractConnection) -> socket.socket | None:
    """The connected socket of ``conn`` (None before it connects or for a non-socket
    connection): the zero-copy bulk path reads and writes it directly (a TLS socket is
    an ``ssl.SSLSocket``, which :func:`~insitu.connection.resp.send_all` handles)."""
    sock = getattr(conn, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None
