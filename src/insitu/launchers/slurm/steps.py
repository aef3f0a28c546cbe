"""Job steps in a Slurm allocation: each job is one ``srun`` run by this process.

The ``srun`` process lives as long as its step, so its exit status is the step's (Slurm's
highest task exit code, or 128+signal), seen at once and never lost when the controller has
already forgotten the step. ``squeue --steps`` adds, in **one** call for every live step of
every allocation (at most once per ``poll_interval``), whether a step waits for resources
(Queued) or runs (Running), and on which nodes. Every step gets a unique name
(``--job-name``) by which it is found there, and cancelled with ``scancel <job>.<step>``.

A node that dies while a step runs leaves that step's ``srun`` waiting for tasks that are
gone (the controller lists the step until the node returns). So one ``sinfo`` per query
(again for every step at once) names the nodes the controller holds DOWN or FAILed; a
running step on one of them is Failed, its ``srun`` killed; the other steps are unaffected.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from insitu.errors import AllocationError, LauncherError, ShellError, UnsupportedOptionError
from insitu.jobs.resources import Resources
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState
from insitu.launchers import run_commands
from insitu.launchers.base import JobStatus
from insitu.launchers.slurm import commands, parse
from insitu.launchers.subprocesses import DEFAULT_TIMEOUT, run_tool
from insitu.log import get_logger

logger = get_logger("insitu.launchers.slurm.steps")

BACKEND = "the slurm launcher"
LOG_DIR = Path(".insitu") / "slurm"
"""Where srun's own messages go, under each job's working directory."""


def allocation_of(spec: JobSpec, environ: Mapping[str, str] | None = None) -> str:
    """The allocation a step runs in: ``spec.allocation``, else ``$SLURM_JOB_ID``.

    Raises ``AllocationError`` saying how to get one when there is neither.
    """
    env = os.environ if environ is None else environ
    alloc = spec.allocation or env.get("SLURM_JOB_ID")
    if not alloc:
        raise AllocationError(
            f"{spec.name}: srun steps need a Slurm allocation, and this process is outside "
            "one (no SLURM_JOB_ID). Get one with insitu.wlm.slurm.get_allocation(nodes=...) "
            "or salloc and pass it as alloc= (or run the driver inside it), or give the "
            "entity batch settings to submit it with sbatch"
        )
    if not alloc.isdigit():
        raise AllocationError(f"{spec.name}: {alloc!r} is not a Slurm job id")
    return alloc


def step_spec(spec: JobSpec) -> JobSpec:
    """``spec`` with ``srun`` as its run command: a job without one runs as one task."""
    if spec.run_command is None:
        res = spec.resources
        if res.tasks is None and res.tasks_per_node is None:
            res = replace(res, tasks=1, nodes=res.nodes or 1)
        return replace(spec, run_command="srun", resources=res)
    if os.path.basename(spec.run_command) != "srun":
        raise UnsupportedOptionError(
            f"run_command={spec.run_command!r}", BACKEND,
            "steps run under srun (use srun --mpi=pmix for MPI programs)",
        )  # fmt: skip
    return spec


def check_step(spec: JobSpec, *, in_batch: bool = False) -> None:
    """Everything a step launch checks (pure but for the environment): the allocation
    (unless the step will run in a batch job of its own group), the run command, and that
    every option translates."""
    # Options first: a run command or option srun cannot take is wrong wherever the
    # driver runs (SmartSim's SSUnsupportedError), a missing allocation only here.
    run_commands.translate(step_spec(spec), handled=("node_index",))
    if not in_batch:
        allocation_of(spec)


def step_argv(spec: JobSpec, allocation: str, step_name: str, node_count: int | None) -> list[str]:
    """The full ``srun`` command line of a step (the program's environment is not in it)."""
    spec = step_spec(spec)
    res = spec.resources
    if res.node_index is not None:
        index = res.node_index % node_count if node_count else res.node_index
        res = replace(res, node_index=index)
    argv = run_commands.translate(replace(spec, resources=res))
    prefix = commands.step_prefix(
        allocation, step_name, str(spec.cwd.resolve()),
        None if spec.out_path is None else str(spec.out_path),
        None if spec.err_path is None else str(spec.err_path),
        overlap=True,
    )  # fmt: skip
    return [argv[0], *prefix, *argv[1:]]


def unique_name(name: str) -> str:
    """``<name>-<suffix>``: a step name unique among this process's steps."""
    suffix = base64.b32encode(os.urandom(5)).decode().lower().rstrip("=")
    return f"{name}-{suffix}"


@dataclass
class _Step:
    name: str
    allocation: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]
    state: JobState = JobState.QUEUED
    step_id: str | None = None
    host: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    returncode: int | None = None
    cancelled: bool = False
    nodes: tuple[str, ...] = ()
    node_failed: bool = False


