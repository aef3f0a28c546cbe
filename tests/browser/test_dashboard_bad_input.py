"""The dashboard with bad input: paths that are not experiments, a corrupt record, a port
in use, a non-loopback bind without its token. It says what is wrong and keeps serving."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from insitu.wire.record import JobLine, RunHeader, StoreLine, format_line, record_path
from insitu.wire.stats import ModelCounters
from insitu.wire.telemetry import (
    ModelSample,
    RulesSample,
    ShardSample,
    TelemetryHeader,
    TelemetryLine,
    telemetry_paths,
)
from insitu.wire.telemetry import format_line as tele_line

from .conftest import Dashboard, free_port, poll


def finished_experiment(path: Path) -> Path:
    """A record written by hand: a model that completed (what a driver would leave)."""
    record_path(path).parent.mkdir(parents=True)
    header = RunHeader("r1", "done", str(path), "local", "0.1.0", "elsewhere", 1, 1000.0)
    lines = [
        header,
        JobLine("r1", 1000.5, "7", "model", "Model", "New", "Queued", out=str(path / "m.out")),
        JobLine("r1", 1001.0, "7", "model", "Model", "Queued", "Running", host="n1"),
        JobLine("r1", 1010.0, "7", "model", "Model", "Running", "Completed", 0, "n1"),
    ]
    record_path(path).write_text("".join(format_line(line) + "\n" for line in lines))
    (path / "m.out").write_text("all done\n")
    return path


def test_bad_paths_are_listed_with_their_problem_and_the_rest_is_served(
    tmp_path: Path, dashboard: Callable[..., Dashboard], page: object
) -> None:
    good = finished_experiment(tmp_path / "good")
    missing = tmp_path / "missing"
    empty = tmp_path / "empty"
    empty.mkdir()
    corrupt = finished_experiment(tmp_path / "corrupt")
    with record_path(corrupt).open("a") as file:
        file.write('{"kind":"job","run":"r1"\nnot json at all\n')
    future = tmp_path / "future"
    record_path(future).parent.mkdir(parents=True)
    record_path(future).write_text('{"format":"insitu-record/9","kind":"header","run":"x"}\n')
    board = dashboard(good, missing, empty, corrupt, future)
    page.goto(board.url)  # type: ignore[attr-defined]
    rows = page.locator("#experiments tbody tr")  # type: ignore[attr-defined]
    poll("five rows", lambda: rows.count() == 5)
    text = [rows.nth(i).inner_text() for i in range(5)]
    assert "finished" in text[0] and "1 completed" in text[0]
    assert "does not exist" in text[1]
    assert "no launch record yet" in text[2]
    # The bad lines are skipped (and said so), the rest is shown.
    assert "finished" in text[3] and "2 unreadable line(s) skipped" in text[3]
    assert "skipped" not in text[0]
    assert "insitu-record/9" in text[4] and "not supported" in text[4]
    page.screenshot(path=str(tmp_path / "list.png"), full_page=True)  # type: ignore[attr-defined]

    page.goto(f"{board.url}/exp/3")  # type: ignore[attr-defined]
    poll(
        "the corrupt experiment's page",
        lambda: page.locator('tr[data-entity="model"]').count() == 1,
    )  # type: ignore[attr-defined]
    assert "2 line(s) of the launch record were not valid" in page.locator("#problem").inner_text()  # type: ignore[attr-defined]
    page.goto(f"{board.url}/exp/1")  # type: ignore[attr-defined]
    poll(
        "the missing experiment's error",
        lambda: "does not exist" in page.locator("#problem").inner_text(),
    )  # type: ignore[attr-defined]
    assert not page.locator(".meta").is_visible()  # type: ignore[attr-defined]
    page.screenshot(path=str(tmp_path / "missing.png"), full_page=True)  # type: ignore[attr-defined]

    # The API answers bad requests with errors, and still serves the good experiment.
    assert board.get("/api/experiments/42")[0] == 404
    assert board.get("/exp/42")[0] == 404
    assert board.get("/api/experiments/0/logs/nobody")[0] == 404
    assert board.get("/api/experiments/0/logs/model?offset=x")[0] == 400
    status, body = board.get("/api/experiments/0/logs/model")
    assert status == 200 and json.loads(body)["text"] == "all done\n"
    status, body = board.get("/api/experiments/0")
    assert status == 200 and json.loads(body)["entities"][0]["state"] == "Completed"
    assert board.proc.poll() is None


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "insitu.cli.main", "dashboard", str(tmp_path)]
        out = subprocess.run(
            [*command, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert out.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_host_it_cannot_listen_on_is_named(tmp_path: Path) -> None:
    # An unknown name (.invalid never resolves) and an address of no interface here (TEST-NET-1;
    # binding it sends nothing).
    for host, said in (("no-such-host.invalid", "not a known host"),
                       ("192.0.2.1", "cannot listen on 192.0.2.1:")):  # fmt: skip
        out = subprocess.run(
            [sys.executable, "-m", "insitu.cli.main", "dashboard", str(tmp_path),
             "--host", host, "--port", str(free_port())],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert out.returncode == 1 and said in out.stderr, out.stderr
        assert "already in use" not in out.stderr and "Traceback" not in out.stderr


def test_a_non_loopback_bind_needs_the_token_it_printed_once(tmp_path: Path) -> None:
    good = finished_experiment(tmp_path / "good")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "insitu.cli.main", "dashboard", str(good), "--host", "0.0.0.0",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "?token=" in line, line
        token = line.strip().rsplit("?token=", 1)[1]
        base = f"http://127.0.0.1:{port}"
        import urllib.error
        import urllib.request

        def status(path: str, headers: dict[str, str] | None = None) -> int:
            request = urllib.request.Request(base + path, headers=headers or {})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return int(response.status)
            except urllib.error.HTTPError as err:
                return err.code
            except OSError:
                return 0

        poll("the dashboard to answer", lambda: status("/api/experiments") == 401)
        assert status("/api/experiments", {"Authorization": "Bearer wrong"}) == 401
        assert status("/api/experiments", {"Authorization": f"Bearer {token}"}) == 200
        # ?token= once: a redirect that sets the cookie (urllib follows it, without cookies).
        assert status(f"/?token={token}") == 401
        assert status(f"/?token={token}", {"Cookie": f"insitu_dashboard_token={token}"}) == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert proc.stdout is not None
        rest = proc.stdout.read()
        proc.stdout.close()
    assert token not in rest  # printed once


def test_a_store_that_died_while_sampled_is_shown_down_and_the_rest_still_is(
    tmp_path: Path, dashboard: Callable[..., Dashboard], page: object
) -> None:
    """Files as a driver leaves them when one of its stores died: its last samples are
    ``down`` with the connection error; another store was never sampled (telemetry off)."""
    path = tmp_path / "stores"
    record_path(path).parent.mkdir(parents=True)
    header = RunHeader("r1", "stores", str(path), "local", "0.1.0", "elsewhere", 1, 1000.0)
    lines = [header]
    for name, port in (("alive", 7001), ("dead", 7002), ("quiet", 7003)):
        lines.append(StoreLine("r1", 1000.0, name, "ready", (f"127.0.0.1:{port}",), False, 1))
        lines.append(StoreLine("r1", 1100.0, name, "stopped", (f"127.0.0.1:{port}",), False, 1))
    record_path(path).write_text("".join(format_line(line) + "\n" for line in lines))
    samples: list[TelemetryLine] = [TelemetryHeader("r1", 1000.0, 5.0)]
    refused = "ConnectionError: Error 111 connecting to 127.0.0.1:7002. Connection refused."
    for i in range(6):
        now = 1001.0 + 5 * i
        samples.append(ShardSample("r1", now, "alive", 0, "127.0.0.1:7001", up=True,
                                   used_memory=(1 + i) << 20, maxmemory=0, clients=2 + i,
                                   ops_per_sec=10 * i, commands=100 * i, keys=i,
                                   evicted_keys=0, queue_depth=0))  # fmt: skip
        dead = i >= 3
        samples.append(ShardSample("r1", now, "dead", 0, "127.0.0.1:7002", up=not dead,
                                   error=refused if dead else None,
                                   used_memory=None if dead else 1 << 20,
                                   clients=None if dead else 1))  # fmt: skip
    # The alive store's workers served a model; a rules session ran beside the stores.
    for i in range(6):
        counters = ModelCounters(requests=40 * i, calls=10 * i, samples=80 * i, errors=i // 5,
                                 duration=3000 * i, latency={9: 8 * i, 12: 2 * i})  # fmt: skip
        samples.append(ModelSample("r1", 1001.0 + 5 * i, "alive", 0, "resnet", counters))
        samples.append(RulesSample("r1", 1001.0 + 5 * i, "sweep",
                                   {"sim": {"success": i, "failed": i // 4}},
                                   {"sim-duration": {"mean": 2.0 + i / 10}}))  # fmt: skip
    telemetry_file = telemetry_paths(path)[1]
    telemetry_file.write_text("".join(tele_line(s) + "\n" for s in samples))
    board = dashboard(path)
    page.goto(f"{board.url}/exp/0")  # type: ignore[attr-defined]
    dead_table = page.locator('table.shards[data-store="dead"]')  # type: ignore[attr-defined]
    poll("the dead store's table", lambda: dead_table.count() == 1)
    row = dead_table.locator("tbody tr").inner_text()
    assert "down" in row and "Connection refused" in row
    alive = page.locator('table.shards[data-store="alive"] tbody tr').inner_text()  # type: ignore[attr-defined]
    assert "up" in alive and "6.0 MiB" in alive
    quiet = page.locator(".panel", has_text="quiet").inner_text()  # type: ignore[attr-defined]
    assert "telemetry is off" in quiet and "quiet.telemetry.enable()" in quiet
    charts = page.locator(".chart")  # type: ignore[attr-defined]
    poll("the charts", lambda: charts.count() >= 2)
    memory = page.locator(".chart", has_text="memory used")  # type: ignore[attr-defined]
    assert memory.first.get_attribute("data-points") == "6"
    # A figure the store never reported gives no empty chart; no log files, no log viewer.
    assert page.locator('.chart[data-key="store:dead:ops"]').count() == 0  # type: ignore[attr-defined]
    assert page.locator('.chart[data-key="store:alive:ops"]').count() == 1  # type: ignore[attr-defined]
    assert not page.locator("#logs-section").is_visible()  # type: ignore[attr-defined]
    models = page.locator(".panel", has_text="alive").locator("table").nth(1).inner_text()  # type: ignore[attr-defined]
    assert "resnet" in models and "200" in models and "8.0" in models  # requests, mean batch
    for key in ("inference:alive/resnet:rate", "inference:alive/resnet:latency",
                "rules:sweep:counts", "rules:sweep:means"):  # fmt: skip
        assert page.locator(f'.chart[data-key="{key}"]').count() == 1, key  # type: ignore[attr-defined]
    page.screenshot(path=str(tmp_path / "stores.png"), full_page=True)  # type: ignore[attr-defined]
    assert board.get("/api/experiments")[0] == 200
    assert board.proc.poll() is None
