"""The record writer and readers on real files (no processes): lines, robustness, following."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import insitu
from insitu.errors import RecordFormatError
from insitu.jobs.events import JobEvent
from insitu.jobs.status import JobState
from insitu.runtime.events import StoreEvent
from insitu.runtime.record import RecordWriter, RunFacts, follow_record, read_record
from insitu.wire.record import JobLine, RunHeader, StoreLine, format_line, record_path

FACTS = RunFacts("exp", "/tmp/exp", "local")


def running(name: str = "sim", host: str | None = "node1") -> JobEvent:
    return JobEvent(
        "41", name, "Model", JobState.STATUS_QUEUED, JobState.STATUS_RUNNING, 1.5, None, host
    )


def ready(name: str = "db") -> StoreEvent:
    return StoreEvent(
        name, "ready", ("127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"), True, 2.0
    )


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """Warnings the record module logs (its logger does not propagate to caplog)."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("insitu.runtime.record")
    logger.addHandler(handler)
    yield seen
    logger.removeHandler(handler)


def test_header_then_one_line_per_event(tmp_path: Path) -> None:
    writer = RecordWriter(record_path(tmp_path), FACTS)
    assert not record_path(tmp_path).exists()  # nothing until the first event
    writer.on_job(running())
    writer.on_store(ready())
    writer.close()
    (run,) = read_record(tmp_path).runs
    assert run.header.run == writer.run_id
    assert (run.header.experiment, run.header.pid) == ("exp", os.getpid())
    assert run.header.insitu_version == insitu.__version__
    assert run.events == (
        JobLine(writer.run_id, 1.5, "41", "sim", "Model", "Queued", "Running", None, "node1"),
        StoreLine(writer.run_id, 2.0, "db", "ready", ready().addresses, True, 3, False),
    )


def test_a_closed_writer_reopens_without_a_second_header(tmp_path: Path) -> None:
    writer = RecordWriter(record_path(tmp_path), FACTS)
    writer.on_job(running("a"))
    writer.close()
    writer.close()
    writer.on_job(running("b"))
    writer.close()
    (run,) = read_record(tmp_path).runs
    assert [j.name for j in run.jobs] == ["a", "b"]


def test_a_second_writer_appends_a_second_run(tmp_path: Path) -> None:
    for name in ("first", "second"):
        writer = RecordWriter(record_path(tmp_path), FACTS)
        writer.on_job(running(name))
        writer.close()
    runs = read_record(tmp_path).runs
    assert [[j.name for j in r.jobs] for r in runs] == [["first"], ["second"]]
    assert runs[0].header.run != runs[1].header.run


def test_a_torn_last_line_is_not_continued(tmp_path: Path) -> None:
    path = record_path(tmp_path)
    path.parent.mkdir()
    old = RunHeader("old", "exp", "/x", "local", "0.1.0", "h", 1, 1.0)
    path.write_text(format_line(old) + "\n" + '{"kind":"job","run":"ol')  # the driver died here
    writer = RecordWriter(path, FACTS)
    writer.on_job(running())
    writer.close()
    with pytest.raises(RecordFormatError) as err:
        read_record(path)
    assert err.value.line == 2
    record = read_record(path, strict=False)
    assert record.skipped == (2,)
    assert [r.header.run for r in record.runs] == ["old", writer.run_id]
    assert record.runs[1].jobs[0].name == "sim"


def test_an_unwritable_record_is_logged_once_and_never_raises(
    tmp_path: Path, warnings: list[str]
) -> None:
    (tmp_path / ".insitu").write_text("a file where the record's directory should be")
    writer = RecordWriter(record_path(tmp_path), FACTS)
    for _ in range(3):
        writer.on_job(running())
        writer.on_store(ready())
    writer.close()
    assert len(warnings) == 1
    assert "runs without it" in warnings[0]


def test_a_failing_write_is_logged_and_never_raises(warnings: list[str]) -> None:
    writer = RecordWriter("/dev/full", FACTS)  # every write fails with ENOSPC
    writer.on_job(running())
    writer.on_job(running())
    writer.close()
    assert len(warnings) == 1
    assert "could not append" in warnings[0]


def test_concurrent_events_are_whole_lines(tmp_path: Path) -> None:
    writer = RecordWriter(record_path(tmp_path), FACTS)

    def emit(thread: int) -> None:
        for i in range(200):
            writer.on_job(running(f"t{thread}-{i}"))

    threads = [threading.Thread(target=emit, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    (run,) = read_record(tmp_path).runs
    assert len(run.jobs) == 1600
    assert len(run.latest_jobs()) == 1600


def test_the_reader_leaves_a_line_being_written_for_later(tmp_path: Path) -> None:
    writer = RecordWriter(record_path(tmp_path), FACTS)
    writer.on_job(running())
    with record_path(tmp_path).open("a") as f:
        f.write('{"kind":"job","run":')
    assert len(read_record(tmp_path).runs[0].jobs) == 1


def test_reading_a_missing_record_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_record(tmp_path)


def test_following_yields_lines_as_they_are_appended(tmp_path: Path) -> None:
    path = record_path(tmp_path)
    follower = follow_record(tmp_path, timeout=0)
    assert list(follower) == []  # no record yet: nothing, and no error
    writer = RecordWriter(path, FACTS)
    writer.on_job(running("a"))
    lines = follow_record(path, timeout=30, poll_interval=0.01)
    header = next(lines)
    assert isinstance(header, RunHeader)
    assert next(lines) == JobLine(
        writer.run_id, 1.5, "41", "a", "Model", "Queued", "Running", None, "node1"
    )
    with path.open("a") as f:
        f.write('{"kind":"sample","run":"x"}\n')  # a kind of a later minor version: skipped
        f.write(
            format_line(JobLine(writer.run_id, 3.0, "9", "half", "Model", "New", "Queued"))[:20]
        )
    writer.on_job(running("b"))  # its line starts on the torn line and is read once complete
    with pytest.raises(RecordFormatError) as err:
        next(lines)
    assert err.value.line == 4
    lines.close()
    writer.close()


def test_following_rereads_a_replaced_record(tmp_path: Path) -> None:
    path = record_path(tmp_path)
    first = RecordWriter(path, FACTS)
    first.on_job(running("old"))
    first.close()
    lines = follow_record(path, timeout=30, poll_interval=0.01)
    assert isinstance(next(lines), RunHeader)
    assert next(lines).name == "old"  # type: ignore[union-attr]
    path.unlink()
    second = RecordWriter(path, FACTS)
    second.on_job(running("new"))
    second.close()
    header = next(lines)
    assert isinstance(header, RunHeader) and header.run == second.run_id
    assert next(lines).name == "new"  # type: ignore[union-attr]
    lines.close()
