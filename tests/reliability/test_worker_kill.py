"""Inference workers killed (SIGKILL) again and again under a stream of ``run_model``
requests: every request either returns the right answer (re-run by the restarted worker)
or fails with WorkerLostError; none is lost, none waits until SR_MODEL_TIMEOUT."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import psutil
import pytest

from insitu.client import Client
from insitu.errors import WorkerLostError
from insitu.store.store_module import ONNX_ENV
from tests import inference_models
from tests.reliability.drivers import alive
from tests.reliability.figures import record
from tests.reliability.stores import RunningStore, running_store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

THREADS = 4
PER_THREAD = 250  # 1,000 requests in all
KILLS = 4  # the supervisor restarts a worker at most 5 times a minute
DEADLINE = 300.0


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningStore]:
    # A request that hung would show as an InferenceTimeoutError after 2 minutes.
    monkeypatch.setenv("SR_MODEL_TIMEOUT", "120000")
    # The ONNX model runs in the worker, not in the server's ONNX Runtime threads.
    monkeypatch.setenv(ONNX_ENV, "workers")
    with running_store("workerkill", 1, inference_workers=1) as s:
        yield s


def _worker_pid() -> int | None:
    for proc in psutil.Process().children(recursive=True):
        try:
            if "insitu.inference.worker" in " ".join(proc.cmdline()) and alive(proc.pid):
                return proc.pid
        except psutil.Error:
            continue
    return None


def test_worker_killed_repeatedly_under_load(store: RunningStore) -> None:
    with store.client() as setup:
        setup.set_model("square", inference_models.onnx_square(), "ONNX")
    done = [0] * THREADS
    lost: list[BaseException] = []
    wrong: list[str] = []
    unexpected: list[BaseException] = []

    def load(index: int) -> None:
        with Client(False, store.address) as client:
            for n in range(PER_THREAD):
                x = np.full((1, 3), float(index * PER_THREAD + n), np.float32)
                client.put_tensor(f"x{index}", x)
                try:
                    client.run_model("square", [f"x{index}"], [f"y{index}"])
                    got = client.get_tensor(f"y{index}")
                    if not np.array_equal(got, x * x):
                        wrong.append(f"{index}/{n}")
                except WorkerLostError as err:
                    lost.append(err)
                except Exception as err:  # the test reports every kind
                    unexpected.append(err)
                done[index] += 1

    threads = [threading.Thread(target=load, args=(i,)) for i in range(THREADS)]
    begun = time.monotonic()
    for thread in threads:
        thread.start()
    kills, recoveries = 0, []
    deadline = time.monotonic() + DEADLINE
    while kills < KILLS and any(t.is_alive() for t in threads):
        # kill once the load has made progress since the last kill (no timing)
        mark = sum(done)
        while sum(done) < mark + 50 and any(t.is_alive() for t in threads):
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.01)
        pid = _worker_pid()
        if pid is None or not any(t.is_alive() for t in threads):
            continue
        psutil.Process(pid).kill()
        killed = time.monotonic()
        kills += 1
        while (_worker_pid() in (None, pid)) and time.monotonic() < deadline:
            time.sleep(0.01)
        recoveries.append(time.monotonic() - killed)
    for thread in threads:
        thread.join(max(1.0, deadline - time.monotonic()))
        assert not thread.is_alive(), "a request hangs"
    total = sum(done)
    record(
        "worker_kill", requests=total, kills=kills, worker_lost=len(lost), wrong=len(wrong),
        other_errors=len(unexpected), seconds=round(time.monotonic() - begun, 2),
        max_restart_s=round(max(recoveries, default=0.0), 3),
    )  # fmt: skip
    assert not unexpected, unexpected[:3]
    assert not wrong, wrong[:10]
    assert total == THREADS * PER_THREAD
    assert kills >= 3, "the load ended before the worker could be killed repeatedly"
    # a killed worker held at most the requests in flight: one per thread
    assert len(lost) <= kills * THREADS
