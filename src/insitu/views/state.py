"""What an experiment looks like from its launch record: entities, stores, timeline (pure).

``insitu status``, the dashboard, the HTML report and ``Experiment.plot_timeline`` all show
the same facts; they are computed here from a :class:`~insitu.wire.record.Run`, with no I/O
(the caller says whether the driver process is alive).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from insitu.wire.record import JobLine, Run, StoreLine

TERMINAL = frozenset({"Completed", "Failed", "Cancelled", "NeverStarted"})
"""States after which a job does nothing more (SmartSim's terminal statuses)."""

RunState = Literal["running", "finished", "driver gone"]
"""``running``: something is active and its driver lives; ``finished``: nothing is active;
``driver gone``: the record says something is active but the driver process has died."""


@dataclass(frozen=True)
class EntityRow:
    """The newest run of one job name and what happened to it.

    ``submitted``/``started``/``ended`` are epoch seconds (None: not yet); ``runs`` counts
    the runs of this name (a restarted worker or a relaunched model has several).
    """

    name: str
    entity_type: str
    job_id: str
    state: str
    host: str | None
    returncode: int | None
    submitted: float
    started: float | None
    ended: float | None
    out: str | None
    err: str | None
    runs: int

    @property
    def is_terminal(self) -> bool:
        """True once this run has ended."""
        return self.state in TERMINAL

    def elapsed(self, now: float) -> float:
        """Seconds from start (or submission) to end (or ``now``)."""
        begin = self.started if self.started is not None else self.submitted
        return max(0.0, (self.ended if self.ended is not None else now) - begin)


@dataclass(frozen=True)
class Segment:
    """A span of one job run in one state, from ``start`` to ``end`` (None: still in it)."""

    state: str
    start: float
    end: float | None


@dataclass(frozen=True)
class TimelineRow:
    """The segments of every run of one job name, in time order; ``state`` is the newest
    run's current state."""

    name: str
    entity_type: str
    segments: tuple[Segment, ...]
    state: str


@dataclass(frozen=True)
class ExperimentState:
    """A run of an experiment as a table: entity rows (in order of first launch), the newest
    line of each store, the overall state and the time span covered."""

    entities: tuple[EntityRow, ...]
    stores: tuple[StoreLine, ...]
    state: RunState
    began: float
    last: float

    def by_type(self, *types: str) -> tuple[EntityRow, ...]:
        """The rows of the given entity types (``Model``, ``DBNode``, ``Worker`` …)."""
        return tuple(e for e in self.entities if e.entity_type in types)

    def counts(self) -> dict[str, int]:
        """How many rows (workers left out) are in each state."""
        out: dict[str, int] = {}
        for row in self.entities:
            if row.entity_type != "Worker":
                out[row.state] = out.get(row.state, 0) + 1
        return out


def experiment_state(run: Run, driver_alive: bool) -> ExperimentState:
    """The state of ``run``; ``driver_alive`` says whether its driver process still runs
    (unknown: pass True; a dead driver's active jobs are reported as ``driver gone``)."""
    lines: dict[str, list[JobLine]] = {}
    for line in run.jobs:
        lines.setdefault(line.name, []).append(line)
    rows = tuple(_row(name, history) for name, history in lines.items())
    stores = tuple(run.latest_stores().values())
    active = any(not r.is_terminal for r in rows) or any(s.state == "ready" for s in stores)
    state: RunState = "finished"
    if active:
        state = "running" if driver_alive else "driver gone"
    times = [run.header.time, *(e.time for e in run.events)]
    return ExperimentState(rows, stores, state, run.header.time, max(times))


def _row(name: str, history: list[JobLine]) -> EntityRow:
    runs = _runs(history)
    newest = runs[-1]
    last = newest[-1]
    submitted = newest[0].time
    started = next((line.time for line in newest if line.state == "Running"), None)
    ended = last.time if last.state in TERMINAL else None
    out = next((line.out for line in newest if line.out is not None), None)
    err = next((line.err for line in newest if line.err is not None), None)
    host = next((line.host for line in reversed(newest) if line.host is not None), None)
    return EntityRow(
        name, last.entity_type, last.job_id, last.state, host, last.returncode, submitted,
        started, ended, out, err, len(runs),
    )  # fmt: skip


def _runs(history: list[JobLine]) -> list[list[JobLine]]:
    """The lines of one name split by job id, in order of first sight."""
    runs: dict[str, list[JobLine]] = {}
    for line in history:
        runs.setdefault(line.job_id, []).append(line)
    return list(runs.values())


def timeline(run: Run, *, workers: bool = False) -> tuple[TimelineRow, ...]:
    """One row per job name (workers only if asked), each run's states as segments."""
    rows: dict[str, list[JobLine]] = {}
    for line in run.jobs:
        if workers or line.entity_type != "Worker":
            rows.setdefault(line.name, []).append(line)
    out = []
    for name, history in rows.items():
        segments: list[Segment] = []
        for lines in _runs(history):
            for line, following in zip(lines, [*lines[1:], None], strict=True):
                if line.state in TERMINAL:
                    continue
                end = following.time if following is not None else None
                segments.append(Segment(line.state, line.time, end))
        last = history[-1]
        out.append(TimelineRow(name, last.entity_type, tuple(segments), last.state))
    return tuple(out)
