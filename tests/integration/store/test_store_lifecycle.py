"""Real shards: standalone and 3-shard cluster on bundled valkey and Debian redis-server."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from store_harness import ShardRunner, free_port_block

from insitu.client import credentials
from insitu.errors import AlreadyRunningError, StoreNotActiveError
from insitu.hosts import interface_addresses
from insitu.store import Orchestrator
from insitu.wire.env import StoreConnection


def test_standalone_serves_authenticated_clients(
    runner: ShardRunner, server: str, tmp_path: Path
) -> None:
    port = free_port_block(1)
    orc = Orchestrator(port=port, server_binary=server)
    procs = runner.start(orc, tmp_path / "orchestrator")

    assert orc.is_active()
    assert orc.get_address() == [f"127.0.0.1:{port}"]
    assert credentials.lookup(f"127.0.0.1:{port}") == orc.password
    conn = redis.Redis(port=port, password=orc.password)
    assert conn.set("k", b"v") and conn.get("k") == b"v"
    assert conn.config_get("save") == {"save": ""}
    assert conn.config_get("appendonly") == {"appendonly": "no"}
    conn.close()

    env = orc.connection_env()
    assert StoreConnection.from_env(env) == StoreConnection(
        "orchestrator", (f"127.0.0.1:{port}",), False, orc.password
    )
    with pytest.raises(AlreadyRunningError):
        orc.prepare()

    runner.stop(orc, procs)
    assert not orc.is_active()
    assert credentials.lookup(f"127.0.0.1:{port}") is None
    with pytest.raises(StoreNotActiveError):
        orc.get_address()


def test_cluster_reaches_ok_and_serves_redis_cluster(
    runner: ShardRunner, server: str, tmp_path: Path
) -> None:
    port = free_port_block(3)
    orc = Orchestrator(port=port, db_nodes=3, server_binary=server, db_identifier="feat")
    runner.start(orc, tmp_path / "feat")

    addresses = [f"127.0.0.1:{port + i}" for i in range(3)]
    assert orc.get_address() == addresses
    for p in orc.ports:
        with redis.Redis(port=p, password=orc.password, decode_responses=True) as node:
            info = node.execute_command("CLUSTER", "INFO")
            assert "cluster_state:ok" in info
            assert "cluster_known_nodes:3" in info
    cluster = redis.RedisCluster(host="127.0.0.1", port=port, password=orc.password)
    try:
        for i in range(200):
            cluster.set(f"key-{i}", i)
        assert [cluster.get(f"key-{i}") for i in range(200)] == [b"%d" % i for i in range(200)]
    finally:
        cluster.close()
    for p in orc.ports:  # the keys really are spread over the three shards
        with redis.Redis(port=p, password=orc.password) as node:
            assert node.dbsize() > 0
    env = orc.connection_env()
    assert env["SSDB_feat"] == ",".join(addresses)
    assert env["SR_DB_TYPE_feat"] == "Clustered"


def test_cluster_restarts_in_the_same_directory(
    runner: ShardRunner, bundled: str, tmp_path: Path
) -> None:
    port = free_port_block(3)
    orc = Orchestrator(port=port, db_nodes=3, server_binary=bundled)
    procs = runner.start(orc, tmp_path / "orc")
    runner.stop(orc, procs)
    runner.start(orc, tmp_path / "orc")
    assert orc.is_active()


def test_password_is_required(runner: ShardRunner, bundled: str, tmp_path: Path) -> None:
    port = free_port_block(1)
    orc = Orchestrator(port=port, server_binary=bundled)
    runner.start(orc, tmp_path / "orc")
    # redis-py retries AuthenticationError (a ConnectionError) by default; fail fast instead.
    no_retry = Retry(NoBackoff(), 0)
    with (
        redis.Redis(port=port, retry=no_retry) as anonymous,
        pytest.raises(redis.AuthenticationError),
    ):
        anonymous.set("k", "v")
    with (
        redis.Redis(port=port, password="wrong-password", retry=no_retry) as wrong,
        pytest.raises(redis.AuthenticationError),
    ):
        wrong.ping()


def test_shards_listen_on_loopback_only(runner: ShardRunner, bundled: str, tmp_path: Path) -> None:
    port = free_port_block(3)
    orc = Orchestrator(port=port, db_nodes=3, server_binary=bundled)
    procs = runner.start(orc, tmp_path / "orc")
    for proc in procs:
        listening = [
            c.laddr
            for c in psutil.Process(proc.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening, "the shard has no listening socket"
        assert {addr.ip for addr in listening} == {"127.0.0.1"}
    with redis.Redis(port=port, password=orc.password, decode_responses=True) as conn:
        assert conn.config_get("bind") == {"bind": "127.0.0.1"}
        assert conn.config_get("protected-mode") == {"protected-mode": "yes"}


def _non_loopback_interface() -> tuple[str, str] | None:
    for name, addrs in interface_addresses().items():
        for addr in addrs:
            if name != "lo" and not addr.startswith("127."):
                return name, addr
    return None


def test_interface_chooses_the_bind_address(
    runner: ShardRunner, bundled: str, tmp_path: Path
) -> None:
    found = _non_loopback_interface()
    if found is None:
        pytest.skip("this machine has no non-loopback IPv4 interface")
    name, addr = found
    port = free_port_block(3)
    orc = Orchestrator(port=port, db_nodes=3, interface=[name, "lo"], server_binary=bundled)
    procs = runner.start(orc, tmp_path / "orc")
    assert orc.hosts == [addr]
    assert orc.get_address() == [f"{addr}:{port + i}" for i in range(3)]
    listening = {
        c.laddr.ip
        for c in psutil.Process(procs[0].pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }
    assert listening == {addr, "127.0.0.1"}
    assert credentials.lookup(f"localhost:{port}") == orc.password
    cluster = redis.RedisCluster(host=addr, port=port, password=orc.password)
    try:
        cluster.set("k", "v")
        assert cluster.get("k") == b"v"
    finally:
        cluster.close()
