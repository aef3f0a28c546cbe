"""The telemetry codec and the run-statistics contract: round trips, bad and future lines."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insitu.errors import TelemetryFormatError
from insitu.wire.stats import (
    ModelCounters,
    bucket_upper,
    latency_bucket,
    latency_field,
    parse_counters,
    percentile,
)
from insitu.wire.telemetry import (
    TELEMETRY_FORMAT,
    ModelSample,
    RulesSample,
    ShardSample,
    TelemetryHeader,
    format_line,
    parse_line,
    parse_telemetry,
)

times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
names = st.text(max_size=20)
counts = st.integers(min_value=0, max_value=2**53)
maybe = st.none() | counts

shard_samples = st.builds(
    ShardSample,
    run=st.text("0123456789abcdef", min_size=1, max_size=16),
    time=times,
    store=names,
    shard=st.integers(0, 64),
    address=names,
    up=st.booleans(),
    error=st.none() | names,
    used_memory=maybe,
    maxmemory=maybe,
    clients=maybe,
    ops_per_sec=maybe,
    commands=maybe,
    keys=maybe,
    evicted_keys=maybe,
    cluster_state=st.none() | st.sampled_from(["ok", "fail"]),
    queue_depth=maybe,
)
model_samples = st.builds(
    ModelSample,
    run=names,
    time=times,
    store=names,
    shard=st.integers(0, 64),
    model=names,
    counters=st.builds(
        ModelCounters,
        requests=counts,
        calls=counts,
        samples=counts,
        errors=counts,
        duration=counts,
        latency=st.dictionaries(st.integers(0, 40), counts, max_size=5),
    ),
)
rules_samples = st.builds(
    RulesSample,
    run=names,
    time=times,
    session=names,
    counts=st.dictionaries(names, st.dictionaries(names, counts, max_size=3), max_size=3),
    series=st.dictionaries(
        names,
        st.dictionaries(names, st.none() | st.floats(allow_nan=False, allow_infinity=False)),
        max_size=3,
    ),
    store=st.dictionaries(names, st.floats(allow_nan=False, allow_infinity=False), max_size=3),
)


@given(st.one_of(shard_samples, model_samples, rules_samples))
def test_samples_round_trip(line: ShardSample | ModelSample | RulesSample) -> None:
    text = format_line(line)
    assert text.isascii() and "\n" not in text
    assert parse_line(text) == line


def test_header_round_trips_and_names_the_format() -> None:
    header = TelemetryHeader("abc", 12.5, 5.0)
    text = format_line(header)
    assert json.loads(text)["format"] == TELEMETRY_FORMAT == "insitu-telemetry/1"
    assert parse_line(text) == header
    assert parse_line(text.replace("/1", "/1.3")) == TelemetryHeader(
        "abc", 12.5, 5.0, "insitu-telemetry/1.3"
    )


def test_a_later_major_version_is_refused() -> None:
    text = format_line(TelemetryHeader("abc", 1.0, 5.0)).replace("/1", "/2")
    with pytest.raises(TelemetryFormatError, match=r"insitu-telemetry/2.*not supported"):
        parse_line(text)


def test_non_finite_rules_statistics_become_null() -> None:
    line = RulesSample(
        "r", 1.0, "s", series={"g-duration": {"mean": float("nan"), "max": float("-inf")}}
    )
    assert parse_line(format_line(line)) == RulesSample(
        "r", 1.0, "s", series={"g-duration": {"mean": None, "max": None}}
    )


def test_unknown_kinds_and_fields_are_skipped() -> None:
    assert parse_line('{"kind":"gpu","run":"r","time":1}') is None
    text = format_line(ShardSample("r", 1.0, "db", 0, "127.0.0.1:1", True))
    extended = text[:-1] + ',"future":42}'
    assert parse_line(extended) == ShardSample("r", 1.0, "db", 0, "127.0.0.1:1", True)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"kind":"shard","run":"r","time":1}', "'store' is missing"),
        ('{"kind":"model","run":"r","time":1,"store":"s","shard":0,"model":"m","requests":1,'
         '"calls":1,"samples":1,"errors":0,"duration":1,"latency":{"x":1}}', "latency"),
        ('{"kind":"rules","run":"r","time":1,"session":"s","counts":{"g":{"n":"x"}}}', "counts"),
    ],
)  # fmt: skip
def test_bad_lines_raise_a_telemetry_error_naming_the_problem(text: str, detail: str) -> None:
    with pytest.raises(TelemetryFormatError, match=detail):
        parse_line(text)


def test_whole_files_skip_bad_lines_by_default_and_raise_when_strict() -> None:
    good = format_line(ShardSample("r", 1.0, "db", 0, "a", True, used_memory=10))
    lines = [format_line(TelemetryHeader("r", 0.0, 2.0)), good, "{torn", "", good]
    telemetry = parse_telemetry(lines)
    assert len(telemetry.shards) == 2 and telemetry.skipped == 1
    assert telemetry.periods == {"r": 2.0}
    assert telemetry.of_run("other").shards == ()
    with pytest.raises(TelemetryFormatError, match=r"tele.jsonl:3: not JSON"):
        parse_telemetry(lines, strict=True, path="tele.jsonl")


# ----------------------------------------------------------------------------- run statistics


@given(st.integers(min_value=0, max_value=2**45))
def test_a_latency_falls_in_its_bucket(micros: int) -> None:
    bucket = latency_bucket(micros)
    assert latency_field(micros) == f"lat:{bucket}"
    if bucket < 40:
        assert micros <= bucket_upper(bucket)
        assert bucket == 0 or micros > bucket_upper(bucket - 1)


def test_counters_parse_from_a_hash_reply_and_subtract() -> None:
    raw = {b"requests": b"10", b"calls": b"4", b"duration": b"400", b"lat:7": b"3",
           b"lat:9": b"1", b"future": b"x", b"lat:x": b"1"}  # fmt: skip
    later = parse_counters(raw)
    assert later == ModelCounters(requests=10, calls=4, duration=400, latency={7: 3, 9: 1})
    earlier = ModelCounters(requests=4, calls=2, duration=100, latency={7: 2})
    assert later.minus(earlier) == ModelCounters(
        requests=6, calls=2, duration=300, latency={7: 1, 9: 1}
    )
    # A reset between the readings: the new counts are what was counted.
    assert earlier.minus(later) == earlier


def test_percentiles_come_from_the_histogram() -> None:
    histogram = {3: 50, 5: 49, 12: 1}  # 50 calls <= 7 µs, 49 <= 31 µs, 1 <= 4095 µs
    assert percentile(histogram, 0.5) == 7
    assert percentile(histogram, 0.99) == 31
    assert percentile(histogram, 1.0) == 4095
    assert percentile({}, 0.5) is None
