"""The dashboard with bad input: paths that are not experiments, a corrupt record, a port
in use, a non-loopback bind without its token. It says what is wrong and keeps serving."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from insitu.wire.record import JobLine, RunHeader, format_line, record_path

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
    assert "finished" in text[3]  # the bad lines are skipped, the rest is shown
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
