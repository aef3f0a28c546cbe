"""ensemble-python's examples (with short sleeps) and more, run with real processes locally."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from insitu.rules.api import run_file
from insitu.rules.members import create_member
from insitu.rules.parse import load_file
from insitu.rules.runner import EnsembleResult, EnsembleRunner

DEADLINE = 60.0


def write(tmp_path: Path, text: str, name: str = "ensemble.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run(path: Path, notes: list[Any] | None = None) -> EnsembleResult:
    result = run_file(path, observer=None if notes is None else notes.append, timeout=DEADLINE)
    assert result.errors == ()
    return result


def counts(result: EnsembleResult, group: str) -> dict[str, int]:
    return dict(result.metrics.counts[group])


def test_hello_world(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        jobs:
          - {name: echo, command: echo hello world, count: 5, nodes: 1}
          - {name: sleep, command: sleep 0.2, count: 5, nodes: 1}
        rules:
          - trigger: start
            action: {name: submit, label: sleep}
          - trigger: metric
            name: count.sleep.success
            when: 3
            action: {name: submit, label: echo}
        """,
    )
    result = run(path)
    assert not result.terminated
    assert counts(result, "sleep") == {"finished": 5, "success": 5, "failed": 0, "cancelled": 0}
    assert counts(result, "echo")["success"] == 5
    durations = result.metrics.series["sleep-duration"]
    assert durations["min"] is not None and durations["min"] >= 0.15
    assert set(durations) == {"mean", "variance", "iqr", "max", "min", "mad"}
    assert "echo-pending" in result.metrics.series


def test_backoff_counts_only_the_scoped_groups_events(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        jobs:
          - {name: echo-repetition, command: echo hello repetition, count: 2, nodes: 1}
          - {name: echo-backoff, command: echo hello backoff, count: 1, nodes: 1}
          - {name: sleep, command: sleep 0.1, count: 5, nodes: 1}
        rules:
          - trigger: start
            action: {name: submit, label: sleep}
          - trigger: job-finish
            name: sleep
            action: {repetitions: 3, name: submit, label: echo-repetition}
          - trigger: job-finish
            name: sleep
            action: {repetitions: 3, backoff: 2, name: submit, label: echo-backoff}
        """,
    )
    result = run(path)
    # 5 sleep finishes: repetitions fire on the first 3 (x2 jobs); backoff on the 1st and 4th.
    assert counts(result, "echo-repetition")["success"] == 6
    assert counts(result, "echo-backoff")["success"] == 2


def test_terminate_cancels_what_still_runs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        logging: {debug: false}
        jobs:
          - {name: echo, command: echo hello world, count: 5, nodes: 1}
          - {name: sleep, command: sleep 0.1, count: 5, nodes: 1}
          - {name: forever, command: sleep 60, count: 2}
        rules:
          - trigger: start
            action: {name: submit, label: forever}
          - trigger: start
            action: {name: submit, label: sleep}
          - trigger: metric
            name: count.sleep.success
            when: 3
            action: {name: submit, label: echo}
          - trigger: metric
            name: count.echo.success
            when: 5
            action: {name: terminate}
        """,
    )
    result = run(path)
    assert result.terminated
    assert counts(result, "echo")["success"] == 5
    assert counts(result, "forever")["cancelled"] == 2


def test_heartbeat_and_interval(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        logging: {heartbeat: 0.2}
        jobs:
          - {name: echo, command: echo hello world, count: 2}
          - {name: tick, command: "true"}
        rules:
          - trigger: heartbeat
            action: {name: submit, label: echo, repetitions: 2}
          - trigger: interval
            every: 0.1
            action: {name: submit, label: tick, repetitions: 3}
        """,
    )
    notes: list[Any] = []
    result = run(path, notes)
    assert counts(result, "echo")["success"] == 4  # two heartbeats x count 2
    assert counts(result, "tick")["success"] == 3


def test_custom_action_returning_submits_is_executed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        jobs:
          - {name: sim, command: "true", count: 2}
          - {name: echo, command: echo again}
          - {name: post, command: "true", count: 2}
        rules:
          - trigger: start
            action: {name: submit, label: sim}
          - trigger: metric
            name: count.sim.success
            when: 2
            action: {name: custom, label: echo_again}
        custom: |
          def echo_again(**kwargs):
              assert kwargs["metrics"].get("count.sim.success") == 2
              assert kwargs["rule"].action.label == "echo_again"
              again = Action({"name": "submit", "label": "echo"})
              return [again, {"name": "submit", "label": "post"}]
        """,
    )
    result = run(path)
    assert counts(result, "echo")["success"] == 1
    assert counts(result, "post")["success"] == 2


