"""The PBS, LSF and Grid Engine simulators (``pbssim.py``, ``lsfsim.py``, ``sgesim.py``) as
test fixtures: their commands put first on ``PATH``, their state in a directory, and a
check that no job they ran is left behind (simulated jobs run outside our process tree, as
a real scheduler's do, so the suite's own leftover check cannot see them)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

HERE = Path(__file__).parent
LEFTOVER_DEADLINE = 15.0


@dataclass(frozen=True)
class Simulator:
    """One simulated scheduler: its launcher names, commands and allocation variable."""

    launcher: str
    bin: Path
    status_command: str
    allocation_var: str
    step_run_command: str  # what a step in an allocation runs under (registry name)
    state: Path

    def calls(self, command: str) -> list[list[str]]:
        """Arguments of every invocation of ``command``."""
        log = self.state / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [words[1:] for words in map(shlex.split, lines) if words[0] == command]

    def jobs(self) -> list[dict[str, Any]]:
        """Every job record the simulator holds."""
        return [json.loads(p.read_text()) for p in sorted((self.state / "jobs").glob("*.json"))]

    def left_running(self, timeout: float = LEFTOVER_DEADLINE) -> list[dict[str, Any]]:
        """Jobs still :meth:`unfinished` after waiting up to ``timeout`` seconds for them
        (a job's runner outlives the moment the scheduler reports it ended, a little)."""
        deadline = time.monotonic() + timeout
        left = self.unfinished()
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = self.unfinished()
        return left

    def unfinished(self) -> list[dict[str, Any]]:
        """Jobs not finished, or whose processes still live."""
        return [
            j
            for j in self.jobs()
            if not j["finished"] or _alive(j.get("runner")) or _alive(j.get("pid"))
        ]


KINDS = {
    "pbs": ("pbs-bin", "qstat", "PBS_JOBID", "pals"),
    "lsf": ("lsf-bin", "bjobs", "LSB_JOBID", "jsrun"),
    "sge": ("sge-bin", "qstat", "JOB_ID", "mpirun"),
}


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@contextlib.contextmanager
def installed(kind: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """Install simulator ``kind`` (``pbs``, ``lsf`` or ``sge``) for one test; fail the test if a job
    it ran is still running afterwards (and kill it)."""
    directory, status, variable, run_command = KINDS[kind]
    state = tmp / f"{kind}sim"
    (state / "jobs").mkdir(parents=True)
    sim = Simulator(kind, HERE / directory, status, variable, run_command, state)
    monkeypatch.setenv("FAKESCHED_DIR", str(state))
    monkeypatch.setenv("FAKESCHED_PYTHON", sys.executable)
    monkeypatch.setenv("PATH", f"{sim.bin}{os.pathsep}{os.environ.get('PATH', '')}")
    if kind == "sge":
        # Grid Engine's run command is the real Open MPI mpirun (the PBS and LSF simulators'
        # mpiexec/jsrun set these themselves): as root, on this machine's few cores.
        for name in ("OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
                     "OMPI_MCA_rmaps_base_oversubscribe"):  # fmt: skip
            monkeypatch.setenv(name, "1")
    for name in ("PBS_JOBID", "LSB_JOBID", "JOB_ID", "SLURM_JOB_ID", "INSITU_LAUNCHER"):
        monkeypatch.delenv(name, raising=False)
    yield sim
    deadline = time.monotonic() + LEFTOVER_DEADLINE
    left = sim.unfinished()
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = sim.unfinished()
    for job in left:
        for key, kill in (("pid", os.killpg), ("runner", os.kill)):
            if job.get(key):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(int(job[key]), signal.SIGKILL)
    if left:
        pytest.fail(f"simulated {kind} jobs left running: {[j['id'] for j in left]}")
