"""Telemetry of real stores: shard figures, inference statistics, a dead shard, the size
bound, no secrets, and reading it back from the files alone."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from insitu import Experiment
from insitu.client import Client
from insitu.errors import InvalidArgumentError
from insitu.runtime.telemetry_reader import read_telemetry
from insitu.store.db_node import TelemetryConfiguration
from insitu.wire.stats import percentile
from insitu.wire.telemetry import Telemetry, telemetry_paths
from tests.inference_models import onnx_square
from tests.topologies import Store

from .conftest import free_port_base

DEADLINE = 60.0


def wait_for(what: str, check: Callable[[], bool], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def fast_telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("INSITU_TELEMETRY_PERIOD", "0.1")
    yield


def telemetry_of(path: Path) -> Telemetry:
    return read_telemetry(path)


@pytest.mark.usefixtures("fast_telemetry")
def test_a_cluster_is_sampled_with_its_inference_statistics(tmp_path: Path) -> None:
    with Experiment("tele", exp_path=str(tmp_path)) as exp:
        assert exp.telemetry.is_enabled and exp.telemetry.period == 0.1
        db = exp.create_database(port=free_port_base(3), db_nodes=3)
        db.telemetry.enable()
        exp.start(db)
        Store("cluster", db, True).wait_for_workers()
        with Client(True, db.get_address()[0]) as client:
            client.set_model("square", onnx_square(), "ONNX", "CPU")
            for i in range(5):
                client.put_tensor(f"x{i}", np.ones((2, 3), dtype=np.float32))
                client.run_model("square", [f"x{i}"], [f"y{i}"])

        def counted() -> bool:
            models = [m for m in telemetry_of(tmp_path).models if m.model == "square"]
            return sum(m.counters.requests for m in _latest_per_shard(models)) >= 5

        wait_for("the model's statistics in the telemetry", counted)
        password = db.password
    telemetry = telemetry_of(tmp_path)
    shards = {s.shard for s in telemetry.shards if s.up}
    assert shards == {0, 1, 2}
    up = [s for s in telemetry.shards if s.up]
    assert all(s.cluster_state == "ok" and s.used_memory and s.clients for s in up)
    assert all(s.queue_depth == 0 for s in up[-3:])
    latest = _latest_per_shard([m for m in telemetry.models if m.model == "square"])
    calls = sum(m.counters.calls for m in latest)
    assert 1 <= calls <= 5
    histogram: dict[int, int] = {}
    for m in latest:
        for bucket, n in m.counters.latency.items():
            histogram[bucket] = histogram.get(bucket, 0) + n
    assert sum(histogram.values()) == calls
    assert percentile(histogram, 0.99) is not None
    for path in telemetry_paths(tmp_path):
        if path.exists():
            assert password not in path.read_text()
    assert telemetry.periods and set(telemetry.periods.values()) == {0.1}


def _latest_per_shard(models: list) -> list:  # type: ignore[type-arg]
    latest = {}
    for m in models:
        latest[m.shard] = m
    return list(latest.values())


@pytest.mark.usefixtures("fast_telemetry")
def test_a_dead_shard_is_sampled_as_down_and_the_rest_still_is(tmp_path: Path) -> None:
    with Experiment("dead", exp_path=str(tmp_path)) as exp:
        first = exp.create_database(port=free_port_base(), db_identifier="first")
        second = exp.create_database(port=free_port_base(), db_identifier="second")
        first.telemetry.enable()
        second.telemetry.enable()
        exp.start(first, second)
        pid = _server_pid(first.get_address()[0])
        os.kill(pid, signal.SIGKILL)

        def seen_down_and_up() -> bool:
            samples = telemetry_of(tmp_path).shards
            down = [s for s in samples if s.store == "first" and not s.up]
            later = [
                s
                for s in samples
                if s.store == "second" and s.up and down and s.time > down[0].time
            ]
            return bool(down and later)

        wait_for("a down sample of the killed store", seen_down_and_up)
    down = next(s for s in telemetry_of(tmp_path).shards if not s.up)
    assert down.error and down.used_memory is None
    assert first.password not in down.error


def _server_pid(address: str) -> int:
    """The server listening at ``address`` (it names its address in its process title)."""
    for proc in psutil.Process().children(recursive=True):
        if address in " ".join(proc.cmdline()) and "server" in proc.name():
            return proc.pid
    raise AssertionError(f"no server process at {address}")


def test_the_files_stay_under_twice_their_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSITU_TELEMETRY_PERIOD", "0.02")
    monkeypatch.setenv("INSITU_TELEMETRY_MAX_BYTES", "4000")
    old, current = telemetry_paths(tmp_path)
    with Experiment("bounded", exp_path=str(tmp_path)) as exp:
        db = exp.create_database(port=free_port_base())
        db.telemetry.enable()
        exp.start(db)
        wait_for("a rotation", old.exists)
        # Another rotation: the older file is replaced, never a third one kept.
        first = old.stat().st_ino
        wait_for("a second rotation", lambda: old.stat().st_ino != first)
    assert sorted(p.name for p in current.parent.glob("telemetry*")) == [old.name, current.name]
    assert old.stat().st_size <= 4000
    assert current.stat().st_size <= 4000
    # Each file starts with its header, so it can be read on its own.
    assert all(p.read_text().startswith('{"format":"insitu-telemetry/1"') for p in (old, current))
    assert telemetry_of(tmp_path).shards


def test_telemetry_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSITU_TELEMETRY", "0")
    with Experiment("off", exp_path=str(tmp_path)) as exp:
        assert not exp.telemetry.is_enabled
        db = exp.create_database(port=free_port_base())
        db.telemetry.enable()
        exp.start(db)
        exp.telemetry.period = 0.05
        # Nothing is written while disabled; enabling starts the samples.
        assert not telemetry_paths(tmp_path)[1].exists()
        exp.telemetry.enable()
        wait_for("a sample once enabled", lambda: bool(telemetry_of(tmp_path).shards))


@pytest.mark.usefixtures("fast_telemetry")
def test_a_store_is_sampled_while_its_own_switch_is_on(tmp_path: Path) -> None:
    """One notion, SmartSim's: the experiment's switch (on by default) and each store's
    (off by default) must both be on for the store to be sampled."""
    with Experiment("switches", exp_path=str(tmp_path)) as exp:
        assert isinstance(exp.telemetry, TelemetryConfiguration)
        quiet = exp.create_database(port=free_port_base(), db_identifier="quiet")
        loud = exp.create_database(port=free_port_base(), db_identifier="loud")
        assert not quiet.telemetry.is_enabled and not loud.telemetry.is_enabled
        loud.telemetry.enable()
        exp.start(quiet, loud)

        def stores() -> set[str]:
            return {s.store for s in telemetry_of(tmp_path).shards}

        wait_for("samples of the enabled store", lambda: "loud" in stores())
        assert "quiet" not in stores()
        # Turned on while running: sampled from the next round on.
        quiet.telemetry.enable()
        wait_for("samples of the store switched on", lambda: "quiet" in stores())
        loud.telemetry.disable()
        off = time.time()  # a round stamps its samples before it reads the switches
        count = len(telemetry_of(tmp_path).shards)
        wait_for("more rounds", lambda: len(telemetry_of(tmp_path).shards) >= count + 3)
        assert all(s.time < off for s in telemetry_of(tmp_path).shards if s.store == "loud")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INSITU_TELEMETRY", "maybe"),
        ("INSITU_TELEMETRY_PERIOD", "-1"),
        ("INSITU_TELEMETRY_PERIOD", "x"),
    ],
)
def test_bad_settings_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidArgumentError, match=name):
        Experiment("bad", exp_path=str(tmp_path))


def test_a_bad_period_is_refused(exp: Experiment) -> None:
    with pytest.raises(InvalidArgumentError, match="positive"):
        exp.telemetry.period = 0
    with pytest.raises(TypeError):
        exp.telemetry.period = "5"  # type: ignore[assignment]


@pytest.mark.usefixtures("fast_telemetry")
def test_a_reconnected_store_is_sampled_while_its_switch_is_on(tmp_path: Path) -> None:
    first_path, second_path = tmp_path / "first", tmp_path / "second"
    first_path.mkdir()
    second_path.mkdir()
    with Experiment("starter", exp_path=str(first_path)) as first:
        db = first.create_database(port=free_port_base(), db_identifier="shared")
        first.start(db)
        with Experiment("reconnector", exp_path=str(second_path)) as second:
            again = second.reconnect_orchestrator(db.checkpoint_file)
            again.telemetry.enable()

            def sampled() -> bool:
                return any(s.store == "shared" and s.up for s in telemetry_of(second_path).shards)

            wait_for("a sample of the reconnected store", sampled)
            second.stop(again)
    assert not any(db.password in p.read_text() for p in telemetry_paths(second_path) if p.exists())
