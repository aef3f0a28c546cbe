"""The launch record: what an experiment launched and what became of it, as JSON lines.

The driver appends to ``<exp_path>/.insitu/events.jsonl``; any other process (the
``insitu status`` command, a dashboard, a script in another language) reads it without
talking to the driver. This module is the pure codec: line values, ``format_line`` /
``parse_line`` and :func:`parse_record`, which folds a file's lines into runs. The file
I/O lives in :mod:`insitu.runtime.record`. The format is described for other languages in
docs/wire-format.md, "The launch record".

Contract:

* One JSON object per line, ASCII (non-ASCII characters are ``\\u`` escapes), each line
  ended by ``\\n``; the file is only ever appended to.
* A **run** is what one Experiment object appends. It starts with a header line,
  ``{"format": "insitu-record/1", "kind": "header", "run": ID, ...}``; every later line of
  that run names it with ``"run": ID``. A second Experiment on the same path appends a
  new header and its own lines, so a record holds runs, oldest first; the lines of two
  drivers that run at the same time may interleave and are told apart by ``run``.
* ``format`` is ``insitu-record/MAJOR`` or ``insitu-record/MAJOR.MINOR``. A minor version
  only adds fields or line kinds, which readers ignore; a reader refuses a major version
  it does not know (:class:`~insitu.errors.RecordVersionError`).
* No line carries a password, token or any other secret: no line kind has a field for one.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from insitu.errors import RecordFormatError, RecordVersionError

RECORD_DIR = ".insitu"
"""Directory under the experiment path that holds the record (and, later, telemetry)."""

RECORD_FILE = "events.jsonl"
"""File name of the record inside :data:`RECORD_DIR`."""

FORMAT_NAME = "insitu-record"
FORMAT_MAJOR = 1
FORMAT_MINOR = 1  # 1.1: job lines name the job's output files (``out``, ``err``)
RECORD_FORMAT = f"{FORMAT_NAME}/{FORMAT_MAJOR}.{FORMAT_MINOR}"
"""The format string this version writes in every header."""

_FORMAT_RE = re.compile(rf"{FORMAT_NAME}/(\d+)(?:\.(\d+))?")

StoreState = Literal["ready", "stopped"]
"""``ready``: every shard serves requests; ``stopped``: the shards were stopped."""

_STORE_STATES: tuple[StoreState, ...] = ("ready", "stopped")


def record_path(exp_path: str | os.PathLike[str]) -> Path:
    """Where the record of the experiment at ``exp_path`` lives (nothing is checked)."""
    return Path(exp_path) / RECORD_DIR / RECORD_FILE


@dataclass(frozen=True)
class RunHeader:
    """The first line of a run: who wrote what follows, where and when.

    ``run`` identifies the run within the record; ``path`` is the experiment path;
    ``host``/``pid`` name the driver process; ``time`` is when the run began (epoch
    seconds). ``format`` is the format string as read (as written: :data:`RECORD_FORMAT`).
    """

    run: str
    experiment: str
    path: str
    launcher: str
    insitu_version: str
    host: str
    pid: int
    time: float
    format: str = RECORD_FORMAT


@dataclass(frozen=True)
class JobLine:
    """One state change of one job (a Model, ensemble member, shard or worker).

    ``previous``/``state`` are :class:`~insitu.jobs.JobState` values (``"Queued"``,
    ``"Running"``, ``"Completed"``, ``"Failed"``, ``"Cancelled"`` …); ``entity_type`` is
    ``"Model"``, ``"DBNode"`` (a store shard), ``"Worker"`` (an inference worker) …;
    ``returncode`` is set once the job has ended; ``host`` is where it runs, when the
    launcher knows it; ``out``/``err`` are the paths of its stdout/stderr files, on the
    ``Queued`` line (format 1.1; ``None`` elsewhere and in records of format 1.0).
    """

    run: str
    time: float
    job_id: str
    name: str
    entity_type: str
    previous: str
    state: str
    returncode: int | None = None
    host: str | None = None
    out: str | None = None
    err: str | None = None


@dataclass(frozen=True)
class StoreLine:
    """A store became ready, or was stopped, with the addresses clients reach it at.

    ``addresses`` are the shards' addresses in shard order (``"host:port"`` or
    ``"unix://<path>"``, as ``Orchestrator.get_address()`` gives them); ``shards`` is their
    number; ``clustered`` tells a Redis Cluster from a standalone store; ``colocated`` marks
    a store private to one application (``Model.colocate_db_*``).
    """

    run: str
    time: float
    name: str
    state: StoreState
    addresses: tuple[str, ...]
    clustered: bool
    shards: int
    colocated: bool = False


EventLine = JobLine | StoreLine
RecordLine = RunHeader | JobLine | StoreLine


@dataclass(frozen=True)
class Run:
    """One run's header and its event lines, in the order they were written."""

    header: RunHeader
    events: tuple[EventLine, ...] = ()

    @property
    def jobs(self) -> tuple[JobLine, ...]:
        """The job lines, in order."""
        return tuple(e for e in self.events if isinstance(e, JobLine))

    @property
    def stores(self) -> tuple[StoreLine, ...]:
        """The store lines, in order."""
        return tuple(e for e in self.events if isinstance(e, StoreLine))

    def latest_jobs(self) -> dict[str, JobLine]:
        """The newest line of each job name (its current state), in order of first sight."""
        return {line.name: line for line in self.jobs}

    def latest_stores(self) -> dict[str, StoreLine]:
        """The newest line of each store name, in order of first sight."""
        return {line.name: line for line in self.stores}


