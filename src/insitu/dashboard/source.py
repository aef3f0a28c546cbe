"""One experiment as the dashboard (and ``insitu report``) sees it: its files, kept current.

An :class:`ExperimentSource` reads ``<exp_path>/.insitu/events.jsonl`` and the telemetry
beside it — never the driver's memory — and turns them into the JSON snapshot the pages
render. Bad input never raises out of here: a path that is not an experiment, a record
that is missing, corrupt or of a later format gives a snapshot with ``error`` set, so the
dashboard keeps serving the others.
"""

from __future__ import annotations

import dataclasses
import math
import socket
import threading
import time
from pathlib import Path

import psutil

from insitu.errors import RecordFormatError
from insitu.runtime.record import read_record
from insitu.runtime.telemetry_reader import TelemetryFollower
from insitu.views.series import all_charts, latest_shards, model_totals
from insitu.views.state import ExperimentState, experiment_state
from insitu.wire.record import Record, Run, record_path
from insitu.wire.telemetry import ShardSample, Telemetry

JSON = dict[str, object]


def find_experiments(paths: list[Path]) -> list[Path]:
    """Each path that is an experiment (it has a record, or is meant to get one), and the
    experiments one level below a path that is not one itself, in the order given."""
    found: list[Path] = []
    for given in paths:
        path = given.resolve()
        below = sorted(p.parent.parent for p in path.glob(f"*/{record_path('').as_posix()}"))
        if record_path(path).exists() or not below:
            found.append(path)
        else:
            found.extend(below)
    return list(dict.fromkeys(found))


class ExperimentSource:
    """The files of the experiment at ``path``; :meth:`refresh` reads what changed."""

    def __init__(self, key: str, path: Path) -> None:
        self.key = key
        self.path = path
        self.version = 0
        self._lock = threading.Lock()
        self._record: Record | None = None
        self._error: str | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._telemetry = TelemetryFollower(path)

    def refresh(self) -> bool:
        """Re-read the record if its file changed and read new telemetry; True (and
        ``version`` incremented) if anything changed."""
        changed = self._refresh_record()
        with self._lock:
            changed = self._telemetry.poll() or changed
            if changed:
                self.version += 1
        return changed

    def _refresh_record(self) -> bool:
        file = record_path(self.path)
        error: str | None = None
        try:
            stat = file.stat()
            stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
            error = _missing(self.path)
        except OSError as err:
            stamp, error = None, f"cannot read {file}: {err.strerror}"
        if stamp is not None and stamp == self._stamp:
            return False
        record: Record | None = None
        if stamp is not None:
            try:
                record = read_record(file, strict=False)
            except RecordFormatError as err:
                error = str(err)
            except OSError as err:
                error = f"cannot read {file}: {err.strerror}"
        with self._lock:
            changed = (stamp, error) != (self._stamp, self._error)
            self._stamp, self._record, self._error = stamp, record, error
        return changed

    def close(self) -> None:
        """Release the telemetry file."""
        self._telemetry.close()

    # ----------------------------------------------------------------- views
    def latest(self) -> tuple[Run | None, Telemetry, str | None, int]:
        """The newest run, its telemetry, the error (if any) and lines skipped."""
        with self._lock:
            record, error = self._record, self._error
            telemetry = self._telemetry.value()
        run = record.latest if record is not None else None
        if record is not None and run is None and error is None:
            error = "the launch record has no run yet"
        skipped = len(record.skipped) if record is not None else 0
        if run is not None:
            telemetry = telemetry.of_run(run.header.run)
        return run, telemetry, error, skipped

    def summary(self) -> JSON:
        """The experiments list's row of this experiment."""
        run, _, error, skipped = self.latest()
        row: JSON = {"key": self.key, "path": str(self.path), "name": self.path.name,
                     "error": error, "state": "unknown", "counts": {},
                     "skipped": skipped}  # fmt: skip
        if run is not None:
            state = experiment_state(run, driver_alive(run))
            row.update(name=run.header.experiment, state=state.state, counts=state.counts(),
                       began=state.began, last=state.last,
                       runs=len(self._runs()))  # fmt: skip
        return row

    def _runs(self) -> tuple[Run, ...]:
        with self._lock:
            return self._record.runs if self._record is not None else ()

    def snapshot(self) -> JSON:
        """Everything the experiment page shows (JSON-ready)."""
        run, telemetry, error, skipped = self.latest()
        snap: JSON = {"key": self.key, "path": str(self.path), "name": self.path.name,
                      "error": error, "skipped": skipped, "now": time.time(),
                      "version": self.version, "telemetry_skipped": telemetry.skipped}  # fmt: skip
        if run is None:
            snap.update(state="unknown", entities=[], stores=[], shards=[], models=[],
                        charts=[], counts={})  # fmt: skip
            return snap
        state = experiment_state(run, driver_alive(run))
        h = run.header
        snap.update(name=h.experiment, launcher=h.launcher, host=h.host, pid=h.pid, run=h.run,
                    insitu_version=h.insitu_version, runs=len(self._runs()),
                    period=telemetry.periods.get(h.run), **_state_json(state))  # fmt: skip
        snap["shards"] = [_shard_json(s) for s in latest_shards(telemetry)]
        snap["models"] = [
            {"store": store, "model": model, "requests": c.requests, "calls": c.calls,
             "errors": c.errors, "samples": c.samples,
             "mean_us": c.duration / c.calls if c.calls else None,
             "mean_batch": c.samples / c.calls if c.calls else None}
            for (store, model), c in model_totals(telemetry).items()
        ]  # fmt: skip
        snap["charts"] = [chart.to_json() for chart in all_charts(telemetry)]
        return snap

    def log_path(self, entity: str, stream: str) -> Path | None:
        """The ``out``/``err`` file of ``entity``'s newest run, as its record names it."""
        run, _, _, _ = self.latest()
        if run is None or stream not in ("out", "err"):
            return None
        state = experiment_state(run, True)
        row = next((e for e in state.entities if e.name == entity), None)
        if row is None:
            return None
        path = row.out if stream == "out" else row.err
        return Path(path) if path else None


def _missing(path: Path) -> str:
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_dir():
        return f"{path} is not a directory"
    return "no launch record yet: nothing has been started in this experiment"


def driver_alive(run: Run) -> bool:
    """Whether the driver of ``run`` still runs (True when it ran on another host: unknown)."""
    if run.header.host not in (socket.gethostname(), socket.getfqdn()):
        return True
    try:
        proc = psutil.Process(run.header.pid)
        # A reused pid: a process started after the run began is not its driver.
        return proc.create_time() <= run.header.time + 1 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _state_json(state: ExperimentState) -> JSON:
    return {
        "state": state.state, "began": state.began, "last": state.last,
        "counts": state.counts(),
        "entities": [
            {"name": e.name, "type": e.entity_type, "job_id": e.job_id, "state": e.state,
             "host": e.host, "returncode": e.returncode, "submitted": e.submitted,
             "started": e.started, "ended": e.ended, "runs": e.runs,
             "out": e.out is not None, "err": e.err is not None}
            for e in state.entities
        ],
        "stores": [
            {"name": s.name, "state": s.state, "addresses": list(s.addresses),
             "clustered": s.clustered, "shards": s.shards, "colocated": s.colocated,
             "time": s.time}
            for s in state.stores
        ],
    }  # fmt: skip


def _shard_json(sample: ShardSample) -> JSON:
    return dataclasses.asdict(sample)


def exp_key(index: int) -> str:
    """The URL key of the ``index``-th experiment."""
    return str(index)


def json_safe(value: object) -> object:
    """``value`` with every NaN or infinity replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
