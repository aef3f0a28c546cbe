"""Driver loss: a store's secret files are private while it runs and gone once it stops;
``insitu store stop`` stops a store from its checkpoint whatever became of its driver; an
inference worker whose starter died exits once its store is gone (its watchdog)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from insitu import Experiment
from insitu.errors import CheckpointError, PortInUseError
from insitu.inference.launch import worker_is_ready
from insitu.inference.worker import ORPHAN_GRACE_S
from insitu.store.readiness import find_free_port_block
from insitu.wire.worker import WORKER_PASSWORD_ENV, WorkerThreads, worker_argv
from tests.reliability.drivers import alive, all_gone

DEADLINE = 60.0


def _holding(root: Path, secret: str) -> dict[Path, int]:
    """Every file under ``root`` that contains ``secret``, with its permission bits."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if secret in path.read_text(errors="ignore"):
                    found[path] = stat.S_IMODE(path.stat().st_mode)
            except OSError:
                continue
    return found


@pytest.mark.parametrize("shards", [1, 3])
def test_secret_files_are_private_and_removed_at_stop(tmp_path: Path, shards: int) -> None:
    exp = Experiment("secrets", exp_path=str(tmp_path), launcher="local")
    try:
        store = exp.create_database(port=find_free_port_block(shards), db_nodes=shards)
        exp.start(store)
        secret = store.password
        running = _holding(tmp_path, secret)
        # each shard's config and the reconnect password file, nothing else
        assert len(running) == shards + 1, sorted(running)
        assert set(running.values()) == {0o600}, running
        checkpoint = store.checkpoint_file
        exp.stop(store)
        assert _holding(tmp_path, secret) == {}, "a secret file outlived the store"
        with pytest.raises(CheckpointError, match="stale"):
            Experiment("later", exp_path=str(tmp_path)).reconnect_orchestrator(checkpoint)
        exp.start(store)  # a restart writes them again
        assert len(_holding(tmp_path, secret)) == shards + 1
    finally:
        exp.stop_all()
    assert _holding(tmp_path, secret) == {}


def _insitu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "insitu.cli.main", *args],
        capture_output=True, text=True, timeout=DEADLINE, check=False,
    )  # fmt: skip


def test_store_stop_cli_stops_a_store_from_its_checkpoint(tmp_path: Path) -> None:
    exp = Experiment("leftbehind", exp_path=str(tmp_path), launcher="local")
    try:
        store = exp.create_database(port=find_free_port_block(3), db_nodes=3, inference_workers=0)
        # Only this store's processes: the session's other fixtures (other stores, the Slurm
        # test cluster's daemons) are children of this process too.
        before = {p.pid for p in psutil.Process().children(recursive=True)}
        exp.start(store)
        pids = [p.pid for p in psutil.Process().children(recursive=True) if p.pid not in before]
        assert len(pids) == 3, pids
        checkpoint = store.checkpoint_file
        body = json.loads(Path(checkpoint).read_text())
        done = _insitu("store", "stop", checkpoint)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "stopped 3 shard(s)" in done.stdout
        assert store.password not in done.stdout + done.stderr
        assert not all_gone(pids), "a shard survived insitu store stop"
        assert not Path(body["password_file"]).exists()
        assert _holding(tmp_path, store.password) == {}
        again = _insitu("store", "stop", checkpoint)  # idempotent: nothing answers now
        assert again.returncode == 0 and "already gone" in again.stdout
        missing = _insitu("store", "stop", str(tmp_path / "nope.json"))
        assert missing.returncode == 1 and "nope.json" in missing.stderr
    finally:
        exp.stop_all()


STARTER = textwrap.dedent(
    """
    import subprocess, sys
    # start the worker, then end when told: the worker is orphaned, as after a SIGKILLed
    # driver (a plain Popen: no PR_SET_PDEATHSIG, as for a worker on another host)
    proc = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(proc.pid, flush=True)
    sys.stdin.readline()
    """
)


def test_an_orphaned_worker_exits_once_its_store_is_gone(tmp_path: Path) -> None:
    exp = Experiment("watchdog", exp_path=str(tmp_path), launcher="local")
    worker = 0
    try:
        store = exp.create_database(port=find_free_port_block(1), inference_workers=0)
        exp.start(store)
        address = store.get_address()[0]
        argv = worker_argv(address, 0, 1, threads=WorkerThreads())
        env = {**os.environ, WORKER_PASSWORD_ENV: store.password}
        starter = subprocess.Popen(
            [sys.executable, "-c", STARTER, *argv], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert starter.stdout is not None and starter.stdin is not None
        worker = int(starter.stdout.readline())
        deadline = time.monotonic() + DEADLINE
        while not worker_is_ready(address, store.password, 0):
            assert time.monotonic() < deadline, "the worker never served its store"
            time.sleep(0.05)
        starter.communicate("go\n", timeout=DEADLINE)  # the starter ends
        assert alive(worker)  # orphaned, but its store is there: it serves on
        exp.stop(store)
        gone = all_gone([worker], timeout=ORPHAN_GRACE_S + DEADLINE)
        assert not gone, "an orphaned worker outlived its store"
    finally:
        if worker and alive(worker):
            psutil.Process(worker).kill()
        exp.stop_all()


def test_no_secret_on_any_command_line_or_log(tmp_path: Path) -> None:
    """While a cluster, its inference workers and a model run, no process started shows the
    password in ``/proc/<pid>/cmdline``, and no log or record under the experiment has it."""
    exp = Experiment("cmdlines", exp_path=str(tmp_path), launcher="local")
    try:
        store = exp.create_database(port=find_free_port_block(3), db_nodes=3)
        model = exp.create_model("sim", exp.create_run_settings("/bin/sleep", ["300"]))
        exp.start(store, model, block=False)
        secret = store.password
        procs = psutil.Process().children(recursive=True)
        assert len(procs) >= 7  # 3 shards, 3 workers, the model
        for proc in procs:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
            assert secret not in cmdline, f"the password is on the command line of {proc.pid}"
        logs = [
            p for p in _holding(tmp_path, secret)
            if p.suffix in (".out", ".err", ".jsonl", ".json", ".log")
        ]  # fmt: skip
        assert logs == [], logs
    finally:
        exp.stop_all()


def test_a_start_that_cannot_prepare_deletes_no_other_stores_secrets(tmp_path: Path) -> None:
    """A second experiment at the same path whose store of the same name finds its port
    taken (by the first store) deletes nothing of the first store's files; a store stopped
    through a reconnecting experiment has its secret files deleted too."""
    first = Experiment("first", exp_path=str(tmp_path), launcher="local")
    second = Experiment("second", exp_path=str(tmp_path), launcher="local")
    try:
        port = find_free_port_block(1)
        store = first.create_database(port=port, inference_workers=0)
        first.start(store)
        held = _holding(tmp_path, store.password)
        clash = second.create_database(port=port, inference_workers=0)
        with pytest.raises(PortInUseError):
            second.start(clash)
        assert _holding(tmp_path, store.password) == held
        again = second.reconnect_orchestrator(store.checkpoint_file)
        second.stop(again)
        assert _holding(tmp_path, store.password) == {}
    finally:
        second.stop_all()
        first.stop_all()
