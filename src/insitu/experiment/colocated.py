"""The colocated stores of one ``Experiment.start``: where they listen, and the Orchestrators.

:func:`assign_endpoints` is the pure core: it gives each colocated store its own port or
socket (see :mod:`insitu.entities.colocation` for the rules). :func:`plan_colocated` is the
thin shell around it: it looks at this host (free ports, live sockets, usable CPUs), checks
that every store an application sees has its own environment variable names, and builds one
:class:`~insitu.store.orchestrator.Orchestrator` per colocated Model. Nothing starts here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from insitu.entities.colocation import (
    ColocationSpec,
    colocated_store_name,
    resolve_pinning,
    socket_variant,
)
from insitu.entities.model import Model
from insitu.errors import DBIDConflictError, PortInUseError, SocketInUseError
from insitu.hosts import available_cpus, interface_addresses
from insitu.log import get_logger
from insitu.store.orchestrator import Orchestrator
from insitu.store.plan import StorePlan
from insitu.store.readiness import port_free
from insitu.store.server_binary import find_server_binary
from insitu.store.tls_store import tls_requested
from insitu.store.topology import CLUSTER_BUS_OFFSET, Topology, bind_addresses
from insitu.store.unix_socket import check_socket_free, socket_mode
from insitu.store.workers import WorkerLayout
from insitu.wire.env import env_suffix
from insitu.wire.worker import WorkerThreads

logger = get_logger(__name__)

MAX_SCAN = 1000
"""How many ports (or socket names) after a default one are tried before giving up."""


@dataclass(frozen=True)
class Reserved:
    """Ports and sockets already spoken for, each mapped to a description of its owner."""

    ports: Mapping[int, str]
    sockets: Mapping[str, str]


def assign_endpoints(
    requests: Sequence[tuple[str, ColocationSpec]],
    reserved: Reserved,
    port_is_free: Callable[[int, ColocationSpec], bool],
    socket_is_free: Callable[[str], bool],
) -> list[ColocationSpec]:
    """Give every colocated store of one start its own port or socket, in request order.

    ``requests`` pairs an owner description (``"model 'sim'"``) with its spec. Explicit
    endpoints are placed first, so that a movable default never takes a port someone asked
    for; a movable one takes the first free port (or socket name) from its default on.
    Raises :class:`PortInUseError` / :class:`SocketInUseError` naming the endpoint and who
    else wants it.
    """
    ports = dict(reserved.ports)
    sockets = dict(reserved.sockets)
    out: dict[int, ColocationSpec] = {}
    for index in sorted(range(len(requests)), key=lambda i: requests[i][1].movable):
        owner, spec = requests[index]
        if spec.unix_socket is None:
            out[index] = _assign_port(owner, spec, ports, port_is_free)
        else:
            if spec.port:  # colocate_db_uds(port=...): a TCP listener besides the socket
                _assign_port(owner, replace(spec, movable=False), ports, port_is_free)
            out[index] = _assign_socket(owner, spec, sockets, socket_is_free)
    return [out[i] for i in range(len(requests))]


def _assign_port(
    owner: str,
    spec: ColocationSpec,
    ports: dict[int, str],
    is_free: Callable[[int, ColocationSpec], bool],
) -> ColocationSpec:
    if not spec.movable:
        if spec.port in ports:
            raise PortInUseError(
                spec.port,
                "this host",
                f"both {ports[spec.port]} and {owner} would listen on it; "
                "give each colocated store its own port",
            )
        if not is_free(spec.port, spec):
            raise PortInUseError(spec.port, "this host", f"{owner} asked for it")
        ports[spec.port] = owner
        return spec
    last = min(65535, spec.port + MAX_SCAN)
    for port in range(spec.port, last + 1):
        if port not in ports and is_free(port, spec):
            ports[port] = owner
            return replace(spec, port=port)
    raise PortInUseError(spec.port, "this host", f"and so is every port up to {last}")


def _assign_socket(
    owner: str,
    spec: ColocationSpec,
    sockets: dict[str, str],
    is_free: Callable[[str], bool],
) -> ColocationSpec:
    path = spec.unix_socket or ""
    if not spec.movable:
        if path in sockets:
            raise SocketInUseError(
                path, f"wanted by both {sockets[path]} and {owner}; give each its own socket"
            )
        if not is_free(path):
            raise SocketInUseError(
                path,
                f"taken (a running server, or a file that is not a socket); {owner} asked for it",
            )
        sockets[path] = owner
        return spec
    for n in range(MAX_SCAN):
        candidate = path if n == 0 else socket_variant(path, str(n))
        if candidate not in sockets and is_free(candidate):
            sockets[candidate] = owner
            return replace(spec, unix_socket=candidate)
    raise SocketInUseError(path, f"in use, and so are {MAX_SCAN - 1} variants of its name")


def check_identifiers(
    colocated: Sequence[tuple[str, ColocationSpec]], shared: Sequence[Orchestrator]
) -> None:
    """A colocated store must not share environment names with a store its application
    also sees (SmartSim raises ``SSDBIDConflictError`` for an equal identifier; insitu also
    for ``""`` against ``"orchestrator"``, which name the same ``SSDB`` variables)."""
    for model, spec in colocated:
        suffix = env_suffix(spec.db_identifier)
        for store in shared:
            if env_suffix(store.db_identifier) == suffix:
                raise DBIDConflictError(
                    f"db_identifier {spec.db_identifier!r} has already been used. Pass in a "
                    f"unique name for db_identifier: the colocated store of model {model!r} "
                    f"and orchestrator {store.db_identifier!r} would both be SSDB{suffix} in "
                    "the application's environment (colocate_db_* takes db_identifier)"
                )


def plan_colocated(
    models: Sequence[Model],
    planned: Sequence[Orchestrator],
    running: Sequence[Orchestrator],
    *,
    launcher: str = "local",
) -> dict[str, Orchestrator]:
    """The colocated store of each colocated Model in ``models``, by model name, launched
    by ``launcher`` (on a launcher whose jobs run on other hosts, the store starts on the
    application's node and the application is placed beside it).

    ``planned`` are the shared stores this start launches first, ``running`` the shared
    stores already up: both are visible to every application. Raises before anything
    starts: :class:`DBIDConflictError`, :class:`PortInUseError`, :class:`SocketInUseError`,
    :class:`~insitu.errors.CPUPinningError`, or an error of the Orchestrator's own checks.
    """
    requests = [(m.name, m.colocation) for m in models if m.colocation is not None]
    if not requests:
        return {}
    check_identifiers(requests, [*planned, *running])
    owners = [(f"model {name!r}", spec) for name, spec in requests]
    specs = assign_endpoints(owners, _reserved(planned), _PortProbe(), _socket_is_free)
    for (name, asked), spec in zip(requests, specs, strict=True):
        if spec.endpoint != asked.endpoint:
            logger.info(
                "colocated store of %s: %s is taken, using %s", name, asked.endpoint, spec.endpoint
            )
    cpus = available_cpus()
    by_name = {m.name: m for m in models}
    return {
        name: build_store(by_name[name], spec, cpus, launcher)
        for (name, _), spec in zip(requests, specs, strict=True)
    }


def build_store(
    model: Model, spec: ColocationSpec, cpus: Sequence[int], launcher: str = "local"
) -> Orchestrator:
    """The Orchestrator that runs ``model``'s colocated store as ``spec`` says, in the
    model's directory, pinned per ``spec`` among ``cpus``. ``spec`` was checked when the
    Model was colocated; it is not validated again here."""
    bind = bind_addresses(spec.interfaces, interface_addresses())
    tls = tls_requested(spec.tls, os.environ, unix_socket=spec.unix_socket is not None)
    if spec.unix_socket is None:
        layout = Topology(1, (spec.port,), bind)
    else:
        layout = Topology(1, (spec.port,), bind, Path(spec.unix_socket))
    threads = spec.threads
    plan = StorePlan(
        name=colocated_store_name(model.name),
        launcher=launcher,
        db_identifier=spec.db_identifier,
        path=Path(model.path),
        topology=layout,
        interfaces=spec.interfaces,
        server_binary=find_server_binary(tls=tls),
        workers=WorkerLayout(
            threads.workers,
            threads=WorkerThreads(
                threads.threads_per_queue, threads.inter_op_threads, threads.intra_op_threads
            ),
        ),
        options=dict(spec.server_options),
        socket_mode=socket_mode(spec.socket_permissions),
        cpus_per_shard=spec.db_cpus,
        cpu_pinning=resolve_pinning(spec, cpus),
        tls=tls,
    )
    return Orchestrator.from_plan(plan)


def _reserved(stores: Sequence[Orchestrator]) -> Reserved:
    ports: dict[int, str] = {}
    sockets: dict[str, str] = {}
    for store in stores:
        owner = f"orchestrator {store.db_identifier!r}"
        if store.unix_socket is not None:
            sockets[store.unix_socket] = owner
            continue
        for port in store.ports:
            ports[port] = owner
            if store.is_clustered:
                ports[port + CLUSTER_BUS_OFFSET] = owner
    return Reserved(ports, sockets)


class _PortProbe:
    """Whether a port is free on every address a spec's store will bind (addresses looked
    up once per set of interfaces)."""

    def __init__(self) -> None:
        self._hosts: dict[tuple[str, ...], tuple[str, ...]] = {}

    def __call__(self, port: int, spec: ColocationSpec) -> bool:
        hosts = self._hosts.get(spec.interfaces)
        if hosts is None:
            hosts = bind_addresses(spec.interfaces, interface_addresses())
            self._hosts[spec.interfaces] = hosts
        return all(port_free(host, port) for host in hosts)


def _socket_is_free(path: str) -> bool:
    try:
        check_socket_free(Path(path))
    except SocketInUseError:
        return False
    return True
