"""The local launcher: each job is a child process in its own process group.

Exits are observed through pidfds (Linux ≥ 5.3), so the monitor wakes the moment a job ends
instead of polling on a timer; where pidfds are unavailable it falls back to a short timeout.

Ownership: only the process that created the launcher stops its jobs — in a child forked
from it, :meth:`LocalLauncher.shutdown` does nothing and :meth:`LocalLauncher.cancel` raises
:class:`~insitu.errors.LauncherError`. Jobs are started through :mod:`insitu.launchers.spawn`,
so they die with this process even when it is killed by SIGKILL. Stopping escalates from
SIGTERM to SIGKILL after the grace period; an interruption of the wait (Ctrl-C) or
:func:`hurry` sends SIGKILL at once instead of abandoning the escalation.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from insitu import hosts
from insitu.errors import LauncherError, UnsupportedOptionError
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState
from insitu.launchers import spawn
from insitu.launchers.base import JobStatus
from insitu.launchers.run_commands import is_known, translate
from insitu.log import get_logger

logger = get_logger("insitu.launchers.local")

DEFAULT_GRACE = 5.0
"""Seconds between SIGTERM and SIGKILL when a job is stopped."""

BACKEND = "the local launcher"
"""How refusals name this launcher."""

_HURRY = threading.Event()


def hurry(now: bool = True) -> None:
    """Make every stop in progress, and later ones, skip the rest of its grace period and
    SIGKILL what is left at once (``now=False``: back to normal). The reaper calls it when
    a signal arrives while the program is stopping its jobs."""
    if now:
        _HURRY.set()
    else:
        _HURRY.clear()


def validate_local(spec: JobSpec) -> None:
    """Raise ``UnsupportedOptionError`` for anything a plain local launch cannot honour.

    The one place that says what a job on this host can be: one process, no run command,
    no batch job or allocation, no GPUs assigned, hosts that are this machine, CPUs this
    process may use (see :mod:`insitu.hosts`). Every job goes through it before it starts,
    store shards and inference workers included.
    """
    _check_launch(spec)
    _check_placement(spec)


def _check_launch(spec: JobSpec) -> None:
    """How the job would be launched: directly, as one process, now."""
    if spec.run_command and is_known(spec.run_command):
        raise UnsupportedOptionError(
            "run_command",
            BACKEND,
            f"{spec.run_command!r} is not used locally; use run_command=None",
        )
    if spec.run_args and not spec.run_command:
        names = ", ".join(name for name, _ in spec.run_args)
        raise UnsupportedOptionError(f"run_args ({names})", BACKEND, "there is no run command")
    if spec.mpmd:
        raise UnsupportedOptionError("make_mpmd", BACKEND, "MPMD needs a run command")
    if spec.batch is not None:
        raise UnsupportedOptionError("batch", BACKEND, "there is no batch system locally")
    if spec.allocation is not None:
        raise UnsupportedOptionError(
            "alloc", BACKEND, "there are no allocations locally; jobs start at once"
        )


def _check_placement(spec: JobSpec) -> None:
    """What the job asks of the machine: one process on this host's usable CPUs."""
    res = spec.resources
    for option, value in (
        ("nodes", res.nodes), ("tasks", res.tasks), ("tasks_per_node", res.tasks_per_node),
    ):  # fmt: skip
        if value is not None and value > 1:
            raise UnsupportedOptionError(
                f"{option}={value}", BACKEND, "a local job is one process on this host"
            )
    if res.gpus_per_task:
        raise UnsupportedOptionError(
            f"gpus_per_task={res.gpus_per_task}", BACKEND, "it does not assign GPUs"
        )
    cpus = hosts.available_cpus()
    if res.cpus_per_task is not None and res.cpus_per_task > len(cpus):
        raise UnsupportedOptionError(
            f"cpus_per_task={res.cpus_per_task}",
            BACKEND,
            f"this process may use {len(cpus)} CPUs",
        )
    bad_pins = sorted(set(res.cpu_pinning) - set(cpus))
    if bad_pins:
        raise UnsupportedOptionError(
            f"cpu pinning {bad_pins}", BACKEND, f"this process may use CPUs {cpus}"
        )
    if res.hosts:
        local = hosts.local_names()
        remote = [h for h in res.hosts if not hosts.is_local_host(h, local)]
        if remote:
            raise UnsupportedOptionError(
                f"hosts {remote}", BACKEND, "the local launcher runs only on this host"
            )


