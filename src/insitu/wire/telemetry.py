"""Telemetry: periodic samples of an experiment's stores, inference and rules, as JSON lines.

The driver's sampler (:mod:`insitu.runtime.telemetry`) appends to
``<exp_path>/.insitu/telemetry.jsonl``, beside the launch record; a dashboard, ``insitu
status`` or a script in another language reads it. This module is the pure codec. The format
is described in docs/wire-format.md, "Telemetry".

Contract:

* One JSON object per line, ASCII, each ended by ``\\n``, appended. Every file starts with a
  header ``{"format": "insitu-telemetry/1", "kind": "header", "run": ID, ...}`` whose ``run``
  is the launch record's run id of the driver that samples; later lines name that run.
* **Bounded.** When the file would pass its size limit the writer renames it to
  ``telemetry.1.jsonl`` (replacing an older one) and starts a new file with a header, so
  the two files together hold at most twice the limit. Readers read the old file first.
* Line kinds: ``shard`` (one store shard's figures, or why it could not be reached),
  ``model`` (the cumulative run statistics of one model on one shard, see
  :mod:`insitu.wire.stats`) and ``rules`` (one rules session's metrics). Readers skip kinds
  they do not know and ignore unknown fields (a minor version only adds them).
* No line carries a password, token or other secret: no kind has a field for one, and an
  error message is the connection error's text, which never holds the password.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from insitu.errors import RecordFormatError, TelemetryFormatError
from insitu.wire.record import RECORD_DIR, _Fields
from insitu.wire.stats import ModelCounters

TELEMETRY_FILE = "telemetry.jsonl"
"""The current telemetry file, inside :data:`~insitu.wire.record.RECORD_DIR`."""
TELEMETRY_OLD_FILE = "telemetry.1.jsonl"
"""The previous file, kept when the current one reached its size limit."""

FORMAT_NAME = "insitu-telemetry"
FORMAT_MAJOR = 1
TELEMETRY_FORMAT = f"{FORMAT_NAME}/{FORMAT_MAJOR}"
_FORMAT_RE = re.compile(rf"{FORMAT_NAME}/(\d+)(?:\.(\d+))?")


def telemetry_paths(exp_path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(old, current)``: the files of the experiment at ``exp_path``, oldest first."""
    base = Path(exp_path) / RECORD_DIR
    return base / TELEMETRY_OLD_FILE, base / TELEMETRY_FILE


@dataclass(frozen=True)
class TelemetryHeader:
    """First line of each file: the run that samples (the launch record's run id), the
    sampling ``period`` (seconds) and ``time`` the file was begun."""

    run: str
    time: float
    period: float
    format: str = TELEMETRY_FORMAT


@dataclass(frozen=True)
class ShardSample:
    """One shard of one store at ``time``: ``up`` and its INFO figures, or ``error``.

    ``used_memory``/``maxmemory`` are bytes (``maxmemory`` 0: no limit), ``clients`` the
    connected clients, ``ops_per_sec`` the server's instantaneous figure, ``commands`` the
    commands processed since it started, ``keys`` in database 0, ``evicted_keys`` since it
    started, ``cluster_state`` ``"ok"``/``"fail"`` (None: not a cluster) and
    ``queue_depth`` the inference requests waiting on this shard (None: unknown).
    """

    run: str
    time: float
    store: str
    shard: int
    address: str
    up: bool
    error: str | None = None
    used_memory: int | None = None
    maxmemory: int | None = None
    clients: int | None = None
    ops_per_sec: int | None = None
    commands: int | None = None
    keys: int | None = None
    evicted_keys: int | None = None
    cluster_state: str | None = None
    queue_depth: int | None = None


@dataclass(frozen=True)
class ModelSample:
    """The cumulative run statistics of ``model`` (a model or script key) on one shard."""

    run: str
    time: float
    store: str
    shard: int
    model: str
    counters: ModelCounters = field(default_factory=ModelCounters)


@dataclass(frozen=True)
class RulesSample:
    """The metrics of the rules session ``session``: ``counts[group][counter]``,
    ``series[name][stat]`` (None: no value yet) and published ``store[name]`` values."""

    run: str
    time: float
    session: str
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    series: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    store: Mapping[str, float] = field(default_factory=dict)


SampleLine = ShardSample | ModelSample | RulesSample
TelemetryLine = TelemetryHeader | SampleLine

