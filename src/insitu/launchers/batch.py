"""BatchLauncher: one Launcher over any batch scheduler's CLI, through a pure per-scheduler
protocol (psij-python's ``BatchSchedulerExecutor`` with per-scheduler hooks is the model).

A :class:`Scheduler` knows only how to *spell* things: the directives of a job script, the
submit command and how to read the job id it prints, one status command for many jobs and
how to read its output, the cancel command, and a table from its own state names to
:class:`~insitu.jobs.JobState`. It does no I/O, so it is tested on captured output.

:class:`BatchLauncher` does the rest, the same for every scheduler: it writes each job's
script (:func:`render_script`, private: it holds the job's environment), runs the scheduler's
tools through :mod:`insitu.launchers.subprocesses`, asks for the status of every job it
watches in **one** status call (at most once per ``poll_interval``), and decides each job's
state with :func:`resolve_state`. The script records the program's exit status in a file
next to it, so a job that has left the scheduler's queue (schedulers forget finished jobs)
is still resolved to Completed or Failed with its return code; one that left without
writing it is Failed once ``vanish_grace`` has passed. Every job is one batch job (no job
arrays), so one id maps to one run.
"""

from __future__ import annotations

import shlex
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from insitu._files import write_private
from insitu.errors import LauncherError, ShellError, UnsupportedOptionError
from insitu.jobs.resources import Resources
from insitu.jobs.spec import BatchSpec, JobSpec
from insitu.jobs.status import JobState
from insitu.launchers.base import JobStatus
from insitu.launchers.subprocesses import DEFAULT_TIMEOUT, ToolOutput, run_tool
from insitu.log import get_logger

logger = get_logger("insitu.launchers.batch")

SCRIPT_DIR = Path(".insitu") / "batch"
"""Where job scripts and exit-status files go, under each job's working directory."""


@dataclass(frozen=True)
class BatchJob:
    """One job as a scheduler sees it: what its directives describe."""

    name: str
    cwd: Path
    out_path: Path
    err_path: Path
    batch: BatchSpec


@dataclass(frozen=True)
class NativeStatus:
    """One job in a scheduler's status output: its state in the scheduler's own words, and
    what else the scheduler said (``None``: not reported)."""

    state: str
    returncode: int | None = None
    start_time: float | None = None
    end_time: float | None = None


class Scheduler(Protocol):
    """The pure hooks of one batch scheduler (no I/O; see the module docstring).

    ``name`` is the launcher name; ``batch_command`` the submit command a
    :class:`BatchSpec` names (``sbatch``); ``states`` maps every native state to a
    :class:`JobState`. ``directives`` may raise ``UnsupportedOptionError`` for batch options
    the scheduler cannot express. ``parse_submit`` returns the job id or raises
    ``ShellError``. ``parse_status`` receives the status command's whole output, including a
    non-zero exit (some schedulers fail when every job asked for has finished), and returns
    what it lists, or raises ``ShellError`` when the output is a real failure.
    """

    name: str
    batch_command: str
    states: Mapping[str, JobState]

    def directives(self, job: BatchJob) -> list[str]: ...

    def submit_argv(self, script: Path) -> list[str]: ...

    def parse_submit(self, output: ToolOutput) -> str: ...

    def status_argv(self, job_ids: Sequence[str]) -> list[str]: ...

    def parse_status(self, output: ToolOutput) -> Mapping[str, NativeStatus]: ...

    def cancel_argv(self, job_ids: Sequence[str]) -> list[str]: ...


class History(Protocol):
    """A scheduler's record of ended jobs, asked about jobs its status command no longer
    lists (Slurm's ``sacct``; pure hooks as :class:`Scheduler`'s). ``parse`` raises
    ``ShellError`` when the output is a failure (accounting not configured …)."""

    def argv(self, job_ids: Sequence[str]) -> list[str]: ...

    def parse(self, output: ToolOutput) -> Mapping[str, NativeStatus]: ...