def local_argv(spec: JobSpec) -> list[str]:
    """The command line to execute: pinning through ``taskset`` when CPUs are pinned."""
    argv = list(spec.argv)
    if spec.run_command:  # a wrapper program (validate_local refuses known run commands)
        argv = translate(spec, handled=_LOCALLY_HANDLED)
    if spec.resources.cpu_pinning:
        cpus = ",".join(str(c) for c in spec.resources.cpu_pinning)
        return ["taskset", "-c", cpus, *argv]
    return argv


_LOCALLY_HANDLED = ("cpus_per_task", "walltime", "cpu_pinning", "hosts")
"""Resources the local launcher honours itself (OMP_NUM_THREADS, its timer, taskset,
the host check)."""


def local_env(spec: JobSpec, base: Mapping[str, str]) -> dict[str, str]:
    """The job's environment: ``base`` + the spec's variables.

    ``cpus_per_task`` is honoured as ``OMP_NUM_THREADS`` unless the job sets it itself.
    """
    env = dict(base)
    env.update(spec.env)
    cpus = spec.resources.cpus_per_task
    if cpus is not None and "OMP_NUM_THREADS" not in spec.env:
        env["OMP_NUM_THREADS"] = str(cpus)
    return env


@dataclass
class _LocalJob:
    proc: subprocess.Popen[bytes]
    start_time: float
    files: list[IO[bytes]] = field(default_factory=list)
    cancelled: bool = False
    end_time: float | None = None
    pidfd: int | None = None


