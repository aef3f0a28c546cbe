"""The passwords (and, for TLS stores, CA certificates) of the live stores of this
process, so that a ``Client`` in the driver connects with only an address (as SmartRedis
users do).

Contract:

* The Experiment registers every address of a store once the store is ready and unregisters
  them when it stopped; nothing else writes here. Launched entities do not use this registry:
  they receive the password through the environment (:mod:`insitu.wire.env`).
* Addresses are compared as :class:`~insitu.wire.addresses.Address` values: ``tcp://`` and
  ``unix://`` prefixes and bracketed IPv6 hosts are accepted, and ``localhost`` is
  ``127.0.0.1``. A text that is not an address is never registered (ValueError naming it)
  and never found.
* Nothing is written to disk; the registry is thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from insitu.errors import RedisParameterError
from insitu.wire.addresses import Address, parse_address

_lock = threading.Lock()
_registry: dict[Address, str] = {}
_tls_cas: dict[Address, str] = {}
_users: dict[Address, str] = {}  # the ACL user of a password, when not the default user


def _key(address: Address | str) -> Address:
    where = parse_address(address) if isinstance(address, str) else address
    return where.canonical()


def register(
    addresses: Iterable[Address | str],
    password: str,
    tls_ca: str | None = None,
    *,
    username: str | None = None,
) -> None:
    """Record ``password`` (of the ACL user ``username``; None: the default user), and the
    CA certificate of a TLS store (``tls_ca``), for every address of a store now live."""
    keys = [_key(a) for a in addresses]
    with _lock:
        for key in keys:
            _registry[key] = password
            if tls_ca:
                _tls_cas[key] = tls_ca
            else:
                _tls_cas.pop(key, None)
            if username:
                _users[key] = username
            else:
                _users.pop(key, None)


def unregister(addresses: Iterable[Address | str]) -> None:
    """Forget these addresses (the store stopped). Unknown addresses are ignored."""
    keys = [_key(a) for a in addresses]
    with _lock:
        for key in keys:
            _registry.pop(key, None)
            _tls_cas.pop(key, None)
            _users.pop(key, None)


def lookup(address: Address | str) -> str | None:
    """The password of the live store at ``address``, or ``None`` if none is registered."""
    try:
        key = _key(address)
    except RedisParameterError:
        return None
    with _lock:
        return _registry.get(key)


def lookup_tls_ca(address: Address | str) -> str | None:
    """The CA certificate of the live TLS store at ``address`` (None: none registered)."""
    return _lookup(_tls_cas, address)


def lookup_user(address: Address | str) -> str | None:
    """The ACL user of the password registered for ``address`` (None: the default user)."""
    return _lookup(_users, address)


def _lookup(table: dict[Address, str], address: Address | str) -> str | None:
    try:
        key = _key(address)
    except RedisParameterError:
        return None
    with _lock:
        return table.get(key)


def registered_addresses() -> tuple[str, ...]:
    """All addresses currently registered, as clients write them (for diagnostics)."""
    with _lock:
        return tuple(sorted(str(a) for a in _registry))
