"""Shard layout, interfaces, slots and CPU pinning (pure parts)."""

from __future__ import annotations

import itertools

import pytest

from insitu.errors import (
    InvalidArgumentError,
    InvalidDBNodesError,
    ParameterTypeError,
    UnknownInterfaceError,
)
from insitu.store import topology


@pytest.mark.parametrize("n", [0, -1, 2])
def test_db_nodes_refused(n: int) -> None:
    with pytest.raises(InvalidDBNodesError, match="3"):
        topology.validate_db_nodes(n)


@pytest.mark.parametrize("n", ["3", 3.0, True, None])
def test_db_nodes_type(n: object) -> None:
    with pytest.raises(ParameterTypeError):
        topology.validate_db_nodes(n)
    with pytest.raises(TypeError):
        topology.validate_db_nodes(n)


@pytest.mark.parametrize("n", [1, 3, 4, 16])
def test_db_nodes_accepted(n: int) -> None:
    assert topology.validate_db_nodes(n) == n


def test_ports() -> None:
    assert topology.shard_ports(6379, 1) == (6379,)
    assert topology.shard_ports(6379, 3) == (6379, 6380, 6381)
    assert topology.shard_ports(65535, 1) == (65535,)
    with pytest.raises(InvalidArgumentError):
        topology.shard_ports(0, 1)
    with pytest.raises(InvalidArgumentError):
        topology.shard_ports(65534, 3)
    with pytest.raises(InvalidArgumentError, match="cluster bus"):
        topology.shard_ports(55534, 3)
    assert topology.shard_ports(55533, 3)[-1] == 55535
    with pytest.raises(TypeError):
        topology.shard_ports("6379", 1)


def test_topology_addresses_and_bus_ports() -> None:
    topo = topology.Topology(3, (7000, 7001, 7002), ("127.0.0.1",))
    assert topo.clustered
    assert topo.host == "127.0.0.1"
    assert topo.addresses == ("127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002")
    assert topo.needed_ports() == (7000, 7001, 7002, 17000, 17001, 17002)
    single = topology.Topology(1, (7000,), ("127.0.0.1",))
    assert not single.clustered
    assert single.needed_ports() == (7000,)


def test_interfaces() -> None:
    known = {"lo": ("127.0.0.1",), "eth0": ("192.0.2.2",), "ib0": ()}
    assert topology.normalize_interfaces("lo") == ("lo",)
    assert topology.normalize_interfaces(["lo", "eth0"]) == ("lo", "eth0")
    assert topology.bind_addresses(["lo"], {}) == ("127.0.0.1",)
    assert topology.bind_addresses(["eth0", "lo"], known) == ("192.0.2.2", "127.0.0.1")
    with pytest.raises(UnknownInterfaceError) as info:
        topology.bind_addresses(["ens99"], known)
    assert info.value.interface == "ens99"
    assert "eth0" in str(info.value) and "ens99" in str(info.value)
    with pytest.raises(UnknownInterfaceError):
        topology.bind_addresses(["ib0"], known)  # no IPv4 address
    with pytest.raises(TypeError):
        topology.normalize_interfaces(5)
    with pytest.raises(InvalidArgumentError):
        topology.normalize_interfaces([])


def test_slot_ranges_cover_all_slots_evenly() -> None:
    for n in (1, 3, 4, 7, 16):
        ranges = topology.slot_ranges(n)
        assert ranges[0][0] == 0 and ranges[-1][1] == 16383
        for (_, end), (start, _) in itertools.pairwise(ranges):
            assert start == end + 1
        sizes = [end - start + 1 for start, end in ranges]
        assert max(sizes) - min(sizes) <= 1
    assert topology.slot_ranges(3) == ((0, 5460), (5461, 10921), (10922, 16383))


def test_cpu_sets() -> None:
    assert topology.cpu_sets(3, 1, [0, 1]) == ((0,), (1,), (0,))
    assert topology.cpu_sets(2, 2, [0, 1, 2, 3]) == ((0, 1), (2, 3))
    assert topology.cpu_sets(1, 2, [4, 6]) == ((4, 6),)
    with pytest.raises(InvalidArgumentError):
        topology.cpu_sets(1, 3, [0, 1])
    with pytest.raises(InvalidArgumentError):
        topology.cpu_sets(1, 0, [0, 1])
