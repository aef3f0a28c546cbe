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


UNIX_PREFIX = "unix://"


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` → ``(host, port)``; IPv6 hosts may be bracketed (``[::1]:6379``)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def _endpoint(address: str) -> dict[str, str | int]:
    """redis-py connection arguments for ``"host:port"`` or ``"unix://<path>"``."""
    if address.startswith(UNIX_PREFIX):
        return {"unix_socket_path": address[len(UNIX_PREFIX) :]}
    host, port = split_address(address)
    return {"host": host, "port": port}


@contextmanager
def shard_connection(
    address: str, password: str, timeout: float = DEFAULT_TIMEOUT
) -> Iterator[redis.Redis]:
    """An authenticated connection to the shard at ``address`` (``host:port`` or
    ``unix://<path>``), closed on exit. Replies are ``str``."""
    conn = redis.Redis(
        **_endpoint(address),  # type: ignore[arg-type]
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


def ping_error(address: str, password: str, timeout: float = 0.5) -> str | None:
    """``None`` if the shard answers an authenticated PING, else why it did not."""
    try:
        with shard_connection(address, password, timeout) as conn:
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
        try:
            with shard_connection(address, password) as conn:
                conn.config_set(key, value)
        except redis.ResponseError as err:
            raise InvalidServerOptionError(
                key, f"shard {address} rejected {value!r}: {err}"
            ) from err
        except (redis.RedisError, OSError) as err:
            raise StoreNotActiveError(f"could not configure shard {address}: {err}") from err


def config_get(address: str, password: str, key: str) -> str | None:
    """The value of ``CONFIG GET key`` on one shard (``None`` if the key is unknown)."""
    with shard_connection(address, password) as conn:
        reply = conn.config_get(key)
    value = reply.get(key)
    return None if value is None else str(value)
