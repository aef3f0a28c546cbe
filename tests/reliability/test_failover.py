"""A master of a cluster with replicas killed (SIGKILL) under load: its replica takes over
without a restart by insitu. Clients see a bounded burst of typed errors (or none), never a
wrong value, and carry on with the same Client objects; the inference worker beside the
promoted replica serves its shard; with ``INSITU_WAIT_REPLICAS=1`` no acknowledged write is
lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from redis.crc import key_slot

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.errors import RedisConnectionError, RedisTimeoutError, ReplicationTimeoutError
from insitu.store.readiness import find_free_port_block
from tests.helpers import process_gone
from tests.inference_models import onnx_square
from tests.reliability.figures import record

LOADERS = 3
DEADLINE = 120.0
NODE_TIMEOUT_MS = 2000  # cluster-node-timeout of these stores: failover in a few seconds
FIRST_SHARD_SLOTS = 5461  # shard 0 of 3 serves slots 0..5460


@pytest.fixture
def exp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Experiment]:
    monkeypatch.setenv("SR_CMD_TIMEOUT", "1")
    monkeypatch.setenv("SR_CMD_INTERVAL", "50")
    monkeypatch.setenv("SR_CONN_TIMEOUT", "2")
    experiment = Experiment("failover", exp_path=str(tmp_path), launcher="local")
    yield experiment
    experiment.stop_all()


def _replicated_store(exp: Experiment, workers: int, **options: object) -> Orchestrator:
    store = exp.create_database(
        port=find_free_port_block(6), db_nodes=3, replicas=1,
        cluster_node_timeout=NODE_TIMEOUT_MS, inference_workers=workers, **options,
    )  # fmt: skip
    exp.start(store)
    return store


def _on_first_shard(stem: str, prefix: str = "") -> str:
    """A name of ``stem`` whose key (with ``prefix``) the first master serves (the one
    killed)."""
    names = (f"{stem}{n}" for n in range(1000))
    return next(n for n in names if key_slot(f"{prefix}{n}".encode()) < FIRST_SHARD_SLOTS)


class Load(threading.Thread):
    """Writes new keys (each written once) and reads them back, every value checked;
    remembers which writes were acknowledged (returned without an error)."""

    def __init__(self, index: int, address: str) -> None:
        super().__init__(daemon=True)
        self.index, self.address = index, address
        self.stop = threading.Event()
        self.acked: dict[str, float] = {}
        self.ok_at: list[float] = []
        self.answered_at: list[float] = []  # a success, or a write not confirmed in time
        self.errors: list[RedisConnectionError | RedisTimeoutError] = []
        self.wrong: list[str] = []
        self.unexpected: list[BaseException] = []

    def run(self) -> None:
        with Client(True, self.address) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                key = f"F{self.index}.{n}"
                if key_slot(key.encode()) >= FIRST_SHARD_SLOTS:
                    continue  # every key on the master that is killed
                try:
                    client.put_tensor(key, np.full(8, float(n)))
                    self.acked[key] = float(n)
                    if not np.array_equal(client.get_tensor(key), np.full(8, float(n))):
                        self.wrong.append(key)
                    self.ok_at.append(time.monotonic())
                    self.answered_at.append(self.ok_at[-1])
                except (RedisConnectionError, RedisTimeoutError) as err:
                    self.errors.append(err)
                    if isinstance(err, ReplicationTimeoutError):
                        self.answered_at.append(time.monotonic())
                except Exception as err:  # every other kind is a finding
                    self.unexpected.append(err)


def _wait(what: str, ready: object) -> None:
    deadline = time.monotonic() + DEADLINE
    while not ready():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


def _kill_first_master(exp: Experiment, store: Orchestrator) -> float:
    record_ = exp._control.table.latest(store.shard_names[0])
    assert record_ is not None
    pid = int(record_.job_id.rstrip("+"))
    psutil.Process(pid).kill()
    killed = time.monotonic()
    assert process_gone(pid)
    return killed


def _run_load(exp: Experiment, store: Orchestrator) -> tuple[list[Load], float]:
    """Load, kill master 0, wait until the new master answered every loader (a success,
    or with INSITU_WAIT_REPLICAS a write its lone new master could not have confirmed);
    (loads, seconds from the kill to the last loader's first answer)."""
    loads = [Load(i, store.get_address()[1]) for i in range(LOADERS)]
    for load in loads:
        load.start()
    try:
        _wait("load", lambda: all(len(load.ok_at) > 20 for load in loads))
        killed = _kill_first_master(exp, store)
        _wait("the failover", store.is_active)
        _wait("the load resumes", lambda: all(
            any(t > killed for t in load.answered_at) for load in loads
        ))  # fmt: skip
        recovered = max(min(t for t in load.answered_at if t > killed) for load in loads)
        recovered -= killed
    finally:
        for load in loads:
            load.stop.set()
        for load in loads:
            load.join(DEADLINE)
    assert not any(load.is_alive() for load in loads), "an operation hangs"
    assert not [u for load in loads for u in load.unexpected]
    assert not [w for load in loads for w in load.wrong]
    return loads, recovered


def test_master_killed_under_load_fails_over(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _replicated_store(exp, workers=1, acl="per_entity")
    model, tensor = _on_first_shard("sq"), _on_first_shard("x")
    entity = store.entity_env("sim", "sim")  # an ACL user on every server, replicas too
    with Client(True, store.get_address()[0]) as client:
        client.set_model(model, onnx_square(), "ONNX", "CPU")
        loads, recovered = _run_load(exp, store)
        # The promoted replica knows the entity's user (ACLs are not replicated).
        for name, value in {**entity, "SSKEYOUT": "sim", "SSKEYIN": "sim"}.items():
            monkeypatch.setenv(name, value)
        with Client(True, store.get_address()[1]) as member:
            key = _on_first_shard("y", prefix="sim.")
            member.put_tensor(key, np.ones(2))
            assert client.get_tensor(f"sim.{key}").tolist() == [1.0, 1.0]
        # The worker beside the promoted replica serves the first shard's requests.
        x = np.arange(6, dtype=np.float32).reshape(2, 3)
        client.put_tensor(tensor, x)
        client.run_model(model, [tensor], [f"{tensor}.out"])
        assert np.array_equal(client.get_tensor(f"{tensor}.out"), x * x)
        monkeypatch.setenv("INSITU_INFERENCE_PATH", "streams")  # and its request streams
        client.run_model(model, [tensor], [f"{tensor}.streamed"])
        assert np.array_equal(client.get_tensor(f"{tensor}.streamed"), x * x)
        monkeypatch.delenv("INSITU_INFERENCE_PATH")
    errors = [e for load in loads for e in load.errors]
    # Each a connection error naming a server of the store (the dead master, mostly).
    addresses = set(store.shard_addresses)
    assert all(isinstance(e, RedisConnectionError) and e.address in addresses for e in errors)
    record(
        "failover", replicas=1, wait=0, operations=sum(len(load.ok_at) for load in loads),
        errors=len(errors), wrong=0, seconds_to_recover_after_kill=round(recovered, 3),
    )  # fmt: skip
    assert store.is_active()


def test_acknowledged_writes_survive_failover_with_wait(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INSITU_WAIT_REPLICAS", "1")
    store = _replicated_store(exp, workers=0)
    loads, recovered = _run_load(exp, store)
    errors = [e for load in loads for e in load.errors]
    lost = 0
    with Client(True, store.get_address()[1]) as client:
        for load in loads:
            for key, value in load.acked.items():
                got = client.get_tensor(key) if client.tensor_exists(key) else None
                lost += got is None or not np.array_equal(got, np.full(8, value))
    record(
        "failover", replicas=1, wait=1, acknowledged=sum(len(load.acked) for load in loads),
        lost=lost, errors=len(errors),
        replication_timeouts=sum(isinstance(e, ReplicationTimeoutError) for e in errors),
        seconds_to_recover_after_kill=round(recovered, 3),
    )  # fmt: skip
    assert lost == 0
    # Another driver finds the store again, one master short, from its checkpoint.
    again = Experiment("again", exp_path=str(tmp_path)).reconnect_orchestrator(
        store.checkpoint_file
    )
    assert again.replicas == 1 and again.num_shards == 3 and again.is_active()
