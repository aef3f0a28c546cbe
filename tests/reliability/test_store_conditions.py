"""Defect 5: a store that answers but refuses to serve for now (cluster down, read-only,
busy) is retried until ``SR_CMD_TIMEOUT``, then raises that condition's one error class,
whichever operation met it; out of memory is one class for every write, naming the limit.

Every condition is brought about on a real server (slots deleted, REPLICAOF, a script
that never ends, maxmemory), and the retries are observed in the server's own error
statistics, not in timings."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import redis
from redis.crc import key_slot

from insitu.client import Client, Dataset
from insitu.errors import (
    ClusterDownError,
    ReadOnlyStoreError,
    RedisConnectionError,
    RedisDatabaseError,
    StoreBusyError,
    StoreOutOfMemoryError,
    StoreUnavailableError,
)
from tests.reliability.stores import RunningStore, running_store

DEADLINE = 60.0
Op = Callable[[Client], object]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RunningStore]:
    with running_store("conditions_cl", 3) as store:
        yield store


@pytest.fixture(scope="module")
def single() -> Iterator[RunningStore]:
    with running_store("conditions_one", 1) as store:
        yield store


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SR_CMD_TIMEOUT", "1")
    monkeypatch.setenv("SR_CMD_INTERVAL", "50")
    monkeypatch.setenv("SR_CONN_TIMEOUT", "5")


def _refusals(shards: tuple[redis.Redis, ...], code: str) -> int:
    """How many ``code`` error replies the shards have sent so far."""
    total = 0
    for shard in shards:
        stats = shard.info("errorstats")
        total += int(stats.get(f"errorstat_{code}", {}).get("count", 0))
    return total


def _poll(what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.02)


def _ds(name: str, size: int = 3) -> Dataset:
    dataset = Dataset(name)
    dataset.add_tensor("t", np.ones(size))
    return dataset


# Operations of every kind, all touching key "k" (or its dataset/list).
OPS: dict[str, Op] = {
    "put_tensor": lambda c: c.put_tensor("k", np.ones(3)),
    "get_tensor": lambda c: c.get_tensor("k"),
    "tensor_exists": lambda c: c.tensor_exists("k"),
    "delete_tensor": lambda c: c.delete_tensor("k"),
    "put_bytes": lambda c: c.put_bytes("k", b"raw"),
    "put_dataset": lambda c: c.put_dataset(_ds("k")),
    "get_dataset": lambda c: c.get_dataset("k"),
    "append_to_list": lambda c: c.append_to_list("k", _ds("k")),
    "get_list_length": lambda c: c.get_list_length("k"),
    "set_script": lambda c: c.set_script("k", "def f(x):\n    return x\n"),
}


@contextmanager
def _unserved_slot(store: RunningStore, key: bytes) -> Iterator[Callable[[], None]]:
    """No shard serves ``key``'s slot (so the whole cluster is down, full coverage being
    required) until the yielded ``restore`` is called, or the block ends."""
    slot = key_slot(key)
    owners = [s for s in store.shards if _owns(s, slot)]
    assert len(owners) == 1
    for shard in store.shards:
        shard.execute_command("CLUSTER", "DELSLOTS", slot)
    restored = threading.Event()

    def restore() -> None:
        if not restored.is_set():
            restored.set()
            owners[0].execute_command("CLUSTER", "ADDSLOTS", slot)

    try:
        yield restore
    finally:
        restore()
        _poll("the cluster is whole again", lambda: all(_state_ok(s) for s in store.shards))


def _owns(shard: redis.Redis, slot: int) -> bool:
    for first, last, *nodes in shard.execute_command("CLUSTER", "SLOTS"):
        if first <= slot <= last:
            return bool(shard.execute_command("CLUSTER", "MYID") == nodes[0][2])
    return False


def _state_ok(shard: redis.Redis) -> bool:
    info = shard.execute_command("CLUSTER", "INFO")
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text


@pytest.mark.parametrize("op", list(OPS))
def test_cluster_down_is_one_class_after_sr_cmd_timeout(cluster: RunningStore, op: str) -> None:
    with cluster.client() as client:
        client.put_tensor("k", np.ones(3))
        with _unserved_slot(cluster, b"k"):
            before = _refusals(cluster.shards, "CLUSTERDOWN")
            with pytest.raises(ClusterDownError) as caught:
                OPS[op](client)
            retried = _refusals(cluster.shards, "CLUSTERDOWN") - before
    err = caught.value
    assert err.code == "CLUSTERDOWN"
    assert "SR_CMD_TIMEOUT" in str(err)
    assert retried >= 1  # it got to the shard (retries may stop at the refreshed slot map)
    # the classes it had before, and the transient nature of a refusal
    assert isinstance(err, RedisConnectionError) and isinstance(err, RedisDatabaseError)
    assert err.transient


def test_cluster_down_is_retried_until_the_cluster_serves_again(
    cluster: RunningStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_CMD_TIMEOUT", str(int(DEADLINE)))
    with cluster.client() as client:
        client.put_tensor("k", np.arange(3.0))
        with _unserved_slot(cluster, b"k") as restore:
            before = _refusals(cluster.shards, "CLUSTERDOWN")

            def heal_after_a_refusal() -> None:
                _poll("a refusal", lambda: _refusals(cluster.shards, "CLUSTERDOWN") > before)
                restore()

            healer = threading.Thread(target=heal_after_a_refusal)
            healer.start()
            try:
                got = client.get_tensor("k")  # refused, retried, then served
                client.put_tensor("k2", np.ones(2))
            finally:
                healer.join()
    np.testing.assert_array_equal(got, np.arange(3.0))


@contextmanager
def _read_only(store: RunningStore) -> Iterator[Callable[[], None]]:
    """The standalone shard is a replica of nothing (writes refused with READONLY) until
    the yielded ``restore`` is called, or the block ends."""
    shard = store.shards[0]
    shard.execute_command("REPLICAOF", "127.0.0.1", "1")  # nobody listens on port 1
    done = threading.Event()

    def restore() -> None:
        if not done.is_set():
            done.set()
            shard.execute_command("REPLICAOF", "NO", "ONE")

    try:
        yield restore
    finally:
        restore()


WRITES = ("put_tensor", "delete_tensor", "put_bytes", "put_dataset", "append_to_list")


@pytest.mark.parametrize("op", WRITES)
def test_read_only_store_is_one_class_after_sr_cmd_timeout(single: RunningStore, op: str) -> None:
    with single.client() as client:
        client.put_tensor("k", np.ones(3))
        with _read_only(single):
            before = _refusals(single.shards, "READONLY")
            with pytest.raises(ReadOnlyStoreError) as caught:
                OPS[op](client)
            retried = _refusals(single.shards, "READONLY") - before
            np.testing.assert_array_equal(client.get_tensor("k"), np.ones(3))  # reads go on
    assert caught.value.code == "READONLY"
    assert caught.value.address == single.address
    assert retried >= 2


def test_read_only_store_is_retried_until_it_is_a_master_again(
    single: RunningStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_CMD_TIMEOUT", str(int(DEADLINE)))
    with single.client() as client, _read_only(single) as restore:
        before = _refusals(single.shards, "READONLY")

        def promote_after_two_refusals() -> None:
            _poll("two refusals", lambda: _refusals(single.shards, "READONLY") >= before + 2)
            restore()

        promoter = threading.Thread(target=promote_after_two_refusals)
        promoter.start()
        try:
            client.put_tensor("written", np.full(4, 7.0))  # refused, retried, applied once
        finally:
            promoter.join()
        np.testing.assert_array_equal(client.get_tensor("written"), np.full(4, 7.0))


@contextmanager
def _busy(store: RunningStore) -> Iterator[None]:
    """The shard runs a script that never ends (BUSY to every command) during the block."""
    shard = store.shards[0]
    shard.config_set("busy-reply-threshold", "50")
    kwargs = shard.connection_pool.connection_kwargs
    looper = redis.Redis(host=kwargs["host"], port=kwargs["port"], password=kwargs["password"])
    outcome: list[BaseException] = []

    def loop() -> None:
        try:
            looper.eval("while true do end", 0)
        except redis.ResponseError as err:  # SCRIPT KILL ends it so
            outcome.append(err)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        _poll("the shard is busy", lambda: _is_busy(shard))
        yield
    finally:
        _poll("the script was killed", lambda: _kill_script(shard))
        thread.join()
        looper.close()
        shard.config_set("busy-reply-threshold", "5000")
    assert outcome


def _is_busy(shard: redis.Redis) -> bool:
    try:
        shard.ping()
    except redis.exceptions.BusyLoadingError:
        return False
    except redis.ResponseError as err:
        return str(err).startswith("BUSY")
    return False


def _kill_script(shard: redis.Redis) -> bool:
    try:
        shard.script_kill()
    except redis.ResponseError as err:  # NOTBUSY: already over
        return "NOTBUSY" in str(err) or "No scripts" in str(err)
    return True


@pytest.mark.parametrize("op", ["put_tensor", "get_tensor", "put_dataset", "get_list_length"])
def test_busy_store_is_one_class_after_sr_cmd_timeout(single: RunningStore, op: str) -> None:
    with single.client() as client:
        client.put_tensor("k", np.ones(3))
        before = _refusals(single.shards, "BUSY")
        with _busy(single), pytest.raises(StoreBusyError) as caught:
            OPS[op](client)
        retried = _refusals(single.shards, "BUSY") - before
        np.testing.assert_array_equal(client.get_tensor("k"), np.ones(3))  # serving again
    assert caught.value.code == "BUSY"
    assert isinstance(caught.value, StoreUnavailableError)
    assert retried >= 3  # the probe's one and at least two of the client's


def _headroom(shard: redis.Redis, extra: int) -> int:
    return int(shard.info("memory")["used_memory"]) + extra


BIG = 4 * 1024 * 1024  # float64 elements: 32 MiB per value

BIG_WRITES: dict[str, Op] = {
    "put_tensor": lambda c: c.put_tensor("big", np.ones(BIG)),
    "put_bytes": lambda c: c.put_bytes("big", bytes(8 * BIG)),
    "put_dataset": lambda c: c.put_dataset(_ds("big", BIG)),
    "set_script": lambda c: c.set_script("big", "#" * (8 * BIG)),
    "set_model": lambda c: c.set_model("big", bytes(8 * BIG), "TORCH"),
}


@pytest.mark.parametrize("op", list(BIG_WRITES))
def test_out_of_memory_is_one_class_naming_the_limit(single: RunningStore, op: str) -> None:
    shard = single.shards[0]
    with single.client() as client:
        client.put_tensor("small", np.ones(3))
        limit = _headroom(shard, 4 * 1024 * 1024)
        single.orchestrator.set_max_memory(str(limit))
        try:
            with pytest.raises(StoreOutOfMemoryError) as caught:
                BIG_WRITES[op](client)
            # the store keeps serving reads and deletes (writes may be refused while the
            # refused value's buffer is being freed)
            np.testing.assert_array_equal(client.get_tensor("small"), np.ones(3))
            assert not client.key_exists("big")  # nothing half-written
            client.delete_tensor("small")
        finally:
            single.orchestrator.set_max_memory("0")
        client.put_tensor("small", np.ones(3))  # and writes once the limit is raised
    err = caught.value
    assert err.limit == limit
    assert str(limit) in str(err) and "maxmemory" in str(err)
    assert isinstance(err, RedisDatabaseError)
