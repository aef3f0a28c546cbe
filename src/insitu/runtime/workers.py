"""Keeping the inference workers of running stores alive: bounded restarts.

A worker is an ordinary job of the controller's launcher. The :class:`WorkerSupervisor`
watches the job events of the workers it was handed (:meth:`~WorkerSupervisor.adopt`) and
starts a worker again when it ends while its store runs — at once the first time, then
after a growing delay — until :class:`RestartPolicy` says it died too often, when it logs an
error and leaves it down (no restart storm: a worker that cannot start at all costs a few
attempts, not a loop). :meth:`~WorkerSupervisor.release` ends supervision of a store before
its jobs are stopped and returns the worker runs to stop, including one started a moment
earlier.

Events arrive on the monitor thread, which must never block: they are queued and handled
on the supervisor's own daemon thread, which is also where restarts are submitted.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from insitu.jobs.events import JobEvent
from insitu.jobs.spec import JobSpec
from insitu.log import get_logger
from insitu.runtime.job_table import JobRecord

logger = get_logger("insitu.runtime.workers")


@dataclass(frozen=True)
class RestartPolicy:
    """At most ``max_restarts`` restarts of one worker within ``window`` seconds.

    The first restart in a window is immediate; each further one waits twice as long as
    the previous, from ``base_delay`` up to ``max_delay`` seconds.
    """

    max_restarts: int = 5
    window: float = 60.0
    base_delay: float = 0.25
    max_delay: float = 4.0

    def delay(self, restarts: Sequence[float], now: float) -> float | None:
        """Seconds to wait before the next restart, given the times of earlier restarts;
        ``None`` once the budget of the window is spent (pure)."""
        recent = [t for t in restarts if now - t < self.window]
        if len(recent) >= self.max_restarts:
            return None
        if not recent:
            return 0.0
        return float(min(self.max_delay, self.base_delay * 2 ** (len(recent) - 1)))


@dataclass
class _Slot:
    """One supervised worker: what to start and its current run."""

    store: str
    spec: JobSpec
    record: JobRecord
    restarts: list[float] = field(default_factory=list)
    due: float | None = None  # a restart is scheduled for this monotonic time


Submit = Callable[[JobSpec, str], JobRecord]
"""Starts one job for an owner and returns its record (``Controller.submit``)."""

Lookup = Callable[[str], "JobRecord | None"]
"""The newest run of a job name (``JobTable.latest``)."""


class WorkerSupervisor:
    """Restarts the workers of running stores when they die (see the module docstring)."""

    def __init__(
        self,
        submit: Submit,
        lookup: Lookup,
        policy: RestartPolicy = RestartPolicy(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._submit = submit
        self._lookup = lookup
        self._policy = policy
        self._clock = clock
        self._lock = threading.RLock()  # re-entrant: a signal handler may stop stores
        self._slots: dict[str, _Slot] = {}  # job name -> slot
        self._events: queue.SimpleQueue[JobEvent | None] = queue.SimpleQueue()  # None: wake
        self._thread: threading.Thread | None = None
        self._closed = False

    def adopt(self, store: str, records: Sequence[JobRecord]) -> None:
        """Supervise the worker runs ``records`` of ``store`` from now on."""
        with self._lock:
            for record in records:
                slot = _Slot(store, record.spec, record)
                self._slots[record.name] = slot
                # A worker that died before it was adopted has already sent its event.
                latest = self._lookup(record.name)
                if latest is not None and latest.job_id == record.job_id:
                    slot.record = latest
                    if latest.state.is_terminal:
                        self._schedule(slot, _exit_reason(latest.returncode, slot.spec))
            if records and self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="insitu-workers", daemon=True
                )
                self._thread.start()
        self._events.put(None)  # wake the thread: a restart may be due

    def release(self, store: str) -> list[JobRecord]:
        """Stop supervising ``store``'s workers; their newest runs, for the caller to stop."""
        with self._lock:
            names = [name for name, slot in self._slots.items() if slot.store == store]
            return [self._slots.pop(name).record for name in names]

    def on_event(self, event: JobEvent) -> None:
        """Listener for every job event (any thread; returns at once)."""
        if event.state.is_terminal:
            self._events.put(event)

    def close(self) -> None:
        """End the supervisor thread (after :meth:`release` of every store)."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        self._events.put(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    def _run(self) -> None:
        while True:
            try:
                event = self._events.get(timeout=self._next_due())
            except queue.Empty:
                event = None  # a restart is due
            if self._closed:
                return
            try:
                if event is not None:
                    self._on_ended(event)
                self._restart_due()
            except Exception:
                logger.exception("inference worker supervision failed")

    def _next_due(self) -> float | None:
        with self._lock:
            dues = [s.due for s in self._slots.values() if s.due is not None]
        return None if not dues else max(0.0, min(dues) - self._clock())

    def _on_ended(self, event: JobEvent) -> None:
        """Schedule a restart if ``event`` ends the current run of a supervised worker."""
        with self._lock:
            slot = self._slots.get(event.name)
            if slot is None or slot.record.job_id != event.job_id or slot.due is not None:
                return
            self._schedule(slot, _exit_reason(event.returncode, slot.spec))

    def _schedule(self, slot: _Slot, why: str) -> None:
        now = self._clock()
        delay = self._policy.delay(slot.restarts, now)
        if delay is None:
            logger.error(
                "inference worker %s of orchestrator %s %s; it was restarted %d times in "
                "%.0f s, so it stays down: run_model/run_script requests for that shard "
                "will time out until the orchestrator is restarted (see %s)",
                slot.spec.name, slot.store, why, len(slot.restarts), self._policy.window,
                slot.spec.err_path,
            )  # fmt: skip
            return
        logger.warning(
            "inference worker %s of orchestrator %s %s; restarting it in %.2f s",
            slot.spec.name, slot.store, why, delay,
        )  # fmt: skip
        slot.due = now + delay

    def _restart_due(self) -> None:
        now = self._clock()
        with self._lock:
            for slot in list(self._slots.values()):
                if slot.due is None or slot.due > now:
                    continue
                slot.due = None
                slot.restarts.append(now)
                try:
                    slot.record = self._submit(slot.spec, slot.store)
                except Exception as err:
                    self._schedule(slot, f"could not be restarted ({err})")


def _exit_reason(returncode: int | None, spec: JobSpec) -> str:
    """``exited with code 1 (last line of its stderr: ...)`` for log lines."""
    reason = f"exited with code {returncode}"
    try:
        if spec.err_path is not None:
            with open(spec.err_path, "rb") as err:
                err.seek(0, 2)
                err.seek(max(0, err.tell() - 400))
                lines = err.read().decode(errors="replace").strip().splitlines()
                if lines:
                    reason += f" (last line of its stderr: {lines[-1].strip()})"
    except OSError:
        pass  # the log is a courtesy; the exit is what matters
    return reason
