"""The supervisor restarts a dying worker a bounded number of times (real processes)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from insitu.jobs import JobSpec
from insitu.launchers.local import LocalLauncher
from insitu.runtime.controller import Controller
from insitu.runtime.workers import RestartPolicy, WorkerSupervisor
from tests.integration.workers.conftest import wait_until


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("insitu.runtime.workers")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def runs(control: Controller, name: str) -> list[int | None]:
    """Return codes of every run of ``name`` (None while running)."""
    return [r.returncode for r in control.table if r.name == name]


def test_a_worker_that_keeps_failing_is_given_up_on(tmp_path: Path, log: Records) -> None:
    control = Controller(LocalLauncher(grace=1.0))
    policy = RestartPolicy(max_restarts=3, window=60.0, base_delay=0.01, max_delay=0.05)
    supervisor = WorkerSupervisor(control.submit, control.table.latest, policy)
    control.subscribe(supervisor.on_event)
    err = tmp_path / "w.err"
    script = "import sys; sys.exit('cannot start: no runtime')"
    spec = JobSpec("w", "/usr/bin/env", ("python3", "-c", script), tmp_path, err_path=err)
    try:
        supervisor.adopt("store", [control.submit(spec, "store")])
        wait_until(lambda: any(r.levelno == logging.ERROR for r in log.records), "giving up")
        assert runs(control, "w") == [1, 1, 1, 1]  # the first run and 3 restarts, no more
        (error,) = [r.getMessage() for r in log.records if r.levelno == logging.ERROR]
        assert "stays down" in error and "cannot start: no runtime" in error
        warnings = [r.getMessage() for r in log.records if r.levelno == logging.WARNING]
        assert len(warnings) == 3 and "restarting it in 0.00 s" in warnings[0]
    finally:
        supervisor.close()
        control.shutdown()


def test_released_workers_are_not_restarted(tmp_path: Path, log: Records) -> None:
    control = Controller(LocalLauncher(grace=1.0))
    supervisor = WorkerSupervisor(control.submit, control.table.latest)
    control.subscribe(supervisor.on_event)
    spec = JobSpec("w", "/usr/bin/env", ("sleep", "60"), tmp_path)
    try:
        record = control.submit(spec, "store")
        supervisor.adopt("store", [record])
        assert [r.job_id for r in supervisor.release("store")] == [record.job_id]
        control.stop_jobs(["w"])
        supervisor.close()
        assert runs(control, "w") == [-15]  # SIGTERM; stopped for good
    finally:
        supervisor.close()
        control.shutdown()