_SHARD_FIGURES = (
    "used_memory", "maxmemory", "clients", "ops_per_sec", "commands", "keys", "evicted_keys",
    "queue_depth",
)  # fmt: skip


# ----------------------------------------------------------------------------- format


def format_line(line: TelemetryLine) -> str:
    """The JSON text of ``line``, without the ending newline."""
    try:
        return json.dumps(_to_json(line), separators=(",", ":"), allow_nan=False)
    except ValueError as err:
        raise TelemetryFormatError(f"cannot encode {type(line).__name__}: {err}") from err


def _to_json(line: TelemetryLine) -> dict[str, object]:
    if isinstance(line, TelemetryHeader):
        return {"format": line.format, "kind": "header", "run": line.run, "time": line.time,
                "period": line.period}  # fmt: skip
    head: dict[str, object] = {"kind": "", "run": line.run, "time": line.time}
    if isinstance(line, ShardSample):
        head.update(kind="shard", store=line.store, shard=line.shard, address=line.address,
                    up=line.up, error=line.error, cluster_state=line.cluster_state)  # fmt: skip
        head.update({name: getattr(line, name) for name in _SHARD_FIGURES})
        return head
    if isinstance(line, ModelSample):
        c = line.counters
        head.update(kind="model", store=line.store, shard=line.shard, model=line.model,
                    requests=c.requests, calls=c.calls, samples=c.samples, errors=c.errors,
                    duration=c.duration,
                    latency={str(b): n for b, n in sorted(c.latency.items())})  # fmt: skip
        return head
    head.update(kind="rules", session=line.session,
                counts={g: dict(c) for g, c in line.counts.items()},
                series={s: _finite(v) for s, v in line.series.items()},
                store=dict(line.store))  # fmt: skip
    return head


def _finite(values: Mapping[str, float | None]) -> dict[str, float | None]:
    # River's statistics start as NaN or ±inf on no data: JSON has no such numbers.
    return {k: v if v is not None and math.isfinite(v) else None for k, v in values.items()}


# ----------------------------------------------------------------------------- parse


def parse_line(text: str) -> TelemetryLine | None:
    """The value of one line; None for a kind this reader does not know.

    Raises :class:`~insitu.errors.TelemetryFormatError` for a line that is not valid or a
    header of a format this reader refuses.
    """
    try:
        obj = json.loads(text)
    except ValueError as err:
        raise TelemetryFormatError(f"not JSON: {err}") from err
    if not isinstance(obj, dict):
        raise TelemetryFormatError(f"not a JSON object: {text[:80]!r}")
    f = _Fields(obj)
    try:
        if "format" in obj:
            return _header(f)
        kind = f.text("kind")
        if kind == "shard":
            return _shard(f)
        if kind == "model":
            return _model(f, obj)
        if kind == "rules":
            return _rules(f, obj)
    except TelemetryFormatError:
        raise
    except RecordFormatError as err:
        raise TelemetryFormatError(err.detail) from None
    return None


def _header(f: _Fields) -> TelemetryHeader:
    version = f.text("format")
    match = _FORMAT_RE.fullmatch(version)
    if match is None or int(match.group(1)) != FORMAT_MAJOR:
        raise TelemetryFormatError(
            f"telemetry format {version!r} is not supported (this insitu reads "
            f"{TELEMETRY_FORMAT}[.MINOR])"
        )
    return TelemetryHeader(f.text("run"), f.number("time"), f.number("period"), version)


def _shard(f: _Fields) -> ShardSample:
    return ShardSample(
        run=f.text("run"), time=f.number("time"), store=f.text("store"),
        shard=f.integer("shard"), address=f.text("address"), up=f.flag("up"),
        error=f.optional_text("error"), cluster_state=f.optional_text("cluster_state"),
        **{name: f.optional_integer(name) for name in _SHARD_FIGURES},
    )  # fmt: skip


def _model(f: _Fields, obj: Mapping[str, object]) -> ModelSample:
    latency = obj.get("latency", {})
    if not isinstance(latency, dict) or not all(
        isinstance(k, str) and k.isdigit() and _is_int(v) for k, v in latency.items()
    ):
        raise TelemetryFormatError(f"field 'latency' must map buckets to counts: {latency!r}")
    counters = ModelCounters(
        requests=f.integer("requests"), calls=f.integer("calls"), samples=f.integer("samples"),
        errors=f.integer("errors"), duration=f.integer("duration"),
        latency={int(k): int(v) for k, v in latency.items()},
    )  # fmt: skip
    return ModelSample(
        f.text("run"),
        f.number("time"),
        f.text("store"),
        f.integer("shard"),
        f.text("model"),
        counters,
    )


