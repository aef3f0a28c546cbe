"""Seed 000's standalone, multi-database and colocated examples on the 3-host cluster with
only the launcher (and the shared stores' interface: the cluster's hosts have ``hsn0``, not
the seed's ``ib0``) changed: shards spread over the hosts, a colocated store on its
application's node; and a
rules file run by ``insitu ensemble run --executor slurm``: its jobs become steps of the
allocation, with the same events as locally."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from insitu.store.readiness import find_free_port_block
from tests.cluster.slurm import Cluster
from tests.integration.test_examples import run_example, summary_statuses

pytestmark = pytest.mark.requires_slurm


def test_seed_000_standalone_runs_its_shards_on_three_hosts(
    slurm_cluster: Cluster, allocation: str, tmp_path: Path
) -> None:
    result = run_example(
        "seed000_standalone/experiment_script.py", tmp_path,
        INSITU_LAUNCHER="slurm", SLURM_JOB_ID=allocation, INSITU_EXAMPLE_INTERFACE="hsn0",
        INSITU_EXAMPLE_PORT=str(find_free_port_block(3)), **slurm_cluster.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "The tensor exists: True" in result.stderr
    out = (tmp_path / "getting-started" / "model" / "model.out").read_text()
    assert "The multi-sharded db tensor is: [1 2 3 4]" in out
    statuses = summary_statuses(result.stderr)
    assert statuses["model"] == "Completed"
    assert {statuses[f"orchestrator_{i}"] for i in range(3)} == {"Cancelled"}


def _hosts(events: Path) -> dict[str, str]:
    """Where each job ran, from the launch record."""
    found = {}
    for line in events.read_text().splitlines():
        event = json.loads(line)
        if event.get("kind") == "job" and event.get("host"):
            found[event["name"]] = event["host"]
    return found


def test_seed_000_multidb_spreads_shards_and_colocates_beside_the_application(
    slurm_cluster: Cluster, allocation: str, tmp_path: Path
) -> None:
    result = run_example(
        "seed000_multidb/experiment_script.py", tmp_path,
        INSITU_LAUNCHER="slurm", SLURM_JOB_ID=allocation, INSITU_EXAMPLE_INTERFACE="hsn0",
        INSITU_EXAMPLE_PORT=str(find_free_port_block(5)), **slurm_cluster.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    root = tmp_path / "getting-started-multidb"
    out = (root / "colo_model" / "colo_model.out").read_text()
    assert "The single sharded db tensor is: [1 2 3 4]" in out
    assert "The multi sharded db tensor is: [5 6 7 8]" in out
    assert "The colocated db has tensor_2: True" in out
    assert summary_statuses(result.stderr)["colo_model"] == "Completed"
    hosts = _hosts(root / ".insitu" / "events.jsonl")
    shards = [hosts[f"multi_shard_db_identifier_{i}"] for i in range(3)]
    assert sorted(shards) == ["node1", "node2", "node3"]
    assert hosts["colo_model.db_0"] == hosts["colo_model.db_0.worker"]
    assert hosts.get("colo_model", hosts["colo_model.db_0"]) == hosts["colo_model.db_0"]


def test_seed_000_colocated_on_a_unix_socket_runs_beside_its_application(
    slurm_cluster: Cluster, allocation: str, tmp_path: Path
) -> None:
    result = run_example(
        "seed000_colocated/experiment_script.py", tmp_path,
        INSITU_LAUNCHER="slurm", SLURM_JOB_ID=allocation,
        INSITU_EXAMPLE_SOCKET=str(tmp_path / "redis.socket"), **slurm_cluster.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    root = tmp_path / "getting-started"
    out = (root / "colo_model" / "colo_model.out").read_text()
    assert "The colocated db tensor is: [1 2 3 4]" in out
    hosts = _hosts(root / ".insitu" / "events.jsonl")
    assert hosts["colo_model.db_0"] == hosts["colo_model.db_0.worker"] == "node1"
    assert hosts.get("colo_model", "node1") == "node1"  # shard 0's node (--relative=0)


def test_a_rules_file_runs_its_jobs_as_slurm_steps(
    slurm_cluster: Cluster, allocation: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        textwrap.dedent("""
        jobs:
          - {name: step, command: "sh -c 'test -n \\"$SLURM_STEP_ID\\"'", count: 6, nodes: 1}
          - {name: bad, command: "sh -c 'exit 3'", count: 2, nodes: 1}
        rules:
          - trigger: start
            action: {name: submit, label: step}
          - trigger: metric
            name: count.step.success
            when: 6
            action: {name: submit, label: bad}
    """)
    )
    metrics = tmp_path / "metrics.json"
    proc = subprocess.run(
        [sys.executable, "-m", "insitu.cli.main", "ensemble", "run", str(rules),
         "--executor", "slurm", "--debug", "--json", str(metrics)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path, check=False,
        env={**os.environ, **slurm_cluster.env(), "SLURM_JOB_ID": allocation},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(metrics.read_text())
    assert result["executor"] == "slurm"
    assert result["counts"]["step"] == {"finished": 6, "success": 6, "failed": 0, "cancelled": 0}
    assert result["counts"]["bad"]["failed"] == 2
    assert "job bad-0 failure (exit 3)" in proc.stdout + proc.stderr
