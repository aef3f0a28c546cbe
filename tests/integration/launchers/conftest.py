"""The fake scheduler cluster: its CLI on PATH, its state in a directory, and a check that
no job it ran is left behind (its jobs run outside our process tree, as a real scheduler's
do, so the suite's own leftover check cannot see them)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.fakes.scheduler import BIN

LEFTOVER_DEADLINE = 15.0


@dataclass(frozen=True)
class FakeCluster:
    """Test-side view of the fake scheduler's state directory."""

    state: Path

    def calls(self, command: str) -> list[list[str]]:
        """Arguments of every invocation of ``command`` (submit, status, delete, release)."""
        log = self.state / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [words[1:] for words in map(shlex.split, lines) if words[0] == command]

    def jobs(self) -> list[dict[str, Any]]:
        """Every job record the scheduler holds."""
        return [json.loads(p.read_text()) for p in sorted((self.state / "jobs").glob("*.json"))]

    def release(self, job_id: str) -> None:
        subprocess.run(["frelease", job_id], check=True)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _running(cluster: FakeCluster) -> list[dict[str, Any]]:
    return [
        job
        for job in cluster.jobs()
        if not job["finished"] or _alive(job.get("runner")) or _alive(job.get("pid"))
    ]


@pytest.fixture
def fake_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCluster]:
    state = tmp_path / "fakesched"
    (state / "jobs").mkdir(parents=True)
    monkeypatch.setenv("FAKESCHED_DIR", str(state))
    monkeypatch.setenv("FAKESCHED_PYTHON", sys.executable)
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    cluster = FakeCluster(state)
    yield cluster
    deadline = time.monotonic() + LEFTOVER_DEADLINE
    left = _running(cluster)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = _running(cluster)
    for job in left:
        if job.get("pid"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(job["pid"]), signal.SIGKILL)
        if job.get("runner"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(job["runner"]), signal.SIGKILL)
    if left:
        pytest.fail(f"fake scheduler jobs left running: {[j['id'] for j in left]}")
