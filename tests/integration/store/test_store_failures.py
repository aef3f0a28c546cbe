"""Start-up failures: taken ports, shards that die, shards that never answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_harness import ShardRunner, free_port_block

from insitu.errors import PortInUseError, ShardStartError, StoreError
from insitu.store import Orchestrator
from insitu.store.readiness import check_ports_free, port_free


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A socket listening on a free loopback port (another program holding it)."""
    port = free_port_block(1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR as servers set it: binds despite TIME_WAIT leftovers, still blocks others
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock


def test_port_free(listener: socket.socket) -> None:
    taken = listener.getsockname()[1]
    assert not port_free("127.0.0.1", taken)
    with pytest.raises(PortInUseError) as info:
        check_ports_free(["127.0.0.1"], [taken])
    assert info.value.port == taken


def test_port_in_use_fails_before_anything_is_written(
    listener: socket.socket, bundled: str, tmp_path: Path
) -> None:
    taken = listener.getsockname()[1]
    orc = Orchestrator(port=taken, server_binary=bundled)
    with pytest.raises(PortInUseError) as info:
        orc.prepare(tmp_path / "orc")
    assert info.value.port == taken
    assert str(taken) in str(info.value)
    assert not (tmp_path / "orc").exists()


def test_cluster_bus_port_in_use_is_named(bundled: str, tmp_path: Path) -> None:
    port = free_port_block(3)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port + 1 + 10000))
        sock.listen()
        orc = Orchestrator(port=port, db_nodes=3, server_binary=bundled)
        with pytest.raises(PortInUseError) as info:
            orc.prepare(tmp_path / "orc")
    assert info.value.port == port + 10001


def test_port_on_foreign_address_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        port_free("192.0.2.254", free_port_block(1))  # TEST-NET-1: not on this machine


def test_shard_dying_at_start_reports_its_log(
    runner: ShardRunner, server: str, tmp_path: Path
) -> None:
    port = free_port_block(1)
    orc = Orchestrator(port=port, server_binary=server, not_a_real_directive="1")
    with pytest.raises(ShardStartError) as info:
        runner.start(orc, tmp_path / "orc")
    assert info.value.shard == "orchestrator_0"
    assert "not-a-real-directive" in info.value.log_tail
    assert "not-a-real-directive" in str(info.value)
    assert "exited" in str(info.value)
    assert not orc.is_active()


def test_one_bad_shard_of_a_cluster_fails_the_start(
    runner: ShardRunner, bundled: str, tmp_path: Path
) -> None:
    port = free_port_block(3)
    orc = Orchestrator(port=port, db_nodes=3, server_binary=bundled, hz="bogus")
    with pytest.raises(ShardStartError) as info:
        runner.start(orc, tmp_path / "orc")
    assert "bogus" in info.value.log_tail


def test_shard_that_never_answers_times_out(bundled: str, tmp_path: Path) -> None:
    port = free_port_block(1)
    orc = Orchestrator(port=port, server_binary=bundled)
    orc.prepare(tmp_path / "orc")  # nothing is launched: the shard can never answer
    with pytest.raises(ShardStartError) as info:
        orc.wait_ready(lambda i: True, timeout=0.3)
    assert "PING" in str(info.value)
