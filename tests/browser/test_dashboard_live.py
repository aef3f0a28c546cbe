"""The dashboard in Chromium: a running experiment seen live, without reloading the page —
a job turns Completed, a chart gets points, a log tail follows."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from insitu import Experiment
from insitu.store.readiness import find_free_port_block

from .conftest import Dashboard, poll

# Prints, waits for the test's go-ahead file, prints again and ends.
SIM = textwrap.dedent(
    """
    import os, sys, time
    print("hello from sim", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(sys.argv[1]):
        if time.monotonic() > deadline:
            sys.exit(2)
        time.sleep(0.02)
    print("goodbye from sim", flush=True)
    """
)


def state_of(page: object, name: str) -> str:
    cell = page.locator(f'tr[data-entity="{name}"] td.state')  # type: ignore[attr-defined]
    return str(cell.inner_text()) if cell.count() else ""


def points(page: object, key: str) -> int:
    chart = page.locator(f'.chart[data-key="{key}"]')  # type: ignore[attr-defined]
    return int(chart.get_attribute("data-points") or 0) if chart.count() else 0


def test_a_running_experiment_updates_live(
    tmp_path: Path,
    dashboard: Callable[..., Dashboard],
    page: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INSITU_TELEMETRY_PERIOD", "0.3")
    exp_path = tmp_path / "live"
    exp_path.mkdir()
    go = tmp_path / "go"
    script = tmp_path / "sim.py"
    script.write_text(SIM)
    with Experiment("live", exp_path=str(exp_path)) as exp:
        db = exp.create_database(port=find_free_port_block(1))
        db.telemetry.enable()
        exp.start(db)
        sim = exp.create_model(
            "sim", exp.create_run_settings(sys.executable, [str(script), str(go)])
        )
        exp.start(sim, block=False)
        board = dashboard(exp_path)
        page.goto(f"{board.url}/exp/0")  # type: ignore[attr-defined]
        page.evaluate("window.notReloaded = true")  # type: ignore[attr-defined]
        poll("sim shown Running", lambda: state_of(page, "sim") == "Running")
        # The log tail picks up the model's first line …
        log = page.locator("#log")  # type: ignore[attr-defined]
        page.select_option("#log-entity", "sim")  # type: ignore[attr-defined]
        poll("the first log line", lambda: "hello from sim" in log.inner_text())
        # … a chart of the store gets points, then more points.
        key = "store:orchestrator:memory"
        poll("a memory chart with points", lambda: points(page, key) >= 2)
        before = points(page, key)
        poll("new points on the chart", lambda: points(page, key) > before)
        page.screenshot(path=str(tmp_path / "running.png"), full_page=True)  # type: ignore[attr-defined]
        go.touch()
        poll("sim shown Completed", lambda: state_of(page, "sim") == "Completed")
        poll("the log tail followed", lambda: "goodbye from sim" in log.inner_text())
        assert page.evaluate("window.notReloaded") is True  # type: ignore[attr-defined]
        assert page.locator("#timeline svg rect.seg").count() >= 2  # type: ignore[attr-defined]
        page.screenshot(path=str(tmp_path / "completed.png"), full_page=True)  # type: ignore[attr-defined]
    # Once the driver has stopped everything, the page says so, still without a reload.
    poll("the experiment shown finished", lambda: "finished" in page.locator("#head").inner_text())  # type: ignore[attr-defined]
    assert page.evaluate("window.notReloaded") is True  # type: ignore[attr-defined]
