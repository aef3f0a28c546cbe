"""The local launcher and controller with real child processes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from insitu.errors import AlreadyRunningError, UnsupportedOptionError
from insitu.jobs import JobEvent, JobSpec, JobState, Resources
from insitu.launchers.local import LocalLauncher
from insitu.runtime.controller import Controller
from tests.helpers import process_gone


def spec(tmp_path: Path, name: str, *argv: str, **kw: object) -> JobSpec:
    return JobSpec(
        name=name,
        exe=argv[0],
        args=tuple(argv[1:]),
        cwd=tmp_path,
        out_path=tmp_path / f"{name}.out",
        err_path=tmp_path / f"{name}.err",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def control() -> Controller:
    ctl = Controller(LocalLauncher(grace=1.0))
    yield ctl
    ctl.shutdown()


def test_success_and_failure_states_and_return_codes(control: Controller, tmp_path: Path) -> None:
    control.submit(spec(tmp_path, "ok", "/bin/true"), "ok")
    control.submit(spec(tmp_path, "bad", "/bin/sh", "-c", "exit 3"), "bad")
    assert control.wait(["ok", "bad"], timeout=30)
    ok, bad = control.table.latest("ok"), control.table.latest("bad")
    assert ok is not None and bad is not None
    assert (ok.state, ok.returncode) == (JobState.STATUS_COMPLETED, 0)
    assert (bad.state, bad.returncode) == (JobState.STATUS_FAILED, 3)
    assert ok.start_time is not None and ok.end_time is not None


def test_output_env_and_cwd_applied(control: Controller, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    job = JobSpec(
        name="env",
        exe="/bin/sh",
        args=("-c", 'echo "$GREETING from $(pwd)"; echo oops >&2'),
        cwd=work,
        env={"GREETING": "hello"},
        out_path=tmp_path / "env.out",
        err_path=tmp_path / "env.err",
    )
    control.submit(job, "env")
    assert control.wait(["env"], timeout=30)
    assert (tmp_path / "env.out").read_text() == f"hello from {work}\n"
    assert (tmp_path / "env.err").read_text() == "oops\n"


def test_events_in_order(control: Controller, tmp_path: Path) -> None:
    seen: list[JobEvent] = []
    control.subscribe(seen.append)
    control.submit(spec(tmp_path, "e", "/bin/true"), "e")
    assert control.wait(["e"], timeout=30)
    deadline = time.monotonic() + 10
    while len(seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [e.kind for e in seen] == ["submit", "start", "success"]
    assert seen[-1].returncode == 0


def test_cancel_kills_the_whole_process_group(control: Controller, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {pidfile}; wait"
    control.submit(spec(tmp_path, "grp", "/bin/sh", "-c", script), "grp")
    deadline = time.monotonic() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.01)
    grandchild = int(pidfile.read_text())
    assert psutil.pid_exists(grandchild)
    control.stop_jobs(["grp"])
    assert control.status("grp") is JobState.STATUS_CANCELLED
    assert process_gone(grandchild)


def test_sigterm_ignoring_job_is_killed_after_grace(control: Controller, tmp_path: Path) -> None:
    code = (
        "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "print('ready', flush=True); time.sleep(300)"
    )
    control.submit(spec(tmp_path, "stubborn", sys.executable, "-c", code), "stubborn")
    out = tmp_path / "stubborn.out"
    deadline = time.monotonic() + 20
    while "ready" not in out.read_text() and time.monotonic() < deadline:
        time.sleep(0.01)
    control.stop_jobs(["stubborn"])
    record = control.table.latest("stubborn")
    assert record is not None
    assert record.state is JobState.STATUS_CANCELLED
    assert record.returncode == -9


def test_walltime_is_enforced(control: Controller, tmp_path: Path) -> None:
    job = spec(tmp_path, "long", "/bin/sleep", "300", resources=Resources(walltime=0.5))
    control.submit(job, "long")
    assert control.wait(["long"], timeout=30)
    assert control.status("long") is JobState.STATUS_FAILED


def test_starting_a_running_job_again_is_refused(control: Controller, tmp_path: Path) -> None:
    control.submit(spec(tmp_path, "twice", "/bin/sleep", "300"), "twice")
    with pytest.raises(AlreadyRunningError, match="twice"):
        control.submit(spec(tmp_path, "twice", "/bin/sleep", "300"), "twice")
    control.stop_jobs(["twice"])
    control.submit(spec(tmp_path, "twice", "/bin/true"), "twice")
    assert control.wait(["twice"], timeout=30)
    record = control.table.latest("twice")
    assert record is not None and record.run_id == 1


@pytest.mark.parametrize(
    ("resources", "kw", "option"),
    [
        (Resources(nodes=2), {}, "nodes"),
        (Resources(tasks=4), {}, "tasks"),
        (Resources(tasks_per_node=2), {}, "tasks_per_node"),
        (Resources(hosts=("node042.example",)), {}, "hosts"),
        (Resources(cpus_per_task=10_000), {}, "cpus_per_task"),
        (Resources(), {"run_command": "mpirun"}, "run_command"),
        (Resources(), {"run_args": (("exclusive", None),)}, "run_args"),
    ],
)
def test_unsupported_options_are_refused_before_start(
    control: Controller, tmp_path: Path, resources: Resources, kw: dict[str, object], option: str
) -> None:
    job = spec(tmp_path, "nope", "/bin/true", resources=resources, **kw)
    with pytest.raises(UnsupportedOptionError, match=option):
        control.submit(job, "nope")
    assert control.table.latest("nope") is None


def test_cpus_per_task_sets_omp_threads_and_pinning_uses_taskset(
    control: Controller, tmp_path: Path
) -> None:
    job = spec(
        tmp_path,
        "pin",
        "/bin/sh",
        "-c",
        "echo $OMP_NUM_THREADS; grep Cpus_allowed_list /proc/self/status",
        resources=Resources(cpus_per_task=1, cpu_pinning=(0,)),
    )
    control.submit(job, "pin")
    assert control.wait(["pin"], timeout=30)
    lines = (tmp_path / "pin.out").read_text().splitlines()
    assert lines[0] == "1"
    assert lines[1].split()[-1] == "0"


def test_unknown_launcher_and_auto() -> None:
    from insitu.errors import UnknownLauncherError
    from insitu.launchers.registry import resolve_launcher_name

    assert resolve_launcher_name("auto") in ("local", "slurm", "pbs", "lsf")
    with pytest.raises(UnknownLauncherError, match="dragon"):
        resolve_launcher_name("dragon")
    with pytest.raises(UnknownLauncherError, match="nonsense"):
        resolve_launcher_name("nonsense")
    assert os.cpu_count()
