"""Short-lived, authenticated redis-py connections to single shards (used at start and for
live configuration).

Connections here never retry on their own: callers poll against their own deadline, and a
hidden retry with back-off would only blur those deadlines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from insitu.errors import InvalidServerOptionError, StoreNotActiveError

DEFAULT_TIMEOUT = 2.0


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` → ``(host, port)``; IPv6 hosts may be bracketed (``[::1]:6379``)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


@contextmanager
def shard_connection(
    host: str, port: int, password: str, timeout: float = DEFAULT_TIMEOUT
) -> Iterator[redis.Redis]:
    """An authenticated connection to one shard, closed on exit. Replies are ``str``."""
    conn = redis.Redis(
        host=host,
        port=port,
        password=password,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
    try:
        yield conn
    finally:
        conn.close()


def ping_error(host: str, port: int, password: str, timeout: float = 0.5) -> str | None:
    """``None`` if the shard answers an authenticated PING, else why it did not."""
    try:
        with shard_connection(host, port, password, timeout) as conn:
            conn.ping()
    except (redis.RedisError, OSError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def config_set_all(addresses: Sequence[str], password: str, key: str, value: str) -> None:
    """``CONFIG SET key value`` on every shard.

    Raises :class:`InvalidServerOptionError` if a shard rejects the pair and
    :class:`StoreNotActiveError` if a shard cannot be reached.
    """
    for address in addresses:
        host, port = split_address(address)
        try:
            with shard_connection(host, port, password) as conn:
                conn.config_set(key, value)
        except redis.ResponseError as err:
            raise InvalidServerOptionError(
                key, f"shard {address} rejected {value!r}: {err}"
            ) from err
        except (redis.RedisError, OSError) as err:
            raise StoreNotActiveError(f"could not configure shard {address}: {err}") from err


def config_get(address: str, password: str, key: str) -> str | None:
    """The value of ``CONFIG GET key`` on one shard (``None`` if the key is unknown)."""
    host, port = split_address(address)
    with shard_connection(host, port, password) as conn:
        reply = conn.config_get(key)
    value = reply.get(key)
    return None if value is None else str(value)
