"""Where the shards of an Orchestrator go: shard count, ports, bind addresses, CPUs (pure).

The machine's interfaces and usable CPUs come from :mod:`insitu.hosts`; pass them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from insitu._checks import check_int
from insitu.errors import (
    InvalidArgumentError,
    InvalidDBNodesError,
    ParameterTypeError,
    UnknownInterfaceError,
)
from insitu.hosts import LOOPBACK

CLUSTER_BUS_OFFSET = 10000
"""Redis' cluster bus listens on the client port plus this offset."""

CLUSTER_SLOTS = 16384
"""Number of hash slots in a Redis/Valkey cluster."""


@dataclass(frozen=True)
class Topology:
    """The shard layout of one Orchestrator on the local launcher.

    ``host`` is the address clients connect to (the first bind address); shard ``i`` listens
    on ``ports[i]`` on every address in ``bind``. With ``unix_socket`` (a single shard only)
    the shard listens on that socket file and on no TCP port (``ports == (0,)``), or also
    on ``ports[0]`` on ``bind`` (``colocate_db_uds(port=...)``).
    ``shard_hosts`` (shards on other hosts, once they reported where they run) gives each
    shard's own address instead. With ``replicas`` (clusters only) ``ports``, ``addresses``
    and ``needed_ports`` cover the replica nodes too, after the masters.
    """

    db_nodes: int
    ports: tuple[int, ...]
    bind: tuple[str, ...]
    unix_socket: Path | None = None
    shard_hosts: tuple[str, ...] = ()
    replicas: int = 0

    @property
    def nodes(self) -> int:
        """Server processes of the store: ``db_nodes`` masters and ``replicas`` replicas of
        each (see :mod:`insitu.store.replicas` for their order); ``ports`` has one each."""
        return self.db_nodes * (1 + self.replicas)

    @property
    def clustered(self) -> bool:
        """True when the shards form a Redis Cluster (3 or more shards)."""
        return self.db_nodes >= 3

    @property
    def host(self) -> str:
        """The address clients use to reach every shard (the first shard's, for shards on
        other hosts)."""
        return self.shard_hosts[0] if self.shard_hosts else self.bind[0]

    @property
    def addresses(self) -> tuple[str, ...]:
        """``"host:port"`` (or ``"unix://<path>"``) of each shard, in shard order."""
        if self.unix_socket is not None:
            return (f"unix://{self.unix_socket}",)
        if self.shard_hosts:
            return tuple(f"{h}:{p}" for h, p in zip(self.shard_hosts, self.ports, strict=True))
        return tuple(f"{self.host}:{port}" for port in self.ports)

    def needed_ports(self) -> tuple[int, ...]:
        """Every TCP port the store will listen on, including cluster bus ports."""
        if self.unix_socket is not None:
            return tuple(p for p in self.ports if p)
        if not self.clustered:
            return self.ports
        return self.ports + tuple(p + CLUSTER_BUS_OFFSET for p in self.ports)


def validate_db_nodes(db_nodes: object) -> int:
    """``db_nodes`` must be an int that is 1 (standalone) or >= 3 (cluster)."""
    db_nodes = check_int("db_nodes", db_nodes, minimum=None)
    if db_nodes < 1 or db_nodes == 2:
        raise InvalidDBNodesError(
            f"db_nodes={db_nodes} is not supported: use 1 (standalone) or at least 3 "
            "(a Redis cluster needs 3 primaries)"
        )
    return db_nodes


def shard_ports(port: object, db_nodes: int) -> tuple[int, ...]:
    """Ports ``port .. port+db_nodes-1``, checked to fit (with bus ports for clusters)."""
    port = check_int("port", port, minimum=None)
    last = port + db_nodes - 1
    if port < 1 or last > 65535:
        raise InvalidArgumentError(f"ports {port}..{last} do not fit in 1..65535")
    if db_nodes >= 3 and last + CLUSTER_BUS_OFFSET > 65535:
        raise InvalidArgumentError(
            f"cluster bus port {last + CLUSTER_BUS_OFFSET} (port + {CLUSTER_BUS_OFFSET}) "
            f"exceeds 65535; choose a port <= {65535 - CLUSTER_BUS_OFFSET - db_nodes + 1}"
        )
    return tuple(range(port, last + 1))


def normalize_interfaces(interface: object) -> tuple[str, ...]:
    """``interface`` as a non-empty tuple of names (a str or a list of str is accepted)."""
    if isinstance(interface, str):
        names: tuple[str, ...] = (interface,)
    elif isinstance(interface, list | tuple) and all(isinstance(i, str) for i in interface):
        names = tuple(interface)
    else:
        raise ParameterTypeError(f"interface must be a str or a list of str, not {interface!r}")
    if not names or any(not name.strip() for name in names):
        raise InvalidArgumentError("interface must name at least one network interface")
    return names


def bind_addresses(
    interfaces: Sequence[str], known: Mapping[str, Sequence[str]]
) -> tuple[str, ...]:
    """IPv4 addresses to bind for ``interfaces``; ``known`` maps interface → its IPv4s.

    ``"lo"`` always means 127.0.0.1. An unknown interface, or one without an IPv4 address,
    raises :class:`UnknownInterfaceError` listing the known interfaces.
    """
    result: list[str] = []
    for name in interfaces:
        if name == "lo":
            addrs: Sequence[str] = (LOOPBACK,)
        else:
            addrs = known.get(name, ())
        if not addrs:
            raise UnknownInterfaceError(name, sorted(known))
        result.extend(a for a in addrs if a not in result)
    return tuple(result)


def slot_ranges(num_shards: int) -> tuple[tuple[int, int], ...]:
    """Inclusive slot ranges splitting 0..16383 evenly over ``num_shards`` (in shard order)."""
    if num_shards < 1:
        raise InvalidArgumentError("a cluster needs at least one shard")
    bounds = [i * CLUSTER_SLOTS // num_shards for i in range(num_shards + 1)]
    return tuple((bounds[i], bounds[i + 1] - 1) for i in range(num_shards))


def cpu_sets(
    num_shards: int, cpus_per_shard: int, available: Sequence[int]
) -> tuple[tuple[int, ...], ...]:
    """CPU pinning per shard: consecutive CPUs from ``available``, wrapping around.

    With more shards than fit, CPUs are shared round-robin rather than refused, since the
    user asked for a count per shard, not for exclusive CPUs.
    """
    if not 1 <= cpus_per_shard <= len(available):
        raise InvalidArgumentError(
            f"cpus per shard must be between 1 and {len(available)} (CPUs available), "
            f"got {cpus_per_shard}"
        )
    cpus = sorted(available)
    return tuple(
        tuple(sorted({cpus[(i * cpus_per_shard + k) % len(cpus)] for k in range(cpus_per_shard)}))
        for i in range(num_shards)
    )
