"""Persistence on request (``persist="rdb"|"aof"``, ``Orchestrator.save()``) and restart
from the files; a memory limit with a policy, and a put over it as a typed error naming the
limit while the store keeps serving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from insitu import Experiment
from insitu.client import Client
from insitu.errors import (
    InvalidServerOptionError,
    StoreNotActiveError,
    StoreOutOfMemoryError,
)
from insitu.store.readiness import find_free_port_block


@pytest.fixture
def exp(tmp_path: Path) -> Iterator[Experiment]:
    experiment = Experiment("persist", exp_path=str(tmp_path), launcher="local")
    yield experiment
    experiment.stop_all()


@pytest.mark.parametrize("shards", [1, 3])
@pytest.mark.parametrize("persist", ["rdb", "aof"])
def test_restart_from_persistence_files(exp: Experiment, persist: str, shards: int) -> None:
    store = exp.create_database(
        port=find_free_port_block(shards), db_nodes=shards, persist=persist, inference_workers=0
    )
    with pytest.raises(StoreNotActiveError):
        store.save()
    exp.start(store)
    keys = [f"p{i}" for i in range(30)]  # over every shard
    with Client(shards > 1, store.get_address()[0]) as client:
        for i, key in enumerate(keys):
            client.put_tensor(key, np.full(4, float(i)))
    if persist == "rdb":
        store.save()  # every shard writes its snapshot now
    exp.stop(store)
    files = sorted(p.name for p in Path(store.path).rglob("*") if p.is_file())
    assert any(n.endswith(".rdb") or "appendonly" in n or n.endswith(".aof") for n in files)
    exp.start(store)
    with Client(shards > 1, store.get_address()[0]) as client:
        for i, key in enumerate(keys):
            np.testing.assert_array_equal(client.get_tensor(key), np.full(4, float(i)))


def test_without_persistence_a_restart_is_empty(exp: Experiment) -> None:
    store = exp.create_database(port=find_free_port_block(1), inference_workers=0)
    exp.start(store)
    with Client(False, store.get_address()[0]) as client:
        client.put_tensor("gone", np.ones(2))
    exp.stop(store)
    exp.start(store)
    with Client(False, store.get_address()[0]) as client:
        assert not client.tensor_exists("gone")


def test_memory_limit_and_policy(exp: Experiment) -> None:
    limit = 48 * 1024 * 1024
    store = exp.create_database(
        port=find_free_port_block(1), maxmemory="48mb", maxmemory_policy="noeviction",
        inference_workers=0,
    )  # fmt: skip
    exp.start(store)
    with Client(False, store.get_address()[0]) as client:
        client.put_tensor("kept", np.ones(8))
        with pytest.raises(StoreOutOfMemoryError) as caught:
            for i in range(20):  # 8 MiB each: the limit is met within a few
                client.put_tensor(f"big{i}", np.ones(1024 * 1024))
        assert caught.value.limit == limit
        assert "maxmemory" in str(caught.value)
        np.testing.assert_array_equal(client.get_tensor("kept"), np.ones(8))  # still serving
        client.delete_tensor("big0")


@pytest.mark.parametrize(
    "options",
    [{"persist": "sometimes"}, {"maxmemory": "lots"}, {"maxmemory_policy": "evict-all"}],
)
def test_bad_persistence_or_memory_options_are_refused_at_once(
    exp: Experiment, options: dict[str, object]
) -> None:
    with pytest.raises(InvalidServerOptionError):
        exp.create_database(port=find_free_port_block(1), **options)  # type: ignore[arg-type]
