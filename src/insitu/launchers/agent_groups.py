"""Batch groups on PBS and LSF: several jobs as the steps of **one** batch job (an Ensemble
with batch settings, a batch Orchestrator's shards), as :mod:`insitu.launchers.slurm.groups`
does on Slurm.

These schedulers cannot start a step inside a job from outside it (Slurm's
``srun --jobid``), so the group's batch job runs :mod:`insitu.launchers.step_agent`, and the
driver hands it each member through a file in the job's spool directory (on the shared file
system). The agent starts each member with its run command (``mpiexec``/``aprun`` on PBS,
``jsrun`` on LSF) and records its start and exit status there, so every member has its own
status, output and return code. The first member of a group submits the group's job;
members may join while it is queued or running. A member is Queued until the agent has
started it, Running until its exit status is written, then Completed or Failed by its
return code; a member whose group's job ended without running it is Failed (Cancelled if we
cancelled it). Once the group is *sealed* (its submitter says every member has joined:
:meth:`AgentGroups.seal`, or a member was cancelled) and every member has ended, the group's
job is cancelled, so the allocation is given back at once. Without the seal a quick member
could end before the next one joins, and the job would be given back too early.

Status costs no scheduler call of its own: the group jobs are asked about in the launcher's
one status call per tick, and the members' files are read from the shared file system.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from insitu._files import write_private
from insitu.jobs.resources import Resources
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState
from insitu.launchers.base import JobStatus
from insitu.launchers.batch import SCRIPT_DIR, BatchLauncher

MEMBER_PREFIX = "member-"
"""Member ids are ``member-<name>-<suffix>``: never a scheduler's job id nor a step id."""


def agent_spec(group: str, member: JobSpec, spool: Path) -> JobSpec:
    """The group's batch job: the step agent over ``spool``, with the group's options."""
    assert member.batch is not None
    cwd = member.cwd
    return JobSpec(
        name=group, exe=sys.executable, args=("-m", "insitu.launchers.step_agent", str(spool)),
        cwd=cwd, out_path=cwd / f"{group}.batch.out", err_path=cwd / f"{group}.batch.err",
        batch=member.batch, resources=Resources(),
    )  # fmt: skip


def member_order(spec: JobSpec, argv: Sequence[str]) -> str:
    """What the agent reads to start ``spec`` as ``argv`` (JSON; holds its environment)."""
    cwd = spec.cwd.resolve()
    return json.dumps(
        {
            "argv": list(argv),
            "cwd": str(cwd),
            "env": dict(spec.env),
            "out": str(spec.out_path or cwd / f"{spec.name}.out"),
            "err": str(spec.err_path or cwd / f"{spec.name}.err"),
            "node_index": spec.resources.node_index,
        }
    )


def member_status(
    member: str, spool: Path, group_state: JobState, cancelled: bool
) -> JobStatus | None:
    """A member's status from the agent's files and its group job's state; ``None`` while
    nothing is known yet (its group job was never seen)."""
    code = _read_int(spool / f"{member}.rc")
    start = _read_start(spool / f"{member}.start")
    host = start.get("host") if start is not None else None
    host = host if isinstance(host, str) else None
    started = start.get("time") if start is not None else None
    started = float(started) if isinstance(started, int | float) else None
    if code is not None:
        ended = _mtime(spool / f"{member}.rc")
        if cancelled:
            state = JobState.CANCELLED
        else:
            state = JobState.COMPLETED if code == 0 else JobState.FAILED
        return JobStatus(member, state, code, started or ended, ended, host)
    if group_state.is_terminal:
        # The job ended (cancelled, walltime, node failure) without recording this member.
        state = JobState.CANCELLED if cancelled else JobState.FAILED
        return JobStatus(member, state, None, started, time.time(), host)
    if start is not None:
        return JobStatus(member, JobState.RUNNING, None, started, None, host)
    return JobStatus(member, JobState.QUEUED)


@dataclass
class _Group:
    name: str
    job: str
    spool: Path
    members: list[str] = field(default_factory=list)
    sealed: bool = False  # no member will join any more
    released: bool = False


@dataclass
class _Member:
    group: _Group
    status: JobStatus
    cancelled: bool = False


