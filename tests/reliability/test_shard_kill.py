"""A shard killed (SIGKILL) under load, standalone and cluster: while it is down every
operation ends in a typed RedisConnectionError naming an address within SR_CMD_TIMEOUT
(none hangs, no wrong value is ever read); once the store is restarted the same clients
carry on without being re-created."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from insitu import Experiment
from insitu.client import Client
from insitu.errors import RedisConnectionError, RedisKeyError
from insitu.store.readiness import find_free_port_block
from tests.helpers import process_gone
from tests.reliability.figures import record

LOADERS = 4
DEADLINE = 120.0


@pytest.fixture
def exp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Experiment]:
    monkeypatch.setenv("SR_CMD_TIMEOUT", "1")
    monkeypatch.setenv("SR_CMD_INTERVAL", "50")
    monkeypatch.setenv("SR_CONN_TIMEOUT", "2")
    experiment = Experiment("shardkill", exp_path=str(tmp_path), launcher="local")
    yield experiment
    experiment.stop_all()


class Load(threading.Thread):
    """put/get of the loader's own keys, every value read checked, until stopped."""

    def __init__(self, index: int, address: str, cluster: bool) -> None:
        super().__init__(daemon=True)
        self.index, self.address, self.cluster = index, address, cluster
        self.stop = threading.Event()
        self.ok = 0
        self.ok_at: list[float] = []
        self.errors: list[RedisConnectionError] = []
        self.wrong: list[str] = []
        self.unexpected: list[BaseException] = []

    def run(self) -> None:
        with Client(self.cluster, self.address) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                key = f"L{self.index}.{n % 50}"
                value = np.full(16, float(n))
                try:
                    client.put_tensor(key, value)
                    got = client.get_tensor(key)
                    if not np.array_equal(got, value):
                        self.wrong.append(key)
                    self.ok += 1
                    self.ok_at.append(time.monotonic())
                except RedisKeyError:  # written, then the shard died and came back empty
                    pass
                except RedisConnectionError as err:
                    self.errors.append(err)
                except Exception as err:  # every other kind is a finding
                    self.unexpected.append(err)


def _wait(what: str, ready: object) -> None:
    deadline = time.monotonic() + DEADLINE
    while not ready():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("shards", [1, 3])
def test_shard_killed_under_load(exp: Experiment, shards: int) -> None:
    store = exp.create_database(port=find_free_port_block(shards), db_nodes=shards)
    exp.start(store)
    addresses = store.get_address()
    loads = [Load(i, addresses[0], shards > 1) for i in range(LOADERS)]
    for load in loads:
        load.start()
    try:
        _wait("load", lambda: all(load.ok > 20 for load in loads))
        record_ = exp._control.table.latest(store.shard_names[0])
        assert record_ is not None
        pid = int(record_.job_id.rstrip("+"))
        psutil.Process(pid).kill()
        assert process_gone(pid)
        _wait("the loss is noticed", lambda: all(load.errors for load in loads))
        exp.stop(store)
        exp.start(store)  # same ports, same password
        restarted = time.monotonic()
        _wait("the load resumes", lambda: all(
            any(t > restarted for t in load.ok_at) for load in loads
        ))  # fmt: skip
        recovered = max(min(t for t in load.ok_at if t > restarted) for load in loads) - restarted
    finally:
        for load in loads:
            load.stop.set()
        for load in loads:
            load.join(DEADLINE)
    assert not any(load.is_alive() for load in loads), "an operation hangs"
    errors = [e for load in loads for e in load.errors]
    record(
        "shard_kill", shards=shards, operations=sum(load.ok for load in loads),
        errors=len(errors), wrong=sum(len(load.wrong) for load in loads),
        seconds_to_recover_after_restart=round(recovered, 3),
    )  # fmt: skip
    assert not [u for load in loads for u in load.unexpected]
    assert not [w for load in loads for w in load.wrong]
    assert all(err.address in addresses for err in errors), {e.address for e in errors}
