"""A shard killed mid-run: the client reports RedisConnectionError once SR_CMD_TIMEOUT has
passed, and works again, without being re-created, once the store is restarted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from insitu import Experiment
from insitu.client import Client
from insitu.client.errors import RedisConnectionError, RedisTimeoutError
from insitu.store.readiness import find_free_port_block
from tests.helpers import process_gone


@pytest.fixture
def exp(tmp_path: Path) -> Iterator[Experiment]:
    experiment = Experiment("faults", exp_path=str(tmp_path), launcher="local")
    yield experiment
    experiment.stop_all()


def _kill_shard(exp: Experiment, name: str) -> None:
    record = exp._control.table.latest(name)
    assert record is not None
    pid = int(record.job_id.rstrip("+"))
    psutil.Process(pid).kill()
    assert process_gone(pid)


@pytest.mark.parametrize("shards", [1, 3])
def test_killed_shard_then_recovery(
    exp: Experiment, shards: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_CMD_TIMEOUT", "1")
    monkeypatch.setenv("SR_CMD_INTERVAL", "50")
    store = exp.create_database(port=find_free_port_block(shards), db_nodes=shards)
    exp.start(store)
    first_shard = store.get_address()[0]
    client = Client(shards > 1, first_shard)
    keys = [f"k{i}" for i in range(40)]  # spread over every shard's slots
    for key in keys:
        client.put_tensor(key, np.ones(3))

    _kill_shard(exp, store.shard_names[0])
    failures: list[RedisConnectionError] = []
    for key in keys:
        try:
            client.get_tensor(key)
        except RedisConnectionError as err:
            failures.append(err)
            break
    assert failures, "no operation noticed the dead shard"
    assert isinstance(failures[0], RedisTimeoutError)  # what SmartRedis would raise
    assert failures[0].transient
    assert failures[0].address == first_shard  # the dead shard's address, not a key

    exp.stop(store)
    exp.start(store)  # same ports, same password
    for key in keys:
        client.put_tensor(key, np.full(3, 2.0))
    np.testing.assert_array_equal(client.get_tensor(keys[0]), np.full(3, 2.0))
    client.close()
