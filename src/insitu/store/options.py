"""Validation of store server options (pure).

Server options reach insitu three ways: ``Orchestrator(**kwargs)``, the SmartSim setters
(``set_max_memory`` …) and ``set_db_conf(key, value)``. All of them pass through
:func:`normalize_option`, which returns a canonical ``(key, value)`` pair or raises
:class:`~insitu.errors.InvalidServerOptionError` naming the key. Canonical keys are lower
case with ``-`` (so the keyword ``maxmemory_policy`` becomes ``maxmemory-policy``); canonical
values are strings (``True``/``False`` become ``yes``/``no``).

A value is a space-separated list of arguments, exactly like the value of ``CONFIG SET``
(``save`` takes ``"900 1"``). Keys that insitu manages itself (``port``, ``bind``,
``requirepass`` …) are reserved and rejected, so that a user option can never disable
authentication or move a shard off the port insitu waits on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from insitu._checks import check_any
from insitu.errors import InvalidServerOptionError, ParameterTypeError

_SECURITY = "the store requires its generated password and listens only where insitu binds it"
_FILES = "insitu places the store's files in its directory and keeps its log"
_CLUSTER = "insitu forms and configures clusters itself"
RESERVED_REASONS: dict[str, str] = {
    "aclfile": _SECURITY,
    "bind": _SECURITY + " (choose the interface argument instead)",
    "cluster-config-file": _CLUSTER,
    "cluster-enabled": _CLUSTER + " (db_nodes >= 3)",
    "cluster-port": _CLUSTER,
    "daemonize": "insitu owns the server process (it must not fork away)",
    "dir": _FILES,
    "include": _SECURITY + " (an included file could override that)",
    "loadmodule": "the store runs no modules: inference runs in insitu's workers",
    "logfile": _FILES,
    "masterauth": _SECURITY,
    "masteruser": _SECURITY,
    "pidfile": _FILES,
    "port": "insitu assigns the port (the port argument), checks it is free and hands it on",
    "protected-mode": _SECURITY,
    "rename-command": "insitu and its clients rely on the standard commands",
    "requirepass": _SECURITY,
    "supervised": "insitu owns the server process",
    "unixsocket": "insitu assigns the socket (the unix_socket argument of colocate_db_uds)",
    "unixsocketperm": "use the socket_permissions argument",
    "user": _SECURITY,
}
"""Keys insitu writes itself, each with why users cannot set them."""

RESERVED_KEYS = frozenset(RESERVED_REASONS)
"""Keys insitu writes itself; users cannot set them (security and readiness depend on them)."""

EVICTION_POLICIES = (
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
)
"""The ``maxmemory-policy`` values Redis 7 and Valkey 8 accept."""

MIN_MESSAGE_SIZE = 1024 * 1024
"""Smallest ``proto-max-bulk-len`` Redis accepts (1 MiB)."""

_KEY_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_MEMORY_RE = re.compile(r"^\d+(k|kb|m|mb|g|gb)?$", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

OptionValue = str | int | float | bool
"""What callers may pass as an option value."""

SMARTSIM_LAUNCH_KWARGS = frozenset(
    {"run_args", "batch_args", "gpus_per_shard", "cpus_per_shard", "queue"}
)
"""SmartSim constructor keywords that configure the launch, not the server."""


def normalize_key(key: str) -> str:
    """Canonical form of an option key: lower case, ``_`` → ``-``; validated, not reserved."""
    check_any("server option key", key, str)
    canonical = key.strip().lower().replace("_", "-")
    if not _KEY_RE.match(canonical):
        raise InvalidServerOptionError(key, "keys are letters, digits and '-' (or '_')")
    if canonical in RESERVED_KEYS:
        raise InvalidServerOptionError(
            key, f"managed by insitu and cannot be set: {RESERVED_REASONS[canonical]}"
        )
    return canonical


def normalize_value(key: str, value: OptionValue) -> str:
    """Canonical string form of an option value; rejects control characters (no injection)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, str | int | float):
        raise ParameterTypeError(
            f"server option {key!r} must be str, int, float or bool, not {type(value).__name__}"
        )
    text = str(value)
    if _CONTROL_RE.search(text):
        raise InvalidServerOptionError(key, "value contains a newline or control character")
    return text


def normalize_option(key: str, value: OptionValue) -> tuple[str, str]:
    """Validate one option; returns ``(canonical_key, canonical_value)``."""
    canonical = normalize_key(key)
    return canonical, normalize_value(canonical, value)


def normalize_kwargs(kwargs: Mapping[str, object]) -> dict[str, str]:
    """Validate ``Orchestrator(**kwargs)`` server options, in order; later keys win.

    SmartSim's launch keywords (``run_args`` …) are not server options and must be handled
    by the caller before this is called.
    """
    options: dict[str, str] = {}
    for key, value in kwargs.items():
        if not isinstance(value, str | int | float | bool):
            raise ParameterTypeError(
                f"server option {key!r} must be str, int, float or bool, not {type(value).__name__}"
            )
        canonical, text = normalize_option(key, value)
        options[canonical] = text
    return options


def memory_option(mem: str | int) -> tuple[str, str]:
    """``maxmemory`` from ``"3gb"``-style strings (k, kb, m, mb, g, gb; any case) or bytes."""
    check_any("mem", mem, str, int)
    text = str(mem).strip()
    if not _MEMORY_RE.match(text):
        raise InvalidServerOptionError(
            "maxmemory", f"{mem!r} is not a memory size such as '3gb', '512mb' or a byte count"
        )
    return "maxmemory", text.lower()


def eviction_option(strategy: str) -> tuple[str, str]:
    """``maxmemory-policy`` validated against the Redis/Valkey policies."""
    check_any("strategy", strategy, str)
    if strategy not in EVICTION_POLICIES:
        raise InvalidServerOptionError(
            "maxmemory-policy",
            f"{strategy!r} is not an eviction policy; choose one of {', '.join(EVICTION_POLICIES)}",
        )
    return "maxmemory-policy", strategy


def max_clients_option(clients: int) -> tuple[str, str]:
    """``maxclients``: a positive number of simultaneous connections."""
    check_any("clients", clients, int)
    if clients < 1:
        raise InvalidServerOptionError("maxclients", f"must be at least 1, got {clients}")
    return "maxclients", str(clients)


def max_message_size_option(size: int) -> tuple[str, str]:
    """``proto-max-bulk-len`` in bytes; at least 1 MiB, as Redis requires."""
    check_any("size", size, int)
    if size < MIN_MESSAGE_SIZE:
        raise InvalidServerOptionError(
            "proto-max-bulk-len", f"must be at least {MIN_MESSAGE_SIZE} bytes (1mb), got {size}"
        )
    return "proto-max-bulk-len", str(size)


def checkpoint_option(frequency: int) -> tuple[str, str]:
    """``save "<frequency> 1"``: snapshot every ``frequency`` seconds if anything changed."""
    check_any("frequency", frequency, int)
    if frequency < 1:
        raise InvalidServerOptionError("save", f"frequency must be at least 1 s, got {frequency}")
    return "save", f"{frequency} 1"
