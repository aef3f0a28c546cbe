"""Garbage under every key kind insitu reads, oversize and malformed inputs, malformed
configuration: a typed error naming the problem, no crash, no hang, nothing started."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
import redis
from redis.cluster import RedisCluster

from insitu import Experiment
from insitu.client import Client
from insitu.errors import (
    ClientError,
    ConfigurationError,
    RedisParameterError,
    SmartSimError,
    ValueTooLargeError,
)
from insitu.store.readiness import find_free_port_block
from tests.reliability.figures import record
from tests.reliability.stores import RunningStore, running_store
from tests.topologies import Store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module", params=["standalone", "cluster"])
def store(request: pytest.FixtureRequest) -> Iterator[RunningStore]:
    shards = 1 if request.param == "standalone" else 3
    with running_store(f"garbage_{request.param}", shards, inference_workers=1) as s:
        # Serving workers first: a script that does not compile is refused when a worker
        # loads it, and one stored before any worker serves fails only when it runs.
        Store(f"garbage_{request.param}", s.orchestrator, s.cluster).wait_for_workers()
        yield s


GARBAGE = {
    "empty": b"",
    "random": bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8)),
    "text": b"hello, not insitu data",
    "fake header": b"\x93NUMPY" + b"\xff" * 64,
}

# the raw key each kind is stored under (no prefixing), and the read that decodes it
KEYS = {"tensor": "g", "dataset": "{g}", "model": "g", "script": "g", "list entry": "gl"}
READS: dict[str, Callable[[Client], object]] = {
    "tensor": lambda c: c.get_tensor("g"),
    "dataset": lambda c: c.get_dataset("g"),
    "model": lambda c: c.run_model("g", ["in"], ["out"]),
    "script": lambda c: c.run_script("g", "f", ["in"], ["out"]),
    "list entry": lambda c: c.get_datasets_from_list("gl"),
}


def _raw(store: RunningStore) -> redis.Redis | RedisCluster:
    password = store.orchestrator.password
    host, port = store.address.rsplit(":", 1)
    if store.cluster:
        return RedisCluster(host=host, port=int(port), password=password)
    return redis.Redis(host=host, port=int(port), password=password)


@pytest.mark.parametrize("garbage", list(GARBAGE))
@pytest.mark.parametrize("kind", list(READS))
def test_garbage_under_every_key_kind_is_a_typed_error(
    store: RunningStore, kind: str, garbage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_MODEL_TIMEOUT", "60000")  # a hang would show as a timeout error
    raw = _raw(store)
    with store.client() as client:
        client.put_tensor("in", np.ones((1, 3), np.float32))
        try:
            if kind == "list entry":  # an entry naming a dataset that holds garbage
                raw.set("{g}", GARBAGE[garbage])
                raw.rpush("gl", "{g}")
            else:
                raw.set(KEYS[kind], GARBAGE[garbage])
            with pytest.raises(ClientError) as caught:
                READS[kind](client)
        finally:
            _delete(raw, KEYS[kind], "{g}")
            raw.close()
        assert "Timeout" not in type(caught.value).__name__
        client.put_tensor("after", np.ones(2))  # the client and store keep working
        np.testing.assert_array_equal(client.get_tensor("after"), np.ones(2))
    record("garbage", kind=kind, garbage=garbage, error=type(caught.value).__name__)


def _delete(raw: redis.Redis | RedisCluster, *names: str) -> None:
    for name in names:
        raw.delete(name)


@pytest.mark.parametrize("kind", ["tensor", "dataset", "model"])
def test_a_value_of_another_redis_type_is_a_typed_error(store: RunningStore, kind: str) -> None:
    raw = _raw(store)
    with store.client() as client:
        raw.hset(KEYS[kind], "field", "value")
        try:
            with pytest.raises(ClientError):
                READS[kind](client)
        finally:
            _delete(raw, KEYS[kind])
            raw.close()


def test_oversize_inputs_are_refused_before_they_are_built(store: RunningStore) -> None:
    import tracemalloc

    addresses = store.orchestrator.get_address()
    with store.client() as client:
        for address in addresses:
            client.config_set("proto-max-bulk-len", str(1024 * 1024), address)
        try:
            huge = np.broadcast_to(np.zeros(1), (2**27,))  # 1 GiB seen, 8 bytes real
            tracemalloc.start()
            try:
                with pytest.raises(ValueTooLargeError) as caught:
                    client.put_tensor("huge", huge)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert caught.value.limit == 1024 * 1024
            assert peak < 64 * 1024 * 1024, f"{peak} bytes were built for nothing"
            with pytest.raises(ValueTooLargeError):
                client.put_bytes("big", bytes(2 * 1024 * 1024))
            assert not client.key_exists("huge") and not client.key_exists("big")
        finally:
            for address in addresses:
                client.config_set("proto-max-bulk-len", str(512 * 1024 * 1024), address)


MALFORMED_INPUTS: dict[str, Callable[[Client], object]] = {
    "object dtype": lambda c: c.put_tensor("t", np.array([object()])),
    "complex dtype": lambda c: c.put_tensor("t", np.ones(2, np.complex128)),
    "str dtype": lambda c: c.put_tensor("t", np.array(["a"])),
    "not an array": lambda c: c.put_tensor("t", [1, 2, 3]),  # type: ignore[arg-type]
    "unknown backend": lambda c: c.set_model("m", b"x", "NOPE"),
    "bad device": lambda c: c.set_model("m", b"x", "ONNX", device="TPU"),
    "script syntax": lambda c: c.set_script("s", "def broken(:\n"),
    "bad poll args": lambda c: c.poll_tensor("t", -5, 1),
}


@pytest.mark.parametrize("case", list(MALFORMED_INPUTS))
def test_malformed_inputs_are_typed_errors(store: RunningStore, case: str) -> None:
    with store.client() as client:
        with pytest.raises((TypeError, ValueError, ClientError)) as caught:
            MALFORMED_INPUTS[case](client)
        assert isinstance(caught.value, SmartSimError | ClientError | TypeError | ValueError)
        assert type(caught.value).__module__.startswith("insitu"), type(caught.value)
        client.put_tensor("fine", np.ones(1))  # nothing broken


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


MALFORMED_CONFIG: dict[str, Callable[[Experiment, int], object]] = {
    "two shards": lambda e, p: e.create_database(port=p, db_nodes=2),
    "port out of range": lambda e, p: e.create_database(port=70000),
    "bad maxmemory": lambda e, p: e.create_database(port=p, maxmemory="lots"),
    "bad policy": lambda e, p: e.create_database(port=p, maxmemory_policy="evict-all"),
    "bad worker count": lambda e, p: e.create_database(port=p, inference_workers=-1),
    "bad device": lambda e, p: e.create_database(port=p, inference_devices="TPU"),
    "bad interface": lambda e, p: e.create_database(port=p, interface="no-such-nic0"),
    "bad db_nodes type": lambda e, p: e.create_database(port=p, db_nodes="3"),
}


@pytest.mark.parametrize("case", list(MALFORMED_CONFIG))
def test_malformed_configuration_starts_nothing(tmp_path: Path, case: str) -> None:
    exp = Experiment("badconf", exp_path=str(tmp_path), launcher="local")
    before = _children()
    try:
        with pytest.raises((ConfigurationError, TypeError, ValueError, SmartSimError)) as caught:
            store = MALFORMED_CONFIG[case](exp, find_free_port_block(3))
            exp.start(store)  # type: ignore[arg-type]
        assert type(caught.value).__module__.startswith("insitu"), type(caught.value)
        assert _children() == before, "something was started"
    finally:
        exp.stop_all()
    record("malformed_config", case=case, error=type(caught.value).__name__)


@pytest.mark.parametrize(
    ("name", "value"),
    [("SR_CMD_TIMEOUT", "soon"), ("SR_CONN_TIMEOUT", "-1"), ("SR_CMD_INTERVAL", "0.5")],
)
def test_malformed_client_environment_is_a_parameter_error(
    store: RunningStore, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("SSDB", store.address)
    monkeypatch.setenv(name, value)
    with pytest.raises((RedisParameterError, ClientError)) as caught:
        Client(store.cluster)
    assert name in str(caught.value) or value in str(caught.value)
