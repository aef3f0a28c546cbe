"""Local child processes that do not outlive this process (Linux ``PR_SET_PDEATHSIG``).

A driver killed by SIGKILL (or SIGSEGV, SIGABRT, the OOM killer) runs no cleanup at all. On
Linux a child can ask the kernel for a signal when its parent dies: :func:`popen` starts
every local job that way, with SIGKILL, so shards, workers and models die with the driver
whatever killed it. What the OS does not allow, and so what is left:

* the signal reaches the job's own process only, not processes *it* started (a shell
  script's children): those are orphaned, as after any SIGKILL of their parent;
* the kernel sends it when the *thread* that forked the child ends, not the process. So
  every child is forked by one long-lived thread of this process (the spawner), never by
  a caller's thread that may end while the job should run on;
* jobs on other hosts (Slurm, PBS, LSF) are the scheduler's: they end with the allocation.

Elsewhere than Linux, children are started plainly.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1
SPAWN_TIMEOUT = 120.0
"""Seconds a fork and exec may take before the caller gives up waiting (never reached in
practice; a bound, so that a caller can never hang on a spawner that is gone)."""


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return prctl


_PRCTL = _load_prctl()


def pdeathsig_supported() -> bool:
    """True where children can be tied to this process's life (Linux)."""
    return _PRCTL is not None


def _tie_to(parent: int, prctl: Callable[..., int]) -> Callable[[], None]:
    """The child-side set-up (runs between fork and exec: no locks, no imports)."""

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return setup


Job = tuple[Callable[[], "subprocess.Popen[bytes]"], "concurrent.futures.Future[Any]"]


class _Spawner:
    """One daemon thread of this process that forks every local job (see the module
    docs: the kernel ties ``PR_SET_PDEATHSIG`` to the forking thread)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the thread (in a forked child, where it does not exist)."""
        self._lock = threading.Lock()
        self._work: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, start: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        future: concurrent.futures.Future[subprocess.Popen[bytes]] = concurrent.futures.Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="insitu-spawner")
                self._thread.daemon = True
                self._thread.start()
            self._work.put((start, future))
        try:
            return future.result(timeout=SPAWN_TIMEOUT)
        except BaseException:
            # Interrupted while waiting (Ctrl-C): a process started anyway is ended, so
            # nothing runs that nobody knows of.
            future.add_done_callback(_kill_started)
            raise

    def _serve(self) -> None:
        while True:
            start, future = self._work.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(start())
            except BaseException as err:
                future.set_exception(err)


def _kill_started(future: concurrent.futures.Future[subprocess.Popen[bytes]]) -> None:
    if future.exception() is None:
        proc = future.result()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


_spawner = _Spawner()


os.register_at_fork(after_in_child=_spawner.reset)


def popen(argv: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(argv, **options)``, the child tied to this process's life where
    the OS allows it (see the module docs). ``preexec_fn`` must not be given."""
    prctl = _PRCTL
    if prctl is None:
        return subprocess.Popen(argv, **options)
    setup = _tie_to(os.getpid(), prctl)
    # preexec_fn is unsafe with threads when it takes locks or imports; this one makes two
    # system calls through an already loaded function, and nothing else.
    return _spawner.run(
        lambda: subprocess.Popen(argv, preexec_fn=setup, **options)  # noqa: PLW1509
    )