class StepRunner:
    """The steps of one launcher (see the module docstring)."""

    def __init__(
        self, *, tool_timeout: float = DEFAULT_TIMEOUT, poll_interval: float = 1.0,
        cancel_grace: float = 30.0, term_grace: float = 5.0,
    ) -> None:  # fmt: skip
        self.tool_timeout = tool_timeout
        self.poll_interval = poll_interval
        self.cancel_grace = cancel_grace
        self.term_grace = term_grace
        self._steps: dict[str, _Step] = {}
        self._lock = threading.RLock()
        self._last_query = 0.0
        self._node_counts: dict[str, int] = {}
        self.status_calls = 0
        """How many ``squeue`` status calls were made (for tests and benchmarks)."""
        self.node_calls = 0
        """How many ``sinfo`` calls for dead nodes were made (one per status query)."""

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._steps

    def submit(self, spec: JobSpec, name: str | None = None) -> str:
        """Start ``spec`` as a step of its allocation; returns the step's name (its id):
        ``name`` if given (unique: see :func:`unique_name`), else a new one."""
        allocation = allocation_of(spec)
        name = name or unique_name(spec.name)
        argv = step_argv(spec, allocation, name, self._node_count(allocation, spec.resources))
        log_dir = spec.cwd / LOG_DIR
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / f"{name}.srun.log", "ab")  # noqa: SIM115 (kept for the step)
        try:
            proc = subprocess.Popen(
                argv, cwd=spec.cwd, env={**os.environ, **spec.env},
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        except OSError as err:
            log.close()
            raise ShellError(f"could not run srun: {err.strerror or err}", tuple(argv)) from err
        with self._lock:
            self._steps[name] = _Step(name, allocation, proc, log)
        return name

    def poll(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """Status of the named steps: exits seen at once, queue states from one ``squeue``
        call for all live steps, at most once per ``poll_interval``."""
        with self._lock:
            steps = [self._steps[j] for j in job_ids if j in self._steps]
            for step in steps:
                self._check_exit(step)
            live = [s for s in steps if not s.state.is_terminal]
            if live and time.monotonic() - self._last_query >= self.poll_interval:
                self._query(live)
            return {s.name: self._status(s) for s in steps}

    def cancel(self, job_ids: Sequence[str]) -> None:
        """Stop the steps: SIGTERM to their tasks (``scancel --signal=TERM``; to the srun of
        a step not yet placed), ``term_grace`` seconds for them to end (a store shard saves
        and exits cleanly), then ``scancel`` (SIGKILL); wait for their srun to exit, at most
        ``cancel_grace`` seconds, then kill what is left."""
        with self._lock:
            unknown = [j for j in job_ids if j not in self._steps]
            if unknown:
                raise LauncherError(f"unknown slurm step ids {unknown}")
            steps = [self._steps[j] for j in job_ids]
            live = [s for s in steps if s.proc.poll() is None]
            for step in live:
                step.cancelled = True
            if live:
                self._query(live)
        placed = [s.step_id for s in live if s.step_id]
        if placed:
            self._scancel(placed, "--signal=TERM")
        for step in live:
            if not step.step_id:
                _signal(step.proc, signal.SIGTERM)
        _wait_all([s.proc for s in live], time.monotonic() + self.term_grace)
        left = [s.step_id for s in live if s.step_id and s.proc.poll() is None]
        if left:
            self._scancel(left)
        deadline = time.monotonic() + self.cancel_grace
        for step in live:
            try:
                step.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("srun of step %s did not end after scancel; killing it", step.name)
                _signal(step.proc, signal.SIGKILL)
                step.proc.wait()
        with self._lock:
            for step in steps:
                self._check_exit(step)

    def _scancel(self, step_ids: list[str], *options: str) -> None:
        argv = commands.scancel_argv(step_ids)
        output = run_tool([argv[0], *options, *argv[1:]], timeout=self.tool_timeout, check=False)
        if not output.ok:  # often a step that ended meanwhile; the waits tell
            logger.warning("scancel %s: %s", " ".join(step_ids), output.stderr.strip())

    def live(self) -> list[str]:
        """Steps whose srun still runs."""
        with self._lock:
            return [n for n, s in self._steps.items() if s.proc.poll() is None]

    # ------------------------------------------------------------------ helpers
    def _node_count(self, allocation: str, res: Resources) -> int | None:
        """Nodes of ``allocation`` (asked once), when a step is placed by node index."""
        if res.node_index is None:
            return None
        if allocation not in self._node_counts:
            out = run_tool(
                commands.squeue_jobs_argv([allocation]), timeout=self.tool_timeout, check=False
            )
            job = parse.parse_jobs(out).get(allocation)
            if job is None or job.state != "RUNNING":
                raise AllocationError(f"Slurm allocation {allocation} is not running")
            self._node_counts[allocation] = len(parse.expand_hostlist(job.nodes)) or 1
        return self._node_counts[allocation]

    def _query(self, live: Sequence[_Step]) -> None:
        self._last_query = time.monotonic()
        allocations = sorted({s.allocation for s in live})
        self.status_calls += 1
        try:
            out = run_tool(
                commands.squeue_steps_argv(allocations), timeout=self.tool_timeout, check=False
            )
            listed = parse.parse_steps(out)
        except ShellError as err:  # a slow or failing controller: keep what we know
            logger.warning("squeue failed: %s", err)
            return
        for step in live:
            row = listed.get(step.name)
            if row is None or step.state.is_terminal:
                continue
            step.step_id = row.job_id
            state = parse.job_state(row.state)
            if state is not None and not state.is_terminal:
                step.state = state
            if step.state is JobState.RUNNING and step.start_time is None:
                step.start_time = row.start_time or time.time()
            hosts = parse.expand_hostlist(row.nodes) if row.nodes else []
            step.host = hosts[0] if hosts else step.host
            step.nodes = tuple(hosts) or step.nodes
        running = [s for s in live if s.state is JobState.RUNNING and s.nodes]
        if running:
            self._fail_steps_on_dead_nodes(running)

    def _fail_steps_on_dead_nodes(self, running: Sequence[_Step]) -> None:
        """Fail (and end) the running steps on a node the controller holds dead."""
        self.node_calls += 1
        try:
            out = run_tool(commands.sinfo_dead_nodes_argv(), timeout=self.tool_timeout)
        except ShellError as err:
            logger.warning("sinfo failed: %s", err)
            return
        dead = {name.strip() for name in out.stdout.split()}
        for step in running:
            lost = sorted(dead.intersection(step.nodes))
            if not lost or step.proc.poll() is not None:
                continue
            logger.warning("step %s: node %s died; the step failed", step.name, ", ".join(lost))
            step.node_failed = True
            if step.step_id:
                run_tool(commands.scancel_argv([step.step_id]), timeout=self.tool_timeout,
                         check=False)  # fmt: skip
            _signal(step.proc, signal.SIGKILL)  # its tasks are gone; srun would wait on
            step.proc.wait()
            self._check_exit(step)

    def _check_exit(self, step: _Step) -> None:
        if step.state.is_terminal:
            return
        code = step.proc.poll()
        if code is None:
            return
        step.log.close()
        step.returncode = code
        step.end_time = time.time()
        if step.cancelled:
            step.state = JobState.CANCELLED
        elif step.node_failed:
            step.state = JobState.FAILED
        else:
            step.state = JobState.COMPLETED if code == 0 else JobState.FAILED

    def _status(self, step: _Step) -> JobStatus:
        return JobStatus(
            step.name, step.state, step.returncode, step.start_time, step.end_time, step.host
        )


def _wait_all(procs: Sequence[subprocess.Popen[bytes]], deadline: float) -> None:
    """Wait until every process has exited or ``deadline`` (monotonic) has passed."""
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
