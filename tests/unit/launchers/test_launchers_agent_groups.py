"""The step agent of PBS/LSF batch groups and the driver's reading of its files (pure
parts, and the agent run on a real spool directory with real child processes)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from insitu.jobs import JobSpec, JobState
from insitu.launchers.agent_groups import member_order, member_status
from insitu.launchers.step_agent import Agent, exit_status, job_hosts


def test_job_hosts_come_from_the_schedulers_host_files(tmp_path: Path) -> None:
    nodefile = tmp_path / "nodefile"
    nodefile.write_text("n1\nn1\nn2\nn3\nn3\n")  # PBS: one line per slot
    assert job_hosts({"PBS_NODEFILE": str(nodefile)}) == ["n1", "n2", "n3"]
    assert job_hosts({"LSB_DJOB_HOSTFILE": str(nodefile)}) == ["n1", "n2", "n3"]
    assert job_hosts({"LSB_HOSTS": "batch1 c1 c1 c2"}) == ["batch1", "c1", "c2"]
    assert len(job_hosts({})) == 1  # this host


def test_exit_status_is_the_shells() -> None:
    assert [exit_status(0), exit_status(3), exit_status(-15), exit_status(-9)] == [0, 3, 143, 137]


def _until(predicate: Callable[[], bool], agent: Agent, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline
        agent.scan()
        time.sleep(0.02)


def test_the_agent_runs_members_records_them_and_cancels_on_request(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    code = "import os, sys, time; print(os.environ['WHO']); sys.exit(int(sys.argv[1]))"
    ok = JobSpec("ok", sys.executable, cwd=tmp_path, env={"WHO": "ok"})
    (spool / "ok.json").write_text(member_order(ok, [sys.executable, "-c", code, "3"]))
    sleeper = JobSpec("sl", "/bin/sleep", cwd=tmp_path)
    (spool / "sl.json").write_text(member_order(sleeper, ["/bin/sleep", "300"]))
    (spool / "never.json").write_text(member_order(sleeper, ["/bin/sleep", "300"]))
    (spool / "never.cancel").write_text("")
    agent = Agent(spool)
    _until(lambda: (spool / "ok.rc").exists() and (spool / "sl.start").exists(), agent)
    assert (tmp_path / "ok.out").read_text() == "ok\n"
    assert (spool / "ok.rc").read_text() == "3\n"
    assert (spool / "never.rc").read_text() == "143\n" and not (spool / "never.start").exists()
    assert json.loads((spool / "sl.start").read_text())["pid"] > 0
    running = member_status("sl", spool, JobState.RUNNING, cancelled=False)
    assert running is not None and running.state is JobState.RUNNING
    (spool / "sl.cancel").write_text("")
    _until((spool / "sl.rc").exists, agent)
    ended = member_status("sl", spool, JobState.RUNNING, cancelled=True)
    assert ended is not None and (ended.state, ended.returncode) == (JobState.CANCELLED, 143)
    failed = member_status("ok", spool, JobState.RUNNING, cancelled=False)
    assert failed is not None and (failed.state, failed.returncode) == (JobState.FAILED, 3)
    assert agent.steps == {}
    assert list(spool.glob("*.json")) == []  # orders hold environments: gone once ended


def test_members_of_a_job_that_ended_without_them_failed(tmp_path: Path) -> None:
    queued = member_status("m", tmp_path, JobState.QUEUED, cancelled=False)
    assert queued is not None and queued.state is JobState.QUEUED
    lost = member_status("m", tmp_path, JobState.FAILED, cancelled=False)
    assert lost is not None and lost.state is JobState.FAILED
    gone = member_status("m", tmp_path, JobState.CANCELLED, cancelled=True)
    assert gone is not None and gone.state is JobState.CANCELLED


def test_stop_ends_every_running_member(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    sleeper = JobSpec("sl", "/bin/sleep", cwd=tmp_path)
    for name in ("a", "b"):
        (spool / f"{name}.json").write_text(member_order(sleeper, ["/bin/sleep", "300"]))
    agent = Agent(spool)
    _until(lambda: len(agent.steps) == 2, agent)
    agent.stop()
    assert [(spool / f"{n}.rc").read_text() for n in ("a", "b")] == ["143\n", "143\n"]


def test_members_die_with_a_killed_agent(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess

    import psutil

    spool = tmp_path / "spool"
    spool.mkdir()
    sleeper = JobSpec("sl", "/bin/sleep", cwd=tmp_path)
    (spool / "a.json").write_text(member_order(sleeper, ["/bin/sleep", "300"]))
    agent = subprocess.Popen([sys.executable, "-m", "insitu.launchers.step_agent", str(spool)])
    try:
        deadline = time.monotonic() + 60
        while not (spool / "a.start").exists():
            assert time.monotonic() < deadline and agent.poll() is None
            time.sleep(0.05)
        pid = json.loads((spool / "a.start").read_text())["pid"]
        os.kill(agent.pid, signal.SIGKILL)  # as a scheduler does after its grace period
        agent.wait()
        deadline = time.monotonic() + 30
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the member outlived its agent"
            time.sleep(0.05)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