class AgentGroups:
    """The batch groups of one PBS or LSF launcher, over its batch launcher.

    ``step_argv`` turns a member's spec into the command the agent runs (its run command's
    translation); ``cancel_grace`` bounds how long :meth:`cancel` waits for members to end.
    """

    def __init__(
        self,
        batch: BatchLauncher,
        step_argv: Callable[[JobSpec], list[str]],
        *,
        cancel_grace: float = 60.0,
    ) -> None:
        self._batch = batch
        self._step_argv = step_argv
        self._cancel_grace = cancel_grace
        self._groups: dict[str, _Group] = {}
        self._members: dict[str, _Member] = {}
        self._lock = threading.RLock()

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._members

    def jobs(self) -> list[str]:
        """The batch job ids of the groups not yet released."""
        with self._lock:
            return [g.job for g in self._groups.values() if not g.released]

    def submit(self, spec: JobSpec) -> str:
        """Hand ``spec`` to its group's agent (submitting the group's job first)."""
        assert spec.batch_group is not None
        with self._lock:
            group = self._groups.get(spec.batch_group)
            if group is None or group.released or self._job_state(group).is_terminal:
                spool = spec.cwd.resolve() / SCRIPT_DIR / f"{spec.batch_group}.{_suffix()}.steps"
                spool.mkdir(parents=True, mode=0o700)
                job = self._batch.submit(agent_spec(spec.batch_group, spec, spool))
                group = _Group(spec.batch_group, job, spool)
                self._groups[spec.batch_group] = group
            member = f"{MEMBER_PREFIX}{spec.name}-{_suffix()}"
            order = group.spool / f"{member}.json"
            partial = order.with_name(order.name + ".part")
            write_private(partial, member_order(spec, self._step_argv(spec)))
            partial.replace(order)
            group.members.append(member)
            self._members[member] = _Member(group, JobStatus(member, JobState.QUEUED))
            return member

    def poll(
        self, job_ids: Sequence[str], jobs: Mapping[str, JobStatus]
    ) -> Mapping[str, JobStatus]:
        """Members' statuses, given ``jobs``: the statuses of their group jobs (from the
        launcher's one status call this tick)."""
        with self._lock:
            out: dict[str, JobStatus] = {}
            for job_id in job_ids:
                record = self._members.get(job_id)
                if record is None:
                    continue
                if not record.status.state.is_terminal:
                    job = jobs.get(record.group.job)
                    state = JobState.QUEUED if job is None else job.state
                    found = member_status(job_id, record.group.spool, state, record.cancelled)
                    if found is not None:
                        record.status = found
                out[job_id] = record.status
            self._release_finished()
            return out

    def cancel(self, job_ids: Sequence[str]) -> None:
        """Ask the agent to end these members and wait until it has (or their job ended);
        a group whose members all ended has its job cancelled."""
        with self._lock:
            live = [
                j for j in job_ids
                if j in self._members and not self._members[j].status.state.is_terminal
            ]  # fmt: skip
            for job_id in live:
                record = self._members[job_id]
                record.cancelled = True
                record.group.sealed = True  # a stopped group takes no new members
                write_private(record.group.spool / f"{job_id}.cancel", "")
        deadline = time.monotonic() + self._cancel_grace
        while live:
            with self._lock:
                jobs = self._batch.poll(list({self._members[j].group.job for j in live}))
                self.poll(live, jobs)
                live = [j for j in live if not self._members[j].status.state.is_terminal]
                if live and all(self._not_started(j, jobs) for j in live):
                    # Their job has not started: the agent will never start them.
                    for job_id in live:
                        self._members[job_id].status = JobStatus(job_id, JobState.CANCELLED)
                    live = []
            if live and time.monotonic() >= deadline:
                break  # the group job's cancel below ends them
            if live:
                time.sleep(0.1)
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
        """Cancel every member still live (their group jobs are the caller's)."""
        with self._lock:
            live = [j for j, m in self._members.items() if not m.status.state.is_terminal]
            for job_id in live:
                record = self._members[job_id]
                record.cancelled = True
                record.status = JobStatus(job_id, JobState.CANCELLED, None, None, time.time())

    # ---------------------------------------------------------------- helpers
    def _job_state(self, group: _Group) -> JobState:
        status = self._batch.poll([group.job]).get(group.job)
        return JobState.FAILED if status is None else status.state

    def _not_started(self, member: str, jobs: Mapping[str, JobStatus]) -> bool:
        record = self._members[member]
        job = jobs.get(record.group.job)
        return (
            job is not None
            and job.state is JobState.QUEUED
            and not (record.group.spool / f"{member}.start").exists()
        )

    def _release_finished(self) -> None:
        """Cancel the job of every sealed group whose members have all ended."""
        for group in list(self._groups.values()):
            if group.released or not group.sealed:
                continue
            if any(not self._members[m].status.state.is_terminal for m in group.members):
                continue
            group.released = True
            if not self._job_state(group).is_terminal:
                self._batch.cancel([group.job])


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _read_start(path: Path) -> dict[str, object] | None:
    try:
        found = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return time.time()
