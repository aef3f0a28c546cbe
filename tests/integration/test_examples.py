"""Every example in examples/ runs to completion (as a user would run it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .experiment.conftest import free_port_base

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **env},
        check=False,
    )


def test_seed_001_example(tmp_path: Path) -> None:
    result = run_example(
        "experiment_example.py", tmp_path, INSITU_EXAMPLE_PORT=str(free_port_base(3))
    )
    assert result.returncode == 0, result.stderr
    assert "= Database Identifier: orchestrator =" in result.stdout
    assert "Shards: 3" in result.stdout
    root = tmp_path / "example-experiment"
    assert (root / "hello_world" / "hello_world.out").read_text() == "Hello World\n"
    assert sorted(p.name for p in (root / "orchestrator").glob("*.out")) == [
        "orchestrator_0.out",
        "orchestrator_1.out",
        "orchestrator_2.out",
    ]
    assert "| hello_world" in result.stderr and "Completed" in result.stderr
    assert "DBNode" in result.stderr and "Cancelled" in result.stderr


def test_demo(tmp_path: Path) -> None:
    result = run_example("demo.py", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    results = [line for line in lines if "-> x(1) =" in line]
    assert len(results) == 6
    assert "Completed" in result.stdout and "| decay_5" in result.stdout