def _rules(f: _Fields, obj: Mapping[str, object]) -> RulesSample:
    counts = _mapping(obj, "counts", _is_int)
    series = _mapping(obj, "series", lambda v: v is None or _is_number(v))
    store = obj.get("store", {})
    if not isinstance(store, dict) or not all(_is_number(v) for v in store.values()):
        raise TelemetryFormatError(f"field 'store' must map names to numbers: {store!r}")
    return RulesSample(
        f.text("run"), f.number("time"), f.text("session"),
        {g: {k: _whole(v) for k, v in c.items()} for g, c in counts.items()},
        {s: {k: _optional_number(v) for k, v in c.items()} for s, c in series.items()},
        {str(k): _number(v) for k, v in store.items()},
    )  # fmt: skip


def _mapping(
    obj: Mapping[str, object], key: str, valid: Callable[[object], bool]
) -> dict[str, dict[str, object]]:
    value = obj.get(key, {})
    if not isinstance(value, dict) or not all(
        isinstance(inner, dict) and all(valid(v) for v in inner.values())
        for inner in value.values()
    ):
        raise TelemetryFormatError(f"field {key!r} is not a mapping of mappings: {value!r}")
    return value


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TelemetryFormatError(f"{value!r} is not an integer")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TelemetryFormatError(f"{value!r} is not a number")
    return float(value)


def _optional_number(value: object) -> float | None:
    return None if value is None else _number(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ----------------------------------------------------------------------------- whole files


@dataclass(frozen=True)
class Telemetry:
    """Every sample read, oldest first, by kind; ``periods`` maps a run to its sampling
    period; ``skipped`` counts lines left out as not valid."""

    shards: tuple[ShardSample, ...] = ()
    models: tuple[ModelSample, ...] = ()
    rules: tuple[RulesSample, ...] = ()
    periods: Mapping[str, float] = field(default_factory=dict)
    skipped: int = 0

    def of_run(self, run: str) -> Telemetry:
        """Only the samples of ``run``."""
        return Telemetry(
            tuple(s for s in self.shards if s.run == run),
            tuple(s for s in self.models if s.run == run),
            tuple(s for s in self.rules if s.run == run),
            {k: v for k, v in self.periods.items() if k == run},
            self.skipped,
        )


class TelemetryFolder:
    """Collects parsed lines by kind (for :func:`parse_telemetry` and followers)."""

    def __init__(self) -> None:
        self.shards: list[ShardSample] = []
        self.models: list[ModelSample] = []
        self.rules: list[RulesSample] = []
        self.periods: dict[str, float] = {}
        self.skipped = 0

    def add(self, line: TelemetryLine | None) -> None:
        """Add one parsed line (None, an unknown kind, is ignored)."""
        if isinstance(line, TelemetryHeader):
            self.periods[line.run] = line.period
        elif isinstance(line, ShardSample):
            self.shards.append(line)
        elif isinstance(line, ModelSample):
            self.models.append(line)
        elif isinstance(line, RulesSample):
            self.rules.append(line)

    def add_text(self, text: str, *, strict: bool, path: str = "", number: int = 0) -> None:
        """Parse and add one line; a bad line raises (``strict``) or is counted as skipped."""
        if not text.strip():
            return
        try:
            self.add(parse_line(text))
        except TelemetryFormatError as err:
            if strict:
                raise TelemetryFormatError(err.detail, path, number or None) from None
            self.skipped += 1

    def value(self) -> Telemetry:
        """What was collected so far."""
        return Telemetry(
            tuple(self.shards), tuple(self.models), tuple(self.rules), dict(self.periods),
            self.skipped,
        )  # fmt: skip


def parse_telemetry(lines: Iterable[str], *, strict: bool = False, path: str = "") -> Telemetry:
    """Fold complete lines into a :class:`Telemetry` (blank lines are ignored). By default
    bad lines are skipped and counted: telemetry is an observation, not a contract to stop
    at; with ``strict`` they raise :class:`~insitu.errors.TelemetryFormatError`."""
    folder = TelemetryFolder()
    for number, text in enumerate(lines, start=1):
        folder.add_text(text, strict=strict, path=path, number=number)
    return folder.value()
