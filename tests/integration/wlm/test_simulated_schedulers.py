"""PBS Pro/PALS and LSF end to end through their behavioural simulators (each test runs
once per scheduler): batch jobs with their return codes, one status call for all jobs,
refusals and stops, MPI steps in an allocation and MPI inside a batch job."""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from insitu import Experiment
from insitu.errors import (
    AllocationError,
    CommandTimeoutError,
    ShellError,
    UnsupportedOptionError,
)
from insitu.jobs import JobSpec, JobState
from insitu.jobs.spec import BatchSpec
from insitu.launchers.base import Launcher
from insitu.settings import JsrunSettings, MpirunSettings, PalsMpiexecSettings, RunSettings
from tests.fakes.simulators import Simulator

HELLO = Path(__file__).with_name("mpi_hello.py")

needs_mpi = pytest.mark.skipif(
    shutil.which("mpirun") is None,
    reason="needs Open MPI: run `bash .ci/debian-packages` as root (openmpi-bin)",
)


SUBMIT = {"pbs": "qsub", "lsf": "bsub", "sge": "qsub"}
CANCEL = {"pbs": "qdel", "lsf": "bkill", "sge": "qdel"}


def _mpi_settings(sim: Simulator, tasks: int) -> RunSettings:
    classes = {"pals": PalsMpiexecSettings, "jsrun": JsrunSettings, "mpirun": MpirunSettings}
    cls = classes[sim.step_run_command]
    rs = cls(sys.executable, exe_args=[str(HELLO)])
    rs.set_tasks(tasks)
    return rs


def _ranks(directory: str) -> list[list[str]]:
    return sorted(p.read_text().split() for p in Path(directory).glob("rank_*.txt"))


def test_batch_models_end_with_their_return_codes(sim: Simulator, tmp_path: Path) -> None:
    exp = Experiment("batch", exp_path=str(tmp_path), launcher=sim.launcher)
    bs = exp.create_batch_settings(nodes=1, time="00:05:00")
    bs.add_preamble(["echo preamble-ran"])
    show = 'echo "job=$PBS_JOBID$LSB_JOBID$JOB_ID"'
    ok = exp.create_model(
        "ok", exp.create_run_settings("/bin/sh", ["-c", show], run_command=None),
        batch_settings=bs,
    )  # fmt: skip
    bad = exp.create_model(
        "bad", exp.create_run_settings("/bin/sh", ["-c", "exit 4"], run_command=None),
        batch_settings=bs,
    )  # fmt: skip
    exp.start(ok, bad, block=True)
    assert exp.get_status(ok, bad) == [JobState.COMPLETED, JobState.FAILED]
    ok_record, bad_record = exp._control.table.latest("ok"), exp._control.table.latest("bad")
    assert ok_record is not None and bad_record is not None
    assert bad_record.returncode == 4 and ok_record.returncode == 0
    out = Path(ok.path, "ok.out").read_text().split()
    assert out == ["preamble-ran", f"job={ok_record.job_id}"]


def _launcher(sim: Simulator, **options: float) -> Launcher:
    from insitu.launchers.lsf.launcher import lsf_launcher
    from insitu.launchers.pbs.launcher import pbs_launcher
    from insitu.launchers.sge.launcher import sge_launcher

    factories = {"pbs": pbs_launcher, "lsf": lsf_launcher, "sge": sge_launcher}
    return factories[sim.launcher](**options)


def test_status_is_one_call_per_tick_for_all_batch_jobs(sim: Simulator, tmp_path: Path) -> None:
    launcher = _launcher(sim, poll_interval=0.0)
    spec = JobSpec("s", "/bin/sleep", ("30",), tmp_path, batch=BatchSpec("", nodes=1))
    ids = [launcher.submit(replace(spec, name=f"s{i}")) for i in range(5)]
    try:
        deadline = time.monotonic() + 60
        while True:
            before = len(sim.calls(sim.status_command))
            states = launcher.poll(ids)
            calls = sim.calls(sim.status_command)
            assert len(calls) == before + 1
            assert set(ids) <= set(calls[-1]) or calls[-1] == ["-xml"]  # sge: all jobs
            if all(s.state is JobState.RUNNING for s in states.values()):
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.1)
    finally:
        launcher.shutdown()
    assert {s.state for s in launcher.poll(ids).values()} == {JobState.CANCELLED}
    assert sim.left_running() == []


