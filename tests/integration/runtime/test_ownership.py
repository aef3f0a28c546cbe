"""Nothing a driver started outlives it: normal exit, exception, SIGTERM, SIGINT, SIGHUP."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import process_gone

DRIVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from insitu.jobs import JobSpec
    from insitu.launchers.local import LocalLauncher
    from insitu.runtime.controller import Controller

    mode, out = sys.argv[1], Path(sys.argv[2])
    ctl = Controller(LocalLauncher(grace=1.0))
    rec = ctl.submit(JobSpec(name="sleeper", exe="/bin/sleep", args=("300",), cwd=out.parent), "s")
    out.write_text(rec.job_id)
    if mode == "raise":
        raise RuntimeError("driver failed")
    if mode == "block":
        print("blocking", flush=True)
        ctl.wait(["sleeper"])
    """
)


def _run_driver(tmp_path: Path, mode: str) -> tuple[subprocess.Popen[str], Path]:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    pidfile = tmp_path / "job.pid"
    proc = subprocess.Popen(
        [sys.executable, str(script), mode, str(pidfile)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, pidfile


def _job_pid(pidfile: Path, proc: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if pidfile.exists() and pidfile.read_text().strip():
            return int(pidfile.read_text())
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    raise AssertionError(f"driver never launched its job: {proc.communicate()}")


@pytest.mark.parametrize("mode", ["exit", "raise"])
def test_job_stopped_when_driver_ends(tmp_path: Path, mode: str) -> None:
    proc, pidfile = _run_driver(tmp_path, mode)
    pid = _job_pid(pidfile, proc)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (0 if mode == "exit" else 1), err
    if mode == "raise":
        assert "driver failed" in err
    assert process_gone(pid), f"job {pid} outlived its driver"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_job_stopped_when_driver_is_signalled(tmp_path: Path, sig: signal.Signals) -> None:
    proc, pidfile = _run_driver(tmp_path, "block")
    pid = _job_pid(pidfile, proc)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "blocking"
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert process_gone(pid), f"job {pid} outlived its driver after {sig.name}"
    with contextlib.suppress(psutil.Error):
        psutil.Process(pid).kill()
