"""BatchLauncher end to end over the fake scheduler's CLI (tests/fakes/bin): jobs really run,
in the background, outside this process tree, and are observed only through fsub/fstat/fdel."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import psutil
import pytest

from insitu.errors import LauncherError, ShellError, UnsupportedOptionError
from insitu.jobs import JobEvent, JobSpec, JobState
from insitu.jobs.spec import BatchSpec
from insitu.launchers.base import JobStatus, Launcher
from insitu.launchers.batch import SCRIPT_DIR, BatchLauncher
from insitu.runtime.controller import Controller
from tests.fakes.scheduler import FakeScheduler

from .conftest import FakeCluster

DEADLINE = 30.0
HOLD = BatchSpec("fsub", batch_args=(("hold", None),))


def spec(tmp_path: Path, name: str, *argv: str, **kw: object) -> JobSpec:
    return JobSpec(
        name=name, exe=argv[0], args=tuple(argv[1:]), cwd=tmp_path,
        out_path=tmp_path / f"{name}.out", err_path=tmp_path / f"{name}.err",
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
def launcher(fake_cluster: FakeCluster) -> Iterator[BatchLauncher]:
    batch = BatchLauncher(FakeScheduler(), poll_interval=0.05, cancel_grace=20.0)
    yield batch
    batch.shutdown()


def wait_for(launcher: Launcher, job_ids: Sequence[str], *states: JobState) -> dict[str, JobStatus]:
    """Poll until every job is in one of ``states`` (default: any terminal one)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        found = dict(launcher.poll(job_ids))
        if all(
            (s.state in states) if states else s.state.is_terminal for s in found.values()
        ) and len(found) == len(job_ids):
            return found
        assert time.monotonic() < deadline, f"still {found}"
        launcher.wait_for_change(0.05)


