"""The launch record codec: lines round-trip, runs fold, bad and future lines are handled."""

from __future__ import annotations

import ast
import json
from dataclasses import fields, replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insitu.errors import RecordFormatError, RecordVersionError
from insitu.wire import record as record_module
from insitu.wire.record import (
    RECORD_FORMAT,
    JobLine,
    Record,
    RecordLine,
    RunHeader,
    StoreLine,
    format_line,
    parse_format,
    parse_line,
    parse_line_at,
    parse_record,
    record_path,
)

times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
texts = st.text(max_size=30)
run_ids = st.text(alphabet="0123456789abcdef", min_size=1, max_size=16)

headers = st.builds(
    RunHeader,
    run=run_ids,
    experiment=texts,
    path=texts,
    launcher=texts,
    insitu_version=texts,
    host=texts,
    pid=st.integers(min_value=0, max_value=2**31),
    time=times,
    format=st.sampled_from([RECORD_FORMAT, "insitu-record/1.0", "insitu-record/1.12"]),
)
jobs = st.builds(
    JobLine,
    run=run_ids,
    time=times,
    job_id=texts,
    name=texts,
    entity_type=st.sampled_from(["Model", "DBNode", "Worker"]),
    previous=texts,
    state=texts,
    returncode=st.none() | st.integers(min_value=-64, max_value=255),
    host=st.none() | texts,
    out=st.none() | texts,
    err=st.none() | texts,
)
stores = st.builds(
    StoreLine,
    run=run_ids,
    time=times,
    name=texts,
    state=st.sampled_from(["ready", "stopped"]),
    addresses=st.lists(texts, max_size=4).map(tuple),
    clustered=st.booleans(),
    shards=st.integers(min_value=0, max_value=64),
    colocated=st.booleans(),
)
lines = headers | jobs | stores


def header(run: str = "r1") -> RunHeader:
    return RunHeader(run, "exp", "/tmp/exp", "local", "0.1.0", "node1", 42, 1700000000.5)


def job(run: str = "r1", name: str = "sim", state: str = "Running") -> JobLine:
    return JobLine(run, 1700000001.0, "123", name, "Model", "Queued", state, None, "node1")


def store(run: str = "r1", state: str = "ready") -> StoreLine:
    return StoreLine(run, 1700000002.0, "db", state, ("127.0.0.1:6780",), False, 1)  # type: ignore[arg-type]


@given(lines)
def test_every_line_round_trips_as_one_ascii_line(line: RecordLine) -> None:
    text = format_line(line)
    assert "\n" not in text and "\r" not in text
    assert text.isascii()
    assert parse_line(text) == line


@given(st.lists(st.tuples(headers, st.lists(jobs | stores, max_size=5)), max_size=4))
def test_interleaved_runs_fold_back_into_their_runs(
    runs: list[tuple[RunHeader, list[JobLine | StoreLine]]],
) -> None:
    # Give each run a distinct id and its events that id; interleave the events.
    built = [
        (replace(head, run=f"run{i}"), [replace(e, run=f"run{i}") for e in events])
        for i, (head, events) in enumerate(runs)
    ]
    text = [format_line(h) for h, _ in built]
    longest = max((len(events) for _, events in built), default=0)
    for i in range(longest):
        text += [format_line(events[i]) for _, events in built if i < len(events)]
    record = parse_record(text)
    assert [(r.header, list(r.events)) for r in record.runs] == built
    assert record.skipped == ()


def test_the_header_carries_the_format_first() -> None:
    obj = json.loads(format_line(header()))
    assert next(iter(obj)) == "format"
    assert obj["format"] == "insitu-record/1.1"
    assert {"experiment", "path", "launcher", "insitu_version", "host", "pid", "time"} <= set(obj)


def test_no_line_kind_has_a_field_for_a_secret() -> None:
    names = {f.name for cls in (RunHeader, JobLine, StoreLine) for f in fields(cls)}
    assert not {n for n in names if any(w in n for w in ("pass", "secret", "token", "key"))}


def test_unknown_fields_and_minor_versions_are_tolerated() -> None:
    obj = json.loads(format_line(job()))
    obj["gpu_hours"] = 3.5
    assert parse_line(json.dumps(obj)) == job()
    head = json.loads(format_line(header()))
    head.update(format="insitu-record/1.4", telemetry="samples.jsonl")
    parsed = parse_line(json.dumps(head))
    assert isinstance(parsed, RunHeader)
    assert parsed.format == "insitu-record/1.4"
    assert parse_format("insitu-record/1.4") == (1, 4)