# ------------------------------------------------------------------------------ pure core
def inline_run_command(spec: JobSpec) -> JobSpec:
    """A batch ``spec`` whose run command (``srun -n 4 …``, ``mpiexec …``) becomes the job
    script's program, so the job runs it once on its first node (walltime stays a batch
    option)."""
    from insitu.launchers import run_commands  # the translators import the registry

    if spec.run_command is None:
        return spec
    argv = run_commands.translate(spec, handled=("walltime",))
    return replace(
        spec, exe=argv[0], args=tuple(argv[1:]), run_command=None, run_args=(), mpmd=(),
        resources=Resources(walltime=spec.resources.walltime),
    )  # fmt: skip


def check_spec(spec: JobSpec, scheduler: Scheduler) -> None:
    """Raise ``UnsupportedOptionError`` for anything a batch job of ``scheduler`` running
    ``spec``'s program once could not honour (placement belongs on the batch options)."""
    backend = f"the {scheduler.name} launcher"
    if spec.run_command or spec.run_args or spec.mpmd:
        option = "run_command" if spec.run_command else "run_args" if spec.run_args else "MPMD"
        raise UnsupportedOptionError(
            option, backend, "a batch job runs its program directly (no run command yet)"
        )
    if spec.allocation is not None:
        raise UnsupportedOptionError(
            "alloc", backend, "every job is its own batch job, not a step of an allocation"
        )
    res = spec.resources
    for option in ("nodes", "tasks", "tasks_per_node"):
        value = getattr(res, option)
        if value is not None and value > 1:
            raise UnsupportedOptionError(
                f"{option}={value}", backend, "the program runs once; set nodes on the batch"
            )
    # walltime is enforced by the runtime's monitor, whatever the launcher.
    for option in ("cpus_per_task", "hosts", "cpu_pinning", "gpus_per_task"):
        value = getattr(res, option)
        if value not in (None, ()):
            raise UnsupportedOptionError(
                f"{option}={value!r}", backend, "set placement through the batch options"
            )
    batch = spec.batch
    if batch is not None and batch.batch_cmd not in ("", scheduler.batch_command):
        raise UnsupportedOptionError(
            f"batch_cmd={batch.batch_cmd!r}", backend, f"it submits with {scheduler.batch_command}"
        )


def render_script(spec: JobSpec, job: BatchJob, scheduler: Scheduler, exit_file: Path) -> str:
    """The job script: shebang, directives, preamble, working directory, environment, the
    program, then its exit status written (atomically) to ``exit_file``."""
    lines = ["#!/bin/sh", *scheduler.directives(job), *job.batch.preamble]
    lines.append(f"cd {shlex.quote(str(job.cwd))} || exit 1")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(spec.env.items())]
    lines.append(shlex.join(spec.argv))
    partial = exit_file.with_name(exit_file.name + ".part")
    lines.append(
        f'rc=$?; echo "$rc" > {shlex.quote(str(partial))} && '
        f"mv {shlex.quote(str(partial))} {shlex.quote(str(exit_file))}; exit $rc"
    )
    return "\n".join(lines) + "\n"


def resolve_state(
    native: NativeStatus | None,
    states: Mapping[str, JobState],
    exit_code: int | None,
    cancelled: bool,
) -> tuple[JobState, int | None] | None:
    """A job's state and return code from what the scheduler and its exit file say.

    ``native`` is the job's line of status output (``None``: not listed); ``exit_code`` the
    content of its exit file (``None``: not written). Returns ``None`` when nothing can be
    said: a native state missing from ``states``, or a job that is not listed and left no
    exit status (just submitted, or vanished: the caller decides). A job we cancelled ends
    Cancelled; a finished job with a non-zero return code is Failed, whatever the scheduler
    called it (SmartSim's rule).
    """
    if native is not None:
        state = states.get(native.state)
        if state is None:
            return None
        if not state.is_terminal:
            return state, None
        code = native.returncode if native.returncode is not None else exit_code
    elif exit_code is not None:
        state, code = JobState.COMPLETED, exit_code
    elif cancelled:
        return JobState.CANCELLED, None
    else:
        return None
    if cancelled:
        return JobState.CANCELLED, code
    if state is JobState.COMPLETED and code not in (None, 0):
        return JobState.FAILED, code
    return state, code


# ------------------------------------------------------------------------------ I/O shell
@dataclass
class _Watched:
    script: Path
    exit_file: Path
    status: JobStatus
    checked: float = 0.0  # monotonic time of the last status answer
    missing_since: float | None = None
    cancelled: bool = False