def test_a_refused_submission_carries_the_schedulers_message(
    sim: Simulator, tmp_path: Path
) -> None:
    exp = Experiment("refused", exp_path=str(tmp_path), launcher=sim.launcher)
    bs = exp.create_batch_settings(nodes=1, time="00:01:00", queue="nosuchqueue")
    model = exp.create_model(
        "m", exp.create_run_settings("/bin/true", run_command=None), batch_settings=bs
    )
    with pytest.raises(ShellError, match=r"(?i)queue") as info:
        exp.start(model)
    assert "queue" in info.value.stderr.lower()
    assert sim.jobs() == []


def test_stop_cancels_running_and_queued_batch_jobs(sim: Simulator, tmp_path: Path) -> None:
    exp = Experiment("stop", exp_path=str(tmp_path), launcher=sim.launcher)
    bs = exp.create_batch_settings(nodes=1, time="00:05:00")
    rs = exp.create_run_settings("/bin/sleep", ["300"], run_command=None)
    ensemble = exp.create_ensemble("ens", batch_settings=bs, run_settings=rs, replicas=2)
    exp.start(ensemble, block=False)
    deadline = time.monotonic() + 60
    while exp.get_status(ensemble) != [JobState.RUNNING] * 2:
        assert time.monotonic() < deadline, exp.get_status(ensemble)
        time.sleep(0.1)
    exp.stop(ensemble)
    assert exp.get_status(ensemble) == [JobState.CANCELLED] * 2
    assert sim.left_running() == []
    assert len(sim.jobs()) == 1  # the ensemble is one batch job, its members are steps
    assert len(sim.calls(CANCEL[sim.launcher])) == 1


def test_an_ensemble_with_batch_settings_is_one_job_of_steps(
    sim: Simulator, tmp_path: Path
) -> None:
    exp = Experiment("ens", exp_path=str(tmp_path), launcher=sim.launcher)
    bs = exp.create_batch_settings(nodes=1, time="00:05:00")
    show = 'echo "member=$MEMBER job=$PBS_JOBID$LSB_JOBID$JOB_ID"; exit "$CODE"'
    rs = exp.create_run_settings("/bin/sh", ["-c", show], run_command=None)
    ensemble = exp.create_ensemble("ens", batch_settings=bs, run_settings=rs, replicas=3)
    for index, member in enumerate(ensemble.models):
        member.run_settings.update_env({"MEMBER": str(index), "CODE": str(index % 2 * 5)})
    exp.start(ensemble, block=True)
    assert exp.get_status(ensemble) == [JobState.COMPLETED, JobState.FAILED, JobState.COMPLETED]
    (job,) = sim.jobs()
    records = [exp._control.table.latest(m.name) for m in ensemble.models]
    assert [r.returncode for r in records if r is not None] == [0, 5, 0]
    assert len({r.job_id for r in records if r is not None}) == 3  # each member its own id
    for index, member in enumerate(ensemble.models):
        out = Path(member.path, f"{member.name}.out").read_text().split()
        assert out[0] == f"member={index}" and out[1].startswith(f"job={job['id']}")
    assert sim.left_running() == []
    assert len(sim.calls(SUBMIT[sim.launcher])) == 1


