"""The controller: launch order, environment injection and teardown for one experiment.

It knows entities only through the small protocols below, so the runtime does not depend
on the entity or store packages (imports point one way: experiment → runtime → launchers).

Colocated stores (:meth:`Controller.start_colocated`) are *private* to one application job:
they are left out of :meth:`Controller.store_env`, and they are stopped when that job ends
for any reason. The job's terminal event arrives on whichever thread observed it (usually
the monitor's); the stop itself, which may wait out a SIGTERM grace period, runs on a small
teardown thread so that the monitor never blocks.

Store lifecycle: :meth:`Controller.subscribe_stores` delivers a :class:`StoreEvent` when a
store (shared or colocated) is ready and when it has stopped, with its addresses but no
credentials; the launch record and the client-side password registry listen there.

Every store brings its inference workers (``Store.worker_specs``): they are started once
the store is ready — without waiting for them, since requests queue in the store until a
worker takes them — stopped together with its shards, and restarted by a
:class:`~insitu.runtime.workers.WorkerSupervisor` if they die while the store runs.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, cast

from insitu.errors import AlreadyRunningError, EntityNotLaunchedError
from insitu.jobs.events import JobEvent
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState
from insitu.launchers.base import Launcher
from insitu.log import get_logger
from insitu.runtime import reaper
from insitu.runtime.events import (
    EventBus,
    Listener,
    StoreEvent,
    StoreListener,
    StoreState,
    Subscription,
)
from insitu.runtime.job_table import JobRecord, JobTable
from insitu.runtime.monitor import Monitor
from insitu.runtime.workers import WorkerSupervisor

logger = get_logger("insitu.runtime.controller")

STORE_START_TIMEOUT = 60.0
"""Seconds a store may take from launch to ready (all shards up, cluster formed)."""


class Store(Protocol):
    """What the controller needs of an Orchestrator."""

    @property
    def name(self) -> str: ...

    @property
    def shard_addresses(self) -> Sequence[str]: ...

    @property
    def is_clustered(self) -> bool: ...

    def prepare(self, path: Path | None = None) -> list[JobSpec]: ...

    def wait_ready(self, is_running: Callable[[int], bool], timeout: float = ...) -> None: ...

    def mark_stopped(self) -> None: ...

    def connection_env(self) -> dict[str, str]: ...

    def worker_specs(self) -> list[JobSpec]: ...


class Controller:
    """Starts jobs through one launcher, tracks them and stops them.

    Contract: stores are ready before :meth:`start_store` returns, or every shard it started
    is stopped again and the error propagates. :meth:`shutdown` stops every job still
    running; it is also called at interpreter exit and on SIGTERM/SIGHUP (see ``reaper``).
    """

    def __init__(self, launcher: Launcher) -> None:
        self.launcher = launcher
        self.table = JobTable()
        self.events: EventBus[JobEvent] = EventBus()
        self.store_events: EventBus[StoreEvent] = EventBus()
        self.monitor = Monitor(launcher, self.table, self.events)
        self._stores: dict[str, tuple[Store, list[JobRecord]]] = {}
        self._private: set[str] = set()
        self._lock = threading.RLock()
        # Re-entrant locks: the SIGTERM handler (reaper) may run shutdown() on a thread that
        # already holds one of them.
        self._stop_lock = threading.RLock()  # one store stop at a time: return means "gone"
        self._links: dict[tuple[str, str], str] = {}  # (app name, job id) -> private store
        self._links_lock = threading.RLock()
        self._teardown = _TeardownWorker(self.stop_store)
        self._workers = WorkerSupervisor(self.submit, self.table.latest)
        self._closed = False
        self.events.subscribe(self._on_event)
        self.events.subscribe(self._workers.on_event)
        reaper.register(self)

    def subscribe(self, listener: Listener) -> Subscription:
        """Receive every :class:`~insitu.jobs.JobEvent` of this controller's jobs."""
        return self.events.subscribe(listener)

    def subscribe_stores(self, listener: StoreListener) -> Subscription:
        """Receive a :class:`StoreEvent` when a store of this controller is ready and when
        it has stopped (see :class:`StoreEvent` for the contract)."""
        return self.store_events.subscribe(listener)

    def store(self, name: str) -> Store | None:
        """The running store ``name`` (colocated ones included), or None."""
        entry = self._stores.get(name)
        return None if entry is None else entry[0]

    def submit(self, spec: JobSpec, owner: str) -> JobRecord:
        """Launch one job now; refuses a name whose previous run is still active."""
        with self._lock:
            previous = self.table.latest(spec.name)
            if previous is not None and not previous.state.is_terminal:
                raise AlreadyRunningError(
                    f"{spec.name} is already running (job {previous.job_id}); stop it first"
                )
            self.launcher.validate(spec)
            job_id = self.launcher.submit(spec)
            record = JobRecord(
                job_id,
                spec.name,
                spec.entity_type,
                owner,
                self.table.next_run_id(spec.name),
                self.launcher.name,
                spec,
                JobState.QUEUED,
                time.time(),
            )
            self.table.add(record)
        self.events.publish(_submit_event(record))
        self.monitor.refresh([record])
        self.monitor.start()
        self.monitor.notify()
        return self.table.latest(spec.name) or record

    def start_store(
        self, store: Store, timeout: float = STORE_START_TIMEOUT, *, private: bool = False
    ) -> list[JobRecord]:
        """Launch every shard of ``store``, wait until it is ready, then start its
        inference workers (not waited for); returns the shards' records.

        A ``private`` store is left out of :meth:`store_env` and :meth:`running_stores`.
        """
        if store.name in self._stores:
            raise AlreadyRunningError(f"orchestrator {store.name!r} is already running")
        specs = store.prepare()
        workers = store.worker_specs()
        for spec in [*specs, *workers]:
            self.launcher.validate(spec)
        records: list[JobRecord] = []
        started: list[JobRecord] = []
        try:
            for spec in specs:
                records.append(self.submit(spec, owner=store.name))
            store.wait_ready(lambda i: self._is_running(records[i].name), timeout)
            for spec in workers:
                started.append(self.submit(spec, owner=store.name))
        except BaseException:
            self._cancel([*started, *records])
            store.mark_stopped()
            raise
        self._workers.adopt(store.name, started)
        self._stores[store.name] = (store, records)
        if private:
            self._private.add(store.name)
        self.store_events.publish(_store_event(store, "ready", colocated=private))
        return records

    def start_colocated(
        self,
        store: Store,
        spec: JobSpec,
        owner: str,
        timeout: float = STORE_START_TIMEOUT,
        prepare: Callable[[], None] | None = None,
    ) -> JobRecord:
        """Start ``store`` (private, ready first), call ``prepare`` (e.g. load models into
        it), then launch the application ``spec``.

        Contract: the store is stopped when the application's run ends — completed,
        failed, cancelled, or on :meth:`shutdown` — and immediately if ``prepare`` fails or
        the application cannot be launched (the error then propagates).
        """
        self.start_store(store, timeout, private=True)
        try:
            if prepare is not None:
                prepare()
            record = self.submit(_beside(store, spec), owner)
        except BaseException:
            self.stop_store(store.name)
            raise
        key = (record.name, record.job_id)
        with self._links_lock:
            self._links[key] = store.name
        # The run may have ended before the link existed; its event would then be lost.
        latest = self.table.latest(record.name)
        if latest is None or latest.job_id != record.job_id or latest.state.is_terminal:
            self._release(key)
        return record

    def stop_store(self, name: str) -> None:
        """Stop every shard of the store ``name`` (no error if it is not running).

        When this returns the store is stopped, also if another thread was stopping it.
        """
        with self._stop_lock:
            entry = self._stores.pop(name, None)
            private = name in self._private
            self._private.discard(name)
            if entry is None:
                return
            store, records = entry
            try:
                # Workers first (out of supervision, so none is restarted), while their
                # store still runs, so a request in flight can finish; then the shards.
                self._cancel(self._workers.release(name))
                self._cancel(records)
            finally:
                store.mark_stopped()
                # Published even if a cancel failed: the controller has let go of the store.
                self.store_events.publish(_store_event(store, "stopped", colocated=private))

    def stop_jobs(self, names: Sequence[str]) -> None:
        """Stop the newest runs of ``names`` that are still active."""
        records = [self.table.latest(n) for n in names]
        self._cancel([r for r in records if r is not None])

    def store_env(self) -> dict[str, str]:
        """Connection variables of every running store, for launched entities."""
        env: dict[str, str] = {}
        for store in self.running_stores():
            env.update(store.connection_env())
        return env

    def running_stores(self) -> list[Store]:
        """Shared (not colocated) stores started and not stopped, in start order."""
        return [s for name, (s, _) in list(self._stores.items()) if name not in self._private]

    def status(self, name: str) -> JobState:
        """State of the newest run of ``name``."""
        record = self.table.latest(name)
        if record is None:
            raise EntityNotLaunchedError(f"{name} has not been launched by this experiment")
        self.monitor.refresh([record])
        latest = self.table.latest(name)
        return latest.state if latest is not None else record.state

    def wait(
        self,
        names: Sequence[str],
        timeout: float | None = None,
        on_tick: Callable[[], None] | None = None,
        tick: float = 1.0,
    ) -> bool:
        """Block until every named job is terminal; False if ``timeout`` passed first."""
        return self.monitor.wait(names, timeout, on_tick, tick)

    def shutdown(self) -> None:
        """Stop every job and store this controller started (idempotent).

        Every store is stopped even if stopping one fails or is interrupted (a second
        Ctrl-C, after which the launcher has killed that store's jobs); the first error is
        raised at the end."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        failure: BaseException | None = None
        try:
            for name in list(self._stores):
                try:
                    self.stop_store(name)
                except BaseException as err:
                    failure = failure or err
            self.launcher.shutdown()
            self.monitor.refresh()
            if failure is not None:
                raise failure
        finally:
            self._teardown.close()
            self._workers.close()
            self.monitor.stop()
            reaper.unregister(self)

    def _on_event(self, event: JobEvent) -> None:
        """Listener (any thread, must not block): hand a finished app's store to teardown."""
        if event.state.is_terminal:
            self._release((event.name, event.job_id))

    def _release(self, key: tuple[str, str]) -> None:
        with self._links_lock:
            name = self._links.pop(key, None)
        if name is not None:
            self._teardown.submit(name)

    def _is_running(self, name: str) -> bool:
        record = self.table.latest(name)
        if record is None:
            return False
        self.monitor.refresh([record])
        latest = self.table.latest(name)
        return latest is not None and not latest.state.is_terminal

    def _cancel(self, records: Sequence[JobRecord]) -> None:
        live = [r for r in records if not r.state.is_terminal]
        if live:
            self.launcher.cancel([r.job_id for r in live])
        self.monitor.refresh(live)