class BatchLauncher:
    """Runs every job as one batch job of ``scheduler`` (see the module docstring).

    ``tool_timeout`` bounds each scheduler command; ``poll_interval`` is the least time
    between two status queries of a job (the scheduler's controller is shared);
    ``cancel_grace`` how long :meth:`cancel` waits for jobs to end; ``vanish_grace`` how
    long a job may be missing from the status output without an exit status before it
    counts as Failed. ``history`` (Slurm's ``sacct``) is asked, in one call, about the jobs
    the status output no longer lists and that left no exit status; the first time it
    fails (no accounting database: ``sacct`` is installed but cannot answer) it is never
    asked again, and those jobs are resolved as without it.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        tool_timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = 2.0,
        cancel_grace: float = 60.0,
        vanish_grace: float = 30.0,
        history: History | None = None,
    ) -> None:
        self.name = scheduler.name
        self.scheduler = scheduler
        self.history = history
        self.history_usable: bool | None = None
        """Whether ``history`` answers: ``None`` until first asked, then ``False`` for
        good once it failed before ever answering."""
        self.history_calls = 0
        self.tool_timeout = tool_timeout
        self.poll_interval = poll_interval
        self.cancel_grace = cancel_grace
        self.vanish_grace = vanish_grace
        self._jobs: dict[str, _Watched] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()

    def supports_batch(self) -> bool:
        """Every job of this launcher is a batch job."""
        return True

    def validate(self, spec: JobSpec) -> None:
        """Everything :meth:`submit` checks, without writing or running anything."""
        check_spec(spec, self.scheduler)
        self.scheduler.directives(_batch_job(spec))

    def submit(self, spec: JobSpec) -> str:
        """Write the job script and submit it; returns the scheduler's job id.

        A refusal by the scheduler raises ``ShellError`` with its command and stderr.
        """
        job = _batch_job(spec)
        directory = spec.cwd / SCRIPT_DIR
        directory.mkdir(parents=True, exist_ok=True)
        stem = f"{spec.name}.{uuid.uuid4().hex[:8]}"
        script, exit_file = directory / f"{stem}.sh", directory / f"{stem}.rc"
        write_private(script, render_script(spec, job, self.scheduler, exit_file))
        output = self._run(self.scheduler.submit_argv(script))
        job_id = self.scheduler.parse_submit(output)
        status = JobStatus(job_id, JobState.QUEUED)
        with self._lock:
            if job_id in self._jobs:
                raise LauncherError(f"{self.name} reused job id {job_id} for {spec.name}")
            self._jobs[job_id] = _Watched(script, exit_file, status)
        self._wake.set()
        return job_id

    def poll(self, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
        """Status of each known id, from one status call for those not asked about within
        ``poll_interval`` (unknown ids are left out)."""
        with self._lock:
            self._refresh([j for j in job_ids if j in self._jobs], force=False)
            return {j: self._jobs[j].status for j in job_ids if j in self._jobs}

    def wait_for_change(self, timeout: float) -> Sequence[str] | None:
        """Wait ``timeout`` seconds, or less after a submit or cancel; any job may have
        changed (``None``): schedulers do not push events."""
        self._wake.wait(timeout)
        self._wake.clear()
        return None

    def wake(self) -> None:
        """End a :meth:`wait_for_change` now (something was handed to a job)."""
        self._wake.set()

    def cancel(self, job_ids: Sequence[str]) -> None:
        """Cancel the jobs and return once the scheduler reports them ended.

        Raises ``LauncherError`` for ids this launcher did not submit, and ``ShellError``
        (with the cancel command's stderr) when jobs are still there after ``cancel_grace``.
        """
        with self._lock:
            unknown = [j for j in job_ids if j not in self._jobs]
            if unknown:
                raise LauncherError(f"unknown {self.name} job ids {unknown}")
            live = [j for j in job_ids if not self._jobs[j].status.state.is_terminal]
            for job_id in live:
                self._jobs[job_id].cancelled = True
        if not live:
            return
        # A failed cancel is often a job that ended meanwhile; the wait below tells.
        output = self._run(self.scheduler.cancel_argv(live), check=False)
        deadline = time.monotonic() + self.cancel_grace
        while True:
            with self._lock:
                self._refresh(live, force=True)
                left = [j for j in live if not self._jobs[j].status.state.is_terminal]
            if not left:
                break
            if time.monotonic() >= deadline:
                raise ShellError(
                    f"{self.name} jobs {left} still run {self.cancel_grace:g} s after cancel",
                    output.command,
                    output.stderr,
                )
            time.sleep(min(self.poll_interval, 0.2))
        self._wake.set()

    def shutdown(self) -> None:
        """Cancel every job still running."""
        with self._lock:
            live = [j for j, w in self._jobs.items() if not w.status.state.is_terminal]
        if live:
            self.cancel(live)

    # -------------------------------------------------------------------- helpers
    def _run(self, argv: Sequence[str], check: bool = True) -> ToolOutput:
        return run_tool(argv, timeout=self.tool_timeout, check=check)

    def _refresh(self, job_ids: Sequence[str], *, force: bool) -> None:
        """Ask the scheduler about the live ``job_ids`` due for a query, in one call."""
        now = time.monotonic()
        due = [
            j
            for j in job_ids
            if not self._jobs[j].status.state.is_terminal
            and (force or now - self._jobs[j].checked >= self.poll_interval)
        ]
        if not due:
            return
        output = self._run(self.scheduler.status_argv(due), check=False)
        listed = dict(self.scheduler.parse_status(output))
        gone = [
            j for j in due if j not in listed and _read_exit(self._jobs[j].exit_file) is None
        ]  # fmt: skip
        if gone:
            listed.update(self.ask_history(gone))
        for job_id in due:
            self._update(job_id, listed.get(job_id), now)

    def ask_history(self, job_ids: Sequence[str]) -> Mapping[str, NativeStatus]:
        """What ``history`` says about ``job_ids`` (one call); empty without a usable one."""
        if self.history is None or self.history_usable is False:
            return {}
        self.history_calls += 1
        try:
            found = self.history.parse(self._run(self.history.argv(job_ids), check=False))
        except ShellError as err:
            if self.history_usable is None:
                self.history_usable = False
                said = (err.stderr or str(err)).strip().splitlines() or [""]
                logger.info(
                    "%s: job history unavailable, status from the queue and exit files only "
                    "(%s)", self.name, said[-1],
                )  # fmt: skip
            else:
                logger.warning("%s: job history failed: %s", self.name, err)
            return {}
        self.history_usable = True
        return found

    def _update(self, job_id: str, native: NativeStatus | None, now: float) -> None:
        watched = self._jobs[job_id]
        watched.checked = now
        watched.missing_since = None if native is not None else watched.missing_since or now
        resolved = resolve_state(
            native, self.scheduler.states, _read_exit(watched.exit_file), watched.cancelled
        )
        if resolved is None:
            if native is not None:
                logger.warning("%s job %s: unknown state %r", self.name, job_id, native.state)
                return
            missing = now - (watched.missing_since or now)
            if missing < self.vanish_grace:
                return
            logger.warning("%s job %s left the queue without an exit status", self.name, job_id)
            resolved = (JobState.FAILED, None)
        state, code = resolved
        watched.status = _next_status(watched.status, state, code, native)
        if watched.status.state.is_terminal:
            # The script holds the job's environment, the store's password included; the
            # scheduler took its copy at submission, and the job is over.
            watched.script.unlink(missing_ok=True)


def _next_status(
    old: JobStatus, state: JobState, code: int | None, native: NativeStatus | None
) -> JobStatus:
    """The new status, with start/end times from the scheduler or from when we saw them."""
    wall = time.time()
    start = old.start_time
    if start is None and state is not JobState.QUEUED:
        start = native.start_time if native and native.start_time else wall
    end = old.end_time
    if end is None and state.is_terminal:
        end = native.end_time if native and native.end_time else wall
    return JobStatus(old.job_id, state, code, start, end)


def _batch_job(spec: JobSpec) -> BatchJob:
    """What the directives say about ``spec``: name, directory, output files, options."""
    directory = spec.cwd.resolve()
    return BatchJob(
        spec.name,
        directory,
        spec.out_path or directory / f"{spec.name}.out",
        spec.err_path or directory / f"{spec.name}.err",
        spec.batch or BatchSpec(""),
    )


def _read_exit(path: Path) -> int | None:
    """The exit status the job script wrote, or ``None`` if it has not (yet)."""
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
