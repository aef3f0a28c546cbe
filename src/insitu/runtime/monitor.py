"""The monitor: one thread that observes every job of one launcher and emits JobEvents."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from insitu.jobs.events import JobEvent
from insitu.jobs.status import JobState
from insitu.launchers.base import JobStatus, Launcher
from insitu.log import get_logger
from insitu.runtime.events import EventBus
from insitu.runtime.job_table import JobRecord, JobTable

logger = get_logger("insitu.runtime.monitor")

POLL_INTERVAL = 0.5
"""Longest time between two status queries while jobs are active (pidfds usually wake sooner)."""


class Monitor:
    """Keeps a :class:`JobTable` in step with a launcher and publishes every change.

    Contract: every state change of a job is applied to the table and published on the bus
    exactly once, in order, whichever thread observed it (the monitor thread or a caller of
    :meth:`refresh`). :meth:`wait` blocks until the named jobs are terminal. Jobs that run past
    their walltime are cancelled and recorded as Failed.
    """

    def __init__(self, launcher: Launcher, table: JobTable, bus: EventBus[JobEvent]) -> None:
        self._launcher = launcher
        self._table = table
        self._bus = bus
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._timed_out: set[str] = set()
        self._thread: threading.Thread | None = None
        self._next_full = 0.0

    def start(self) -> None:
        """Start the monitor thread if it is not running."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="insitu-monitor", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the monitor thread and wait for it."""
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def notify(self) -> None:
        """Tell the monitor that a job was added (wakes it if idle)."""
        with self._changed:
            self._changed.notify_all()

    def refresh(self, records: Iterable[JobRecord] | None = None) -> None:
        """Query the launcher now for ``records`` (default: every active job) and apply."""
        active = list(records) if records is not None else self._table.active()
        active = [r for r in active if not r.state.is_terminal]
        if not active:
            return
        statuses = self._launcher.poll([r.job_id for r in active])
        with self._changed:
            for record in active:
                status = statuses.get(record.job_id)
                if status is not None:
                    self._apply(record.name, status)
            self._changed.notify_all()

    def record(self, name: str) -> JobRecord | None:
        """The newest record of ``name``."""
        return self._table.latest(name)

    def wait(
        self,
        names: Iterable[str],
        timeout: float | None = None,
        on_tick: Callable[[], None] | None = None,
        tick: float = 1.0,
    ) -> bool:
        """Block until the newest runs of ``names`` are terminal; False on timeout.

        ``on_tick`` is called every ``tick`` seconds while waiting (for progress logs).
        """
        wanted = list(names)
        deadline = None if timeout is None else time.monotonic() + timeout
        next_tick = time.monotonic() + tick
        with self._changed:
            while True:
                records = [self._table.latest(n) for n in wanted]
                if all(r is None or r.state.is_terminal for r in records):
                    return True
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return False
                if on_tick is not None and now >= next_tick:
                    on_tick()
                    next_tick = now + tick
                limit = next_tick - now if on_tick is not None else POLL_INTERVAL
                if deadline is not None:
                    limit = min(limit, deadline - now)
                self._changed.wait(timeout=max(0.0, limit))

    def mark_timed_out(self, job_id: str) -> None:
        """Record that ``job_id`` was cancelled for exceeding its walltime."""
        self._timed_out.add(job_id)

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._table.active():
                with self._changed:
                    self._changed.wait(timeout=POLL_INTERVAL)
                continue
            changed = self._launcher.wait_for_change(POLL_INTERVAL)
            try:
                # Only the jobs the launcher named, unless it could not tell; a full pass at
                # least every POLL_INTERVAL catches anything a wake-up missed.
                now = time.monotonic()
                if changed is None or now >= self._next_full:
                    self._next_full = now + POLL_INTERVAL
                    self.refresh()
                elif changed:
                    self.refresh(self._table.latest_for_jobs(changed))
                self._enforce_walltimes()
            except Exception:
                logger.exception("monitor failed to refresh job states")

    def _enforce_walltimes(self) -> None:
        now = time.time()
        for record in self._table.active():
            limit = record.spec.resources.walltime
            started = record.start_time
            if limit is not None and started is not None and now - started > limit:
                logger.warning(
                    "%s exceeded its walltime of %.0f s; stopping it", record.name, limit
                )
                self.mark_timed_out(record.job_id)
                self._launcher.cancel([record.job_id])

    def _apply(self, name: str, status: JobStatus) -> None:
        record = self._table.latest(name)
        if record is None or record.job_id != status.job_id or record.state.is_terminal:
            return
        state = status.state
        if state is JobState.CANCELLED and status.job_id in self._timed_out:
            state = JobState.FAILED
        if state is record.state and status.returncode == record.returncode:
            return
        if state.is_terminal and record.state in (JobState.QUEUED, JobState.NEW):
            # Jobs that ended between two polls still get their start event, in order.
            self._transition(record, JobState.RUNNING, status)
            record = self._table.latest(name) or record
        self._transition(record, state, status)

    def _transition(self, record: JobRecord, state: JobState, status: JobStatus) -> None:
        new = self._table.update(
            record,
            state=state,
            start_time=record.start_time or status.start_time or time.time(),
            end_time=(status.end_time or time.time()) if state.is_terminal else None,
            returncode=status.returncode,
        )
        self._bus.publish(
            JobEvent(
                new.job_id,
                new.name,
                new.entity_type,
                record.state,
                state,
                time.time(),
                new.returncode,
                status.host,
            )
        )
