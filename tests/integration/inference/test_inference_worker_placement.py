"""Where a store's inference workers run and how they wait: ``set_worker_cpu_pinning``
places them apart from their server, ``INSITU_WORKER_SPIN_US`` (checked before anything
starts) sets how long they poll for the next request."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
import redis

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.errors import InvalidArgumentError
from insitu.inference.shard import connect
from insitu.wire.worker import WORKER_MODULE, WORKER_SPIN_ENV
from tests import inference_models

CPUS = sorted(os.sched_getaffinity(0))


@pytest.fixture
def exp(tmp_path: Path) -> Iterator[Experiment]:
    experiment = Experiment("placement", exp_path=str(tmp_path), launcher="local")
    try:
        yield experiment
    finally:
        experiment.stop_all()


def _workers_of(store: Orchestrator) -> list[psutil.Process]:
    """The worker processes serving ``store`` (children of this process)."""
    address = store.get_address()[0]
    return [
        proc
        for proc in psutil.Process().children(recursive=True)
        if WORKER_MODULE in proc.cmdline() and address in proc.cmdline()
    ]


def _server_pid(store: Orchestrator) -> int:
    conn: redis.Redis = connect(store.get_address()[0], store.password)
    try:
        return int(conn.info("server")["process_id"])
    finally:
        conn.close()


def _serves(store: Orchestrator, calls: int = 5) -> None:
    """``calls`` back-to-back runs of an ONNX model give the right answers."""
    with Client(False, store.get_address()[0], password=store.password) as client:
        client.set_model("square", inference_models.onnx_square(), "ONNX")
        for i in range(calls):
            x = np.full((2, 3), float(i), np.float32)
            client.put_tensor("x", x)
            client.run_model("square", inputs=["x"], outputs=["y"])
            np.testing.assert_array_equal(client.get_tensor("y"), x * x)


def test_workers_run_on_their_own_cpus(exp: Experiment, tmp_path: Path) -> None:
    store = exp.create_database(unix_socket=str(tmp_path / "db.sock"), db_identifier="apart")
    store.set_cpu_pinning([CPUS[0]])
    store.set_worker_cpu_pinning([CPUS[-1]])
    exp.start(store)
    (worker,) = _workers_of(store)
    assert worker.cpu_affinity() == [CPUS[-1]]
    assert psutil.Process(_server_pid(store)).cpu_affinity() == [CPUS[0]]
    _serves(store)


def test_workers_share_their_shard_cpus_by_default(exp: Experiment, tmp_path: Path) -> None:
    store = exp.create_database(unix_socket=str(tmp_path / "db.sock"), db_identifier="shared")
    store.set_cpu_pinning([CPUS[-1]])
    exp.start(store)
    (worker,) = _workers_of(store)
    assert worker.cpu_affinity() == [CPUS[-1]]
    assert psutil.Process(_server_pid(store)).cpu_affinity() == [CPUS[-1]]


def test_workers_that_never_poll_still_serve(
    exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORKER_SPIN_ENV, "0")
    store = exp.create_database(unix_socket=str(tmp_path / "db.sock"), db_identifier="idle")
    exp.start(store)
    (worker,) = _workers_of(store)
    assert worker.environ()[WORKER_SPIN_ENV] == "0"
    _serves(store)


def test_a_bad_spin_is_refused_before_anything_starts(
    exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORKER_SPIN_ENV, "-5")
    store = exp.create_database(unix_socket=str(tmp_path / "db.sock"), db_identifier="bad")
    with pytest.raises(InvalidArgumentError, match=WORKER_SPIN_ENV):
        exp.start(store)
    assert not store.is_active()
    assert not (tmp_path / "db.sock").exists()
    # A store without workers does not care.
    quiet = exp.create_database(
        unix_socket=str(tmp_path / "quiet.sock"), db_identifier="quiet", inference_workers=0
    )
    exp.start(quiet)
    assert quiet.is_active()
