"""SmartSim 0.8 behaviours its own suite relies on, found by running that suite through an
import shim (docs/porting.md, "Upstream suites through a shim"): which error a bad option
raises and when, building a Slurm store outside an allocation, ``EntityList`` as an
abstract base, and the first positional argument of ``Orchestrator``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from insitu import (
    DBModel,
    DBScript,
    Experiment,
    JsrunSettings,
    Model,
    Orchestrator,
    SgeQsubBatchSettings,
)
from insitu.entities import EntityList
from insitu.errors import (
    AllocationError,
    ConfigurationError,
    DBIDConflictError,
    InvalidDBNodesError,
    SSUnsupportedError,
    UnsupportedOptionError,
)
from insitu.store.readiness import find_free_port_block


@pytest.mark.parametrize("launcher", ["local", "slurm", "lsf"])
def test_two_shards_is_smartsims_unsupported_error(launcher: str) -> None:
    with pytest.raises(SSUnsupportedError) as caught:
        Orchestrator(port=16379, db_nodes=2, launcher=launcher)
    err = caught.value
    assert isinstance(err, InvalidDBNodesError)
    assert isinstance(err, ValueError)
    assert err.option == "db_nodes"
    assert "db_nodes=2" in str(err) and "at least 3" in str(err)


def test_a_slurm_store_is_built_outside_an_allocation_and_refused_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    exp = Experiment("no-alloc", exp_path=str(tmp_path), launcher="slurm")
    orc = exp.create_database(port=16400, db_nodes=3, run_command="srun", interface="lo")
    assert [node.name for node in orc.entities] == [f"orchestrator_{i}" for i in range(3)]
    with pytest.raises(AllocationError, match="SLURM_JOB_ID"):
        exp.start(orc)
    assert not orc.is_active()


def test_an_option_srun_cannot_take_is_reported_before_the_missing_allocation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    exp = Experiment("jsrun-on-slurm", exp_path=str(tmp_path), launcher="slurm")
    model = exp.create_model("bad_rs", JsrunSettings("echo", "hello"))
    with pytest.raises(UnsupportedOptionError, match="jsrun"):
        exp.start(model)


def test_entity_list_is_abstract_as_in_smartsim(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="EntityList is abstract"):
        EntityList("list", str(tmp_path), perm_strat="all_perm")

    class Pair(EntityList):
        def _initialize_entities(self, **kwargs: object) -> None:
            self.entities = list(kwargs)

    pair = Pair("pair", str(tmp_path), a=1, b=2)
    assert (pair.name, pair.path, pair.entities) == ("pair", str(tmp_path), ["a", "b"])


def test_a_number_as_first_orchestrator_argument_is_its_path_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING):
        orc = Orchestrator(16500, db_nodes=3, launcher="pbs", run_command="mpirun")
    assert orc.path == "16500"
    assert orc.ports == [6379, 6380, 6381]  # from the default port: 16500 became the path
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("not port" in m and "port=16500" in m for m in warned)
    with pytest.raises(TypeError, match="path must be"):
        Orchestrator(1.5)  # type: ignore[arg-type]


def _colocated_model(tmp_path: Path, name: str = "colo") -> Model:
    exp = Experiment("colo-view", exp_path=str(tmp_path), launcher="local")
    return exp.create_model(name, exp.create_run_settings(sys.executable, ["-c", "pass"]))


def test_colocated_db_settings_mirror_a_tcp_colocation_in_smartsims_layout(
    tmp_path: Path,
) -> None:
    model = _colocated_model(tmp_path)
    assert model.run_settings.colocated_db_settings is None
    model.add_script("s", script="def f(x):\n    return x\n")
    model.colocate_db_tcp(port=16600, db_cpus=1, debug=True, db_identifier="cdb",
                          threads_per_queue=2, maxclients=100)  # fmt: skip
    view = model.run_settings.colocated_db_settings
    first_cpu = str(sorted(os.sched_getaffinity(0))[0])
    assert view is not None
    assert {k: view[k] for k in ("port", "ifname", "cpus", "debug", "db_identifier")} == {
        "port": 16600, "ifname": ["lo"], "cpus": 1, "debug": True, "db_identifier": "cdb",
    }  # fmt: skip
    assert view["custom_pinning"] == first_cpu  # the first db_cpus CPUs this process may use
    assert view["rai_args"]["threads_per_queue"] == 2
    assert view["extra_db_args"] == {"maxclients": "100"}
    assert [s.name for s in view["db_scripts"]] == ["s"] and view["db_models"] == []
    assert model.colocation is not None and model.colocation.port == 16600


@pytest.mark.parametrize(
    ("pinning", "expected"), [([], None), ([1], "1"), ([range(2)], "0,1"), ([1, 0], "0,1")]
)
def test_colocated_db_settings_write_the_pinning_as_smartsim_does(
    tmp_path: Path, pinning: list[object], expected: str | None
) -> None:
    if len(os.sched_getaffinity(0)) < 2 and expected not in (None,):
        pytest.skip("needs two usable CPUs")
    model = _colocated_model(tmp_path)
    model.colocate_db_uds(db_cpus=1 if len(pinning) < 2 else 2, custom_pinning=pinning)
    view = model.run_settings.colocated_db_settings
    assert view is not None
    assert view["custom_pinning"] == expected
    assert view["port"] == 0 and str(view["unix_socket"]).endswith(".socket")


def test_a_repeated_db_identifier_says_so_in_smartsims_words(tmp_path: Path) -> None:
    exp = Experiment("dbid", exp_path=str(tmp_path), launcher="local")
    exp.create_database(port=16700, db_identifier="my_db")
    with pytest.raises(DBIDConflictError) as caught:
        exp.create_database(port=16701, db_identifier="my_db")
    assert "has already been used. Pass in a unique name for db_identifier" in str(caught.value)


def test_a_store_reconnected_here_is_stopped_through_the_starting_drivers_object(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Experiment("first", exp_path=str(tmp_path / "a"), launcher="local")
    try:
        store = first.create_database(port=find_free_port_block(1))
        first.start(store)
        second = Experiment("second", exp_path=str(tmp_path / "b"), launcher="local")
        second.reconnect_orchestrator(store.checkpoint_file)
        second.stop(store)  # the object of the driver that started it, as SmartSim allows
        assert not store.is_active()
    finally:
        first.stop_all()


def test_jsrun_cpus_per_rs_is_checked_against_the_colocated_stores_cpus(tmp_path: Path) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two usable CPUs")
    exp = Experiment("jsrun-colo", exp_path=str(tmp_path), launcher="local")
    settings = JsrunSettings("echo", "hi")
    model = exp.create_model("colo", settings)
    model.colocate_db_tcp(port=16800, db_cpus=2)
    assert settings.colocated_db_settings is not None
    assert settings.colocated_db_settings["db_cpus"] == 2
    with pytest.raises(ValueError, match="less than db_cpus"):
        settings.set_cpus_per_rs(1)
    settings.set_cpus_per_rs(4)
    assert settings.run_args["cpu_per_rs"] == 4


def test_built_db_objects_are_attached_with_smartsims_object_methods(tmp_path: Path) -> None:
    model = _colocated_model(tmp_path, "objects")
    script = DBScript("s", script="def f(x):\n    return x\n")
    onnx = DBModel("m", "ONNX", model=b"bytes-of-a-model")
    model.add_script_object(script)
    model.add_ml_model_object(onnx)
    assert model.db_scripts == (script,) and model.db_models == (onnx,)
    with pytest.raises(TypeError, match="DBModel"):
        model.add_ml_model_object(script)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="DBScript"):
        model.add_script_object("def f(x): return x")  # type: ignore[arg-type]
    with pytest.raises(SSUnsupportedError, match="already exists"):  # as add_script raises
        model.add_script_object(DBScript("s", script="def g(x):\n    return x\n"))


def test_sge_set_nodes_takes_smartsims_keyword() -> None:
    settings = SgeQsubBatchSettings()
    settings.set_nodes(num_nodes=0)
    with pytest.raises(ConfigurationError, match="SGE"):
        settings.set_nodes(num_nodes=2)


def test_the_experiment_lists_the_db_identifiers_it_created(tmp_path: Path) -> None:
    exp = Experiment("ids", exp_path=str(tmp_path), launcher="local")
    assert exp.db_identifiers == set()
    exp.create_database(port=17000, db_identifier="first")
    exp.create_database(port=17001, db_identifier="second")
    assert exp.db_identifiers == {"first", "second"}


def test_settings_base_and_db_object_are_smartsims_common_names() -> None:
    from insitu.entities import DBObject
    from insitu.settings import SbatchSettings, SettingsBase, SrunSettings

    assert isinstance(SrunSettings("echo"), SettingsBase)
    assert isinstance(SbatchSettings(), SettingsBase)
    assert not isinstance("srun", SettingsBase)
    script = DBScript("s", script="def f(x):\n    return x\n")
    assert isinstance(script, DBObject)
    assert isinstance(DBModel("m", "ONNX", model=b"x"), DBObject)


def test_poll_given_an_entity_says_its_first_argument_is_the_interval(tmp_path: Path) -> None:
    model = _colocated_model(tmp_path, "polled")
    exp = Experiment("poll", exp_path=str(tmp_path), launcher="local")
    with pytest.raises(TypeError, match=r"interval .*must be a number, not Model"):
        exp.poll(model)  # type: ignore[arg-type]
    exp.poll(interval=1)  # nothing running: returns at once
