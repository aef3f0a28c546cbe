"""Every example in examples/ runs to completion (as a user would run it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from insitu.store.readiness import find_free_port_block

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run an example; its ``launcher="auto"`` means the local launcher (``INSITU_LAUNCHER``)
    unless ``env`` says otherwise (the Slurm tests run the same examples there)."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "INSITU_LAUNCHER": "local", **env},
        check=False,
    )


def summary_statuses(text: str) -> dict[str, str]:
    """Name -> Status from the summary table lines found in ``text``."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[0].isdigit():
            out[cells[1]] = cells[6]
    return out


def test_seed_001_example(tmp_path: Path) -> None:
    result = run_example(
        "experiment_example.py", tmp_path, INSITU_EXAMPLE_PORT=str(find_free_port_block(3))
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
    statuses = summary_statuses(result.stderr)
    assert statuses["hello_world"] == "Completed"
    assert statuses["orchestrator_0"] == "Cancelled"


def test_seed_000_standalone_example(tmp_path: Path) -> None:
    result = run_example(
        "seed000_standalone/experiment_script.py",
        tmp_path,
        INSITU_EXAMPLE_PORT=str(find_free_port_block(3)),
    )
    assert result.returncode == 0, result.stderr
    assert "The tensor exists: True" in result.stderr
    out = (tmp_path / "getting-started" / "model" / "model.out").read_text()
    assert "The multi-sharded db tensor is: [1 2 3 4]" in out
    assert summary_statuses(result.stderr)["model"] == "Completed"


def test_seed_000_colocated_example(tmp_path: Path) -> None:
    result = run_example(
        "seed000_colocated/experiment_script.py",
        tmp_path,
        INSITU_EXAMPLE_SOCKET=str(tmp_path / "redis.socket"),
    )
    assert result.returncode == 0, result.stderr
    out = (tmp_path / "getting-started" / "colo_model" / "colo_model.out").read_text()
    assert "The colocated db tensor is: [1 2 3 4]" in out
    assert summary_statuses(result.stderr)["colo_model"] == "Completed"
    assert not (tmp_path / "redis.socket").exists() or not _listening(tmp_path / "redis.socket")


def _listening(path: Path) -> bool:
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def test_seed_000_multidb_example(tmp_path: Path) -> None:
    result = run_example(
        "seed000_multidb/experiment_script.py",
        tmp_path,
        INSITU_EXAMPLE_PORT=str(find_free_port_block(5)),
    )
    assert result.returncode == 0, result.stderr
    assert "The multi shard array key exists in the incorrect database: False" in result.stderr
    out = (tmp_path / "getting-started-multidb" / "colo_model" / "colo_model.out").read_text()
    assert "The single sharded db tensor is: [1 2 3 4]" in out
    assert "The colocated db has tensor_2: True" in out
    assert summary_statuses(result.stderr)["colo_model"] == "Completed"


def test_seed_002_multidb_example(tmp_path: Path) -> None:
    result = run_example(
        "seed002_multidb/experiment_script.py",
        tmp_path,
        INSITU_EXAMPLE_PORT=str(find_free_port_block(5)),
    )
    assert result.returncode == 0, result.stderr
    model_dir = tmp_path / "getting-started-multidb" / "colocated_model"
    out = (model_dir / "colocated_model.out").read_text()
    assert "The clustered db tensor is: [5 6 7 8]" in out
    assert summary_statuses(result.stderr)["colocated_model"] == "Completed"


def test_demo(tmp_path: Path) -> None:
    result = run_example("demo.py", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "6 trajectories reduced" in result.stdout
    statuses = summary_statuses(result.stdout)
    assert statuses["analysis"] == "Completed"
    assert [statuses[f"decay_{i}"] for i in range(6)] == ["Completed"] * 6


def test_online_training_example(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    result = run_example(
        "online_training/driver.py", tmp_path, INSITU_EXAMPLE_PORT=str(find_free_port_block(1))
    )
    assert result.returncode == 0, result.stderr
    assert "trainer: trained on 256 samples for 300 steps" in result.stdout
    errors = re.findall(r"sim_\d: published 64 samples; surrogate error ([0-9.]+)", result.stdout)
    assert len(errors) == 4 and all(float(e) < 0.1 for e in errors), result.stdout
    statuses = summary_statuses(result.stdout)
    assert [statuses[f"sim_{i}"] for i in range(4)] == ["Completed"] * 4
    assert statuses["trainer"] == "Completed"
    assert not any("Worker" in line for line in result.stdout.splitlines())


def test_online_training_ml_example(tmp_path: Path) -> None:
    """insitu.ml: an ensemble of producers feeds a torch trainer through the store."""
    pytest.importorskip("torch")
    result = run_example(
        "online_training_ml/driver.py", tmp_path, INSITU_EXAMPLE_PORT=str(find_free_port_block(1))
    )
    assert result.returncode == 0, result.stderr
    assert "trainer: 256 samples in" in result.stdout, result.stdout
    learned = re.search(r"learned w=([-0-9.]+) b=([-0-9.]+)", result.stdout)
    assert learned is not None, result.stdout
    assert abs(float(learned[1]) - 3.0) < 0.05 and abs(float(learned[2]) - 1.0) < 0.05
    assert "producer_0: uploaded 8 batches of 16" in result.stdout
    statuses = summary_statuses(result.stdout)
    assert [statuses[n] for n in ("trainer", "producer_0", "producer_1")] == ["Completed"] * 3
