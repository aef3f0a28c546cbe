"""A dead shard does not keep new clients out: a Client seeded with a live shard of a
cluster is created at once (not after SR_CONN_TIMEOUT), works on the live shards, and gets
RedisConnectionError naming the dead shard's address for its keys; a dead standalone store
is a RedisConnectionError naming its address once SR_CONN_TIMEOUT has passed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
import redis
from redis.crc import key_slot

from insitu import Experiment
from insitu.client import Client
from insitu.errors import (
    ClusterDownError,
    RedisConnectionError,
    RedisConnectionLostError,
    RedisTimeoutError,
)
from insitu.store.readiness import find_free_port_block
from tests.helpers import process_gone

SR_CONN_TIMEOUT = 100  # SmartRedis's default: the wait a dead shard must not cause


@pytest.fixture
def exp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Experiment]:
    monkeypatch.setenv("SR_CONN_TIMEOUT", str(SR_CONN_TIMEOUT))
    monkeypatch.setenv("SR_CMD_TIMEOUT", "1")
    monkeypatch.setenv("SR_CMD_INTERVAL", "50")
    experiment = Experiment("resilience", exp_path=str(tmp_path), launcher="local")
    yield experiment
    experiment.stop_all()


def _kill(exp: Experiment, shard: str) -> None:
    record = exp._control.table.latest(shard)
    assert record is not None
    pid = int(record.job_id.rstrip("+"))
    psutil.Process(pid).kill()
    assert process_gone(pid)


def _owner(addresses: list[str], password: str, key: str) -> str:
    """The address of the shard serving ``key``."""
    host, port = addresses[0].rsplit(":", 1)
    node = redis.Redis(host=host, port=int(port), password=password)
    try:
        slot = key_slot(key.encode())
        for first, last, primary, *_ in node.execute_command("CLUSTER", "SLOTS"):
            if first <= slot <= last:
                return f"{primary[0].decode()}:{primary[1]}"
    finally:
        node.close()
    raise AssertionError(f"no shard serves {key}")


def _created_within(seconds: float, make: object) -> Client:
    """The Client ``make()`` builds, failing the test if that takes ``seconds`` (a bound
    far below SR_CONN_TIMEOUT: what is checked is that the wait does not happen)."""
    made: list[object] = []
    thread = threading.Thread(target=lambda: made.append(_call(make)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"Client creation waited for SR_CONN_TIMEOUT ({made})"
    if isinstance(made[0], BaseException):
        raise made[0]
    assert isinstance(made[0], Client)
    return made[0]


def _call(make: object) -> object:
    try:
        return make()  # type: ignore[operator]
    except BaseException as err:  # handed to the test thread
        return err


def test_new_client_with_one_dead_shard(exp: Experiment) -> None:
    store = exp.create_database(port=find_free_port_block(3), db_nodes=3, inference_workers=0)
    exp.start(store)
    addresses = store.get_address()
    keys = [f"k{i}" for i in range(60)]
    owners = {k: _owner(addresses, store.password, k) for k in keys}
    with Client(True, addresses[0]) as before:
        for key in keys:
            before.put_tensor(key, np.full(2, float(len(key))))
    dead = addresses[0]
    _kill(exp, store.shard_names[0])
    live = addresses[1]
    client = _created_within(SR_CONN_TIMEOUT / 2, lambda: Client(True, live))
    served = down = 0
    with client:
        for key in [k for k in keys if owners[k] == dead][:3]:  # each waits SR_CMD_TIMEOUT
            with pytest.raises(RedisConnectionError) as caught:
                client.get_tensor(key)
            assert caught.value.address == dead, caught.value
        for key in [k for k in keys if owners[k] != dead]:
            # The live shards serve until the cluster notices the loss (cluster-node-timeout);
            # then, without a replica to fail over to, the cluster is down for every key.
            try:
                np.testing.assert_array_equal(client.get_tensor(key), np.full(2, float(len(key))))
                served += 1
            except ClusterDownError as err:
                assert err.address in addresses
                down += 1
                break
    assert any(owners[k] == dead for k in keys) and served + down > 0


def test_dead_standalone_store_names_its_address(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_CONN_TIMEOUT", "1")
    store = exp.create_database(port=find_free_port_block(1), inference_workers=0)
    exp.start(store)
    address = store.get_address()[0]
    _kill(exp, store.shard_names[0])
    with pytest.raises(RedisConnectionError, match="SR_CONN_TIMEOUT") as caught:
        Client(False, address)
    assert caught.value.address == address
    assert store.password not in str(caught.value)


def test_a_hung_store_fails_a_read_once_with_a_timeout(exp: Experiment) -> None:
    """A store that accepts nothing more (SIGSTOPped) fails a tensor read with a typed
    timeout from the lean read itself, not again through the retrying path (which would
    double the wait)."""
    store = exp.create_database(port=find_free_port_block(1), inference_workers=0)
    exp.start(store)
    client = Client(False, store.get_address()[0])
    client.put_tensor("t", np.arange(4))
    np.testing.assert_array_equal(client.get_tensor("t"), np.arange(4))  # the lean channel
    record = exp._control.table.latest(store.shard_names[0])
    assert record is not None
    server = psutil.Process(int(record.job_id.rstrip("+")))
    server.suspend()
    try:
        with pytest.raises(RedisConnectionLostError) as caught:
            client.get_tensor("t")
        assert isinstance(caught.value, RedisTimeoutError)
        assert isinstance(caught.value.__cause__, TimeoutError)  # the lean read's own
        context = caught.value.__context__
        while context is not None:  # ... not one raised after a first timed-out attempt
            assert not isinstance(context, RedisConnectionLostError)
            context = context.__context__
    finally:
        server.resume()
    np.testing.assert_array_equal(client.get_tensor("t"), np.arange(4))  # and it recovers