class _TeardownWorker:
    """A daemon thread that stops the stores handed to it, in order (started on first use).

    Each thread has its own queue, so a thread ended by :meth:`close` never takes work
    meant for its successor.
    """

    def __init__(self, stop: Callable[[str], None]) -> None:
        self._stop = stop
        self._lock = threading.RLock()  # re-entrant for the same reason as the controller's
        self._current: tuple[threading.Thread, queue.SimpleQueue[str | None]] | None = None

    def submit(self, name: str) -> None:
        """Stop the store ``name`` soon (returns at once)."""
        with self._lock:
            if self._current is None:
                work: queue.SimpleQueue[str | None] = queue.SimpleQueue()
                thread = threading.Thread(
                    target=self._run, args=(work,), name="insitu-teardown", daemon=True
                )
                thread.start()
                self._current = (thread, work)
            self._current[1].put(name)

    def close(self, timeout: float = 1.0) -> None:
        """End the thread after the stops already handed over.

        Called by :meth:`Controller.shutdown` after it has stopped every store itself, so
        what is left for the thread are no-ops; the wait is short because the thread may
        be queued behind a stop that the shutting-down thread interrupted (a signal).
        """
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            thread, work = current
            work.put(None)
            if thread is not threading.current_thread():
                thread.join(timeout)

    def _run(self, work: queue.SimpleQueue[str | None]) -> None:
        while (name := work.get()) is not None:
            try:
                self._stop(name)
            except Exception:
                logger.exception("failed to stop colocated store %s", name)


def _submit_event(record: JobRecord) -> JobEvent:
    return JobEvent(
        record.job_id,
        record.name,
        record.entity_type,
        JobState.NEW,
        JobState.QUEUED,
        record.submit_time,
        out_path=None if record.spec.out_path is None else str(record.spec.out_path),
        err_path=None if record.spec.err_path is None else str(record.spec.err_path),
    )


def _store_event(store: Store, state: StoreState, *, colocated: bool) -> StoreEvent:
    return StoreEvent(
        store.name,
        state,
        tuple(store.shard_addresses),
        store.is_clustered,
        time.time(),
        colocated,
    )


def merge_env(*parts: Mapping[str, str]) -> dict[str, str]:
    """Later parts win; used to layer store, prefixing and user variables."""
    out: dict[str, str] = {}
    for part in parts:
        out.update(part)
    return out


def _beside(store: Store, spec: JobSpec) -> JobSpec:
    """``spec`` placed beside ``store`` when the store knows how (an Orchestrator on a
    launcher whose jobs run on other hosts: see ``Orchestrator.place_beside``)."""
    place = getattr(store, "place_beside", None)
    return spec if place is None else cast(JobSpec, place(spec))
