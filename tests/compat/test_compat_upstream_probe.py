"""SmartSim 0.8 behaviours its own suite relies on, found by running that suite through an
import shim (docs/porting.md, "Upstream suites through a shim"): which error a bad option
raises and when, building a Slurm store outside an allocation, ``EntityList`` as an
abstract base, and the first positional argument of ``Orchestrator``."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from insitu import Experiment, JsrunSettings, Orchestrator
from insitu.entities import EntityList
from insitu.errors import (
    AllocationError,
    InvalidDBNodesError,
    SSUnsupportedError,
    UnsupportedOptionError,
)


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
