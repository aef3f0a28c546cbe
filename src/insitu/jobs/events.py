"""JobEvent: a state change of one job, as emitted by the runtime's monitor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from insitu.jobs.entity_types import EntityType
from insitu.jobs.status import JobState

# A Literal, not an Enum: these are the rules engine's ``job-<kind>`` words, which rules files
# spell and events carry as plain strings (see insitu.rules.model).
JobEventKind = Literal["submit", "start", "success", "failure", "cancel"]
"""What a state change means to the rules engine (every state but New and Paused has one)."""


@dataclass(frozen=True)
class JobEvent:
    """One observed state change.

    ``time`` is wall-clock seconds since the epoch when the change was observed;
    ``returncode`` is set once the job has ended (negative: killed by that signal).
    ``host`` names where the job runs, when its launcher reports it (``None`` otherwise,
    e.g. for the ``submit`` event of a job that has not been placed yet).
    ``out_path``/``err_path`` name the files of the job's stdout/stderr on its submit event
    (``None`` on later events, and when not known).
    ``kind`` is the rules-engine vocabulary: ``submit``, ``start``, ``finish``, ``success``,
    ``failure``, ``cancel``; ``finish`` is not emitted separately — a terminal event's
    ``kind`` is one of ``success``/``failure``/``cancel`` and implies finish.
    """

    job_id: str
    name: str
    entity_type: EntityType
    previous: JobState
    state: JobState
    time: float
    returncode: int | None = None
    host: str | None = None
    out_path: str | None = None
    err_path: str | None = None

    @property
    def kind(self) -> JobEventKind | Literal["new", "paused"]:
        """The event name used by rules (``submit``, ``start``, ``success`` …).

        A state no rule triggers on (New, Paused) gives its own name, lowercased.
        """
        kind = EVENT_KINDS.get(self.state)
        if kind is not None:
            return kind
        return "paused" if self.state is JobState.PAUSED else "new"


EVENT_KINDS: dict[JobState, JobEventKind] = {
    JobState.QUEUED: "submit",
    JobState.RUNNING: "start",
    JobState.COMPLETED: "success",
    JobState.FAILED: "failure",
    JobState.CANCELLED: "cancel",
    JobState.NEVER_STARTED: "failure",
}
"""Rules-engine event name of each state a job can enter (New and Paused have none)."""
