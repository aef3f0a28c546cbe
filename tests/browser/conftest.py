"""Fixtures of the dashboard's browser tests: Debian's chromium driven by Playwright (no
browser download), and ``insitu dashboard`` run as a real process on a free port."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DEADLINE = 60.0

if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed (.ci/debian-packages installs it as root)",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll(what: str, check: Callable[[], bool], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class Dashboard:
    """An ``insitu dashboard`` process and its address."""

    def __init__(self, proc: subprocess.Popen[str], url: str, log: Path, out: IO[str]) -> None:
        self.out = out
        self.proc = proc
        self.url = url
        self.log = log

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Callable[..., Dashboard]]:
    """Start ``insitu dashboard PATHS`` on a free port; stopped (SIGTERM) after the test."""
    started: list[Dashboard] = []

    def start(*paths: Path) -> Dashboard:
        port = free_port()
        log = tmp_path / f"dashboard-{port}.log"
        out = log.open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "insitu.cli.main", "dashboard", *map(str, paths),
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        board = Dashboard(proc, f"http://127.0.0.1:{port}", log, out)
        started.append(board)

        def up() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"the dashboard exited: {log.read_text()}")
            try:
                return board.get("/api/experiments")[0] == 200
            except OSError:
                return False

        poll("the dashboard to serve", up)
        return board

    yield start
    for board in started:
        if board.proc.poll() is None:
            board.proc.send_signal(signal.SIGTERM)
            try:
                board.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                board.proc.kill()
                board.proc.wait()
        board.out.close()


@pytest.fixture
def browser_context(tmp_path: Path) -> Iterator[object]:
    """A chromium of its own for each test (closed before the leftover-process check), with
    a fresh profile directory."""
    profile = tmp_path / "chromium-profile"
    with playwright_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True,
            viewport={"width": 1400, "height": 1000},
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context: object, tmp_path: Path) -> Iterator[object]:
    """A new page; its console errors fail the test; a screenshot is left in tmp_path."""
    new_page = browser_context.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    new_page.on("pageerror", lambda err: errors.append(str(err)))
    new_page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield new_page
    new_page.close()
    assert not errors, f"the page logged errors: {errors}"
