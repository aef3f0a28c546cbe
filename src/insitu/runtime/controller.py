"""The controller: launch order, environment injection and teardown for one experiment.

It knows entities only through the small protocols below, so the runtime does not depend
on the entity or store packages (imports point one way: experiment → runtime → launchers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from insitu.errors import AlreadyRunningError, EntityNotLaunchedError
from insitu.jobs.events import JobEvent
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState
from insitu.launchers.base import Launcher
from insitu.log import get_logger
from insitu.runtime import reaper
from insitu.runtime.events import EventBus, Listener, Subscription
from insitu.runtime.job_table import JobRecord, JobTable
from insitu.runtime.monitor import Monitor

logger = get_logger("insitu.runtime.controller")

STORE_START_TIMEOUT = 60.0
"""Seconds a store may take from launch to ready (all shards up, cluster formed)."""


class Store(Protocol):
    """What the controller needs of an Orchestrator."""

    @property
    def name(self) -> str: ...

    def prepare(self, path: Path | None = None) -> list[JobSpec]: ...

    def wait_ready(self, is_running: Callable[[int], bool], timeout: float = ...) -> None: ...

    def mark_stopped(self) -> None: ...

    def connection_env(self) -> dict[str, str]: ...


class Controller:
    """Starts jobs through one launcher, tracks them and stops them.

    Contract: stores are ready before :meth:`start_store` returns, or every shard it started
    is stopped again and the error propagates. :meth:`shutdown` stops every job still
    running; it is also called at interpreter exit and on SIGTERM/SIGHUP (see ``reaper``).
    """

    def __init__(self, launcher: Launcher) -> None:
        self.launcher = launcher
        self.table = JobTable()
        self.events = EventBus()
        self.monitor = Monitor(launcher, self.table, self.events)
        self._stores: dict[str, tuple[Store, list[JobRecord]]] = {}
        self._lock = threading.RLock()
        self._closed = False
        reaper.register(self)

    def subscribe(self, listener: Listener) -> Subscription:
        """Receive every :class:`~insitu.jobs.JobEvent` of this controller's jobs."""
        return self.events.subscribe(listener)

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
                JobState.STATUS_QUEUED,
                time.time(),
            )
            self.table.add(record)
        self.events.publish(_submit_event(record))
        self.monitor.refresh([record])
        self.monitor.start()
        self.monitor.notify()
        return self.table.latest(spec.name) or record

    def start_store(self, store: Store, timeout: float = STORE_START_TIMEOUT) -> list[JobRecord]:
        """Launch every shard of ``store`` and wait until it is ready."""
        if store.name in self._stores:
            raise AlreadyRunningError(f"orchestrator {store.name!r} is already running")
        specs = store.prepare()
        for spec in specs:
            self.launcher.validate(spec)
        records: list[JobRecord] = []
        try:
            for spec in specs:
                records.append(self.submit(spec, owner=store.name))
            store.wait_ready(lambda i: self._is_running(records[i].name), timeout)
        except BaseException:
            self._cancel(records)
            store.mark_stopped()
            raise
        self._stores[store.name] = (store, records)
        return records

    def stop_store(self, name: str) -> None:
        """Stop every shard of the store ``name`` (no error if it is not running)."""
        entry = self._stores.pop(name, None)
        if entry is None:
            return
        store, records = entry
        self._cancel(records)
        store.mark_stopped()

    def stop_jobs(self, names: Sequence[str]) -> None:
        """Stop the newest runs of ``names`` that are still active."""
        records = [self.table.latest(n) for n in names]
        self._cancel([r for r in records if r is not None])

    def store_env(self) -> dict[str, str]:
        """Connection variables of every running store, for launched entities."""
        env: dict[str, str] = {}
        for store, _ in self._stores.values():
            env.update(store.connection_env())
        return env

    def running_stores(self) -> list[Store]:
        """Stores started and not stopped, in start order."""
        return [store for store, _ in self._stores.values()]

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
        """Stop every job and store this controller started (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            for name in list(self._stores):
                self.stop_store(name)
            self.launcher.shutdown()
            self.monitor.refresh()
        finally:
            self.monitor.stop()
            reaper.unregister(self)

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


def _submit_event(record: JobRecord) -> JobEvent:
    return JobEvent(
        record.job_id,
        record.name,
        record.entity_type,
        JobState.STATUS_NEW,
        JobState.STATUS_QUEUED,
        record.submit_time,
    )


def merge_env(*parts: Mapping[str, str]) -> dict[str, str]:
    """Later parts win; used to layer store, prefixing and user variables."""
    out: dict[str, str] = {}
    for part in parts:
        out.update(part)
    return out
