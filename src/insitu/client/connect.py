"""How a Client finds its store and connects: settings resolution and the connect loop.

Where the pieces come from (first match wins):

* addresses — the ``address`` argument, else ``SSDB[_<id>]``;
* topology — the ``cluster`` argument, else ``SR_DB_TYPE[_<id>]`` (``Standalone`` if unset,
  as in SmartRedis);
* password — the ``password`` argument, else the ``SSDB_PASSWORD`` option (an override on
  the ConfigOptions, else ``SSDB_PASSWORD[_<id>]``), else the password the Experiment in
  this process registered for that address (:mod:`insitu.client.credentials`), else none;
* TLS — the ``tls_ca`` argument, else the ``SSDB_TLS_CA`` option (override, else
  ``SSDB_TLS_CA[_<id>]``), else the CA the Experiment registered for that address; with a
  CA the client connects over TLS and verifies the server against it (TCP addresses only),
  without one over plain TCP;
* timeouts — :meth:`ConfigOptions.timeouts`.

Connecting retries every ``SR_CONN_INTERVAL`` until ``SR_CONN_TIMEOUT``, then raises
:class:`~insitu.errors.RedisConnectionError` naming the address that did not answer; a
refused password, or a server certificate that does not verify
(:class:`~insitu.errors.TlsVerificationError`), fails at once. A cluster whose layout was
learnt from a live shard is connected at once even while some other shard is dead:
operations on that shard's keys raise ``RedisConnectionError`` naming it after
``SR_CMD_TIMEOUT`` (the transport's contract), the others work, and the client recovers
when the shard is back.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.exceptions as rex

from insitu.client import credentials
from insitu.client.config_options import ConfigOptions, Timeouts
from insitu.client.durability import NO_WAIT, Durability, durability_from_env
from insitu.client.routing import ClusterRouter, Router, StandaloneRouter
from insitu.client.transport import RedisTransport
from insitu.connection.tls import is_verification_failure
from insitu.errors import RedisConnectionError, RedisParameterError, TlsVerificationError
from insitu.wire.addresses import Address, parse_address_list
from insitu.wire.endpoint import Credentials, Endpoint, TlsOptions
from insitu.wire.env import ADDRESS_VAR, DB_TYPE_VAR, PASSWORD_VAR, TLS_CA_VAR, USER_VAR

_DB_TYPES = {"clustered": True, "standalone": False}


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to open a store connection."""

    addresses: tuple[Address, ...]
    clustered: bool
    credentials: Credentials
    timeouts: Timeouts
    tls: TlsOptions | None = None
    durability: Durability = NO_WAIT

    def endpoint(self, address: Address | None = None) -> Endpoint:
        """How to reach the shard at ``address`` (default: the first address): every
        read or write may block up to ``SR_CMD_TIMEOUT``, connecting up to the smaller of
        ``SR_CONN_TIMEOUT`` and that."""
        timeouts = self.timeouts
        return Endpoint(
            address or self.addresses[0],
            self.credentials,
            self.tls,
            connect_timeout=min(timeouts.connect, timeouts.command),
            timeout=timeouts.command,
        )

    def describe(self) -> str:
        """``<kind> store at <addresses>`` (never the password)."""
        kind = "clustered" if self.clustered else "standalone"
        if self.tls is not None:
            kind += " TLS"
        return f"{kind} store at {', '.join(str(a) for a in self.addresses)}"


def resolve_settings(
    options: ConfigOptions,
    *,
    address: str | None = None,
    cluster: bool | None = None,
    password: str | None = None,
    tls_ca: str | None = None,
) -> ConnectionSettings:
    """Settings for ``options``' store, overridden by the explicit arguments."""
    raw = address if address else options.lookup_string(ADDRESS_VAR)
    if not raw or not raw.strip():
        raise RedisConnectionError(
            f"Could not connect to database. ${options.env_name(ADDRESS_VAR)} not set"
        )
    try:
        addresses = parse_address_list(raw)
    except RedisParameterError as err:
        raise RedisConnectionError(f"{err} (from {options.env_name(ADDRESS_VAR)})") from None
    clustered = cluster if cluster is not None else _db_type(options)
    if clustered and any(a.is_unix for a in addresses):
        raise RedisParameterError("a clustered store cannot be reached over a Unix socket")
    if not clustered:
        addresses = addresses[:1]
    secret = password or options.lookup_string(PASSWORD_VAR) or _registered(addresses)
    if tls_ca and any(a.is_unix for a in addresses):
        raise RedisParameterError("TLS is for TCP addresses; a Unix socket store has none")
    ca = tls_ca or options.lookup_string(TLS_CA_VAR) or _registered_ca(addresses)
    tls = TlsOptions.from_ca(ca) if not any(a.is_unix for a in addresses) else None
    user = options.lookup_string(USER_VAR) if not password else None
    if secret and secret == _registered(addresses):
        user = _registered_user(addresses)  # the driver of a store without default user
    return ConnectionSettings(
        addresses, clustered, Credentials(secret or None, user or None), options.timeouts(),
        tls, durability_from_env(os.environ),
    )  # fmt: skip