def test_custom_action_returning_an_unknown_action_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        jobs:
          - {name: sim, command: "true"}
          - {name: post, command: "true"}
        rules:
          - trigger: start
            action: {name: submit, label: sim}
          - trigger: job-success
            name: sim
            action: {name: custom, label: typo}
          - trigger: job-success
            name: sim
            action: {name: submit, label: post}
        custom: |
          def typo(**kwargs):
              return {"name": "sumbit", "label": "post"}
        """,
    )
    result = run_file(path, timeout=DEADLINE)
    (error,) = result.errors
    assert "'sumbit'" in error and "submit, custom, terminate" in error
    assert counts(result, "post")["success"] == 1  # the other rules carry on


def test_failure_driven_resubmit(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    path = write(
        tmp_path,
        f"""
        jobs:
          - name: flaky
            command: sh -c "test -e done || {{ touch done; exit 3; }}"
            workdir: {work}
        rules:
          - trigger: start
            action: {{name: submit, label: flaky}}
          - trigger: job-failure
            name: flaky
            action: {{name: resubmit, label: flaky, value: 2, repetitions: 5}}
        """,
    )
    result = run(path)
    assert counts(result, "flaky") == {"finished": 2, "success": 1, "failed": 1, "cancelled": 0}


def test_slow_custom_action_does_not_stall_other_events(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        jobs:
          - {name: quick, command: "true"}
        rules:
          - trigger: start
            action: {name: custom, label: slow}
          - trigger: start
            action: {name: submit, label: quick}
          - trigger: job-success
            name: quick
            action: {name: custom, label: release}
        custom: |
          import threading
          released = threading.Event()
          seen = []
          def slow(**kwargs):
              seen.append(released.wait(30))
          def release(**kwargs):
              released.set()
        """,
    )
    spec = load_file(path)
    with EnsembleRunner(spec, create_member("local")) as runner:
        assert runner.wait(DEADLINE)
    assert spec.custom["slow"].__globals__["seen"] == [True]


def test_grow_lets_queued_jobs_run(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        executor: {size: 1}
        logging: {heartbeat: 0.1}
        jobs:
          - {name: wait, command: sleep 0.3, count: 4}
        rules:
          - trigger: start
            action: {name: submit, label: wait}
          - trigger: metric
            name: max.wait-pending
            when: "> 0.05"
            action: {name: grow, value: 3}
        """,
    )
    spec = load_file(path)
    member = create_member("local", spec.executor)
    with EnsembleRunner(spec, member) as runner:
        assert runner.wait(DEADLINE)
        result = runner.result()
    assert result.metrics.counts["wait"]["success"] == 4
    assert result.fired == 2
    pending = result.metrics.series["wait-pending"]
    assert pending["max"] is not None and pending["max"] > 0.05


def test_cli_run_json_and_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        jobs:
          - {name: sim, command: "true", count: 3}
        rules:
          - trigger: start
            action: {name: submit, label: sim}
        """,
    )
    out = tmp_path / "metrics.json"
    cli = [sys.executable, "-m", "insitu.cli.main", "ensemble", "run"]
    done = subprocess.run(
        [*cli, str(path), "--debug", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "=> trigger start" in done.stdout and "job sim-0 success (exit 0)" in done.stdout
    assert "finished" in done.stdout
    document = json.loads(out.read_text())
    assert document["counts"]["sim"]["success"] == 3 and document["terminated"] is False
    bad = write(
        tmp_path,
        "jobs: []\nrules:\n  - trigger: metric\n    action: {name: terminate}\n",
        "bad.yaml",
    )
    failed = subprocess.run(
        [sys.executable, "-m", "insitu.cli.ensemble", "run", str(bad)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert failed.returncode == 2 and "rules[0].name" in failed.stderr


@pytest.mark.parametrize("executor", ["flux", "slurm", "pbs", "lsf"])
def test_unavailable_executors_fail_before_anything_starts(
    tmp_path: Path, executor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from insitu.errors import AllocationError, ConfigurationError

    for name in ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID"):
        monkeypatch.delenv(name, raising=False)
    path = write(tmp_path, "jobs: [{name: a, command: 'true'}]\nrules: []\n")
    # Flux without its bindings; a scheduler's steps outside an allocation.
    with pytest.raises(ConfigurationError if executor == "flux" else AllocationError):
        run_file(path, executor=executor)
