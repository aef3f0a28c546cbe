"""A launcher for a batch scheduler whose steps are started by a run command of the driver
(PBS Pro with ``mpiexec``/``aprun``, PALS, LSF with ``jsrun``): SmartSim's model for these
schedulers.

A job with batch options is one batch job of ``scheduler``, run by a
:class:`~insitu.launchers.batch.BatchLauncher` (its run command, if any, written into the job
script, see :func:`~insitu.launchers.batch.inline_run_command`). Any other job is a *step*
of the allocation the driver runs in (the scheduler sets ``allocation_var``: ``PBS_JOBID``,
``LSB_JOBID``): a child process of the driver running the job's run command
(``mpiexec -n 4 …``), which places the ranks on the allocation's nodes. Outside an
allocation a step is refused with ``AllocationError`` saying how to get one.

Jobs of one ``batch_group`` (an Ensemble with batch settings, a batch Orchestrator's
shards) are the steps of **one** batch job, run inside it by the step agent
(:mod:`~insitu.launchers.agent_groups`), each with its own status. Step ids are
``step-<pid>``, member ids ``member-<name>-<suffix>``, never a scheduler's job id.
``shutdown`` cancels every batch job and step still running.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from insitu.errors import AllocationError, UnsupportedOptionError
from insitu.jobs.spec import JobSpec
from insitu.launchers import run_commands
from insitu.launchers.agent_groups import AgentGroups, agent_spec
from insitu.launchers.base import JobStatus
from insitu.launchers.batch import BatchLauncher, Scheduler, inline_run_command
from insitu.launchers.local import LocalLauncher, local_argv
from insitu.launchers.subprocesses import DEFAULT_TIMEOUT

STEP_PREFIX = "step-"

_HANDLED = ("walltime",)
"""Resources a step's run command need not express: the runtime's monitor enforces walltime."""


def _batch_job(spec: JobSpec) -> JobSpec:
    """The batch job that runs ``spec`` alone (its run command written into the script)."""
    return inline_run_command(spec)


def step_argv(spec: JobSpec) -> list[str]:
    """A step's command line: its run command's (``mpiexec -n 4 prog``), or the program."""
    if spec.run_command is None:
        return local_argv(spec)
    return run_commands.translate(spec, handled=_HANDLED)


class AllocatedLauncher:
    """Batch jobs of one scheduler, and steps in its allocation (see the module docstring).

    ``run_commands``: the run commands a step may use (registry names: ``pals``, ``jsrun``,
    ``mpiexec`` …); a step without one runs its program once on the driver's node.
    """

    def __init__(
        self,
        name: str,
        scheduler: Scheduler,
        *,
        allocation_var: str,
        run_commands: Sequence[str],
        tool_timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = 1.0,
        cancel_grace: float = 60.0,
        vanish_grace: float = 30.0,
    ) -> None:
        self.name = name
        self.allocation_var = allocation_var
        self.run_commands = tuple(run_commands)
        self.batch = BatchLauncher(
            scheduler, tool_timeout=tool_timeout, poll_interval=poll_interval,
            cancel_grace=cancel_grace, vanish_grace=vanish_grace,
        )  # fmt: skip
        self.steps = LocalLauncher(argv=step_argv)
        self.groups = AgentGroups(self.batch, step_argv, cancel_grace=cancel_grace)
        self._step_ids: dict[str, str] = {}  # our step id -> the local launcher's id

    def supports_batch(self) -> bool:
        """Batch jobs go to the scheduler."""
        return True

    def validate(self, spec: JobSpec) -> None:
        """Everything :meth:`submit` checks, before anything starts."""
        if spec.batch is not None and spec.batch_group is not None:
            self.batch.validate(agent_spec(spec.batch_group, spec, spec.cwd))
            self._check_step(spec, in_batch=True)
            return
        if spec.batch is not None:
            self.batch.validate(_batch_job(spec))
            return
        self._check_step(spec)

    def submit(self, spec: JobSpec) -> str:
        """Submit a batch job, hand a group member to its group's job, or start a step in
        this allocation; returns its id."""
        if spec.batch is not None and spec.batch_group is not None:
            self._check_step(spec, in_batch=True)
            job_id = self.groups.submit(spec)
            self.batch.wake()  # the monitor polls the new member soon
            return job_id
        if spec.batch is not None:
            return self.batch.submit(_batch_job(spec))
        self._check_step(spec)
        inner = self.steps.submit(spec)
        job_id = f"{STEP_PREFIX}{inner}"
        self._step_ids[job_id] = inner
        return job_id

    def poll(self, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
        """Steps from their processes; batch jobs from one status call for all of them."""
        steps = [j for j in job_ids if j in self._step_ids]
        members = [j for j in job_ids if j in self.groups]
        batch = [j for j in job_ids if j not in self._step_ids and j not in self.groups]
        out: dict[str, JobStatus] = {}
        polled = self.steps.poll([self._step_ids[j] for j in steps])
        for job_id in steps:
            status = polled.get(self._step_ids[job_id])
            if status is not None:
                out[job_id] = JobStatus(
                    job_id, status.state, status.returncode, status.start_time,
                    status.end_time, status.host,
                )  # fmt: skip
        group_jobs = self.groups.jobs() if members else []
        # One status call for batch jobs and group jobs alike.
        jobs = self.batch.poll([*batch, *group_jobs]) if batch or group_jobs else {}
        out.update({j: jobs[j] for j in batch if j in jobs})
        if members:
            out.update(self.groups.poll(members, jobs))
        return out

    def wait_for_change(self, timeout: float) -> Sequence[str] | None:
        """Wait for a step to exit (at most the batch poll interval while steps exist, so
        batch jobs are still asked about), or for a batch submit/cancel; poll everything."""
        if not self._step_ids:
            return self.batch.wait_for_change(timeout)
        self.steps.wait_for_change(min(timeout, self.batch.poll_interval))
        return None

    def cancel(self, job_ids: Sequence[str]) -> None:
        """Stop steps (SIGTERM, then SIGKILL) and cancel batch jobs; returns once ended."""
        steps = [self._step_ids[j] for j in job_ids if j in self._step_ids]
        members = [j for j in job_ids if j in self.groups]
        batch = [j for j in job_ids if j not in self._step_ids and j not in self.groups]
        try:
            if steps:
                self.steps.cancel(steps)
            if members:
                self.groups.cancel(members)
        finally:
            if batch:
                self.batch.cancel(batch)

    def seal_batch_groups(self, groups: Sequence[str]) -> None:
        """Every member of these batch groups has been submitted: their jobs are given
        back once the members have ended (see :meth:`AgentGroups.seal`)."""
        self.groups.seal(groups)

    def shutdown(self) -> None:
        """Cancel every step, group member and batch job still running."""
        try:
            self.steps.shutdown()
            self.groups.shutdown()
        finally:
            self.batch.shutdown()

    def _check_step(self, spec: JobSpec, *, in_batch: bool = False) -> None:
        """Raise for a step this launcher could not start; ``in_batch``: a member of a
        group's batch job (it needs no allocation of the driver's)."""
        backend = f"the {self.name} launcher"
        if spec.run_command is not None:
            name = os.path.basename(spec.run_command)
            if name not in self.run_commands and not any(
                run_commands.REGISTRY[c].program == name for c in self.run_commands
            ):
                raise UnsupportedOptionError(
                    f"run_command={spec.run_command!r}", backend,
                    f"steps run under {', '.join(self.run_commands)}",
                )  # fmt: skip
            run_commands.translate(spec, handled=_HANDLED)
        elif spec.mpmd or spec.run_args:
            raise UnsupportedOptionError("run_args", backend, "there is no run command")
        if in_batch:
            if spec.allocation is not None:
                raise UnsupportedOptionError(
                    "alloc", backend, "a member of a batch group runs in the group's job"
                )
            return
        if spec.allocation is None and not os.environ.get(self.allocation_var):
            raise AllocationError(
                f"{spec.name}: steps of the {self.name} launcher run inside a {self.name} job, "
                f"and this process is outside one (no {self.allocation_var}). Run the driver "
                "inside an interactive or batch job, or give the entity batch settings to "
                f"submit it with {self.batch.scheduler.batch_command}"
            )
