"""The Launcher protocol: the seam between the runtime and a workload manager."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState


@dataclass(frozen=True)
class JobStatus:
    """What a launcher reports about one job at one moment.

    ``start_time``/``end_time`` are epoch seconds when known; ``host`` is the host the job
    runs on (for a job on several nodes, its first), when the launcher knows it.
    """

    job_id: str
    state: JobState
    returncode: int | None = None
    start_time: float | None = None
    end_time: float | None = None
    host: str | None = None


class Launcher(Protocol):
    """Starts, observes and stops jobs described by :class:`JobSpec`.

    Contract: ``validate`` raises ``UnsupportedOptionError`` for anything ``submit`` could
    not honour, before anything starts. ``submit`` returns a job id unique within this
    launcher. ``poll`` answers for many ids in one call (batched status). ``cancel`` ends
    jobs and all their processes (grace period, then force) and returns once it is gone.
    ``wait_for_change`` lets the monitor sleep until something happens (a scheduler
    launcher simply waits ``timeout``). ``shutdown`` cancels every job still running.
    """

    name: str

    def validate(self, spec: JobSpec) -> None: ...

    def submit(self, spec: JobSpec) -> str: ...

    def poll(self, job_ids: Sequence[str]) -> Mapping[str, JobStatus]: ...

    def wait_for_change(self, timeout: float) -> Sequence[str] | None:
        """Block until a job may have changed state or ``timeout`` seconds pass.

        Returns the ids of the jobs that changed, when the launcher knows them (so the
        monitor polls only those), or ``None`` when any job may have changed.
        """

    def cancel(self, job_ids: Sequence[str]) -> None: ...

    def shutdown(self) -> None: ...

    def supports_batch(self) -> bool: ...
