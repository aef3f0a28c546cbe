"""The Flux member: ensemble jobs through Flux's Python bindings (``flux.job.FluxExecutor``).

Selected with ``--executor flux`` when ``flux.job.FluxExecutor`` is importable (a Flux
instance with flux-core's bindings); otherwise choosing it raises ``MissingDependencyError``.
Every Flux job event is forwarded: the core ones map to ``submit``/``start``/``success``/
``failure``/``cancel``, and all of them (``alloc``, ``release``, ``clean`` …) can trigger
``job-<event>`` rules. Flux instances do not change size here, so grow/shrink are refused.

No Flux instance runs on insitu's test machines: this module is exercised only for its
missing-dependency path there.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
import time
from collections.abc import Sequence
from typing import Any, get_args

from insitu.errors import MissingDependencyError, UnsupportedOptionError
from insitu.rules.events import JobTicket, JobUpdate, JobUpdateKind
from insitu.rules.members.base import Sink
from insitu.rules.model import (
    JOB_EVENTS,
    RESIZE_ACTIONS,
    EnsembleSpec,
    FluxJobEvent,
    JobEventName,
    match_choice,
)

FLUX_EVENTS: tuple[FluxJobEvent, ...] = get_args(FluxJobEvent)
"""Flux job events forwarded as ``extra`` (usable as ``job-alloc`` … triggers)."""

_INSTALL_HINT = (
    "run inside a Flux instance with flux-core's Python bindings importable "
    "(e.g. `pip install flux-python==<your flux-core version>`)"
)


def load_flux() -> Any:
    """The ``flux.job`` module, or ``MissingDependencyError`` if Flux cannot be used."""
    try:
        job = importlib.import_module("flux.job")
        job.FluxExecutor  # noqa: B018 - PyPI's unrelated "flux" package has no flux.job
    except (ImportError, AttributeError) as err:
        raise MissingDependencyError(
            "Flux Python bindings (flux.job.FluxExecutor)", _INSTALL_HINT
        ) from err
    return job


class FluxMember:
    """Submits each ticket as a Flux job and forwards its event stream."""

    name = "flux"
    job_events: tuple[JobEventName, ...] = (*JOB_EVENTS, *FLUX_EVENTS)
    adopts = False

    def __init__(self) -> None:
        self._job = load_flux()
        self._executor = self._job.FluxExecutor()
        self._lock = threading.Lock()
        self._futures: dict[str, Any] = {}
        self._cancelled: set[str] = set()
        self._started: set[str] = set()
        self._sink: Sink | None = None

    @property
    def handle(self) -> Any:
        """A Flux handle (ensemble-python gives custom actions the same)."""
        return importlib.import_module("flux").Flux()

    def validate(self, spec: EnsembleSpec) -> None:
        """Flux cannot be resized by the ensemble: refuse grow/shrink rules."""
        for rule in spec.rules:
            if rule.action.name in RESIZE_ACTIONS:
                raise UnsupportedOptionError(
                    f"rules[{rule.index}].action {rule.action.name}",
                    "the flux executor",
                    "a Flux instance's size is fixed from inside it",
                )

    def start(self, sink: Sink) -> None:
        """Deliver job updates to ``sink``."""
        self._sink = sink

    def submit(self, group: str, tickets: Sequence[JobTicket]) -> None:
        """Submit one Flux job per ticket."""
        for ticket in tickets:
            template = ticket.template
            assert template is not None
            nodes = template.nodes or 1
            spec = self._job.JobspecV1.from_command(
                command=list(template.argv),
                num_nodes=nodes,
                num_tasks=max(template.tasks or 1, nodes),
            )
            spec.cwd = template.workdir or os.getcwd()
            spec.environment = {**os.environ, **template.env}
            spec.duration = template.duration or 0
            spec.setattr("user.group", group)
            future = self._executor.submit(spec)
            with self._lock:
                self._futures[ticket.key] = future
            for event in ("submit", "start", "finish", "exception", *FLUX_EVENTS):
                future.add_event_callback(event, functools.partial(self._on_event, ticket.key))

    def resubmit(self, group: str, tickets: Sequence[JobTicket]) -> None:
        """Resubmissions are new Flux jobs."""
        self.submit(group, tickets)

    def cancel(self, group: str, keys: Sequence[str]) -> None:
        """Cancel the Flux jobs of ``keys``."""
        handle = self.handle
        for key in keys:
            with self._lock:
                future = self._futures.get(key)
                self._cancelled.add(key)
            if future is not None:
                self._job.cancel(handle, future.jobid())

    def resize(self, delta: int, group: str | None) -> int:
        """Refused at validation; never called."""
        raise UnsupportedOptionError("grow/shrink", "the flux executor")

    def close(self, cancel_running: bool) -> None:
        """Cancel every job still known (when asked), then shut the executor down."""
        if cancel_running:
            with self._lock:
                keys = [k for k, f in self._futures.items() if not f.done()]
            self.cancel("", keys)
        self._executor.shutdown(wait=cancel_running)

    def _on_event(self, key: str, future: Any, event: Any) -> None:
        name = str(event.name)
        kind: JobUpdateKind = "other"
        code: int | None = None
        match name:
            case "submit":
                kind = "submit"
            case "start":
                kind = "start"
                self._started.add(key)
            case "finish":
                status = int(event.context.get("status", 0))
                code = os.waitstatus_to_exitcode(status) if status else 0
                ended: JobUpdateKind = "success" if code == 0 else "failure"
                kind = "cancel" if key in self._cancelled else ended
            case "exception" if key not in self._started:
                if int(event.context.get("severity", 0)) == 0:
                    kind = "cancel" if event.context.get("type") == "cancel" else "failure"
        flux_event = match_choice(name, FLUX_EVENTS)
        extra = () if flux_event is None else (flux_event,)
        if self._sink is not None and (kind != "other" or extra):
            self._sink(
                JobUpdate(
                    key, kind, float(getattr(event, "timestamp", time.time())), code, extra=extra
                )
            )