@dataclass(frozen=True)
class Record:
    """A whole record: its runs, oldest first.

    ``skipped`` lists the line numbers (1-based) of lines that were not valid and were
    left out because the record was parsed with ``strict=False``.
    """

    runs: tuple[Run, ...] = ()
    skipped: tuple[int, ...] = ()

    @property
    def latest(self) -> Run | None:
        """The newest run (the one a status display shows first), if any."""
        return self.runs[-1] if self.runs else None


# ----------------------------------------------------------------------------- format


def format_line(line: RecordLine) -> str:
    """The JSON text of ``line``, without the ending newline.

    Raises :class:`~insitu.errors.RecordFormatError` for a value that has no JSON form (a
    time that is NaN or infinite).
    """
    try:
        return json.dumps(_to_json(line), separators=(",", ":"), allow_nan=False)
    except ValueError as err:
        raise RecordFormatError(f"cannot encode {type(line).__name__}: {err}") from err


def _to_json(line: RecordLine) -> dict[str, object]:
    if isinstance(line, RunHeader):
        return {
            "format": line.format,
            "kind": "header",
            "run": line.run,
            "time": line.time,
            "experiment": line.experiment,
            "path": line.path,
            "launcher": line.launcher,
            "insitu_version": line.insitu_version,
            "host": line.host,
            "pid": line.pid,
        }
    if isinstance(line, JobLine):
        return {
            "kind": "job",
            "run": line.run,
            "time": line.time,
            "job_id": line.job_id,
            "name": line.name,
            "entity_type": line.entity_type,
            "previous": line.previous,
            "state": line.state,
            "returncode": line.returncode,
            "host": line.host,
            **({"out": line.out} if line.out is not None else {}),
            **({"err": line.err} if line.err is not None else {}),
        }
    return {
        "kind": "store",
        "run": line.run,
        "time": line.time,
        "name": line.name,
        "state": line.state,
        "addresses": list(line.addresses),
        "clustered": line.clustered,
        "shards": line.shards,
        "colocated": line.colocated,
    }


# ----------------------------------------------------------------------------- parse


def parse_format(value: str) -> tuple[int, int]:
    """``(major, minor)`` of a header's format string.

    Raises :class:`~insitu.errors.RecordVersionError` for another format or a major
    version other than :data:`FORMAT_MAJOR`.
    """
    match = _FORMAT_RE.fullmatch(value)
    if match is None or int(match.group(1)) != FORMAT_MAJOR:
        raise RecordVersionError(value, f"{RECORD_FORMAT}[.MINOR]")
    return FORMAT_MAJOR, int(match.group(2) or 0)


def parse_line(text: str) -> RecordLine | None:
    """The value of one line (without its newline); ``None`` for a line kind this reader
    does not know (added by a later minor version: skip it). Unknown fields are ignored.

    Raises :class:`~insitu.errors.RecordFormatError` for a line that is not a JSON object
    or lacks a field, and :class:`~insitu.errors.RecordVersionError` for a header of a
    format this reader refuses.
    """
    try:
        obj = json.loads(text)
    except ValueError as err:
        raise RecordFormatError(f"not JSON: {err}") from err
    if not isinstance(obj, dict):
        raise RecordFormatError(f"not a JSON object: {text[:80]!r}")
    fields = _Fields(obj)
    if "format" in obj:
        return _header(fields)
    kind = fields.text("kind")
    if kind == "job":
        return _job(fields)
    if kind == "store":
        return _store(fields)
    return None


def parse_line_at(text: str, number: int, path: str = "") -> RecordLine | None:
    """:func:`parse_line`, with errors that name ``path`` and the 1-based line ``number``."""
    try:
        return parse_line(text)
    except RecordVersionError as err:
        raise RecordVersionError(err.found, err.supported, path, number) from None
    except RecordFormatError as err:
        raise RecordFormatError(err.detail, path, number) from None


