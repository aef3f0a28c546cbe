"""Fixtures of the fault suite: driver programs that are always reaped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.drivers import Driver

StartDriver = Callable[..., Driver]


@pytest.fixture
def start_driver(tmp_path: Path) -> Iterator[StartDriver]:
    """``start_driver(body, *args)`` runs a driver program in ``tmp_path``; whatever the
    test's outcome, the driver is killed (if still running) and reaped afterwards."""
    started: list[Driver] = []

    def start(body: str, *args: str, workdir: Path | None = None) -> Driver:
        where = workdir or tmp_path
        where.mkdir(parents=True, exist_ok=True)
        driver = Driver(where, body, *args)
        started.append(driver)
        return driver

    yield start
    for driver in started:
        if driver.proc.returncode is None:
            driver.finish(kill=driver.proc.poll() is None)