def test_an_unknown_kind_is_skipped() -> None:
    assert parse_line('{"kind": "sample", "run": "r1", "used_memory": 5}') is None
    record = parse_record(
        [format_line(header()), '{"kind":"sample","run":"r1"}', format_line(job())]
    )
    assert record.runs[0].events == (job(),)


@pytest.mark.parametrize("version", ["insitu-record/2", "insitu-record/0.9", "smartsim/1", ""])
def test_an_unknown_major_format_is_refused(version: str) -> None:
    head = {**json.loads(format_line(header())), "format": version}
    with pytest.raises(RecordVersionError) as err:
        parse_record([format_line(header("r0")), json.dumps(head)], strict=False, path="f")
    assert err.value.found == version
    assert err.value.line == 2
    assert err.value.path == "f"
    assert isinstance(err.value, RecordFormatError)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"run": "r1"}',
        '{"kind": 3}',
        '{"kind": "job", "run": "r1"}',
        '{"format": 1}',
    ],
)
def test_malformed_lines_are_typed_errors(text: str) -> None:
    with pytest.raises(RecordFormatError):
        parse_line(text)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time", "yesterday"),
        ("time", True),
        ("returncode", 1.5),
        ("returncode", False),
        ("host", 7),
        ("name", None),
    ],
)
def test_mistyped_fields_name_the_field(field: str, value: object) -> None:
    obj = {**json.loads(format_line(job())), field: value}
    with pytest.raises(RecordFormatError, match=field):
        parse_line(json.dumps(obj))


def test_store_lines_check_their_state_and_lists() -> None:
    obj = json.loads(format_line(store()))
    for change in ({"state": "melting"}, {"addresses": "127.0.0.1:1"}, {"clustered": "no"}):
        with pytest.raises(RecordFormatError):
            parse_line(json.dumps({**obj, **change}))


def test_non_finite_times_are_refused_both_ways() -> None:
    with pytest.raises(RecordFormatError):
        format_line(JobLine("r1", float("nan"), "1", "sim", "Model", "New", "Queued"))
    text = format_line(job()).replace('"time":1700000001.0', '"time":Infinity')
    with pytest.raises(RecordFormatError, match="time"):
        parse_line(text)


def test_errors_name_the_line() -> None:
    with pytest.raises(RecordFormatError) as err:
        parse_line_at("{", 7, "events.jsonl")
    assert (err.value.path, err.value.line) == ("events.jsonl", 7)
    assert str(err.value).startswith("events.jsonl:7: ")


def test_strict_parsing_stops_at_a_bad_line_lenient_parsing_skips_it() -> None:
    text = [format_line(header()), '{"kind":"jo', "", format_line(job()), format_line(job("r9"))]
    with pytest.raises(RecordFormatError) as err:
        parse_record(text)
    assert err.value.line == 2
    record = parse_record(text, strict=False)
    assert record.skipped == (2, 5)  # a torn line; a line of a run without a header
    assert record.runs[0].events == (job(),)


def test_a_run_has_one_header() -> None:
    with pytest.raises(RecordFormatError, match="two headers"):
        parse_record([format_line(header()), format_line(header())])


def test_runs_answer_what_a_status_display_asks() -> None:
    record = parse_record(
        [
            format_line(header("r1")),
            format_line(job("r1", "sim", "Running")),
            format_line(store("r1")),
            format_line(header("r2")),
            format_line(job("r1", "sim", "Completed")),
            format_line(job("r2", "post", "Running")),
            format_line(store("r1", "stopped")),
        ]
    )
    first, second = record.runs
    assert record.latest is second
    assert first.latest_jobs()["sim"].state == "Completed"
    assert first.latest_stores()["db"].state == "stopped"
    assert [j.name for j in second.jobs] == ["post"]
    assert first.stores[0].shards == 1
    assert Record().latest is None


def test_the_record_lives_under_the_experiment() -> None:
    assert str(record_path("/runs/exp")) == "/runs/exp/.insitu/events.jsonl"


def test_the_codec_imports_only_errors_and_the_standard_library() -> None:
    tree = ast.parse(Path(record_module.__file__).read_text())
    modules = {
        name
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import)
            else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        )
    }  # fmt: skip
    assert {m for m in modules if m.split(".")[0] == "insitu"} == {"insitu.errors"}
