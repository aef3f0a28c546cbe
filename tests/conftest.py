"""Suite-wide fixtures: every test must leave no process behind."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import psutil
import pytest
from hypothesis import settings

# Timing is no test's business here (speed lives in benchmarks/), so no per-example deadline;
# CI (CI=true) replays a fixed set of examples so that a green main stays green, while local
# runs keep exploring new ones.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

LEFTOVER_DEADLINE = 15.0


def _unignore(signum: int, _frame: object) -> None:
    """Stands in for an inherited SIG_IGN (see below)."""


# Started with SIGINT/SIGHUP ignored (``nohup``, a background job of a non-interactive
# shell), the suite would pass SIG_IGN on to every driver it starts, and the tests that
# interrupt a driver would see it shrug the signal off. A handler of our own is reset to
# the default in a child at exec, while this process stays as deaf as it was asked to be.
for _signum in (signal.SIGINT, signal.SIGHUP):
    if signal.getsignal(_signum) == signal.SIG_IGN:
        signal.signal(_signum, _unignore)


def _descendants() -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process().children(recursive=True) if p.is_running()]
    except psutil.Error:
        return []


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except psutil.Error:
            continue
    return out


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    """Fail a test that leaves a child process (model, shard, worker) running after it."""
    before = {p.pid for p in _descendants()}
    yield
    deadline = time.monotonic() + LEFTOVER_DEADLINE
    left = _alive([p for p in _descendants() if p.pid not in before])
    while left and time.monotonic() < deadline:
        psutil.wait_procs(left, timeout=0.2)
        left = _alive(left)
    if left:
        desc = [f"{p.pid}: {' '.join(p.cmdline())}" for p in left]
        for proc in left:
            proc.kill()
        pytest.fail(f"processes left running after the test: {desc}")


# What pytest and the tools it runs may add to the working directory (the checkout's root).
_WORKDIR_ARTEFACTS = {".pytest_cache", ".hypothesis", ".venv-smartredis", "build", ".coverage"}


@pytest.fixture(autouse=True)
def ssdb_restored() -> Iterator[None]:
    """Put ``$SSDB`` back after each test: a Client built with an address exports it to
    this process, as SmartRedis does, and no test should see another's address."""
    before = os.environ.get("SSDB")
    yield
    if before is None:
        os.environ.pop("SSDB", None)
    else:
        os.environ["SSDB"] = before


@pytest.fixture(scope="session", autouse=True)
def no_files_in_the_working_directory() -> Iterator[None]:
    """Fail the session if a test wrote into the working directory (a store, an experiment
    or a checkpoint without a path of its own lands there, and could be committed)."""
    before = set(os.listdir())
    yield
    added = sorted(set(os.listdir()) - before - _WORKDIR_ARTEFACTS)
    if added:
        pytest.fail(f"tests wrote into the working directory {os.getcwd()}: {added}")
