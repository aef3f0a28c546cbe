"""Store passwords: generation, and the process-wide registry of live stores.

Contract:

* :func:`generate_password` returns a fresh URL-safe token (256 bits of entropy from
  :mod:`secrets`); every Orchestrator gets its own.
* The registry maps each address of a *live* store to its password, so that a ``Client`` in
  the driver process can connect with only an address (as SmartRedis users do). Addresses are
  ``"host:port"`` for TCP and the socket path for Unix sockets; ``tcp://`` / ``unix://``
  prefixes are accepted and ``localhost`` is treated as ``127.0.0.1``. The Orchestrator
  registers its addresses once it is ready and unregisters them when it is marked stopped.
* Launched entities do not use this registry; they receive the password through the
  environment (see :mod:`insitu.client.connection_env`).
* Nothing is written to disk here. The password is on disk only inside each shard's
  configuration file, which is created with mode 0600.

The registry is thread-safe.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable

_PASSWORD_BYTES = 32

_lock = threading.Lock()
_registry: dict[str, str] = {}


def generate_password() -> str:
    """A new strong password (URL-safe characters only, so it needs no quoting anywhere)."""
    return secrets.token_urlsafe(_PASSWORD_BYTES)


def normalize_address(address: str) -> str:
    """Canonical registry key of ``address`` (see module contract)."""
    text = address.strip()
    for prefix in ("tcp://", "unix://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if text.startswith("localhost:"):
        text = "127.0.0.1:" + text[len("localhost:") :]
    return text


def register(addresses: Iterable[str], password: str) -> None:
    """Record ``password`` for every address of a store that is now live."""
    with _lock:
        for address in addresses:
            _registry[normalize_address(address)] = password


def unregister(addresses: Iterable[str]) -> None:
    """Forget these addresses (the store stopped). Unknown addresses are ignored."""
    with _lock:
        for address in addresses:
            _registry.pop(normalize_address(address), None)


def lookup(address: str) -> str | None:
    """The password of the live store at ``address``, or ``None`` if none is registered."""
    with _lock:
        return _registry.get(normalize_address(address))


def registered_addresses() -> tuple[str, ...]:
    """All addresses currently registered (for diagnostics and tests)."""
    with _lock:
        return tuple(sorted(_registry))
