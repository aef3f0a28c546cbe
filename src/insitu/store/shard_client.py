"""Administration of running shards (``CONFIG SET``/``GET``), over short-lived sessions
from :mod:`insitu.connection`; and the endpoints the store itself uses to reach its shards.

Sessions here never retry on their own: callers poll against their own deadline, and a
hidden retry with back-off would only blur those deadlines.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from insitu.connection.redis_clients import shard_session
from insitu.errors import InvalidServerOptionError, StoreNotActiveError
from insitu.wire.addresses import parse_address
from insitu.wire.endpoint import STORE_USER, Credentials, Endpoint, TlsOptions

ADMIN_TIMEOUT = 2.0
"""Seconds a set-up or administration command may take."""
PROBE_TIMEOUT = 0.5
"""Seconds a readiness probe may take (it is repeated until a deadline)."""


def shard_endpoints(
    addresses: Sequence[str],
    password: str,
    timeout: float = ADMIN_TIMEOUT,
    tls_ca: str | None = None,
) -> list[Endpoint]:
    """Endpoints of the shards at ``addresses`` (``host:port`` or ``unix:///path``), as
    the store's own ACL user; over TLS verified against ``tls_ca`` when given."""
    credentials = Credentials(password, STORE_USER)
    tls = TlsOptions.from_ca(tls_ca)
    return [
        Endpoint(parse_address(a), credentials, tls, connect_timeout=timeout, timeout=timeout)
        for a in addresses
    ]


def config_set_all(endpoints: Sequence[Endpoint], key: str, value: str) -> None:
    """``CONFIG SET key value`` on every shard.

    Raises :class:`InvalidServerOptionError` if a shard rejects the pair and
    :class:`StoreNotActiveError` if a shard cannot be reached.
    """
    for endpoint in endpoints:
        try:
            with shard_session(endpoint) as conn:
                conn.config_set(key, value)
        except redis.ResponseError as err:
            raise InvalidServerOptionError(
                key, f"shard {endpoint} rejected {value!r}: {err}"
            ) from err
        except (redis.RedisError, OSError) as err:
            raise StoreNotActiveError(f"could not configure shard {endpoint}: {err}") from err


def save_all(endpoints: Sequence[Endpoint]) -> None:
    """``SAVE`` on every shard (a snapshot in its directory, written before this returns).

    Raises :class:`StoreNotActiveError` if a shard cannot be reached or refuses."""
    for endpoint in endpoints:
        try:
            with shard_session(endpoint) as conn:
                conn.save()
        except (redis.RedisError, OSError) as err:
            raise StoreNotActiveError(f"could not save shard {endpoint}: {err}") from err


def config_get(endpoint: Endpoint, key: str) -> str | None:
    """The value of ``CONFIG GET key`` on one shard (``None`` if the key is unknown)."""
    with shard_session(endpoint) as conn:
        reply = conn.config_get(key)
    value = reply.get(key)
    return None if value is None else str(value)
