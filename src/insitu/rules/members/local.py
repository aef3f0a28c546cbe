"""The controller member: ensemble jobs through insitu's runtime and any Launcher.

With the local launcher this is ``--executor local``; a scheduler launcher (Slurm, once
registered) plugs in unchanged. Jobs wait in this member's queue while ``size`` jobs are
running (``executor.size``; unlimited when unset), so ``pending`` times are real and
grow/shrink change ``size``. Events come from the runtime's monitor — nothing polls here.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from insitu.errors import UnsupportedOptionError
from insitu.jobs.entity_types import EntityType
from insitu.jobs.events import EVENT_KINDS, JobEvent
from insitu.jobs.resources import Resources
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState
from insitu.log import get_logger
from insitu.rules.events import JobTicket, JobUpdate
from insitu.rules.members.base import Sink
from insitu.rules.model import (
    JOB_EVENTS,
    RESIZE_ACTIONS,
    EnsembleSpec,
    JobEventName,
    JobTemplate,
)
from insitu.runtime.controller import Controller
from insitu.runtime.events import Subscription

logger = get_logger("insitu.rules.members.local")


class ControllerMember:
    """Runs ensemble jobs as runtime jobs named ``<prefix><key>`` (e.g. ``sleep-3``).

    ``owns_controller``: :meth:`close` also shuts the controller down (the CLI's case).
    """

    job_events: tuple[JobEventName, ...] = JOB_EVENTS
    adopts = False

    def __init__(
        self,
        controller: Controller,
        size: int | None = None,
        logs: str | Path | None = None,
        prefix: str = "",
        owns_controller: bool = False,
    ) -> None:
        self.name = controller.launcher.name
        self._controller = controller
        self._size = size
        self._logs = Path(logs) if logs is not None else None
        self._prefix = prefix
        self._owns = owns_controller
        self._cond = threading.Condition()
        self._queue: deque[JobTicket] = deque()
        self._running: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        self._sink: Sink | None = None
        self._subscription: Subscription | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def handle(self) -> Controller:
        """The runtime controller (given to custom actions as ``handle``)."""
        return self._controller

    def validate(self, spec: EnsembleSpec) -> None:
        """Check every job with the launcher and grow/shrink against ``size``."""
        for template in spec.jobs:
            self._controller.launcher.validate(self._spec("check", template))
        if self._size is None:
            for rule in spec.rules:
                if rule.action.name in RESIZE_ACTIONS:
                    raise UnsupportedOptionError(
                        f"rules[{rule.index}].action {rule.action.name}",
                        f"the {self.name} executor without a size",
                        "set executor.size so that grow/shrink can change how many jobs run",
                    )

    def start(self, sink: Sink) -> None:
        """Deliver job updates to ``sink`` and start launching queued jobs."""
        self._sink = sink
        self._subscription = self._controller.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._launch_loop, name="insitu-rules-launch")
        self._thread.daemon = True
        self._thread.start()

    def submit(self, group: str, tickets: Sequence[JobTicket]) -> None:
        """Queue ``tickets``; they are reported submitted now and start when a slot is free."""
        now = time.time()
        with self._cond:
            if self._closed:
                return
        # Reported before queueing, so that no start event can overtake its submit event.
        for ticket in tickets:
            self._emit(JobUpdate(ticket.key, "submit", now))
        with self._cond:
            dropped: list[JobTicket] = list(tickets) if self._closed else []
            if not dropped:
                self._queue.extend(tickets)
                self._cond.notify_all()
        for ticket in dropped:
            self._emit(JobUpdate(ticket.key, "cancel", time.time()))

    def resubmit(self, group: str, tickets: Sequence[JobTicket]) -> None:
        """Resubmissions are new tickets of the same templates: queue them."""
        self.submit(group, tickets)

    def cancel(self, group: str, keys: Sequence[str]) -> None:
        """Drop queued ``keys``; stop running ones and return once they are gone."""
        wanted = set(keys)
        with self._cond:
            dropped = [t for t in self._queue if t.key in wanted]
            self._queue = deque(t for t in self._queue if t.key not in wanted)
            names = [n for n, k in self._running.items() if k in wanted]
        now = time.time()
        for ticket in dropped:
            self._emit(JobUpdate(ticket.key, "cancel", now))
        if names:
            self._controller.stop_jobs(names)

    def resize(self, delta: int, group: str | None) -> int:
        """Change how many jobs may run at once (never below 1); return the new size."""
        with self._cond:
            self._size = max(1, (self._size or 1) + delta)
            self._cond.notify_all()
            return self._size

    def close(self, cancel_running: bool) -> None:
        """Stop launching; drop queued jobs; with ``cancel_running`` stop running ones too."""
        with self._cond:
            self._closed = True
            dropped = list(self._queue)
            self._queue.clear()
            names = list(self._running)
            self._cond.notify_all()
        now = time.time()
        for ticket in dropped:
            self._emit(JobUpdate(ticket.key, "cancel", now))
        if cancel_running and names:
            self._controller.stop_jobs(names)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        if cancel_running:
            if self._subscription is not None:
                self._subscription.cancel()
            if self._owns:
                self._controller.shutdown()

    # ------------------------------------------------------------------ internals
    def _launch_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._can_launch():
                    self._cond.wait()
                if self._closed:
                    return
                ticket = self._queue.popleft()
                name = f"{self._prefix}{ticket.key}"
                self._running[name] = ticket.key
                self._keys[name] = ticket.key
            self._launch(name, ticket)

    def _can_launch(self) -> bool:
        return bool(self._queue) and (self._size is None or len(self._running) < self._size)

    def _launch(self, name: str, ticket: JobTicket) -> None:
        assert ticket.template is not None
        try:
            self._controller.submit(self._spec(name, ticket.template, ticket), owner="ensemble")
        except Exception as err:
            logger.error("could not start %s: %s", name, err)
            with self._cond:
                self._running.pop(name, None)
                self._cond.notify_all()
            self._emit(JobUpdate(ticket.key, "failure", time.time()))

    def _spec(self, name: str, template: JobTemplate, ticket: JobTicket | None = None) -> JobSpec:
        key = ticket.key if ticket is not None else name
        env = {
            **template.env,
            "INSITU_ENSEMBLE_GROUP": template.group,
            "INSITU_ENSEMBLE_JOB": key,
        }
        logs = self._logs
        return JobSpec(
            name=name,
            exe=template.argv[0],
            args=template.argv[1:],
            cwd=Path(template.workdir or "."),
            env=env,
            out_path=logs / f"{key}.out" if logs is not None else None,
            err_path=logs / f"{key}.err" if logs is not None else None,
            resources=Resources(
                nodes=template.nodes, tasks=template.tasks, walltime=template.duration
            ),
            entity_type=EntityType.ENSEMBLE_JOB,
        )

    def _on_event(self, event: JobEvent) -> None:
        """Monitor thread: translate a runtime event of one of our jobs."""
        with self._cond:
            key = self._keys.get(event.name)
            if key is None:
                return
            if event.state.is_terminal:
                self._running.pop(event.name, None)
                self._keys.pop(event.name, None)
                self._cond.notify_all()
        kind = EVENT_KINDS.get(event.state)
        if kind is None or kind == "submit":  # submit: reported when it entered our queue
            return
        code = None if event.state is JobState.NEVER_STARTED else event.returncode
        self._emit(JobUpdate(key, kind, event.time, code))

    def _emit(self, update: JobUpdate) -> None:
        if self._sink is not None:
            self._sink(update)
