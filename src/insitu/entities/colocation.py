"""Colocated stores: what SmartSim 0.8's ``Model.colocate_db_*`` record, as one frozen value.

Everything here is pure: arguments in, a :class:`ColocationSpec` (or a typed error) out; the
CPUs this process may use are passed in by the caller. Where each store finally listens is
decided when the Experiment starts it (:mod:`insitu.experiment.colocated`).

Rules (SmartSim 0.8 semantics unless marked *insitu*):

* ``custom_pinning`` is ``None`` (pin to the first ``db_cpus`` CPUs), an empty iterable (no
  pinning), or an iterable of CPU ids and iterables of ids (``[0, range(2, 4)]`` → 0, 2, 3).
  *insitu*: "first" means the first CPUs this process may run on (its affinity mask), not
  literally ``0..db_cpus-1``; every pinned CPU must be one of them, and at least ``db_cpus``
  CPUs must be pinned.
* ``**kwargs`` are server options (``maxclients=100000`` → ``maxclients 100000``) validated
  by the store's option rules, except the inference-thread settings ``threads_per_queue``,
  ``inter_op_threads``, ``intra_op_threads`` (SmartSim's spellings ``inter_op_parallelism`` /
  ``intra_op_parallelism`` are accepted too), which go to the store's inference workers,
  and *insitu*'s ``inference_workers`` (workers beside the store, default 1; 0 for none).
  ``limit_app_cpus`` is refused as in SmartSim. *insitu*: ``tls=True`` makes a TCP store
  TLS-only (:mod:`insitu.store.tls_store`; refused for a Unix-socket store, which is not on
  the network); left out, the driver's ``INSITU_TLS`` switch decides when the store starts.
* ``debug=True`` raises the server's log level to ``verbose`` (*insitu*: SmartSim kept or
  dropped a log file; insitu always keeps the server log, ``debug`` makes it detailed).
* *insitu*: a port or socket left at its default (6379, ``/tmp/redis.socket``) moves to the
  next free one when taken on this host, so that several colocated stores and standalone
  stores can share one machine; an explicitly given port or socket that is taken is an error
  naming it. Members colocated through :meth:`Ensemble.colocate_db_tcp` get ``port + index``,
  through :meth:`Ensemble.colocate_db_uds` the socket name suffixed with the member's name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal

from insitu import _checks as tc
from insitu.errors import (
    CPUPinningError,
    InvalidArgumentError,
    ParameterTypeError,
    UnsupportedOptionError,
)
from insitu.store import options
from insitu.store.launch_options import refuse_launch_kwargs
from insitu.store.tls_store import tls_requested
from insitu.store.topology import normalize_interfaces
from insitu.store.unix_socket import socket_mode, validate_socket_path
from insitu.wire.env import validate_db_identifier


class ColocateDbDeprecationWarning(DeprecationWarning, FutureWarning):
    """Issued by the deprecated ``Model.colocate_db`` alias.

    Both a ``DeprecationWarning`` (Python's category for this) and a ``FutureWarning``
    (what SmartSim 0.8 issues, shown by default), so filters written for either match.
    """


class _DefaultPort(int):
    """The default port, told apart from an explicit ``port=6379`` by identity."""


class _DefaultSocket(str):
    """The default socket path, told apart from an explicit one by identity."""

    __slots__ = ()


DEFAULT_PORT: Final[int] = _DefaultPort(6379)
"""``colocate_db_tcp``'s default port (SmartSim's 6379); moves to a free port when taken."""

DEFAULT_UNIX_SOCKET: Final[str] = _DefaultSocket("/tmp/redis.socket")
"""``colocate_db_uds``'s default socket (SmartSim's); moves to a free name when taken."""

_SOCKET_NAME_RE = re.compile(r"^[a-zA-Z0-9.:,_\-/]*$")  # SmartSim's rule for socket names
_STORE_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]")
_THREAD_KWARGS = {
    "threads_per_queue": "threads_per_queue",
    "inter_op_threads": "inter_op_threads",
    "intra_op_threads": "intra_op_threads",
    "inter_op_parallelism": "inter_op_threads",
    "intra_op_parallelism": "intra_op_threads",
}

Transport = Literal["tcp", "uds"]


@dataclass(frozen=True)
class InferenceThreads:
    """Settings of the inference workers beside the store: thread counts (``None``:
    default) and ``workers``, the number of workers (0: none; an insitu addition)."""

    threads_per_queue: int | None = None
    inter_op_threads: int | None = None
    intra_op_threads: int | None = None
    workers: int = 1


@dataclass(frozen=True)
class ColocationSpec:
    """How to run one Model's colocated store.

    ``unix_socket`` is ``None`` for a TCP store. A Unix-socket store has ``port`` 0, or
    (``colocate_db_uds(port=...)``, forwarded as SmartSim forwards it to the server) a TCP
    port it also listens on, on loopback and with the store's password.
    ``custom_pinning`` is ``None`` for "the first ``db_cpus`` CPUs" and ``()`` for no
    pinning. ``movable`` is True when the port/socket is a default that may move to a free
    one at start. ``server_options`` are validated ``(key, value)`` pairs.
    """

    transport: Transport
    db_cpus: int
    custom_pinning: tuple[int, ...] | None
    debug: bool
    db_identifier: str
    port: int = 0
    interfaces: tuple[str, ...] = ("lo",)
    unix_socket: str | None = None
    socket_permissions: int = 755
    server_options: tuple[tuple[str, str], ...] = ()
    threads: InferenceThreads = InferenceThreads()
    movable: bool = False
    tls: bool | None = None  # None: INSITU_TLS decides when the store starts

    @property
    def endpoint(self) -> str:
        """``"port 6379"`` or ``"unix socket /tmp/x.sock"``, for messages and previews."""
        if self.unix_socket is not None:
            return f"unix socket {self.unix_socket}"
        return f"port {self.port}"

    def for_member(self, index: int, member: str) -> ColocationSpec:
        """This spec for ensemble member ``index`` named ``member``: ``port + index``, or
        the socket name suffixed with ``-<member>``."""
        if self.unix_socket is None or self.port:
            port = self.port + index
            if port > 65535:
                raise InvalidArgumentError(
                    f"member {member!r} would get port {port}, above 65535; use a lower port"
                )
            if self.unix_socket is None:
                return replace(self, port=port)
            return replace(self, port=port, unix_socket=socket_variant(self.unix_socket, member))
        return replace(self, unix_socket=socket_variant(self.unix_socket, member))


# --------------------------------------------------------------------- building specs
def tcp_spec(
    port: object,
    ifname: object,
    db_cpus: object,
    custom_pinning: object,
    debug: object,
    db_identifier: object,
    kwargs: Mapping[str, object],
    available: Sequence[int],
) -> ColocationSpec:
    """Validate ``Model.colocate_db_tcp``'s arguments (``available``: this process's CPUs).

    The store always listens on loopback (SmartSim's colocated stores do), plus any other
    interface named in ``ifname``.
    """
    number = _tcp_port(port)
    names = normalize_interfaces(ifname)
    interfaces = ("lo", *(n for n in dict.fromkeys(names) if n != "lo"))
    return replace(
        _common(db_cpus, custom_pinning, debug, db_identifier, kwargs, available, "tcp"),
        port=int(number),
        interfaces=interfaces,
        movable=port is DEFAULT_PORT,
    )


def uds_spec(
    unix_socket: object,
    socket_permissions: object,
    db_cpus: object,
    custom_pinning: object,
    debug: object,
    db_identifier: object,
    kwargs: Mapping[str, object],
    available: Sequence[int],
) -> ColocationSpec:
    """Validate ``Model.colocate_db_uds``'s arguments (``available``: this process's CPUs)."""
    if "ifname" in kwargs:
        raise UnsupportedOptionError(
            "ifname", "colocate_db_uds", "a Unix-socket store listens on no network interface"
        )
    if not isinstance(unix_socket, str | os.PathLike):
        raise tc.type_error("unix_socket", unix_socket, "a str or os.PathLike")
    path = _socket_path(os.fspath(unix_socket))
    permissions = tc.check_int("socket_permissions", socket_permissions, minimum=0)
    socket_mode(permissions)  # validates the octal digits
    rest = {k: v for k, v in kwargs.items() if k != "port"}
    port = _tcp_port(kwargs["port"]) if "port" in kwargs else 0
    spec = _common(db_cpus, custom_pinning, debug, db_identifier, rest, available, "uds")
    return replace(
        spec,
        port=port,
        unix_socket=path,
        socket_permissions=permissions,
        movable=unix_socket is DEFAULT_UNIX_SOCKET,
    )


def _tcp_port(port: object) -> int:
    number = tc.check_int("port", port, minimum=1)
    if number > 65535:
        raise InvalidArgumentError(f"port must be at most 65535, got {number}")
    return number


def _common(
    db_cpus: object,
    custom_pinning: object,
    debug: object,
    db_identifier: object,
    kwargs: Mapping[str, object],
    available: Sequence[int],
    transport: Transport,
) -> ColocationSpec:
    cpus = tc.check_int("db_cpus", db_cpus, minimum=1)
    pinning = parse_custom_pinning(custom_pinning)
    check_cpus(cpus, pinning, available)
    flag = tc.check_bool("debug", debug)
    identifier = validate_db_identifier(
        tc.check_str("db_identifier", db_identifier, allow_empty=True)
    )
    rest = {k: v for k, v in kwargs.items() if k != "tls"}
    tls = kwargs.get("tls")
    # An explicit tls=True on a socket store is refused now; the switch is read at start.
    tls_requested(tls, {}, unix_socket=transport == "uds")
    server_options, threads = split_server_kwargs(rest, debug=flag)
    return ColocationSpec(
        transport, cpus, pinning, flag, identifier, server_options=server_options,
        threads=threads, tls=None if tls is None else bool(tls),
    )  # fmt: skip


def _socket_path(path: object) -> str:
    text = str(path)
    if not _SOCKET_NAME_RE.match(text):
        raise InvalidArgumentError(
            f"Invalid name for unix socket: {text}. Must only contain alphanumeric "
            "characters or . : _ - /"
        )
    return str(validate_socket_path(text))


def socket_variant(path: str, tag: str) -> str:
    """``path`` with ``-<tag>`` added to its file name (``/tmp/a.sock`` → ``/tmp/a-x.sock``),
    validated like any socket path."""
    base = Path(path)
    return _socket_path(base.with_name(f"{base.stem}-{tag}{base.suffix}"))


# --------------------------------------------------------------------- CPUs
def parse_custom_pinning(value: object) -> tuple[int, ...] | None:
    """``custom_pinning`` as sorted, distinct CPU ids; ``None`` stays ``None``.

    Raises ``ParameterTypeError`` (a ``TypeError``) for anything but an iterable of ints and
    iterables of ints, :class:`CPUPinningError` (a ``ValueError``) for negative ids.
    """
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ParameterTypeError(
            "custom_pinning must be an iterable of CPU ids (ints) or of iterables of ints, "
            f"such as [0, 2, range(4, 6)]; got {type(value).__name__} {value!r}"
        )
    ids: set[int] = set()
    for item in value:
        group = (item,) if isinstance(item, int) and not isinstance(item, bool) else item
        if isinstance(group, str | bytes) or not isinstance(group, Iterable):
            raise tc.type_error("a custom_pinning entry", item, "an int or an iterable of ints")
        for cpu in group:
            ids.add(_cpu_id(cpu))
    return tuple(sorted(ids))


def _cpu_id(cpu: object) -> int:
    if isinstance(cpu, bool) or not isinstance(cpu, int):
        raise tc.type_error("a CPU id in custom_pinning", cpu, "an int")
    if cpu < 0:
        raise CPUPinningError(f"CPU id must be a nonnegative number, got {cpu}", (cpu,))
    return cpu


def check_cpus(db_cpus: int, pinning: tuple[int, ...] | None, available: Sequence[int]) -> None:
    """``db_cpus`` CPUs must exist here, and ``pinning`` must name only CPUs we may use, at
    least ``db_cpus`` of them (an empty pinning turns pinning off and is always fine)."""
    usable = tuple(sorted(available))
    if db_cpus > len(usable):
        raise CPUPinningError(
            f"db_cpus={db_cpus} but this process may use only {len(usable)} CPUs "
            f"({_cpu_list(usable)})",
            (),
            usable,
        )
    if not pinning:
        return
    missing = [cpu for cpu in pinning if cpu not in usable]
    if missing:
        raise CPUPinningError(
            f"custom_pinning names CPUs {_cpu_list(missing)} that this process may not use "
            f"(usable CPUs: {_cpu_list(usable)})",
            missing,
            usable,
        )
    if len(pinning) < db_cpus:
        raise CPUPinningError(
            f"custom_pinning gives {len(pinning)} CPU(s) ({_cpu_list(pinning)}) but "
            f"db_cpus={db_cpus}; pin at least db_cpus CPUs",
            pinning,
            usable,
        )


def resolve_pinning(spec: ColocationSpec, available: Sequence[int]) -> tuple[int, ...]:
    """The CPUs the store is pinned to: ``custom_pinning``, or the first ``db_cpus`` of
    ``available``; ``()`` when pinning is off. Re-checks against ``available``."""
    check_cpus(spec.db_cpus, spec.custom_pinning, available)
    if spec.custom_pinning is None:
        return tuple(sorted(available)[: spec.db_cpus])
    return spec.custom_pinning


def _cpu_list(cpus: Iterable[int]) -> str:
    return ",".join(str(c) for c in cpus) or "none"


# --------------------------------------------------------------------- server options
def split_server_kwargs(
    kwargs: Mapping[str, object], *, debug: bool
) -> tuple[tuple[tuple[str, str], ...], InferenceThreads]:
    """Split ``colocate_db_*``'s ``**kwargs`` into server options and inference threads."""
    if "limit_app_cpus" in kwargs:
        raise UnsupportedOptionError(
            "limit_app_cpus",
            "colocated stores",
            "pin the application with its RunSettings (e.g. set_cpu_bindings) instead",
        )
    threads: dict[str, int] = {}
    rest: dict[str, object] = {}
    for key, value in kwargs.items():
        if key == "inference_workers":
            threads["workers"] = tc.check_int(key, value, minimum=0)
            continue
        target = _THREAD_KWARGS.get(key)
        if target is None:
            rest[key] = value
            continue
        if target in threads:
            raise InvalidArgumentError(f"{key} repeats another spelling of {target}")
        threads[target] = tc.check_int(key, value, minimum=1)
    server = options.normalize_kwargs(refuse_launch_kwargs(rest, "colocated stores"))
    if debug:
        if server.get("loglevel", "verbose") != "verbose":
            raise InvalidArgumentError(
                "debug=True sets the server's loglevel to verbose; pass either debug=True "
                f"or loglevel={server['loglevel']!r}"
            )
        server["loglevel"] = "verbose"
    return tuple(server.items()), InferenceThreads(**threads)


# --------------------------------------------------------------------- names and endpoints
def colocated_store_name(model_name: str) -> str:
    """Name of a Model's colocated store (its shard job is ``<name>_0``): ``<model>.db``,
    with characters that cannot name a shard replaced by ``_``."""
    safe = _STORE_NAME_BAD.sub("_", model_name)
    if safe[:1] in (".", "-"):
        safe = "_" + safe[1:]
    return f"{safe}.db"