def _header(f: _Fields) -> RunHeader:
    version = f.text("format")
    parse_format(version)
    return RunHeader(
        run=f.text("run"),
        experiment=f.text("experiment"),
        path=f.text("path"),
        launcher=f.text("launcher"),
        insitu_version=f.text("insitu_version"),
        host=f.text("host"),
        pid=f.integer("pid"),
        time=f.number("time"),
        format=version,
    )


def _job(f: _Fields) -> JobLine:
    return JobLine(
        run=f.text("run"),
        time=f.number("time"),
        job_id=f.text("job_id"),
        name=f.text("name"),
        entity_type=f.text("entity_type"),
        previous=f.text("previous"),
        state=f.text("state"),
        returncode=f.optional_integer("returncode"),
        host=f.optional_text("host"),
        out=f.optional_text("out"),
        err=f.optional_text("err"),
    )


def _store(f: _Fields) -> StoreLine:
    state = f.text("state")
    for known in _STORE_STATES:
        if state == known:
            return StoreLine(
                run=f.text("run"),
                time=f.number("time"),
                name=f.text("name"),
                state=known,
                addresses=f.texts("addresses"),
                clustered=f.flag("clustered"),
                shards=f.integer("shards"),
                colocated=f.flag("colocated", default=False),
            )
    raise RecordFormatError(f"store state {state!r} is not one of {', '.join(_STORE_STATES)}")


class _Fields:
    """Typed access to the fields of one parsed line; a missing or mistyped field raises
    :class:`~insitu.errors.RecordFormatError` naming it."""

    def __init__(self, obj: dict[str, object]) -> None:
        self._obj = obj

    def _get(self, key: str) -> object:
        if key not in self._obj:
            raise RecordFormatError(f"field {key!r} is missing")
        return self._obj[key]

    def _wrong(self, key: str, wanted: str) -> RecordFormatError:
        return RecordFormatError(f"field {key!r} must be {wanted}, not {self._obj[key]!r}")

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._wrong(key, "a string")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self._obj.get(key) is None else self.text(key)

    def integer(self, key: str) -> int:
        value = self._get(key)
        # JSON true/false arrive as bool, which Python counts as int.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._wrong(key, "an integer")
        return value

    def optional_integer(self, key: str) -> int | None:
        return None if self._obj.get(key) is None else self.integer(key)

    def number(self, key: str) -> float:
        value = self._get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._wrong(key, "a number")
        if not math.isfinite(value):
            raise self._wrong(key, "a finite number")
        return float(value)

    def flag(self, key: str, default: bool | None = None) -> bool:
        if default is not None and key not in self._obj:
            return default
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._wrong(key, "a list of strings")
        return tuple(value)


# ----------------------------------------------------------------------------- whole records


def parse_record(lines: Iterable[str], *, strict: bool = True, path: str = "") -> Record:
    """Fold complete lines (without their newlines) into runs; blank lines are ignored.

    With ``strict`` a bad line, or an event line whose run has no header before it,
    raises :class:`~insitu.errors.RecordFormatError` naming ``path`` and the line number;
    without, such lines are left out and listed in :attr:`Record.skipped`. A header of a
    refused format always raises :class:`~insitu.errors.RecordVersionError`: what follows
    it cannot be read safely.
    """
    folder = RunFolder(path)
    skipped: list[int] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            folder.add(parse_line_at(text, number, path), number)
        except RecordVersionError:
            raise
        except RecordFormatError:
            if strict:
                raise
            skipped.append(number)
    return Record(folder.runs(), tuple(skipped))


class RunFolder:
    """Groups parsed lines into runs as they arrive (for :func:`parse_record` and for
    readers that follow a growing record)."""

    def __init__(self, path: str = "") -> None:
        self._path = path
        self._order: list[str] = []
        self._headers: dict[str, RunHeader] = {}
        self._events: dict[str, list[EventLine]] = {}

    def add(self, line: RecordLine | None, number: int | None = None) -> None:
        """Add one parsed line (``None``, an unknown kind, is ignored).

        Raises :class:`~insitu.errors.RecordFormatError` for an event of a run whose header
        was not seen, or a second header of the same run.
        """
        if line is None:
            return
        if isinstance(line, RunHeader):
            if line.run in self._headers:
                raise RecordFormatError(f"run {line.run!r} has two headers", self._path, number)
            self._order.append(line.run)
            self._headers[line.run] = line
            self._events[line.run] = []
            return
        events = self._events.get(line.run)
        if events is None:
            raise RecordFormatError(
                f"line of run {line.run!r} before that run's header", self._path, number
            )
        events.append(line)

    def runs(self) -> tuple[Run, ...]:
        """The runs seen so far, in the order their headers appeared."""
        return tuple(Run(self._headers[r], tuple(self._events[r])) for r in self._order)
