"""A worker per shard: started with its store, stopped with it, restarted if it dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from insitu import Experiment, JobEvent
from insitu.store.readiness import find_free_port_block
from insitu.wire.worker import WORKER_PASSWORD_ENV
from tests.helpers import process_gone
from tests.integration.workers.conftest import flag, wait_ready, wait_until, workers, workers_of


def test_standalone_store_runs_one_worker_stopped_with_it(exp: Experiment) -> None:
    store = exp.create_database(
        port=find_free_port_block(), threads_per_queue=2, inter_op_threads=3, intra_op_threads=1
    )
    exp.start(store)
    address = store.get_address()[0]
    wait_ready(address, store.password, 0)
    ((pid, cmdline),) = workers_of(address).items()
    assert (flag(cmdline, "--shard-index"), flag(cmdline, "--num-shards")) == ("0", "1")
    assert flag(cmdline, "--threads-per-queue") == "2"
    assert flag(cmdline, "--inter-op-threads") == "3"
    assert flag(cmdline, "--intra-op-threads") == "1"
    assert not any(store.password in arg for arg in cmdline)
    assert psutil.Process(pid).environ()[WORKER_PASSWORD_ENV] == store.password
    assert "Worker" not in exp.summary()  # as RedisAI inside the server: not an entity
    done = exp.create_model("done", exp.create_run_settings("true"))
    exp.start(done, block=False)
    exp.poll(interval=1, verbose=False)  # waits for models, not for shards or workers
    assert exp.finished(done)
    exp.stop(store)
    assert process_gone(pid, timeout=0.5)  # stop() returns once the worker is gone


def test_every_cluster_shard_has_its_worker(exp: Experiment) -> None:
    store = exp.create_database(port=find_free_port_block(3), db_nodes=3)
    exp.start(store)
    for index, address in enumerate(store.get_address()):
        wait_ready(address, store.password, index)
        ((_, cmdline),) = workers_of(address).items()
        assert (flag(cmdline, "--shard-index"), flag(cmdline, "--num-shards")) == (str(index), "3")
    pids = list(workers())
    exp.stop_all()
    assert all(process_gone(pid, timeout=0.5) for pid in pids)


def test_no_workers_when_disabled(exp: Experiment) -> None:
    store = exp.create_database(port=find_free_port_block(), inference_workers=0)
    exp.start(store)
    assert workers() == {}
    exp.stop(store)


WAITING_APP = textwrap.dedent(
    """
    import os, pathlib, sys, time
    release = pathlib.Path(sys.argv[1])
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    """
)


def test_colocated_store_worker_ends_with_the_application(exp: Experiment, tmp_path: Path) -> None:
    app, release = tmp_path / "app.py", tmp_path / "release"
    app.write_text(WAITING_APP)
    model = exp.create_model(
        "colo", exp.create_run_settings(sys.executable, exe_args=[str(app), str(release)])
    )
    model.colocate_db_uds(
        unix_socket=str(tmp_path / "colo.sock"), threads_per_queue=2, inter_op_parallelism=3
    )
    exp.start(model, block=False)
    address = f"unix://{tmp_path / 'colo.sock'}"
    wait_until(lambda: workers_of(address), "the colocated store's worker")
    ((pid, cmdline),) = workers_of(address).items()
    assert flag(cmdline, "--threads-per-queue") == "2"
    assert flag(cmdline, "--inter-op-threads") == "3"
    release.touch()
    wait_until(lambda: exp.finished(model), "the application")
    assert process_gone(pid)


def test_a_killed_worker_is_restarted(exp: Experiment) -> None:
    events: list[JobEvent] = []
    exp.subscribe(events.append)
    store = exp.create_database(port=find_free_port_block())
    exp.start(store)
    address = store.get_address()[0]
    wait_ready(address, store.password, 0)
    (old,) = workers_of(address)
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: set(workers_of(address)) - {old}, "a new worker")
    (new,) = workers_of(address)
    assert new != old
    ends = [e for e in events if e.entity_type == "Worker" and e.state.is_terminal]
    assert [e.job_id for e in ends] == [str(old)]
    exp.stop(store)
    assert process_gone(new, timeout=0.5)


DRIVER = textwrap.dedent(
    """
    import json, os, sys, textwrap, time
    import psutil
    from insitu import Experiment
    exp = Experiment("drv", exp_path=sys.argv[1])
    store = exp.create_database(port=int(sys.argv[2]))
    app = exp.create_model("app", exp.create_run_settings(sys.executable,
                           exe_args=["-c", "import time; time.sleep(120)"]))
    app.colocate_db_tcp(port=int(sys.argv[2]) + 1, db_identifier="colo")
    exp.start(store)
    exp.start(app, block=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        kids = [p for p in psutil.Process().children(recursive=True)
                if "insitu.inference.worker" in p.cmdline()]
        if len(kids) == 2:
            break
        time.sleep(0.02)
    everything = [p.pid for p in psutil.Process().children(recursive=True)]
    with open(sys.argv[1] + "/pids.tmp", "w") as out:  # renamed: the test never reads half
        json.dump({"workers": [p.pid for p in kids], "all": everything}, out)
    os.replace(sys.argv[1] + "/pids.tmp", sys.argv[1] + "/pids.json")
    if sys.argv[3] == "sleep":
        time.sleep(120)
    """
)


@pytest.mark.parametrize("end", ["sigterm", "exit"])
def test_driver_end_stops_every_worker(tmp_path: Path, end: str) -> None:
    """A driver that is SIGTERMed, or simply returns without stopping anything."""
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    port = find_free_port_block(2)
    mode = "sleep" if end == "sigterm" else "return"
    driver = subprocess.Popen([sys.executable, str(script), str(tmp_path), str(port), mode])
    try:
        pids_file = tmp_path / "pids.json"
        wait_until(lambda: pids_file.exists() or driver.poll() is not None, "the driver")
        pids = json.loads(pids_file.read_text())
        assert len(pids["workers"]) == 2
        if end == "sigterm":
            driver.send_signal(signal.SIGTERM)
        driver.wait(timeout=30)
        assert driver.returncode == (-signal.SIGTERM if end == "sigterm" else 0)
        assert all(process_gone(pid, timeout=5.0) for pid in pids["all"])
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
