"""Telemetry as chart series (pure): one :class:`Chart` per figure, x = sample times.

Stores: memory, clients, operations per second and inference queue depth, one line per
shard. Inference: requests per second and call latency (p50, p99, from the histogram of
each period) per model, all shards added up. Rules: the counters per group and the mean of
each series. Every chart keeps its newest ``max_points`` points; a store figure with no value
at all (a store that was always down, a queue on a store without workers) gives no chart.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from insitu.wire.stats import ModelCounters, percentile
from insitu.wire.telemetry import ModelSample, RulesSample, ShardSample, Telemetry

MAX_POINTS = 600
MIB = 1024 * 1024


@dataclass(frozen=True)
class Chart:
    """One chart: ``labels[i]`` names the line ``ys[i]``; ``x`` are epoch seconds."""

    key: str
    title: str
    unit: str
    labels: tuple[str, ...]
    x: tuple[float, ...]
    ys: tuple[tuple[float | None, ...], ...]

    def to_json(self) -> dict[str, object]:
        """The JSON form the dashboard's charts read."""
        return {"key": self.key, "title": self.title, "unit": self.unit,
                "labels": list(self.labels), "x": list(self.x),
                "ys": [list(y) for y in self.ys]}  # fmt: skip


def store_charts(telemetry: Telemetry, max_points: int = MAX_POINTS) -> list[Chart]:
    """Memory, clients, ops/s and queue depth of each store, one line per shard."""
    by_store: dict[str, list[ShardSample]] = {}
    for sample in telemetry.shards:
        by_store.setdefault(sample.store, []).append(sample)
    charts = []
    figures: list[tuple[str, str, str, Callable[[ShardSample], float | None]]] = [
        ("memory", "memory used", "MiB", _mebibytes),
        ("clients", "connected clients", "", lambda s: s.clients),
        ("ops", "operations per second", "ops/s", lambda s: s.ops_per_sec),
        ("queue", "inference requests waiting", "", lambda s: s.queue_depth),
    ]  # fmt: skip
    for store, samples in by_store.items():
        shards = sorted({s.shard for s in samples})
        times = sorted({s.time for s in samples})[-max_points:]
        index = {(s.time, s.shard): s for s in samples}
        for key, title, unit, value in figures:
            ys = tuple(tuple(_get(index.get((t, shard)), value) for t in times) for shard in shards)
            if all(v is None for y in ys for v in y):
                continue  # e.g. no inference queue on a store without workers: no empty chart
            labels = tuple(f"shard {shard}" for shard in shards)
            charts.append(Chart(f"store:{store}:{key}", f"{store}: {title}", unit, labels,
                                tuple(times), ys))  # fmt: skip
    return charts


def _mebibytes(sample: ShardSample) -> float | None:
    return None if sample.used_memory is None else sample.used_memory / MIB


def _get(sample: ShardSample | None, value: Callable[[ShardSample], float | None]) -> float | None:
    return None if sample is None or not sample.up else value(sample)


def latest_shards(telemetry: Telemetry) -> list[ShardSample]:
    """The newest sample of each shard of each store, by store then shard."""
    latest = {(s.store, s.shard): s for s in telemetry.shards}
    return [latest[k] for k in sorted(latest)]


def inference_charts(telemetry: Telemetry, max_points: int = MAX_POINTS) -> list[Chart]:
    """Per model: requests per second, and p50/p99 call latency (ms) of each period."""
    totals = _model_totals(telemetry.models)
    charts = []
    for (store, model), history in totals.items():
        points = history[-(max_points + 1) :]
        x: list[float] = []
        rate: list[float | None] = []
        p50: list[float | None] = []
        p99: list[float | None] = []
        for (t0, c0), (t1, c1) in itertools.pairwise(points):
            delta = c1.minus(c0)
            x.append(t1)
            rate.append(delta.requests / (t1 - t0) if t1 > t0 else None)
            p50.append(_ms(percentile(delta.latency, 0.5)))
            p99.append(_ms(percentile(delta.latency, 0.99)))
        name = f"{store}/{model}"
        charts.append(Chart(f"inference:{name}:rate", f"{model}: requests per second", "req/s",
                            ("requests/s",), tuple(x), (tuple(rate),)))  # fmt: skip
        charts.append(Chart(f"inference:{name}:latency", f"{model}: call latency", "ms",
                            ("p50", "p99"), tuple(x), (tuple(p50), tuple(p99))))  # fmt: skip
    return charts


def model_totals(telemetry: Telemetry) -> dict[tuple[str, str], ModelCounters]:
    """The newest counts of each (store, model), all shards added up."""
    return {key: points[-1][1] for key, points in _model_totals(telemetry.models).items()}


def _model_totals(
    samples: Iterable[ModelSample],
) -> dict[tuple[str, str], list[tuple[float, ModelCounters]]]:
    """Per (store, model), per sample time, the counts of all its shards added up (a shard
    not sampled at some time counts with its previous reading)."""
    current: dict[tuple[str, str], dict[int, ModelCounters]] = {}
    out: dict[tuple[str, str], list[tuple[float, ModelCounters]]] = {}
    for sample in samples:
        key = (sample.store, sample.model)
        current.setdefault(key, {})[sample.shard] = sample.counters
        total = _add(current[key].values())
        points = out.setdefault(key, [])
        if points and points[-1][0] == sample.time:
            points[-1] = (sample.time, total)
        else:
            points.append((sample.time, total))
    return out


def _add(counters: Iterable[ModelCounters]) -> ModelCounters:
    items = list(counters)
    latency: dict[int, int] = {}
    for c in items:
        for bucket, n in c.latency.items():
            latency[bucket] = latency.get(bucket, 0) + n
    return ModelCounters(
        requests=sum(c.requests for c in items), calls=sum(c.calls for c in items),
        samples=sum(c.samples for c in items), errors=sum(c.errors for c in items),
        duration=sum(c.duration for c in items), latency=latency,
    )  # fmt: skip


def _ms(micros: int | None) -> float | None:
    return None if micros is None else micros / 1000.0


def rules_charts(telemetry: Telemetry, max_points: int = MAX_POINTS) -> list[Chart]:
    """Per rules session: the counters of each group, and the mean of each series."""
    by_session: dict[str, list[RulesSample]] = {}
    for sample in telemetry.rules:
        by_session.setdefault(sample.session, []).append(sample)
    charts = []
    for session, history in by_session.items():
        samples = history[-max_points:]
        x = tuple(s.time for s in samples)
        counters = sorted({(g, c) for s in samples for g, cs in s.counts.items() for c in cs})
        if counters:
            ys = tuple(tuple(_count(s, g, c) for s in samples) for g, c in counters)
            charts.append(Chart(f"rules:{session}:counts", f"rules {session}: job counts", "",
                                tuple(f"{g} {c}" for g, c in counters), x, ys))  # fmt: skip
        series = sorted({name for s in samples for name in s.series})
        if series:
            ys = tuple(tuple(s.series.get(n, {}).get("mean") for s in samples) for n in series)
            charts.append(Chart(f"rules:{session}:means", f"rules {session}: means", "s",
                                tuple(series), x, ys))  # fmt: skip
    return charts


def _count(sample: RulesSample, group: str, counter: str) -> float | None:
    value = sample.counts.get(group, {}).get(counter)
    return None if value is None else float(value)


def all_charts(telemetry: Telemetry, max_points: int = MAX_POINTS) -> Sequence[Chart]:
    """Store, inference and rules charts, in that order."""
    return [
        *store_charts(telemetry, max_points),
        *inference_charts(telemetry, max_points),
        *rules_charts(telemetry, max_points),
    ]