def _db_type(options: ConfigOptions) -> bool:
    raw = (options.lookup_string(DB_TYPE_VAR) or "Standalone").strip()
    if raw.lower() not in _DB_TYPES:
        raise RedisConnectionError(
            f"{options.env_name(DB_TYPE_VAR)} is {raw!r}; expected Clustered or Standalone"
        )
    return _DB_TYPES[raw.lower()]


def _registered(addresses: tuple[Address, ...]) -> str | None:
    for address in addresses:
        found = credentials.lookup(address)
        if found:
            return found
    return None


def _registered_ca(addresses: tuple[Address, ...]) -> str | None:
    for address in addresses:
        found = credentials.lookup_tls_ca(address)
        if found:
            return found
    return None


def _registered_user(addresses: tuple[Address, ...]) -> str | None:
    for address in addresses:
        if credentials.lookup(address):
            return credentials.lookup_user(address)
    return None


def open_transport(settings: ConnectionSettings) -> RedisTransport:
    """Connect (retrying as the module docs say) and check that every shard answers."""
    timeouts = settings.timeouts
    deadline = time.monotonic() + timeouts.connect
    endpoint = settings.endpoint()
    make: Callable[[], Router] = (
        (lambda: ClusterRouter(endpoint, settings.addresses))
        if settings.clustered
        else (lambda: StandaloneRouter(endpoint))
    )
    while True:
        router: Router | None = None
        where = str(settings.addresses[0])
        try:
            router = make()
            dead = _unreachable(router)
            if dead and (not settings.clustered or len(dead) == len(router.nodes())):
                where, err = dead[0]
                raise err
            return RedisTransport(router, timeouts, settings.durability)
        except (rex.AuthenticationError, rex.ResponseError) as err:
            _close(router)
            raise RedisConnectionError(_explain(err, settings), where) from err
        except (rex.RedisError, rex.RedisClusterException, OSError) as err:
            _close(router)
            if settings.tls is not None and is_verification_failure(err):
                raise TlsVerificationError(
                    f"the {settings.describe()} presented a certificate that does not "
                    f"verify against {settings.tls.ca_file}: {err}",
                    where,
                ) from err
            remaining = deadline - time.monotonic()
            if remaining <= 0 or _is_permanent(err):
                raise RedisConnectionError(
                    f"could not connect to the {settings.describe()} within "
                    f"{timeouts.connect:g} s (SR_CONN_TIMEOUT): {where} did not answer: "
                    f"{_explain(err, settings)}",
                    where,
                ) from err
            time.sleep(min(timeouts.connect_interval, remaining))


def _unreachable(router: Router) -> list[tuple[str, Exception]]:
    """The shards that do not answer a PING (address, error); a refused password or
    another error reply propagates (retrying cannot fix it)."""
    dead: list[tuple[str, Exception]] = []
    for address, node in router.nodes():
        try:
            node.ping()
        except (rex.AuthenticationError, rex.ResponseError):
            raise
        except (rex.ConnectionError, rex.TimeoutError, OSError) as err:
            dead.append((str(address), err))
    return dead


def _close(router: Router | None) -> None:
    if router is not None:
        with contextlib.suppress(rex.RedisError, rex.RedisClusterException, OSError):
            router.close()


def _is_permanent(err: BaseException) -> bool:
    """Errors that retrying cannot fix (wrong password, cluster mode off)."""
    text = str(err)
    permanent = ("WRONGPASS", "NOAUTH", "invalid password", "invalid username", "luster mode",
                 "cluster support")  # fmt: skip
    return any(s in text for s in permanent)


def _explain(err: BaseException, settings: ConnectionSettings) -> str:
    text = str(err)
    if "NOAUTH" in text or "Authentication required" in text:
        return (
            f"the {settings.describe()} requires a password and none was found "
            "(set SSDB_PASSWORD, pass password=..., or override the SSDB_PASSWORD option)"
        )
    if "WRONGPASS" in text or "invalid password" in text or "invalid username" in text:
        return f"the {settings.describe()} refused the password"
    if "luster mode is not enabled" in text or "cluster support disabled" in text:
        return f"{text}: the store is not a cluster; connect with cluster=False"
    if settings.tls is None and ("closed by server" in text or "reset by peer" in text):
        # A TLS-only store drops a plain connection at its first bytes.
        return f"{text} (if the store is a TLS store, name its CA: set SSDB_TLS_CA or tls_ca=)"
    return text
