"""Driver programs run as real child processes, so that their deaths (signals, forks,
SIGKILL) are real: each writes what it started to files the test reads, then waits for a
line on stdin (or blocks in ``Controller.wait``) until the test acts on it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

PROLOGUE = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from pathlib import Path
    from insitu.jobs import JobSpec

    out = Path(sys.argv[1])

    def sleeper(ctl, name="sleeper", seconds="300"):
        spec = JobSpec(name=name, exe="/bin/sleep", args=(seconds,), cwd=out)
        return ctl.submit(spec, name)

    def report(**facts):
        for key, value in facts.items():
            (out / key).write_text(str(value))

    def ready():
        print("ready", flush=True)
    """
)

STUBBORN_JOB = textwrap.dedent(
    """
    # A job that survives SIGTERM: the leader notes the signal and carries on, its child
    # (same process group) ignores it. Only a SIGKILL of the group ends both.
    import os, signal, sys, time
    marker = sys.argv[1]
    signal.signal(signal.SIGTERM, lambda *_: open(marker + ".term", "a").write("x"))
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(1)
    with open(marker + ".tmp", "w") as f:
        f.write(f"{os.getpid()} {child}")
    os.rename(marker + ".tmp", marker)
    while True:
        time.sleep(1)
    """
)


class Driver:
    """One driver program (``body`` after :data:`PROLOGUE`) running in ``workdir``."""

    def __init__(self, workdir: Path, body: str, *args: str) -> None:
        self.workdir = workdir
        script = workdir / "driver.py"
        script.write_text(PROLOGUE + textwrap.dedent(body))
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(workdir), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Block until the driver printed ``ready`` (AssertionError if it died first)."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            _, err = self.proc.communicate(timeout=timeout)
            raise AssertionError(f"driver did not get ready: {line!r}\n{err}")

    def fact(self, name: str, timeout: float = 60.0) -> str:
        """The content of the file ``name`` the driver reported (polled for)."""
        path = self.workdir / name
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists() and path.read_text():
                return path.read_text()
            if self.proc.poll() is not None and not path.exists():
                break
            time.sleep(0.02)
        raise AssertionError(f"driver never reported {name}: {self.finish(kill=True)}")

    def go_on(self) -> None:
        """Let a driver waiting on stdin continue."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def descendants(self) -> list[psutil.Process]:
        """Every process the driver started (recursively), now."""
        return psutil.Process(self.proc.pid).children(recursive=True)

    def finish(self, timeout: float = 120.0, *, kill: bool = False) -> str:
        """Wait for the driver to end (after a SIGKILL if ``kill``); its stderr."""
        if kill:
            self.proc.kill()
        _, err = self.proc.communicate(timeout=timeout)
        return err


def wait_for_file(path: Path, timeout: float = 60.0) -> str:
    """The content of ``path`` once it exists and is not empty (polled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie is not running)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def all_gone(pids: list[int], timeout: float = 30.0) -> list[int]:
    """The pids still running once ``timeout`` passed (polled; [] as soon as all ended)."""
    deadline = time.monotonic() + timeout
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if alive(p)]
    return left
