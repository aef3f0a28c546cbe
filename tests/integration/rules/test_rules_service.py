"""The EnsembleOperator gRPC service over a running ensemble, and `insitu ensemble serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from insitu.rules.members import create_member
from insitu.rules.parse import load_file
from insitu.rules.runner import EnsembleRunner
from insitu.rules.service.client import EnsembleClient
from insitu.rules.service.server import parse_action, serve

DEADLINE = 60.0

FILE = """
executor: {size: 1}
jobs:
  - {name: long, command: sleep 60}
  - {name: quick, command: "true", count: 2}
rules:
  - trigger: job-success
    name: quick
    action: {name: grow, repetitions: 5}
"""


def test_status_and_actions_over_grpc(tmp_path: Path) -> None:
    path = tmp_path / "ensemble.yaml"
    path.write_text(FILE)
    spec = load_file(path)
    with EnsembleRunner(spec, create_member("local", spec.executor)) as runner:
        handle = serve(runner, port=0)
        try:
            assert handle.address.startswith("127.0.0.1:")
            with EnsembleClient(handle.address, "wrong") as intruder:
                assert intruder.status().status == "DENIED"
                assert intruder.action("terminate").status == "DENIED"
            with EnsembleClient(handle.address, handle.token) as client:
                assert client.action("submit", {"label": "long"}).status == "SUCCESS"
                assert client.action("grow", {"grow": 2}).status == "SUCCESS"
                assert client.action("submit", {"label": "quick"}).status == "SUCCESS"
                refused = client.action("submit", {"label": "ghost"})
                assert refused.status == "ERROR" and "ghost" in str(refused.payload["error"])
                assert client.action("explode").status == "ERROR"
                deadline = time.monotonic() + DEADLINE
                while True:
                    reply = client.status(member="local")
                    counts = reply.payload["metrics"]["counts"]  # type: ignore[index]
                    if counts.get("quick", {}).get("success") == 2:
                        break
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
                assert reply.payload["jobs"]["long"] == {"running": 1}  # type: ignore[index]
                assert client.action("terminate").status == "SUCCESS"
            assert runner.wait(DEADLINE, until_terminated=True)
        finally:
            handle.stop()
    result = runner.result()
    assert result.terminated and result.metrics.counts["long"]["cancelled"] == 1


@pytest.mark.parametrize(
    ("name", "payload", "label", "value"),
    [
        ("submit", '{"label": "sim"}', "sim", None),
        ("grow", '{"grow": 2}', None, 2),
        ("shrink", '{"shrink": -3}', None, 3),
        ("shrink", '{"value": 1, "label": "g"}', "g", 1),
        ("terminate", "", None, None),
    ],
)
def test_parse_action(name: str, payload: str, label: str | None, value: int | None) -> None:
    action = parse_action(name, payload)
    assert (action.name, action.label, action.value) == (name, label, value)


@pytest.mark.parametrize(
    ("name", "payload"),
    [("custom", "{}"), ("grow", "[1]"), ("grow", "{x"), ("grow", '{"value": "a"}')],
)
def test_parse_action_errors(name: str, payload: str) -> None:
    with pytest.raises(ValueError):
        parse_action(name, payload)


def test_cli_serve_until_terminate(tmp_path: Path) -> None:
    path = tmp_path / "ensemble.yaml"
    path.write_text(
        textwrap.dedent(
            """
            jobs:
              - {name: long, command: sleep 60}
            rules:
              - trigger: start
                action: {name: submit, label: long}
            """
        )
    )
    token_file = tmp_path / "token"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "insitu.cli.main",
            "ensemble",
            "serve",
            str(path),
            "--port",
            "0",
            "--token-file",
            str(token_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert proc.stdout is not None
        line = ""
        while "serving EnsembleOperator on" not in line:
            line = proc.stdout.readline()
            assert line, "serve exited early"
        address = line.rsplit(" ", 1)[1].strip()
        deadline = time.monotonic() + DEADLINE
        while not token_file.exists() or not token_file.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert token_file.stat().st_mode & 0o077 == 0
        with EnsembleClient(address, token_file.read_text()) as client:
            while client.status().payload.get("jobs", {}).get("long") != {"running": 1}:  # type: ignore[union-attr]
                assert time.monotonic() < deadline
                time.sleep(0.02)
            assert client.action("terminate").status == "SUCCESS"
        out, _ = proc.communicate(timeout=DEADLINE)
        assert proc.returncode == 0
        assert "long" in out and "cancelled" in out
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=DEADLINE)
