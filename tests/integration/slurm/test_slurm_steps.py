"""Steps in a Slurm allocation on the 3-host test cluster: placement, status, stop."""

from __future__ import annotations

import ipaddress
import sys
import time
from pathlib import Path

import pytest

from insitu import Experiment
from insitu.errors import AllocationError, UnsupportedOptionError
from insitu.jobs import JobSpec, JobState, Resources
from insitu.launchers.slurm.launcher import SlurmLauncher
from insitu.wlm import slurm as wlm
from tests.cluster.fixture import queue, srun_python
from tests.cluster.slurm import Cluster

pytestmark = pytest.mark.requires_slurm


def test_the_cluster_is_three_hosts_on_the_benchmarking_range(
    slurm_cluster: Cluster, allocation: str
) -> None:
    out = srun_python(
        slurm_cluster, allocation,
        "import socket, psutil; a = psutil.net_if_addrs()['hsn0'][0].address; "
        "print(socket.gethostname(), a)",
        "--nodes=3", "--ntasks=3",
    )  # fmt: skip
    seen = dict(line.split() for line in out.splitlines())
    assert sorted(seen) == ["node1", "node2", "node3"]
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("198.18.0.0/15")
               for a in seen.values())  # fmt: skip
    assert len(set(seen.values())) == 3


def test_allocation_helpers_read_the_allocation_from_inside(
    slurm_cluster: Cluster, allocation: str
) -> None:
    out = srun_python(
        slurm_cluster, allocation,
        "from insitu.wlm import slurm; print(slurm.get_hosts(), slurm.get_tasks(), "
        "slurm.get_tasks_per_node(), slurm.get_queue())",
        "--nodes=3", "--ntasks=3", "--relative=0", "--ntasks-per-node=1",
    )  # fmt: skip
    assert out.splitlines()[0] == (
        "['node1', 'node2', 'node3'] 3 {'node1': 1, 'node2': 1, 'node3': 1} debug"
    )
    assert wlm.validate(nodes=3, ppn=8) and not wlm.validate(nodes=4)
    assert wlm.get_default_partition() == "debug"


def test_get_allocation_refusals_are_allocation_errors(slurm_cluster: Cluster) -> None:
    with pytest.raises(AllocationError, match="did not grant"):
        wlm.get_allocation(nodes=1, options={"partition": "nosuchpartition"})
    with pytest.raises(AllocationError, match="release"):
        wlm.release_allocation("999999")


def test_steps_run_across_hosts_and_report_how_they_ended(allocation: str, tmp_path: Path) -> None:
    exp = Experiment("steps", exp_path=str(tmp_path), launcher="slurm")
    rs = exp.create_run_settings("/bin/sh", exe_args=["-c", "hostname"])
    rs.set_nodes(2)
    rs.set_tasks(2)
    wide = exp.create_model("wide", rs)
    bad = exp.create_model(
        "bad", exp.create_run_settings("/bin/sh", exe_args=["-c", "exit 3"], run_args={"n": 1})
    )
    exp.start(wide, bad, block=True)
    assert exp.get_status(wide, bad) == [JobState.COMPLETED, JobState.FAILED]
    hosts = Path(wide.path, "wide.out").read_text().split()
    assert sorted(hosts) == ["node1", "node2"]
    record = exp._control.table.latest("bad")
    assert record is not None and record.returncode == 3


def test_the_password_reaches_the_step_but_no_command_line(allocation: str, tmp_path: Path) -> None:
    secret = "s3cr3t-value-for-the-test"
    exp = Experiment("env", exp_path=str(tmp_path), launcher="slurm")
    rs = exp.create_run_settings(
        "/bin/sh", exe_args=["-c", 'echo "$SECRET"; sleep 30'], env_vars={"SECRET": secret}
    )
    model = exp.create_model("env", rs)
    exp.start(model, block=False)
    try:
        out = Path(model.path, "env.out")
        deadline = time.monotonic() + 60
        while secret not in (out.read_text() if out.exists() else ""):
            assert time.monotonic() < deadline, "the step never printed its variable"
            time.sleep(0.1)
        commands = [" ".join(p.cmdline()) for p in _descendant_processes()]
        assert any(c.startswith("srun ") for c in commands)
        assert not [c for c in commands if secret in c]
    finally:
        exp.stop(model)
    assert exp.get_status(model) == [JobState.CANCELLED]


def _descendant_processes() -> list:  # type: ignore[type-arg]
    import psutil

    return psutil.Process().children(recursive=True)


def test_status_is_one_squeue_call_per_tick_for_all_steps(allocation: str, tmp_path: Path) -> None:
    launcher = SlurmLauncher(poll_interval=0.0)
    specs = [
        JobSpec(f"s{i}", "/bin/sleep", ("30",), tmp_path, allocation=allocation,
                resources=Resources(tasks=1))
        for i in range(6)
    ]  # fmt: skip
    ids = [launcher.submit(spec) for spec in specs]
    try:
        deadline = time.monotonic() + 60
        while True:
            before = launcher.status_calls
            states = launcher.poll(ids)
            assert launcher.status_calls - before == 1
            if all(s.state is JobState.RUNNING for s in states.values()):
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.2)
        assert {s.host for s in states.values()} <= {"node1", "node2", "node3"}
    finally:
        launcher.shutdown()
    assert all(s.state is JobState.CANCELLED for s in launcher.poll(ids).values())


def test_srun_settings_outside_an_allocation_say_how_to_get_one(
    slurm_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    exp = Experiment("noalloc", exp_path=str(tmp_path), launcher="slurm")
    model = exp.create_model("m", exp.create_run_settings("/bin/true"))
    with pytest.raises(AllocationError, match="get_allocation"):
        exp.start(model)
    assert queue(slurm_cluster) == []


def test_options_srun_cannot_honour_are_refused_before_anything_starts(
    allocation: str, tmp_path: Path
) -> None:
    exp = Experiment("refuse", exp_path=str(tmp_path), launcher="slurm")
    rs = exp.create_run_settings(sys.executable, run_command="mpirun")
    with pytest.raises(UnsupportedOptionError, match="srun"):
        exp.start(exp.create_model("m", rs))
