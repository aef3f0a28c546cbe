"""JobEvent: a state change of one job, as emitted by the runtime's monitor."""

from __future__ import annotations

from dataclasses import dataclass

from insitu.jobs.status import JobState


@dataclass(frozen=True)
class JobEvent:
    """One observed state change.

    ``time`` is wall-clock seconds since the epoch when the change was observed;
    ``returncode`` is set once the job has ended (negative: killed by that signal).
    ``host`` names where the job runs, when its launcher reports it (``None`` otherwise,
    e.g. for the ``submit`` event of a job that has not been placed yet).
    ``kind`` is the rules-engine vocabulary: ``submit``, ``start``, ``finish``, ``success``,
    ``failure``, ``cancel``; ``finish`` is not emitted separately — a terminal event's
    ``kind`` is one of ``success``/``failure``/``cancel`` and implies finish.
    """

    job_id: str
    name: str
    entity_type: str
    previous: JobState
    state: JobState
    time: float
    returncode: int | None = None
    host: str | None = None

    @property
    def kind(self) -> str:
        """The event name used by rules (``submit``, ``start``, ``success`` …)."""
        return EVENT_KINDS.get(self.state, self.state.value.lower())


EVENT_KINDS: dict[JobState, str] = {
    JobState.STATUS_QUEUED: "submit",
    JobState.STATUS_RUNNING: "start",
    JobState.STATUS_COMPLETED: "success",
    JobState.STATUS_FAILED: "failure",
    JobState.STATUS_CANCELLED: "cancel",
    JobState.STATUS_NEVER_STARTED: "failure",
}
"""Rules-engine event name of each state a job can enter (New and Paused have none)."""
