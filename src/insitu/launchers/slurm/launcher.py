"""The Slurm launcher: ``srun`` steps inside an allocation, and ``sbatch`` batch jobs.

A job with batch options (``JobSpec.batch``) is one ``sbatch`` job, run by a
:class:`~insitu.launchers.batch.BatchLauncher` over :class:`SlurmScheduler` (one ``squeue``
for all batch jobs per tick; a job that left the queue is resolved from ``sacct`` where
accounting works, else from its exit file). Its
run command, if any (``srun`` …), is written into the job script. Any other job is a step
of its allocation (``alloc=`` or ``$SLURM_JOB_ID``; :mod:`~insitu.launchers.slurm.steps`).
Jobs of one ``batch_group`` are the steps of one batch job
(:mod:`~insitu.launchers.slurm.groups`).

Batch job ids are Slurm's numbers; step ids are the steps' unique names, so the two never
collide. ``shutdown`` cancels every job and step still running (the runtime calls it on
``stop``, on an exception, on Ctrl-C, SIGTERM and at interpreter exit).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from insitu.jobs.spec import JobSpec
from insitu.launchers.base import JobStatus
from insitu.launchers.batch import BatchLauncher, inline_run_command
from insitu.launchers.slurm.groups import BatchGroups
from insitu.launchers.slurm.scheduler import SacctHistory, SlurmScheduler
from insitu.launchers.slurm.steps import StepRunner, check_step
from insitu.launchers.subprocesses import DEFAULT_TIMEOUT

batch_program = inline_run_command
"""A batch ``spec`` whose ``srun …`` becomes the script's program."""


def validate_slurm(spec: JobSpec) -> None:
    """Raise for anything the Slurm launcher cannot honour (no launcher needed): a batch job's
    options and run command, or a step's run command, options and allocation
    (``AllocationError`` outside one)."""
    if spec.batch is not None and spec.batch_group is not None:
        BatchLauncher(SlurmScheduler()).validate(
            JobSpec(spec.batch_group, "sleep", cwd=spec.cwd, batch=spec.batch)
        )
        check_step(spec, in_batch=True)
    elif spec.batch is not None:
        BatchLauncher(SlurmScheduler()).validate(batch_program(spec))
    else:
        check_step(spec)


class SlurmLauncher:
    """Runs jobs on Slurm (see the module docstring)."""

    name = "slurm"

    def __init__(
        self, *, tool_timeout: float = DEFAULT_TIMEOUT, poll_interval: float = 1.0,
        cancel_grace: float = 60.0, vanish_grace: float = 30.0,
    ) -> None:  # fmt: skip
        self.steps = StepRunner(
            tool_timeout=tool_timeout, poll_interval=poll_interval, cancel_grace=cancel_grace
        )
        self.batch = BatchLauncher(
            SlurmScheduler(), tool_timeout=tool_timeout, poll_interval=poll_interval,
            cancel_grace=cancel_grace, vanish_grace=vanish_grace, history=SacctHistory(),
        )  # fmt: skip
        self.groups = BatchGroups(self.steps, self.batch)
        self._wake = threading.Event()

    def supports_batch(self) -> bool:
        """Slurm runs batch jobs (``sbatch``)."""
        return True

    def validate(self, spec: JobSpec) -> None:
        """See :func:`validate_slurm`."""
        validate_slurm(spec)

    def submit(self, spec: JobSpec) -> str:
        """Submit a batch job or start a step; returns its id."""
        if spec.batch is not None and spec.batch_group is not None:
            job_id = self.groups.submit(spec)
        elif spec.batch is not None:
            job_id = self.batch.submit(batch_program(spec))
        else:
            job_id = self.steps.submit(spec)
        self._wake.set()
        return job_id

    def poll(self, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
        """Status of each known id: steps and batch jobs, one status call each at most."""
        members = [j for j in job_ids if j in self.groups]
        step_ids = [j for j in job_ids if j in self.steps and j not in self.groups]
        batch_ids = [j for j in job_ids if j not in self.steps and j not in self.groups]
        out: dict[str, JobStatus] = dict(self.steps.poll(step_ids))
        if members:
            out.update(self.groups.poll(members))
        if batch_ids:
            out.update(self.batch.poll(batch_ids))
        return out

    def wait_for_change(self, timeout: float) -> Sequence[str] | None:
        """Wait ``timeout`` seconds, or less after a submit; any job may have changed."""
        self._wake.wait(timeout)
        self._wake.clear()
        return None

    def cancel(self, job_ids: Sequence[str]) -> None:
        """``scancel`` the jobs and steps; returns once they are gone."""
        members = [j for j in job_ids if j in self.groups]
        step_ids = [j for j in job_ids if j in self.steps and j not in self.groups]
        batch_ids = [j for j in job_ids if j not in self.steps and j not in self.groups]
        try:
            if members:
                self.groups.cancel(members)
            if step_ids:
                self.steps.cancel(step_ids)
        finally:
            if batch_ids:
                self.batch.cancel(batch_ids)
        self._wake.set()

    def seal_batch_groups(self, groups: Sequence[str]) -> None:
        """Every member of these batch groups has been submitted: their jobs are given
        back once the members have ended (see :meth:`BatchGroups.seal`)."""
        self.groups.seal(groups)

    def shutdown(self) -> None:
        """Cancel every step and batch job still running."""
        try:
            self.groups.shutdown()
            live = self.steps.live()
            if live:
                self.steps.cancel(live)
        finally:
            self.batch.shutdown()

    @property
    def status_calls(self) -> int:
        """``squeue`` calls made for step status so far (benchmarks read it)."""
        return self.steps.status_calls