@needs_mpi
def test_ensemble_members_run_their_mpi_steps_inside_the_one_job(
    sim: Simulator, tmp_path: Path
) -> None:
    exp = Experiment("mpiens", exp_path=str(tmp_path), launcher=sim.launcher)
    bs = exp.create_batch_settings(nodes=1, time="00:05:00")
    ensemble = exp.create_ensemble(
        "ranks", batch_settings=bs, run_settings=_mpi_settings(sim, 2), replicas=2
    )
    for member in ensemble.models:
        # Two Open MPI launches at once on one host race to create their shared session
        # directory ("A call to mkdir was unable to create…"): each its own.
        member.run_settings.update_env({"TMPDIR": member.path})
    exp.start(ensemble, block=True)
    errors = [Path(m.path, f"{m.name}.err").read_text() for m in ensemble.models]
    assert exp.get_status(ensemble) == [JobState.COMPLETED] * 2, errors
    (job,) = sim.jobs()
    for member in ensemble.models:
        rows = _ranks(member.path)
        assert [row[1] for row in rows] == ["0", "1"]
        assert {row[7].split(".")[0] for row in rows} == {str(job["id"])}
    if sim.launcher != "sge":  # Grid Engine's run command is the real mpirun
        runner = {"pbs": "mpiexec", "lsf": "jsrun"}[sim.launcher]
        assert len(sim.calls(runner)) == 2  # one step per member


