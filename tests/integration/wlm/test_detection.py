"""``launcher="auto"`` finds the scheduler whose commands are on PATH, and ``insitu info``
says what it found and why (the simulators' commands stand for the real ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu import Experiment
from insitu.cli.main import main
from insitu.launchers.registry import detect_launcher
from tests.fakes.simulators import Simulator


def test_auto_picks_the_scheduler_on_path_and_info_says_why(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("PATH", str(sim.bin))  # only the simulator: no srun, no flux
    name, why = detect_launcher()
    assert name == sim.launcher and "found on PATH" in why
    assert Experiment("auto", exp_path=str(tmp_path), launcher="auto").launcher == sim.launcher
    main(["info"])
    lines = capsys.readouterr().out.splitlines()
    assert f"(auto -> {sim.launcher}: " in lines[1]
    rows = {line.split()[0]: line.split()[1] for line in lines[2:] if line.startswith("  ")}
    assert rows[sim.launcher] == "yes" and rows["slurm"] == "no"
    monkeypatch.setenv("INSITU_LAUNCHER", "local")
    assert detect_launcher() == ("local", "INSITU_LAUNCHER=local")
