"""The Experiment member: rules over an Experiment's Models and Ensembles.

Each attached entity is a job group named after it; an Ensemble's members (``sim_0`` …)
belong to its group. ``submit`` starts the entity (``exp.start(entity, block=False)``),
``cancel`` stops it, ``resubmit`` starts the failed members again. Jobs are the
Experiment's own, so they are *adopted*: every run of an attached entity — whoever started
it — is tracked under the key ``<job name>@<job id>``; jobs of other entities are ignored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from insitu.entities.ensemble import Ensemble
from insitu.entities.model import Model
from insitu.errors import InvalidArgumentError, UnsupportedOptionError
from insitu.jobs.events import EVENT_KINDS, JobEvent
from insitu.jobs.status import JobState
from insitu.rules.events import JobTicket, JobUpdate
from insitu.rules.members.base import Sink
from insitu.rules.model import JOB_EVENTS, RESIZE_ACTIONS, EnsembleSpec, JobEventName
from insitu.runtime.events import Subscription

if TYPE_CHECKING:
    from insitu.experiment import Experiment


class ExperimentMember:
    """Drives an Experiment's entities as job groups (see module docstring)."""

    name = "experiment"
    job_events: tuple[JobEventName, ...] = JOB_EVENTS
    adopts = True

    def __init__(self, exp: Experiment, entities: Sequence[Model | Ensemble]) -> None:
        if not entities:
            raise InvalidArgumentError("attach rules to at least one Model or Ensemble")
        self._exp = exp
        self._entities: dict[str, Model | Ensemble] = {}
        self._owner: dict[str, str] = {}
        self._models: dict[str, Model] = {}
        for entity in entities:
            if not isinstance(entity, Model | Ensemble):
                raise InvalidArgumentError(f"rules attach to Models and Ensembles, not {entity!r}")
            self._entities[entity.name] = entity
            members = entity.models if isinstance(entity, Ensemble) else [entity]
            for model in members:
                self._owner[model.name] = entity.name
                self._models[model.name] = model
        self._sink: Sink | None = None
        self._subscription: Subscription | None = None

    @property
    def groups(self) -> tuple[str, ...]:
        """The job groups: the attached entities' names."""
        return tuple(self._entities)

    @property
    def handle(self) -> Experiment:
        """The Experiment (given to custom actions as ``handle``)."""
        return self._exp

    def validate(self, spec: EnsembleSpec) -> None:
        """An Experiment's launcher has no size to change: refuse grow/shrink."""
        for rule in spec.rules:
            if rule.action.name in RESIZE_ACTIONS:
                raise UnsupportedOptionError(
                    f"rules[{rule.index}].action {rule.action.name}",
                    "rules attached to an Experiment",
                )

    def start(self, sink: Sink) -> None:
        """Forward the Experiment's events of attached entities to ``sink``."""
        self._sink = sink
        self._subscription = self._exp.subscribe(self._on_event)

    def submit(self, group: str, tickets: Sequence[JobTicket]) -> None:
        """Start the group's entity (every member of an Ensemble)."""
        self._exp.start(self._entities[group], block=False)

    def resubmit(self, group: str, tickets: Sequence[JobTicket]) -> None:
        """Start the failed members named by the tickets again."""
        names = dict.fromkeys(t.key.partition("@")[0] for t in tickets)
        models = [self._models[n] for n in names if n in self._models]
        if models:
            self._exp.start(*models, block=False)

    def cancel(self, group: str, keys: Sequence[str]) -> None:
        """Stop the group's entity (returns once its jobs are gone)."""
        self._exp.stop(self._entities[group])

    def resize(self, delta: int, group: str | None) -> int:
        """Refused at validation; never called."""
        raise UnsupportedOptionError("grow/shrink", "rules attached to an Experiment")

    def close(self, cancel_running: bool) -> None:
        """With ``cancel_running``, stop every attached entity; then stop listening."""
        if cancel_running:
            self._exp.stop(*self._entities.values())
            if self._subscription is not None:
                self._subscription.cancel()

    def _on_event(self, event: JobEvent) -> None:
        group = self._owner.get(event.name)
        kind = EVENT_KINDS.get(event.state)
        if group is None or kind is None or self._sink is None:
            return
        code = None if event.state is JobState.NEVER_STARTED else event.returncode
        key = f"{event.name}@{event.job_id}"
        self._sink(JobUpdate(key, kind, event.time or time.time(), code, group=group))
