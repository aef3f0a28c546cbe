"""The request streams' path (``INSITU_INFERENCE_PATH=streams``, the benchmarks' baseline):
workers that die, stop or lose their store: a request a killed worker held is run once
more, or answered with WorkerLostError after a second death — never lost, and the caller
never waits past SR_MODEL_TIMEOUT. Workers here are started by the tests themselves (the
store runs with ``inference_workers=0``) so that they can be killed at will. The store
module's path has the same guarantees (test_inference_worker_faults.py)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
from insitu.wire import keys, messages
from insitu.wire.worker import WORKER_PASSWORD_ENV, WorkerThreads, worker_argv
from tests import inference_models

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DEADLINE = 30.0
QUEUE = keys.queue_key(keys.slot_tag(0))
FOREVER = 1e9  # loop iterations of SLOW_SCRIPT: far longer than any test
# Bigger than what a client inlines in a request: the worker reads it when it runs, so a
# test can change it before a retry.
FETCHED = messages.INLINE_BUDGET // 4 + 1


def _counter(n: float) -> np.ndarray:
    """An input of SLOW_SCRIPT that counts ``n`` (its first element), fetched when run."""
    x = np.zeros(FETCHED, np.float32)
    x[0] = n
    return x


class Workers:
    """Worker processes of one standalone store, all stopped at teardown."""

    def __init__(self, store: Orchestrator) -> None:
        self.store = store
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def address(self) -> str:
        return self.store.get_address()[0]

    def start(self, threads: WorkerThreads | None = None) -> subprocess.Popen[bytes]:
        env = {**os.environ, WORKER_PASSWORD_ENV: self.store.password}
        argv = worker_argv(self.address, 0, 1, threads=threads or WorkerThreads())
        proc = subprocess.Popen(argv, env=env)
        self.procs.append(proc)
        _poll(lambda: worker_is_ready(self.address, self.store.password, 0), "worker ready")
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _poll(check: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def streams_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSITU_INFERENCE_PATH", "streams")


@pytest.fixture(scope="module")
def experiment() -> Iterator[Experiment]:
    root = Path(tempfile.mkdtemp(prefix="insitu-faults-streams-"))
    exp = Experiment("inference-faults", exp_path=str(root), launcher="local")
    try:
        yield exp
    finally:
        exp.stop_all()


@pytest.fixture(scope="module")
def bare_store(experiment: Experiment) -> Orchestrator:
    """A standalone store without workers of its own."""
    store = experiment.create_database(
        port=find_free_port_block(1), db_identifier="faults_streams", inference_workers=0
    )
    experiment.start(store)
    return store


@pytest.fixture
def workers(bare_store: Orchestrator) -> Iterator[Workers]:
    with Client(False, bare_store.get_address()[0]) as c:
        c.flush_db(bare_store.get_address())
    pool = Workers(bare_store)
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def raw(bare_store: Orchestrator) -> Iterator[redis.Redis]:
    conn = connect(bare_store.get_address()[0], bare_store.password)
    yield conn
    conn.close()


def _holder(raw: redis.Redis) -> tuple[str, int] | None:
    """The consumer holding the one pending request and how often it was delivered."""
    try:
        pending = raw.xpending_range(QUEUE, "insitu", min="-", max="+", count=10)
    except redis.ResponseError:
        return None
    if len(pending) != 1:
        return None
    return pending[0]["consumer"].decode(), int(pending[0]["times_delivered"])


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
        c.put_tensor("n", _counter(FOREVER))
    call = Call(workers.address)
    call.start()
    _poll(lambda: _holder(raw) is not None, "a worker to take the request")
    return call


def test_request_of_a_killed_worker_is_retried(workers: Workers, raw: redis.Redis) -> None:
    first = workers.start()
    call = _start_slow_call(workers, raw)
    with Client(False, workers.address) as c:
        c.put_tensor("n", _counter(5))  # the retry reads this: quick
    first.kill()
    first.wait()
    workers.start()
    call.join(DEADLINE)
    assert not call.is_alive() and call.error is None
    with Client(False, workers.address) as c:
        assert c.get_tensor("out")[0] == 10


def test_request_lost_twice_is_an_error(workers: Workers, raw: redis.Redis) -> None:
    first = workers.start()
    call = _start_slow_call(workers, raw)
    holder = _holder(raw)
    assert holder is not None
    first.kill()
    first.wait()
    second = workers.start()
    _poll(lambda: (_holder(raw) or ("", 0))[1] == 2, "the retry to start")
    second.kill()
    second.wait()
    workers.start()
    call.join(DEADLINE)
    assert not call.is_alive()
    assert isinstance(call.error, WorkerLostError)
    assert raw.xlen(QUEUE) == 0


def test_no_worker_means_a_timeout_not_a_hang(
    workers: Workers, raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_MODEL_TIMEOUT", "300")
    with Client(False, workers.address) as c:
        c.set_model("sq", inference_models.onnx_square(), "ONNX")  # stored unchecked
        c.put_tensor("x", np.ones((1, 3), np.float32))
        with pytest.raises(InferenceTimeoutError, match="no inference worker is serving"):
            c.run_model("sq", "x", "y")
    assert raw.xlen(QUEUE) == 0  # withdrawn: no worker will run it later


def test_sigterm_finishes_the_running_request(workers: Workers, raw: redis.Redis) -> None:
    worker = workers.start()
    with Client(False, workers.address) as c:
        c.set_script("slow", inference_models.SLOW_SCRIPT)
        c.put_tensor("n", np.array([200_000], np.float32))
        call = Call(workers.address)
        call.start()
        _poll(lambda: _holder(raw) is not None or not call.is_alive(), "the request")
        worker.terminate()
        assert worker.wait(DEADLINE) == 0
        call.join(DEADLINE)
        assert call.error is None
        np.testing.assert_array_equal(c.get_tensor("out"), [400_000])


def test_worker_with_several_threads_serves_concurrent_calls(workers: Workers) -> None:
    workers.start(WorkerThreads(threads_per_queue=2, inter_op_threads=1, intra_op_threads=1))
    blob, module = inference_models.torch_linear()
    x = np.ones((3, 4), np.float32)
    with Client(False, workers.address) as c:
        c.set_model("lin", blob, "TORCH")
        c.put_tensor("x", x)

    def call(index: int) -> np.ndarray:
        with Client(False, workers.address) as own:
            own.run_model("lin", "x", f"y{index}")
            return own.get_tensor(f"y{index}")

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(call, range(8)))
    expected = inference_models.torch_reference(module, x)
    for result in results:
        np.testing.assert_allclose(result, expected, rtol=1e-6)


def test_threads_sharing_a_client_run_side_by_side(workers: Workers, raw: redis.Redis) -> None:
    workers.start(WorkerThreads(threads_per_queue=2, inter_op_threads=1, intra_op_threads=1))
    with Client(False, workers.address) as c:
        c.set_script("slow", inference_models.SLOW_SCRIPT)
        c.put_tensor("n", _counter(FOREVER))
        c.set_model("sq", inference_models.onnx_square(), "ONNX")
        c.put_tensor("x", np.full((1, 3), 3, np.float32))
        slow = threading.Thread(target=_quietly, args=(c.run_script, "slow", "count", "n", "out"))
        slow.daemon = True
        slow.start()
        _poll(lambda: _holder(raw) is not None, "the slow request to start")
        fast = threading.Thread(target=c.run_model, args=("sq", "x", "y"), daemon=True)
        fast.start()
        fast.join(DEADLINE)  # not queued behind the slow request on the client's side
        assert not fast.is_alive()
        np.testing.assert_array_equal(c.get_tensor("y"), np.full((1, 3), 9))
        assert slow.is_alive()


def _quietly(fn: Callable[..., object], *args: object) -> None:
    """Call ``fn``; whatever it raises once the test tears the store down is expected."""
    with contextlib.suppress(Exception):
        fn(*args)


def test_worker_serves_again_after_its_store_restarts(tmp_path: Path) -> None:
    # A store of its own: the restarted server must be stopped within this test.
    exp = Experiment("inference-restart", exp_path=str(tmp_path), launcher="local")
    store = exp.create_database(
        port=find_free_port_block(1), db_identifier="restart", inference_workers=0
    )
    try:
        exp.start(store)
        workers = Workers(store)
        try:
            _run_square(workers, store, exp)
        finally:
            workers.stop_all()
    finally:
        exp.stop_all()


def _run_square(workers: Workers, store: Orchestrator, exp: Experiment) -> None:
    workers.start()
    x = np.ones((1, 3), np.float32)
    # One client throughout: its connections to the old server must be replaced.
    with Client(False, workers.address) as c:
        c.set_model("sq", inference_models.onnx_square(), "ONNX")
        c.put_tensor("x", x)
        c.run_model("sq", "x", "y")
        exp.stop(store)
        exp.start(store)
        _poll(lambda: worker_is_ready(workers.address, store.password, 0), "the worker back")
        c.set_model("sq", inference_models.onnx_square(), "ONNX")
        c.put_tensor("x", 2 * x)
        c.run_model("sq", "x", "y")
        np.testing.assert_array_equal(c.get_tensor("y"), 4 * x)