def live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` still running (zombies that init has not reaped yet
    do not count)."""
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def test_a_job_runs_with_its_directory_output_and_environment(
    launcher: BatchLauncher, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    job = spec(work, "env", "/bin/sh", "-c", 'echo "$GREETING from $(pwd)"; echo oops >&2',
               env={"GREETING": "it's a b"})  # fmt: skip
    launcher.validate(job)
    job_id = launcher.submit(job)
    (script,) = (work / SCRIPT_DIR).glob("env.*.sh")
    assert stat.S_IMODE(script.stat().st_mode) == 0o600  # it holds the job's environment
    assert launcher.poll([job_id])[job_id].state in (
        JobState.STATUS_QUEUED, JobState.STATUS_RUNNING, JobState.STATUS_COMPLETED,
    )  # fmt: skip
    status = wait_for(launcher, [job_id])[job_id]
    assert (status.state, status.returncode) == (JobState.STATUS_COMPLETED, 0)
    assert status.start_time is not None and status.end_time is not None
    assert (work / "env.out").read_text() == f"it's a b from {work}\n"
    assert (work / "env.err").read_text() == "oops\n"
    assert not script.exists()  # removed once the job ended: no password left on disk


@pytest.mark.parametrize("keep", ["300", "0"], ids=["listed", "forgotten"])
def test_return_codes_whether_the_scheduler_still_lists_the_job(
    launcher: BatchLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: str
) -> None:
    monkeypatch.setenv("FAKESCHED_KEEP", keep)
    ok = launcher.submit(spec(tmp_path, "ok", "/bin/true"))
    bad = launcher.submit(spec(tmp_path, "bad", "/bin/sh", "-c", "exit 3"))
    found = wait_for(launcher, [ok, bad])
    assert (found[ok].state, found[ok].returncode) == (JobState.STATUS_COMPLETED, 0)
    assert (found[bad].state, found[bad].returncode) == (JobState.STATUS_FAILED, 3)


def test_a_job_that_vanishes_without_an_exit_status_fails(
    fake_cluster: FakeCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKESCHED_KEEP", "0")
    launcher = BatchLauncher(FakeScheduler(), poll_interval=0.05, vanish_grace=0.3)
    # The job script itself is killed: it never writes the exit status, and the
    # scheduler forgets the job at once.
    job_id = launcher.submit(spec(tmp_path, "killed", "/bin/sh", "-c", "kill -9 $PPID"))
    status = wait_for(launcher, [job_id])[job_id]
    assert (status.state, status.returncode) == (JobState.STATUS_FAILED, None)


def test_a_held_job_is_queued_until_released(
    launcher: BatchLauncher, fake_cluster: FakeCluster, tmp_path: Path
) -> None:
    job_id = launcher.submit(spec(tmp_path, "held", "/bin/true", batch=HOLD))
    assert wait_for(launcher, [job_id], JobState.STATUS_QUEUED)[job_id].start_time is None
    fake_cluster.release(job_id)
    assert wait_for(launcher, [job_id])[job_id].state is JobState.STATUS_COMPLETED


def test_status_is_one_call_for_every_job_and_cancel_one_for_all(
    fake_cluster: FakeCluster, tmp_path: Path
) -> None:
    launcher = BatchLauncher(FakeScheduler(), poll_interval=3600.0, cancel_grace=20.0)
    ids = [launcher.submit(spec(tmp_path, f"j{i}", "/bin/true", batch=HOLD)) for i in range(4)]
    assert fake_cluster.calls("status") == []
    first = launcher.poll(ids)
    assert {s.state for s in first.values()} == {JobState.STATUS_QUEUED}
    assert fake_cluster.calls("status") == [ids]
    launcher.poll(ids)  # asked again within poll_interval: answered from what is known
    assert len(fake_cluster.calls("status")) == 1
    launcher.cancel(ids)  # waits for the ends with fresh status calls
    assert fake_cluster.calls("delete") == [ids]
    assert {s.state for s in launcher.poll(ids).values()} == {JobState.STATUS_CANCELLED}


def test_cancel_ends_a_running_job_and_everything_it_started(
    launcher: BatchLauncher, fake_cluster: FakeCluster, tmp_path: Path
) -> None:
    job_id = launcher.submit(spec(tmp_path, "long", "/bin/sh", "-c", "sleep 300 & sleep 300"))
    wait_for(launcher, [job_id], JobState.STATUS_RUNNING)
    launcher.cancel([job_id])
    assert launcher.poll([job_id])[job_id].state is JobState.STATUS_CANCELLED
    (record,) = fake_cluster.jobs()
    assert record["state"] == "CANCELLED"
    assert live_members(record["pid"]) == []
    launcher.cancel([job_id])  # ended already: nothing to do
    with pytest.raises(LauncherError, match="unknown"):
        launcher.cancel(["999999"])


def test_a_refused_submission_carries_the_schedulers_stderr(
    launcher: BatchLauncher, fake_cluster: FakeCluster, tmp_path: Path
) -> None:
    wide = spec(tmp_path, "wide", "/bin/true", batch=BatchSpec("fsub", nodes=5))
    launcher.validate(wide)  # the scheduler, not insitu, knows its cluster's size
    with pytest.raises(ShellError, match="Requested node configuration") as info:
        launcher.submit(wide)
    assert info.value.command[0] == "fsub"
    assert "Requested node configuration is not available" in info.value.stderr
    assert fake_cluster.jobs() == []


def test_what_the_scheduler_cannot_express_is_refused_before_anything_runs(
    launcher: BatchLauncher, fake_cluster: FakeCluster, tmp_path: Path
) -> None:
    pinned = spec(tmp_path, "p", "/bin/true", batch=BatchSpec("fsub", hosts=("n1",)))
    with pytest.raises(UnsupportedOptionError, match="set_hostlist"):
        launcher.validate(pinned)
    with pytest.raises(UnsupportedOptionError, match="run_command"):
        launcher.validate(spec(tmp_path, "m", "/bin/true", run_command="mpirun"))
    assert fake_cluster.calls("submit") == []


def test_a_missing_scheduler_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    launcher = BatchLauncher(FakeScheduler())
    with pytest.raises(ShellError, match="could not run fsub"):
        launcher.submit(spec(tmp_path, "j", "/bin/true"))


def test_the_runtime_drives_it_like_any_launcher(fake_cluster: FakeCluster, tmp_path: Path) -> None:
    control = Controller(BatchLauncher(FakeScheduler(), poll_interval=0.05, cancel_grace=20.0))
    events: list[JobEvent] = []
    control.subscribe(events.append)
    try:
        control.submit(spec(tmp_path, "ok", "/bin/sh", "-c", "exit 0"), "ok")
        control.submit(spec(tmp_path, "long", "/bin/sleep", "300"), "long")
        assert control.wait(["ok"], timeout=DEADLINE)
        record = control.table.latest("ok")
        assert record is not None and record.returncode == 0
        states = [e.state for e in events if e.name == "ok"]
        assert states == [JobState.STATUS_QUEUED, JobState.STATUS_RUNNING,
                          JobState.STATUS_COMPLETED]  # fmt: skip
    finally:
        control.shutdown()  # cancels "long" through fdel
    assert control.status("long") is JobState.STATUS_CANCELLED
