"""Workers that die while holding a request of the store module (``AI.MODELEXECUTE`` &
co.): the module runs it once more on another worker, or answers WorkerLostError after a
second death — never lost, never a wedged server, and the caller never waits past
SR_MODEL_TIMEOUT. Workers here are started by the tests themselves (the store runs with
``inference_workers=0``) so that they can be killed at will; ``INSITU.STATUS`` shows what
the module holds."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.errors import InferenceTimeoutError, WorkerLostError
from insitu.inference.launch import worker_is_ready
from insitu.inference.shard import connect
from insitu.store.readiness import find_free_port_block
from insitu.wire.worker import WORKER_PASSWORD_ENV, WorkerThreads, worker_argv
from tests import inference_models

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DEADLINE = 30.0
FOREVER = 1e9  # loop iterations of SLOW_SCRIPT: far longer than any test
QUICK_SCRIPT = "def count(x):\n    return x + 5.0\n"


class Workers:
    """Worker processes of one standalone store, all stopped at teardown."""

    def __init__(self, store: Orchestrator) -> None:
        self.store = store
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def address(self) -> str:
        return self.store.get_address()[0]

    def start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, WORKER_PASSWORD_ENV: self.store.password}
        proc = subprocess.Popen(worker_argv(self.address, 0, 1, threads=WorkerThreads()), env=env)
        self.procs.append(proc)
        _poll(lambda: worker_is_ready(self.address, self.store.password, 0), "worker ready")
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _poll(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _status(raw: redis.Redis) -> dict[str, int]:
    reply = raw.execute_command("INSITU.STATUS")
    return {k.decode(): int(v) for k, v in zip(reply[::2], reply[1::2], strict=True)}


@pytest.fixture(scope="module")
def experiment() -> Iterator[Experiment]:
    root = Path(tempfile.mkdtemp(prefix="insitu-faults-"))
    exp = Experiment("inference-faults", exp_path=str(root), launcher="local")
    try:
        yield exp
    finally:
        exp.stop_all()


@pytest.fixture(scope="module")
def bare_store(experiment: Experiment) -> Orchestrator:
    """A standalone store without workers of its own."""
    store = experiment.create_database(
        port=find_free_port_block(1), db_identifier="faults", inference_workers=0
    )
    experiment.start(store)
    return store


@pytest.fixture
def raw(bare_store: Orchestrator) -> Iterator[redis.Redis]:
    conn = connect(bare_store.get_address()[0], bare_store.password)
    yield conn
    conn.close()


@pytest.fixture
def workers(bare_store: Orchestrator, raw: redis.Redis) -> Iterator[Workers]:
    raw.flushdb()
    pool = Workers(bare_store)
    try:
        yield pool
    finally:
        pool.stop_all()
    _poll(lambda: _status(raw)["workers"] == 0, "the workers' connections to close")


class Call(threading.Thread):
    """run_script of the slow script in the background, keeping the outcome."""

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True)
        self.address = address
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with Client(False, self.address) as c:
                c.run_script("slow", "count", "n", "out")
        except BaseException as err:
            self.error = err


def _start_slow_call(workers: Workers, raw: redis.Redis) -> Call:
    with Client(False, workers.address) as c:
        c.set_script("slow", inference_models.SLOW_SCRIPT)
        c.put_tensor("n", np.array([FOREVER], np.float32))
    call = Call(workers.address)
    call.start()
    _poll(lambda: _status(raw)["running"] == 1, "a worker to take the request")
    return call


def test_request_of_a_killed_worker_is_retried(workers: Workers, raw: redis.Redis) -> None:
    first = workers.start()
    call = _start_slow_call(workers, raw)
    first.kill()
    first.wait()
    _poll(lambda: _status(raw) == {**_status(raw), "workers": 0, "queued": 1}, "a requeue")
    with Client(False, workers.address) as c:
        c.set_script("slow", QUICK_SCRIPT)  # the retry runs the script stored now
    workers.start()
    call.join(DEADLINE)
    assert not call.is_alive() and call.error is None
    with Client(False, workers.address) as c:
        assert c.get_tensor("out")[0] == np.float32(FOREVER + 5)
    assert _status(raw)["running"] == _status(raw)["queued"] == 0


def test_request_lost_twice_is_an_error(workers: Workers, raw: redis.Redis) -> None:
    first = workers.start()
    call = _start_slow_call(workers, raw)
    first.kill()
    first.wait()
    second = workers.start()
    _poll(lambda: _status(raw)["retried"] == 1, "the retry to start")
    second.kill()
    second.wait()
    call.join(DEADLINE)
    assert not call.is_alive()
    assert isinstance(call.error, WorkerLostError)
    assert _status(raw)["running"] == _status(raw)["queued"] == 0
    workers.start()  # the server still serves
    with Client(False, workers.address) as c:
        c.set_script("slow", QUICK_SCRIPT)
        c.run_script("slow", "count", "n", "out")


def test_no_worker_means_a_timeout_not_a_hang(
    workers: Workers, raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_MODEL_TIMEOUT", "300")
    with Client(False, workers.address) as c:
        c.set_script("quick", QUICK_SCRIPT)  # stored unchecked
        c.put_tensor("x", np.ones((1, 3), np.float32))
        with pytest.raises(InferenceTimeoutError, match="no inference worker is serving"):
            c.run_script("quick", "count", "x", "y")
    assert _status(raw)["queued"] == 0  # withdrawn: no worker will run it later


def test_onnx_cpu_models_need_no_worker(workers: Workers, raw: redis.Redis) -> None:
    """ONNX Runtime in the server runs them (the module's own threads)."""
    with Client(False, workers.address) as c:
        c.set_model("sq", inference_models.onnx_square(), "ONNX")
        c.put_tensor("x", np.full((2, 3), 3.0, np.float32))
        c.run_model("sq", "x", "y")
        assert np.array_equal(c.get_tensor("y"), np.full((2, 3), 9.0, np.float32))
    status = _status(raw)
    assert status["workers"] == 0 and status["onnx_runs"] >= 1


def test_a_caller_that_disconnects_while_blocked_leaves_the_server_serving(
    workers: Workers, raw: redis.Redis, bare_store: Orchestrator
) -> None:
    workers.start()
    with Client(False, workers.address) as c:
        c.set_script("slow", inference_models.SLOW_SCRIPT)
        c.put_tensor("n", np.array([FOREVER], np.float32))
    caller = connect(bare_store.get_address()[0], bare_store.password)
    caller.connection_pool.get_connection("_").send_command(
        "AI.SCRIPTEXECUTE", "slow", "count", "INPUTS", 1, "n", "OUTPUTS", 1, "out"
    )
    _poll(lambda: _status(raw)["running"] == 1, "the worker to take the request")
    caller.connection_pool.disconnect()
    caller.close()
    assert raw.ping()
    workers.start()  # the first is still busy with the orphaned request
    with Client(False, workers.address) as c:
        c.put_tensor("m", np.array([1], np.float32))
        c.set_script("quick", QUICK_SCRIPT)
        c.run_script("quick", "count", "m", "out")
        assert c.get_tensor("out")[0] == 6
