"""Fixtures for inference-worker tests: an experiment, and finding worker processes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from insitu import Experiment
from insitu.inference.launch import worker_is_ready

WORKER_MODULE = "insitu.inference.worker"


@pytest.fixture
def exp(tmp_path: Path) -> Iterator[Experiment]:
    experiment = Experiment("exp", exp_path=str(tmp_path), launcher="local")
    yield experiment
    experiment.stop_all()


def flag(cmdline: list[str], name: str) -> str | None:
    """The value after ``name`` on a command line (None if absent)."""
    return cmdline[cmdline.index(name) + 1] if name in cmdline else None


def workers() -> dict[int, list[str]]:
    """pid -> command line of every live worker process this test process started."""
    found: dict[int, list[str]] = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            cmdline = proc.cmdline()
            if WORKER_MODULE in cmdline and proc.status() != psutil.STATUS_ZOMBIE:
                found[proc.pid] = cmdline
        except psutil.Error:
            continue
    return found


def workers_of(address: str) -> dict[int, list[str]]:
    """The live workers serving the shard at ``address``."""
    return {pid: cmd for pid, cmd in workers().items() if flag(cmd, "--address") == address}


def wait_until(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll ``check`` until it is truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def wait_ready(address: str, password: str, shard: int, timeout: float = 60.0) -> None:
    """Wait until the worker of ``shard`` at ``address`` serves requests."""
    wait_until(lambda: worker_is_ready(address, password, shard), f"worker {shard}", timeout)