class LocalLauncher:
    """Runs jobs as child processes of this interpreter (see module docstring)."""

    name = "local"

    def __init__(
        self, grace: float = DEFAULT_GRACE, argv: Callable[[JobSpec], list[str]] | None = None
    ) -> None:
        self.grace = grace
        # Another launcher may run its in-allocation steps as local processes with its own
        # command lines (PBS's mpiexec, LSF's jsrun): see insitu.launchers.allocated.
        self._argv = argv or local_argv
        self._jobs: dict[str, _LocalJob] = {}
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._pidfds = hasattr(os, "pidfd_open")
        self._host = hosts.this_host()  # every local job runs here
        self._owner = os.getpid()  # only this process stops the jobs (not a forked child)

    def supports_batch(self) -> bool:
        """Local jobs are never batch jobs."""
        return False

    def validate(self, spec: JobSpec) -> None:
        """See :func:`validate_local`."""
        validate_local(spec)

    def submit(self, spec: JobSpec) -> str:
        """Start the job now; its id is its process id. Callers validate first (the
        controller does), so a launch never pays for the checks twice."""
        files = [_open_log(spec.out_path), _open_log(spec.err_path)]
        try:
            proc = spawn.popen(
                self._argv(spec),
                cwd=spec.cwd,
                env=local_env(spec, os.environ),
                stdin=subprocess.DEVNULL,
                stdout=files[0] or subprocess.DEVNULL,
                stderr=files[1] or subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as err:
            for f in files:
                if f is not None:
                    f.close()
            raise LauncherError(f"could not start {spec.name}: {err}") from err
        job = _LocalJob(proc, time.time(), [f for f in files if f is not None])
        job_id = str(proc.pid)
        with self._lock:
            while job_id in self._jobs:
                job_id += "+"
            self._jobs[job_id] = job
            if not self._watch(job_id, job):
                self._wake()  # no pidfd: make the monitor poll this job
        # With a pidfd no wake-up is needed: epoll reports fds registered while it waits.
        return job_id

    def poll(self, job_ids: Sequence[str]) -> Mapping[str, JobStatus]:
        """Current status of each known id (unknown ids are left out)."""
        out: dict[str, JobStatus] = {}
        with self._lock:
            for job_id in job_ids:
                job = self._jobs.get(job_id)
                if job is not None:
                    out[job_id] = self._status(job_id, job)
        return out

    def wait_for_change(self, timeout: float) -> Sequence[str] | None:
        """Block until a job exits (its pidfd turns readable) or ``timeout`` seconds pass.

        Returns the ids whose pidfd fired; ``None`` after a wake-up from ``submit``/``cancel``
        or when pidfds are unavailable, meaning "poll everything".
        """
        if not self._pidfds:
            time.sleep(min(timeout, 0.05))
            return None
        changed: list[str] = []
        woken = False
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                woken = True
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
            else:
                changed.append(str(key.data))
        return None if woken else changed

    def cancel(self, job_ids: Sequence[str]) -> None:
        """SIGTERM the jobs' process groups, SIGKILL after the grace period; wait for exits.

        LauncherError in a forked child of the process that started them."""
        if os.getpid() != self._owner:
            raise LauncherError(
                f"local jobs {list(job_ids)} were started by process {self._owner}; "
                f"process {os.getpid()} (a forked child) cannot stop them"
            )
        with self._lock:
            unknown = [j for j in job_ids if j not in self._jobs]
            jobs = [self._jobs[j] for j in job_ids if j in self._jobs]
        if unknown:
            raise LauncherError(f"unknown local job ids {unknown}")
        for job in jobs:
            if job.proc.poll() is None:
                job.cancelled = True
        _terminate_groups([j.proc for j in jobs], self.grace)
        self._wake()

    def shutdown(self) -> None:
        """Cancel every job still running, and any process left in their groups (nothing
        in a forked child: the jobs are its parent's)."""
        if os.getpid() != self._owner:
            return
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            if job.proc.poll() is None:
                job.cancelled = True
        _terminate_groups([j.proc for j in jobs], self.grace)
        self._wake()

    def _status(self, job_id: str, job: _LocalJob) -> JobStatus:
        code = job.proc.poll()
        if code is None:
            return JobStatus(job_id, JobState.RUNNING, None, job.start_time, host=self._host)
        if job.end_time is None:
            job.end_time = time.time()
            self._unwatch(job)
            for f in job.files:
                f.close()
        if job.cancelled:
            state = JobState.CANCELLED
        else:
            state = JobState.COMPLETED if code == 0 else JobState.FAILED
        return JobStatus(job_id, state, code, job.start_time, job.end_time, self._host)

    def _watch(self, job_id: str, job: _LocalJob) -> bool:
        """Watch the job's exit through a pidfd; False where pidfds are unavailable."""
        pidfd_open = getattr(os, "pidfd_open", None)
        if pidfd_open is None:
            return False
        try:
            job.pidfd = pidfd_open(job.proc.pid)
        except OSError:
            return False
        self._selector.register(job.pidfd, selectors.EVENT_READ, job_id)
        return True

    def _unwatch(self, job: _LocalJob) -> None:
        if job.pidfd is not None:
            self._selector.unregister(job.pidfd)
            os.close(job.pidfd)
            job.pidfd = None

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")


def _open_log(path: os.PathLike[str] | None) -> IO[bytes] | None:
    if path is None:
        return None
    return open(path, "ab")


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _terminate_groups(procs: Sequence[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM every group, wait up to ``grace`` for all, then SIGKILL what is left.

    A group outlives its leader when the job forked children; those are ended too, so
    nothing a job started survives it. Leaders are reaped so no zombie remains. The
    escalation is never abandoned: :func:`hurry` cuts the wait short, and an exception
    during the wait (a second Ctrl-C) SIGKILLs what is left before it propagates.
    """
    for proc in procs:
        _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    pending = list(procs)
    try:
        while pending and time.monotonic() < deadline and not _HURRY.is_set():
            pending = [p for p in pending if p.poll() is None or _group_alive(p.pid)]
            if pending:
                _wait_any(pending, min(0.05, max(0.0, deadline - time.monotonic())))
    finally:
        for proc in pending:
            _signal_group(proc.pid, signal.SIGKILL)
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)


def _wait_any(procs: Sequence[subprocess.Popen[bytes]], timeout: float) -> None:
    """Wait until a leader exits or ``timeout`` passes (grandchildren are polled)."""
    live = [p for p in procs if p.poll() is None]
    if not live:
        time.sleep(timeout)  # only grandchildren left; they are not ours to wait on
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        live[0].wait(timeout=timeout)
