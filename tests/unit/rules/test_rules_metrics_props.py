"""Streaming statistics against batch computations (hypothesis), and metric paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from river import stats

from insitu.rules.metrics import Metrics, MetricsSnapshot, Series, parse_metric_path

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
streams = st.lists(values, min_size=1, max_size=200)


@given(streams)
@settings(max_examples=200, deadline=None)
def test_exact_statistics_match_batch(data: list[float]) -> None:
    series = Series()
    for x in data:
        series.update(x)
    batch = np.array(data)
    scale = max(1.0, float(np.abs(batch).max()))
    assert series.get("mean") == pytest.approx(batch.mean(), abs=1e-9 * scale)
    expected_var = batch.var(ddof=1) if len(data) > 1 else 0.0
    assert series.get("variance") == pytest.approx(expected_var, rel=1e-6, abs=1e-6 * scale**2)
    assert series.get("max") == batch.max()
    assert series.get("min") == batch.min()


@given(streams)
@example([0.0] * 6 + [1.0] + [0.0] * 5 + [-8.0])  # river's IQR estimate went below 0 here
@settings(max_examples=200, deadline=None)
def test_quantile_statistics_are_river_and_bounded(data: list[float]) -> None:
    series = Series()
    iqr, mad = stats.IQR(), stats.MAD()
    for x in data:
        series.update(x)
        iqr.update(x)
        mad.update(x)
    spread = max(data) - min(data)
    # river's values, except that a spread is never reported below 0 (P² estimates can cross).
    assert series.get("iqr") == max(0.0, iqr.get())
    assert series.get("mad") == max(0.0, mad.get())
    tolerance = 1e-9 * max(1.0, abs(max(data)), abs(min(data)))
    assert 0.0 <= (series.get("iqr") or 0.0) <= spread + tolerance
    assert 0.0 <= (series.get("mad") or 0.0) <= spread + tolerance


def test_streaming_iqr_converges_to_batch_iqr() -> None:
    rng = np.random.default_rng(7)
    data = rng.uniform(0.0, 100.0, 20_000)
    series = Series()
    for x in data:
        series.update(float(x))
    q1, q3 = np.percentile(data, [25, 75])
    assert series.get("iqr") == pytest.approx(q3 - q1, rel=0.05)
    assert series.get("mad") == pytest.approx(np.median(np.abs(data - np.median(data))), rel=0.05)


@given(
    st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=1, max_size=40),
    st.data(),
)
@settings(max_examples=100, deadline=None)
def test_provisional_pending_is_never_double_counted(
    waits: list[float], data: st.DataObject
) -> None:
    metrics = Metrics()
    # Heartbeats report provisional waits several times; the final wait replaces them.
    for _ in range(3):
        for i, wait in enumerate(waits):
            metrics.set_provisional("g-pending", f"j{i}", data.draw(st.floats(0, wait)))
        metrics.snapshot()
    half = len(waits) // 2
    for i, wait in enumerate(waits[:half]):
        metrics.clear_provisional("g-pending", f"j{i}")
        metrics.record("g-pending", wait)
    for i, wait in enumerate(waits[half:], start=half):
        metrics.set_provisional("g-pending", f"j{i}", wait)
    snapshot = metrics.snapshot().series["g-pending"]
    batch = np.array(waits)
    assert snapshot["mean"] == pytest.approx(batch.mean(), rel=1e-9, abs=1e-9)
    assert snapshot["max"] == batch.max() and snapshot["min"] == batch.min()


@given(st.lists(st.sampled_from(["finished", "success", "failed", "cancelled"]), max_size=50))
def test_counts_match(counters: list[str]) -> None:
    metrics = Metrics()
    metrics.ensure_group("a.b")
    for counter in counters:
        metrics.increment("a.b", counter)
    snapshot = metrics.snapshot()
    for counter in ("finished", "success", "failed", "cancelled"):
        assert snapshot.get(f"count.a.b.{counter}") == counters.count(counter)
        assert metrics.value(parse_metric_path(f"count.a.b.{counter}", ["a.b"])) == counters.count(
            counter
        )


def test_snapshot_layouts() -> None:
    metrics = Metrics()
    metrics.increment("g", "success")
    metrics.record("g-duration", 2.0)
    metrics.store["loss"] = 0.5
    snapshot = metrics.snapshot()
    assert isinstance(snapshot, MetricsSnapshot)
    assert snapshot.get("mean.g-duration") == 2.0
    assert snapshot.get("store.loss") == 0.5
    assert snapshot.get("mean.nothing-duration") is None
    assert snapshot.models["mean"]["g-duration"] == 2.0
    assert snapshot.models["count"]["g"]["success"] == 1
    assert snapshot.to_dict()["store"] == {"loss": 0.5}


@pytest.mark.parametrize(
    ("text", "kind", "stat", "key"),
    [
        ("count.sim.success", "count", "success", "sim"),
        ("count.a.b.c.failed", "count", "failed", "a.b.c"),
        ("iqr.a.b-duration", "stat", "iqr", "a.b-duration"),
        ("mad.echo-backoff-pending", "stat", "mad", "echo-backoff-pending"),
        ("store.loss.val", "store", "value", "loss.val"),
    ],
)
def test_metric_path_parsing(text: str, kind: str, stat: str, key: str) -> None:
    groups = ["sim", "a.b.c", "a.b", "echo-backoff"]
    path = parse_metric_path(text, groups)
    assert (path.kind, path.stat, path.key) == (kind, stat, key)
    assert str(path) == text