@needs_mpi
def test_mpi_steps_run_in_the_allocation_and_need_one(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = Experiment("steps", exp_path=str(tmp_path), launcher=sim.launcher)
    outside = exp.create_model("outside", _mpi_settings(sim, 2))
    with pytest.raises(AllocationError, match=sim.allocation_var):
        exp.start(outside)
    monkeypatch.setenv(sim.allocation_var, "4242")
    ranks = exp.create_model("ranks", _mpi_settings(sim, 4))
    exp.start(ranks, block=True)
    assert exp.get_status(ranks) == [JobState.COMPLETED], Path(ranks.path, "ranks.err").read_text()
    rows = _ranks(ranks.path)
    assert [row[1] for row in rows] == ["0", "1", "2", "3"]
    assert {(row[3], row[5], row[7]) for row in rows} == {("4", "6", "4242")}
    assert sim.calls(sim.status_command) == []  # steps are the driver's own processes


@needs_mpi
def test_an_mpi_program_inside_a_batch_job(sim: Simulator, tmp_path: Path) -> None:
    exp = Experiment("mpibatch", exp_path=str(tmp_path), launcher=sim.launcher)
    bs = exp.create_batch_settings(nodes=1, time="00:05:00")
    model = exp.create_model("ranks", _mpi_settings(sim, 3), batch_settings=bs)
    exp.start(model, block=True)
    assert exp.get_status(model) == [JobState.COMPLETED], Path(model.path, "ranks.err").read_text()
    record = exp._control.table.latest("ranks")
    assert record is not None
    rows = _ranks(model.path)
    assert [row[1] for row in rows] == ["0", "1", "2"]
    assert {(row[5], row[7]) for row in rows} == {("3", record.job_id)}


def test_a_hanging_or_missing_scheduler_cli_is_a_typed_error(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = JobSpec("j", "/bin/true", cwd=tmp_path, batch=BatchSpec("", nodes=1))
    launcher = _launcher(sim, tool_timeout=2.0)
    monkeypatch.setenv("FAKESCHED_HANG", SUBMIT[sim.launcher])
    with pytest.raises(CommandTimeoutError, match="did not finish within 2 s"):
        launcher.submit(spec)
    monkeypatch.delenv("FAKESCHED_HANG")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ShellError, match=r"qsub|bsub"):
        _launcher(sim).submit(spec)
    assert sim.jobs() == []


def test_a_rules_file_runs_on_the_scheduler(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sim.launcher == "sge":
        pytest.skip("rules files do not run on Grid Engine in this version (docs/hpc.md)")
    from insitu.rules.api import run_file

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "jobs:\n"
        "  - {name: ok, command: 'true', count: 3, nodes: 1}\n"
        "  - {name: bad, command: 'false', count: 1, nodes: 1}\n"
        "rules:\n"
        "  - {trigger: start, action: {name: submit, label: ok}}\n"
        "  - {trigger: start, action: {name: submit, label: bad}}\n"
    )
    monkeypatch.setenv(sim.allocation_var, "99")
    result = run_file(rules, executor=sim.launcher, timeout=120)
    assert result.errors == ()
    assert dict(result.metrics.counts["ok"])["success"] == 3
    assert dict(result.metrics.counts["bad"])["failed"] == 1


def test_a_store_and_a_model_run_as_steps_of_the_allocation(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from insitu.store.readiness import find_free_port_block

    monkeypatch.setenv(sim.allocation_var, "7")
    exp = Experiment("store", exp_path=str(tmp_path), launcher=sim.launcher)
    db = exp.create_database(db_nodes=1, port=find_free_port_block(1), run_command=None)
    exp.start(db)
    try:
        code = "from insitu.client import Client; import numpy as np; " \
               "Client().put_tensor('x', np.arange(3))"  # fmt: skip
        rs = exp.create_run_settings(sys.executable, ["-c", code], run_command=None)
        model = exp.create_model("writer", rs)
        exp.start(model, block=True)
        assert exp.get_status(model) == [JobState.COMPLETED], Path(model.path, "writer.err")
        from insitu.client import Client

        assert Client(address=db.get_address()[0], cluster=False).get_tensor("x").tolist() == [
            0, 1, 2
        ]  # fmt: skip
    finally:
        exp.stop(db)
    assert exp.get_status(db)[0] is JobState.CANCELLED


def _node(call: list[str]) -> str:
    """The node ``pbsdsh -h NODE -- …`` or ``blaunch NODE …`` starts its task on."""
    return call[call.index("-h") + 1] if "-h" in call else call[0]


def test_a_batch_orchestrator_is_one_job_with_a_shard_per_node(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, node_interface: str
) -> None:
    from insitu.client import Client
    from insitu.store.readiness import find_free_port_block

    monkeypatch.setenv("FAKESCHED_NODES", "3")
    exp = Experiment("orch", exp_path=str(tmp_path), launcher=sim.launcher)
    if sim.launcher == "sge":  # one node per shard cannot be asked of Grid Engine
        with pytest.raises(UnsupportedOptionError, match="no node count"):
            exp.create_database(db_nodes=3, port=find_free_port_block(3), batch=True)
        return
    db = exp.create_database(
        db_nodes=3, port=find_free_port_block(3), batch=True, time="00:05:00",
        run_command=None, interface=node_interface,
    )  # fmt: skip
    exp.start(db)
    try:
        (job,) = sim.jobs()  # shards and inference workers: steps of one batch job
        assert job["state"] == "RUNNING"
        # Shard 0 (and its worker) on the job's first node, where the agent runs; shards
        # 1 and 2 (and theirs) each on their own node, through the scheduler's tool.
        tool, prefix = {"pbs": ("pbsdsh", "pbsnode"), "lsf": ("blaunch", "lsfnode")}[sim.launcher]
        expected = [f"{prefix}2", f"{prefix}2", f"{prefix}3", f"{prefix}3"]
        deadline = time.monotonic() + 60  # the workers join once the shards are ready
        while len(placed := [_node(call) for call in sim.calls(tool)]) < len(expected):
            assert time.monotonic() < deadline, placed
            time.sleep(0.1)
        assert sorted(placed) == expected
        client = Client(address=db.get_address()[0], cluster=True)
        client.put_tensor("x", np.arange(4))
        assert client.get_tensor("x").tolist() == [0, 1, 2, 3]
    finally:
        exp.stop(db)
    assert set(exp.get_status(db)) == {JobState.CANCELLED}
    assert len(sim.calls(CANCEL[sim.launcher])) == 1
    assert sim.left_running() == []
