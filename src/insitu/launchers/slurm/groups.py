"""Batch groups: several jobs as the steps of **one** ``sbatch`` job (an Ensemble with batch
settings, a batch Orchestrator's shards).

The first member of a group submits the group's batch job: a script that only holds the
allocation (``sleep infinity``, after the user's preamble) with the group's batch options.
Members wait, Queued, until it runs; then each starts as an ``srun`` step of it (so each has
its own status, output and return code). A member whose group's job ended before it could
start is Failed (Cancelled if we cancelled it). Once the group is sealed (every member has
joined: :meth:`BatchGroups.seal`, or a member was cancelled) and every member has ended, the
group's job is cancelled, so the allocation is given back at once.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from insitu.jobs.resources import Resources
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState
from insitu.launchers.base import JobStatus
from insitu.launchers.batch import BatchLauncher
from insitu.launchers.slurm.steps import StepRunner, unique_name


def holder_spec(group: str, member: JobSpec) -> JobSpec:
    """The group's batch job: holds the allocation until cancelled."""
    assert member.batch is not None
    cwd = member.cwd
    return JobSpec(
        name=group, exe=shutil.which("sleep") or "/bin/sleep", args=("infinity",), cwd=cwd,
        out_path=cwd / f"{group}.batch.out", err_path=cwd / f"{group}.batch.err",
        batch=member.batch, resources=Resources(),
    )  # fmt: skip


@dataclass
class _Group:
    name: str
    holder: str
    members: list[str] = field(default_factory=list)
    cancelled: bool = False
    sealed: bool = False  # no member will join any more


class BatchGroups:
    """The batch groups of one Slurm launcher, over its step runner and batch launcher."""

    def __init__(self, steps: StepRunner, batch: BatchLauncher) -> None:
        self._steps = steps
        self._batch = batch
        self._groups: dict[str, _Group] = {}
        self._pending: dict[str, tuple[JobSpec, _Group]] = {}
        self._ended: dict[str, JobStatus] = {}  # members that never became steps
        self._group_of: dict[str, _Group] = {}
        self._lock = threading.RLock()

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._group_of

    def submit(self, spec: JobSpec) -> str:
        """Queue ``spec`` as a member of its group (submitting the group's job first)."""
        assert spec.batch_group is not None
        with self._lock:
            group = self._groups.get(spec.batch_group)
            if group is None or self._holder_state(group).is_terminal:
                holder = self._batch.submit(holder_spec(spec.batch_group, spec))
                group = _Group(spec.batch_group, holder)
                self._groups[spec.batch_group] = group
            member = unique_name(spec.name)
            step = replace(spec, batch=None, batch_group=None, allocation=group.holder)
            self._pending[member] = (step, group)
            group.members.append(member)
            self._group_of[member] = group
            return member

    def poll(self, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
        """Members' statuses: Queued while their group's job waits, then their step's."""
        with self._lock:
            self._advance()
            out: dict[str, JobStatus] = {}
            started = [j for j in job_ids if j in self._steps]
            out.update(self._steps.poll(started))
            for job_id in job_ids:
                if job_id in self._pending:
                    out[job_id] = JobStatus(job_id, JobState.QUEUED)
                elif job_id in self._ended:
                    out[job_id] = self._ended[job_id]
            self._release_finished()
            return out

    def cancel(self, job_ids: Sequence[str]) -> None:
        """Cancel members (started ones through their step); a group whose members all
        ended has its job cancelled."""
        with self._lock:
            for job_id in job_ids:
                group = self._group_of.get(job_id)
                if group is not None:
                    group.sealed = True  # a stopped group takes no new members
                if self._pending.pop(job_id, None) is not None:
                    self._ended[job_id] = JobStatus(job_id, JobState.CANCELLED)
            started = [j for j in job_ids if j in self._steps]
        if started:
            self._steps.cancel(started)
        with self._lock:
            self._release_finished()

    def seal(self, groups: Sequence[str]) -> None:
        """No member will join these groups any more: give their jobs back once every
        member has ended (now, if they all have). Unknown names are ignored."""
        with self._lock:
            for name in groups:
                group = self._groups.get(name)
                if group is not None:
                    group.sealed = True
            self._release_finished()

    def shutdown(self) -> None:
        """Cancel every member still pending (steps and batch jobs are the caller's)."""
        with self._lock:
            for job_id in list(self._pending):
                self._pending.pop(job_id)
                self._ended[job_id] = JobStatus(job_id, JobState.CANCELLED)

    # ---------------------------------------------------------------- helpers
    def _holder_state(self, group: _Group) -> JobState:
        status = self._batch.poll([group.holder]).get(group.holder)
        return JobState.FAILED if status is None else status.state

    def _advance(self) -> None:
        """Start the pending members of running groups; fail those of ended groups."""
        for job_id, (spec, group) in list(self._pending.items()):
            state = self._holder_state(group)
            if state is JobState.RUNNING:
                del self._pending[job_id]
                self._steps.submit(spec, name=job_id)
            elif state.is_terminal:
                del self._pending[job_id]
                ended = JobState.CANCELLED if group.cancelled else JobState.FAILED
                self._ended[job_id] = JobStatus(job_id, ended)

    def _release_finished(self) -> None:
        """Cancel the job of every sealed group whose members have all ended."""
        for group in list(self._groups.values()):
            if not group.sealed:
                continue
            if group.cancelled or any(m in self._pending for m in group.members):
                continue
            if any(m in self._steps.live() for m in group.members):
                continue
            group.cancelled = True
            if not self._holder_state(group).is_terminal:
                self._batch.cancel([group.holder])
            del self._groups[group.name]
