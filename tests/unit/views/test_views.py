"""The pure views over the record and telemetry: state, timeline, Gantt SVG, chart series."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from insitu.views.gantt import render_svg
from insitu.views.series import inference_charts, latest_shards, rules_charts, store_charts
from insitu.views.state import experiment_state, timeline
from insitu.wire.record import JobLine, Run, RunHeader, StoreLine
from insitu.wire.stats import ModelCounters
from insitu.wire.telemetry import ModelSample, RulesSample, ShardSample, Telemetry

HEADER = RunHeader("r", "exp", "/e", "local", "0.1.0", "h", 1, 100.0)


def job(t: float, job_id: str, name: str, prev: str, state: str, **kw: object) -> JobLine:
    return JobLine("r", t, job_id, name, kw.pop("type", "Model"), prev, state, **kw)  # type: ignore[arg-type]


def sample_run() -> Run:
    return Run(HEADER, (
        job(101, "1", "sim", "New", "Queued", out="/e/sim/sim.out", err="/e/sim/sim.err"),
        job(102, "1", "sim", "Queued", "Running", host="n1"),
        job(103, "2", "w<0>", "New", "Queued", type="Worker"),
        job(105, "1", "sim", "Running", "Failed", returncode=3, host="n1"),
        job(106, "3", "sim", "New", "Queued", out="/e/sim/sim.out"),
        job(107, "3", "sim", "Queued", "Running", host="n2"),
        StoreLine("r", 100.5, "db", "ready", ("127.0.0.1:1",), False, 1),
    ))  # fmt: skip


def test_the_newest_run_of_each_name_is_its_row() -> None:
    state = experiment_state(sample_run(), driver_alive=True)
    sim = state.entities[0]
    assert (sim.name, sim.state, sim.job_id, sim.host, sim.runs) == ("sim", "Running", "3", "n2", 2)
    assert (sim.submitted, sim.started, sim.ended, sim.out) == (106, 107, None, "/e/sim/sim.out")
    assert sim.elapsed(now=110) == 3
    assert state.state == "running" and state.counts() == {"Running": 1}
    assert state.by_type("Worker")[0].name == "w<0>"
    assert experiment_state(sample_run(), driver_alive=False).state == "driver gone"


def test_a_run_with_everything_ended_is_finished() -> None:
    run = Run(HEADER, (
        job(101, "1", "sim", "New", "Queued"),
        job(103, "1", "sim", "Queued", "Completed", returncode=0),
        StoreLine("r", 100.5, "db", "ready", ("a:1",), False, 1),
        StoreLine("r", 104, "db", "stopped", ("a:1",), False, 1),
    ))  # fmt: skip
    state = experiment_state(run, driver_alive=False)
    assert state.state == "finished" and state.stores[0].state == "stopped"
    assert (state.began, state.last) == (100.0, 104)


def test_timeline_segments_cover_each_run() -> None:
    rows = timeline(sample_run())
    assert [r.name for r in rows] == ["sim"]  # workers only if asked
    segments = [(s.state, s.start, s.end) for s in rows[0].segments]
    assert segments == [("Queued", 101, 102), ("Running", 102, 105), ("Queued", 106, 107),
                        ("Running", 107, None)]  # fmt: skip
    assert [r.name for r in timeline(sample_run(), workers=True)] == ["sim", "w<0>"]


def test_the_gantt_is_valid_svg_with_a_bar_per_segment_and_escaped_names() -> None:
    svg = render_svg(timeline(sample_run(), workers=True), now=110)
    root = ET.fromstring(svg)
    bars = [e for e in root.iter("{http://www.w3.org/2000/svg}rect") if e.get("class") == "seg"]
    assert len(bars) == 5
    assert {b.get("data-state") for b in bars} == {"Queued", "Running"}
    assert "w&lt;0&gt;" in svg
    assert "nothing launched yet" in render_svg(())


def shard(t: float, index: int, memory: int | None, up: bool = True) -> ShardSample:
    return ShardSample("r", t, "db", index, f"a:{index}", up, used_memory=memory, clients=2)


def test_store_charts_align_shards_on_sample_times() -> None:
    telemetry = Telemetry(shards=(
        shard(1, 0, 1024 * 1024), shard(1, 1, 2 * 1024 * 1024),
        shard(2, 0, None, up=False), shard(2, 1, 3 * 1024 * 1024),
    ))  # fmt: skip
    memory = next(c for c in store_charts(telemetry) if c.key == "store:db:memory")
    assert memory.x == (1, 2) and memory.labels == ("shard 0", "shard 1")
    assert memory.ys == ((1.0, None), (2.0, 3.0))
    assert [s.up for s in latest_shards(telemetry)] == [False, True]
    assert len(store_charts(telemetry, max_points=1)[0].x) == 1
    # ops/s and the queue were never reported: no empty charts for them.
    assert {c.key for c in store_charts(telemetry)} == {"store:db:memory", "store:db:clients"}


def test_inference_charts_give_rates_and_percentiles_per_period() -> None:
    def model(t: float, shard: int, requests: int, latency: dict[int, int]) -> ModelSample:
        counters = ModelCounters(requests=requests, calls=requests, latency=latency)
        return ModelSample("r", t, "db", shard, "m", counters)

    telemetry = Telemetry(models=(
        model(10, 0, 10, {4: 10}), model(10, 1, 0, {}),
        model(12, 0, 30, {4: 20, 10: 10}), model(12, 1, 10, {4: 10}),
    ))  # fmt: skip
    rate, latency = inference_charts(telemetry)
    assert rate.x == (12,) and rate.ys == ((15.0,),)  # 30 requests in 2 s, both shards
    # In that period: 30 calls at <= 15 µs, 10 at <= 1023 µs.
    assert latency.ys == ((0.015,), (1.023,))


def test_rules_charts_follow_counters_and_means() -> None:
    telemetry = Telemetry(rules=(
        RulesSample("r", 1, "s", {"sim": {"success": 0}}, {"sim-duration": {"mean": None}}),
        RulesSample("r", 2, "s", {"sim": {"success": 2}}, {"sim-duration": {"mean": 4.5}}),
    ))  # fmt: skip
    counts, means = rules_charts(telemetry)
    assert counts.labels == ("sim success",) and counts.ys == ((0.0, 2.0),)
    assert means.ys == ((None, 4.5),)
