"""What the driver shows: progress while blocking (log lines, or rich on a terminal), the
Jupyter HTML views and ``plot_timeline``."""

from __future__ import annotations

import logging
import os
import pty
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from insitu import Experiment
from insitu.errors import InvalidArgumentError
from insitu.experiment.progress import Waiting

from .conftest import free_port_base

NAP = "import time; time.sleep(1.5)"


def progress_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "insitu.experiment"]


def test_blocking_start_logs_progress_lines(
    exp: Experiment, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSITU_PROGRESS_INTERVAL", "0.2")
    caplog.set_level(logging.INFO, logger="insitu.experiment")
    models = [exp.create_model(f"m{i}", exp.create_run_settings(sys.executable, ["-c", NAP]))
              for i in range(2)]  # fmt: skip
    exp.start(*models, block=True)
    lines = progress_lines(caplog)
    assert any(line.startswith("exp: 2 running of 2 (") for line in lines), lines


def test_waiting_for_a_store_is_shown(
    exp: Experiment, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSITU_PROGRESS_INTERVAL", "0.05")
    caplog.set_level(logging.INFO, logger="insitu.experiment")
    db = exp.create_database(port=free_port_base(), db_identifier="db")
    exp.start(db)
    lines = progress_lines(caplog)
    assert lines[0].startswith("exp: waiting for orchestrator db (1 shard), "), lines
    exp.stop(db)
    caplog.clear()
    again = exp.create_database(port=free_port_base(), db_identifier="quiet")
    exp.start(again, progress=False)
    assert not [line for line in progress_lines(caplog) if "orchestrator quiet" in line]
    exp.stop(again)


def test_a_long_wait_logs_each_interval_and_its_end(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSITU_PROGRESS_INTERVAL", "0.01")
    caplog.set_level(logging.INFO, logger="insitu.experiment")

    def periodic() -> int:
        return sum(1 for line in progress_lines(caplog) if line.startswith("x: waiting for db"))

    with Waiting("x", "db"):
        deadline = time.monotonic() + 60
        while periodic() < 3 and time.monotonic() < deadline:  # the first, then two more
            time.sleep(0.01)
    assert periodic() >= 3
    assert progress_lines(caplog)[-1].startswith("x: db ready after ")
    caplog.clear()
    with pytest.raises(RuntimeError), Waiting("x", "db"):
        raise RuntimeError("the store did not start")
    assert progress_lines(caplog)[-1].startswith("x: db not ready after ")


def test_progress_can_be_turned_off(
    exp: Experiment, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSITU_PROGRESS_INTERVAL", "0.1")
    caplog.set_level(logging.INFO, logger="insitu.experiment")
    nap = exp.create_run_settings(sys.executable, ["-c", NAP])
    exp.start(exp.create_model("quiet", nap), block=True, progress=False)
    monkeypatch.setenv("INSITU_PROGRESS", "0")
    exp.start(exp.create_model("quieter", nap), block=True)
    assert not [line for line in progress_lines(caplog) if " of 1 (" in line]
    monkeypatch.setenv("INSITU_PROGRESS", "perhaps")
    with pytest.raises(InvalidArgumentError, match="INSITU_PROGRESS"):
        exp.start(exp.create_model("loud", nap), block=True)


def test_on_a_terminal_progress_is_drawn_with_rich(tmp_path: Path) -> None:
    driver = textwrap.dedent(
        f"""
        import sys
        from insitu import Experiment
        with Experiment("tty", exp_path={str(tmp_path)!r}) as exp:
            db = exp.create_database(port={free_port_base()}, db_identifier="db")
            nap = exp.create_run_settings(sys.executable, ["-c", {NAP!r}])
            exp.start(db, exp.create_model("napper", nap), block=True)
        """
    )
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", driver], stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the driver has ended
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        assert proc.wait(timeout=120) == 0, seen.decode(errors="replace")
    text = seen.decode(errors="replace")
    assert "tty: waiting for orchestrator db (1 shard), " in text
    assert "tty: orchestrator db (1 shard) ready after " in text
    assert "tty: 1 running of 1" in text
    assert "tty: 1 completed of 1" in text  # the last state stays on screen
    assert "\x1b[" in text  # drawn in place with terminal control sequences


def test_notebook_views_and_the_timeline(exp: Experiment, tmp_path: Path) -> None:
    hello = exp.create_run_settings(sys.executable, ["-c", "print('hi')"])
    exp.start(exp.create_model("sim", hello), block=True, progress=False)
    summary = exp.summary()
    assert isinstance(summary, str) and "Completed" in summary
    html = summary._repr_html_()  # type: ignore[attr-defined]
    assert html.startswith("<table>") and "<td>sim" in html
    assert "Experiment exp" in exp._repr_html_() and "<table>" in exp._repr_html_()
    picture = exp.plot_timeline()
    assert picture._repr_svg_().startswith("<svg") and ">sim<" in picture.svg
    saved = picture.save(tmp_path / "timeline.html")
    assert saved.read_text().startswith("<!doctype html>") and "<svg" in saved.read_text()
    assert picture.save(tmp_path / "t.svg").read_text() == picture.svg
    fresh = Experiment("nothing", exp_path=str(tmp_path))
    assert "nothing launched yet" in fresh.plot_timeline().svg
