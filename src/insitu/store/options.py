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
from insitu.errors import InvalidServerOptionError, ParameterTypeError, UnsupportedOptionError
from insitu.store.tls_config import TLS_KEYS

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
    **{key: "insitu configures TLS itself (tls=True)" for key in TLS_KEYS},
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
    """Validate one option; returns ``(canonical_key, canonical_value)``. ``maxmemory`` and
    ``maxmemory-policy`` are checked here, so a bad value is refused before anything starts."""
    canonical = normalize_key(key)
    if canonical == "maxmemory" and isinstance(value, str | int) and not isinstance(value, bool):
        return memory_option(value)
    if canonical == "maxmemory-policy" and isinstance(value, str):
        return eviction_option(value)
    return canonical, normalize_value(canonical, value)


NOT_YET: dict[str, str] = {}
"""Store options of the issue's plan that are refused, with the reason, until they are
implemented (rather than handed to the server, which would refuse them at start)."""

STORE_KEYWORDS: dict[str, str] = {
    "replicas": "replicas need a cluster (create_database(db_nodes >= 3))",
    "acl": "ACL users per entity are an option of create_database",
}
"""Orchestrator keywords that are not server options (refused where they cannot apply)."""

PERSIST_MODES: dict[str, dict[str, str]] = {
    "none": {},
    # Redis's own default save points: after 1 h and 1 change, 5 min and 100, 1 min and 10,000
    "rdb": {"save": "3600 1 300 100 60 10000"},
    # every write logged, the log fsynced once a second (loses at most ~1 s of writes)
    "aof": {"appendonly": "yes", "appendfsync": "everysec"},
}
"""``persist=`` modes of a store and the server options each stands for."""


def persist_options(mode: object) -> dict[str, str]:
    """The server options of ``persist=mode`` (``"rdb"``, ``"aof"``, ``"none"``/None)."""
    if mode is None:
        return {}
    check_any("persist", mode, str)
    choice = str(mode).strip().lower()
    if choice not in PERSIST_MODES:
        raise InvalidServerOptionError(
            "persist", f"{mode!r} is not a persistence mode; choose one of 'rdb', 'aof', 'none'"
        )
    return dict(PERSIST_MODES[choice])


def normalize_kwargs(kwargs: Mapping[str, object]) -> dict[str, str]:
    """Validate ``Orchestrator(**kwargs)`` server options, in order; later keys win.

    SmartSim's launch keywords (``run_args`` …) are not server options and must be handled
    by the caller before this is called.
    """
    options: dict[str, str] = {}
    for key, value in kwargs.items():
        if key == "persist":
            options.update(persist_options(value))
            continue
        if key in STORE_KEYWORDS and value not in (None, False, 0):
            # Orchestrator takes these itself; a store built otherwise (colocated) cannot.
            raise UnsupportedOptionError(key, "a colocated store", STORE_KEYWORDS[key])
        if key in STORE_KEYWORDS:
            continue
        if key in NOT_YET and value not in (None, False, 0):
            raise UnsupportedOptionError(key, "this version of insitu", NOT_YET[key])
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
