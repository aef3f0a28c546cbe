"""The runtime's record of every run of every entity (history kept for summaries)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from insitu.jobs.entity_types import EntityType
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState


@dataclass(frozen=True)
class JobRecord:
    """One run of one job.

    ``run_id`` counts the runs of the same name (0 for the first). Times are epoch seconds.
    ``owner`` is the name of the entity the job belongs to (the orchestrator for a shard).
    """

    job_id: str
    name: str
    entity_type: EntityType
    owner: str
    run_id: int
    launcher: str
    spec: JobSpec
    state: JobState
    submit_time: float
    start_time: float | None = None
    end_time: float | None = None
    returncode: int | None = None

    @property
    def elapsed(self) -> float:
        """Seconds from submission to the end (or to now while running)."""
        end = self.end_time if self.end_time is not None else time.time()
        return max(0.0, end - self.submit_time)


class JobTable:
    """Thread-safe table of :class:`JobRecord` values, newest run last per name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, list[JobRecord]] = {}
        self._names: dict[str, str] = {}  # job id -> name, for launchers that report ids

    def add(self, record: JobRecord) -> None:
        """Append a new run; its ``run_id`` must follow the previous one of that name."""
        with self._lock:
            self._runs.setdefault(record.name, []).append(record)
            self._names[record.job_id] = record.name

    def latest_for_jobs(self, job_ids: Iterable[str]) -> list[JobRecord]:
        """The newest runs of the jobs with these ids (ids of older runs are skipped)."""
        with self._lock:
            out = []
            for job_id in job_ids:
                name = self._names.get(job_id)
                runs = self._runs.get(name) if name is not None else None
                if runs and runs[-1].job_id == job_id:
                    out.append(runs[-1])
            return out

    def next_run_id(self, name: str) -> int:
        """The ``run_id`` the next run of ``name`` gets."""
        with self._lock:
            return len(self._runs.get(name, []))

    def latest(self, name: str) -> JobRecord | None:
        """The newest run of ``name``, if any."""
        with self._lock:
            runs = self._runs.get(name)
            return runs[-1] if runs else None

    def update(self, record: JobRecord, **changes: object) -> JobRecord:
        """Replace ``record`` (matched by name and run id) with a changed copy; return it."""
        with self._lock:
            runs = self._runs[record.name]
            new = replace(runs[record.run_id], **changes)  # type: ignore[arg-type]
            runs[record.run_id] = new
            return new

    def active(self) -> list[JobRecord]:
        """Newest runs that are not terminal."""
        with self._lock:
            return [r[-1] for r in self._runs.values() if not r[-1].state.is_terminal]

    def __iter__(self) -> Iterator[JobRecord]:
        with self._lock:
            runs = [rec for recs in self._runs.values() for rec in recs]
        return iter(runs)
