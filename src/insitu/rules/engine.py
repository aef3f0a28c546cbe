"""The rules engine: events in, effects out. Pure — no threads, no clock, no I/O.

For each event the engine updates its job table and metrics, then fires rules in file order:
metric rules (whose ``when`` holds) first, then the ``job-<event>`` rules of the job's group.
A job-event rule with a ``name`` fires only for jobs of that group (ensemble-python fires it
for any job). Jobs the engine did not ask for never fire anything, except those of watched
groups when ``adopt`` is on (an Experiment's entities, started outside the engine).

Every terminal job fires ``job-finish`` and one of ``job-success``/``job-failure``/
``job-cancel``; ``job-exception`` joins a failure that had no exit status of its own (killed
by a signal, or never started). ``count.<g>.finished`` counts every ended job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from typing_extensions import assert_never

from insitu.rules.actions import ActionBudget, action_problem
from insitu.rules.events import (
    ActionRequest,
    CancelJobs,
    Effect,
    EngineEvent,
    Fired,
    JobTicket,
    JobUpdate,
    JobUpdateKind,
    MetricSample,
    Rejected,
    Resize,
    ResubmitJobs,
    RunCustom,
    Started,
    SubmitJobs,
    Terminate,
    Tick,
)
from insitu.rules.metrics import Counter, MetricPath, Metrics, parse_metric_path
from insitu.rules.model import (
    TRIGGER_HEARTBEAT,
    TRIGGER_INTERVAL,
    TRIGGER_METRIC,
    TRIGGER_START,
    Action,
    EnsembleSpec,
    JobEventName,
    JobTemplate,
    Rule,
)


class JobPhase(Enum):
    """Where one job of the ensemble is, as the engine sees it.

    An Enum, unlike the rules file's words: these states never come from a file or the wire,
    they live only in the engine's table, and :meth:`Engine.job_states` reports their values.
    """

    REQUESTED = "requested"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


_Outcome = Literal["success", "failure", "cancel"]
"""The kinds of :class:`JobUpdate` that end a job."""

_COUNTER: Mapping[_Outcome, Counter] = {
    "success": "success",
    "failure": "failed",
    "cancel": "cancelled",
}
"""The ``count.<group>.<counter>`` each ending adds to (besides ``finished``)."""


@dataclass
class _Track:
    """The engine's view of one job (mutable, private)."""

    key: str
    group: str
    template: JobTemplate | None
    attempt: int = 0
    state: JobPhase = JobPhase.REQUESTED
    submit_time: float | None = None
    start_time: float | None = None
    outcome: _Outcome | None = None
    resubmitted: bool = False


class Engine:
    """Turns ensemble events into effects for one :class:`EnsembleSpec`.

    Contract: :meth:`handle` never blocks and never raises for a well-formed event; an
    action that cannot run becomes a :class:`Rejected` note. After a ``terminate`` no rule
    fires, but job updates still feed the metrics. Not thread-safe: one caller at a time.
    """

    def __init__(self, spec: EnsembleSpec, adopt: bool = False) -> None:
        self.spec = spec
        self.metrics = Metrics()
        self.terminated = False
        self._adopt = adopt
        self._groups = frozenset(spec.groups)
        self._budgets = {rule.index: ActionBudget(rule.action) for rule in spec.rules}
        self._metric_rules: list[tuple[Rule, MetricPath]] = [
            (r, parse_metric_path(r.name or "", spec.groups))
            for r in spec.rules
            if r.trigger == TRIGGER_METRIC
        ]
        self._job_rules: dict[JobEventName, list[Rule]] = {}
        for rule in spec.rules:
            if rule.job_event is not None:
                self._job_rules.setdefault(rule.job_event, []).append(rule)
        self._periodic = [r for r in spec.rules if r.trigger == TRIGGER_INTERVAL]
        self._beat_rules = [r for r in spec.rules if r.trigger == TRIGGER_HEARTBEAT]
        self._jobs: dict[str, _Track] = {}
        self._runs: dict[str, int] = {}
        self._sequence: dict[str, int] = {}
        self._active = 0
        self._started = False
        self._next_beat: float | None = None
        self._next_due: dict[int, float] = {}

    # ------------------------------------------------------------------ queries
    def active_jobs(self) -> int:
        """Jobs asked for or adopted that have not ended."""
        return self._active

    def has_live_periodic(self) -> bool:
        """True while a heartbeat or interval rule may still fire."""
        periodic = [*self._periodic, *self._beat_rules]
        return not self.terminated and any(not self._budgets[r.index].finished for r in periodic)

    def next_deadline(self) -> float | None:
        """When the next :class:`Tick` is due (None: no clock needed)."""
        if self.terminated or not self._started:
            return None
        times = [t for i, t in self._next_due.items() if not self._budgets[i].finished]
        if self._next_beat is not None:
            times.append(self._next_beat)
        return min(times, default=None)

    def job_states(self) -> dict[str, dict[str, int]]:
        """How many jobs of each group are in each state (requested/queued/running/done)."""
        out: dict[str, dict[str, int]] = {}
        for track in self._jobs.values():
            group = out.setdefault(track.group, {})
            group[track.state.value] = group.get(track.state.value, 0) + 1
        return out

    def terminate(self, cancel_running: bool = True) -> Terminate | None:
        """Stop firing rules now (an outside stop); None if already terminated."""
        if self.terminated:
            return None
        self.terminated = True
        return Terminate(cancel_running)

    # ------------------------------------------------------------------ events
    def handle(self, event: EngineEvent) -> list[Effect]:
        """Apply ``event``; return the effects to carry out, in order."""
        out: list[Effect] = []
        match event:
            case JobUpdate():
                self._on_job(event, out)
            case Tick():
                self._on_tick(event, out)
            case MetricSample():
                self.metrics.store[event.name] = event.value
                self._evaluate_metrics(event, out)
            case ActionRequest():
                self._on_request(event, out)
            case Started():
                self._on_start(event, out)
            case _:
                assert_never(event)
        return out

    def _on_start(self, event: Started, out: list[Effect]) -> None:
        if self._started:
            return
        self._started = True
        if self.spec.heartbeat:
            self._next_beat = event.time + self.spec.heartbeat
        for rule in self._periodic:
            self._next_due[rule.index] = event.time + (rule.every or 0.0)
        for rule in self.spec.rules:
            if rule.trigger == TRIGGER_START:
                self._fire(rule, event, out)

    def _on_job(self, event: JobUpdate, out: list[Effect]) -> None:
        track = self._jobs.get(event.key)
        if track is None:
            if not self._adopt or event.group not in self._groups:
                return
            track = self._adopt_job(event.key, event.group)
        if track.state is JobPhase.DONE:
            return
        names = self._apply(track, event)
        self._evaluate_metrics(event, out)
        for name in names:
            for rule in self._job_rules.get(name, ()):
                if rule.name is None or rule.name == track.group:
                    self._fire(rule, event, out)

    def _on_tick(self, event: Tick, out: list[Effect]) -> None:
        if self.terminated:
            return
        beat = self.spec.heartbeat
        if beat and self._next_beat is not None and event.time >= self._next_beat:
            self._next_beat = event.time + beat
            self._heartbeat(event, out)
        for rule in self._periodic:
            due = self._next_due.get(rule.index)
            if due is not None and event.time >= due:
                self._next_due[rule.index] = event.time + (rule.every or 0.0)
                self._fire(rule, event, out)

    def _heartbeat(self, event: Tick, out: list[Effect]) -> None:
        for track in self._jobs.values():
            if track.state is JobPhase.QUEUED and track.submit_time is not None:
                wait = max(0.0, event.time - track.submit_time)
                self.metrics.set_provisional(f"{track.group}-pending", track.key, wait)
        self._evaluate_metrics(event, out)
        for rule in self._beat_rules:
            self._fire(rule, event, out)

    def _on_request(self, event: ActionRequest, out: list[Effect]) -> None:
        if self.terminated:
            out.append(Rejected(event.action, "the ensemble has terminated", event.time))
            return
        problem = action_problem(event.action, self.spec.groups, self.spec.custom)
        if problem is not None:
            out.append(Rejected(event.action, problem[1], event.time))
            return
        out.append(Fired(None, event.action, f"request from {event.origin}", event.time))
        self._act(event.action, None, event, out)

    # ------------------------------------------------------------------ jobs
    def _adopt_job(self, key: str, group: str) -> _Track:
        base = key.partition("@")[0]
        attempt = self._runs.get(base, 0)
        self._runs[base] = attempt + 1
        return self._track(key, group, None, attempt)

    def _track(self, key: str, group: str, template: JobTemplate | None, attempt: int) -> _Track:
        track = _Track(key, group, template, attempt)
        self._jobs[key] = track
        self._active += 1
        self.metrics.ensure_group(group)
        return track

    def _apply(self, track: _Track, event: JobUpdate) -> list[JobEventName]:
        """Update ``track`` and the metrics; return the job events that occurred."""
        kind: JobUpdateKind = event.kind
        names: list[JobEventName] = []
        match kind:
            case "submit":
                if track.submit_time is None:
                    track.submit_time = event.time
                    track.state = JobPhase.QUEUED
                    names.append("submit")
            case "start":
                if track.state in (JobPhase.REQUESTED, JobPhase.QUEUED):
                    self._mark_started(track, event.time)
                    names.append("start")
            case "success" | "failure" | "cancel":
                names += self._mark_ended(track, kind, event)
            case "other":
                pass  # only the member-specific events in ``extra``
            case _:
                assert_never(kind)
        return names + list(event.extra)

    def _mark_started(self, track: _Track, time: float) -> None:
        submitted = track.submit_time if track.submit_time is not None else time
        track.submit_time = submitted
        track.start_time = time
        track.state = JobPhase.RUNNING
        series = f"{track.group}-pending"
        self.metrics.clear_provisional(series, track.key)
        self.metrics.record(series, max(0.0, time - submitted))

    def _mark_ended(self, track: _Track, outcome: _Outcome, event: JobUpdate) -> list[JobEventName]:
        self.metrics.clear_provisional(f"{track.group}-pending", track.key)
        if track.start_time is not None:
            self.metrics.record(f"{track.group}-duration", max(0.0, event.time - track.start_time))
        track.state = JobPhase.DONE
        track.outcome = outcome
        self._active -= 1
        self.metrics.increment(track.group, "finished")
        self.metrics.increment(track.group, _COUNTER[outcome])
        names: list[JobEventName] = ["finish", outcome]
        code = event.returncode
        if outcome == "failure" and (track.start_time is None or code is None or code < 0):
            names.append("exception")
        return names

    def _new_ticket(
        self, group: str, template: JobTemplate, attempt: int = 0, retry_of: str | None = None
    ) -> JobTicket:
        number = self._sequence.get(group, 0)
        self._sequence[group] = number + 1
        key = f"{group}-{number}"
        while key in self._jobs:  # an adopted job may already use the name
            key += "+"
        self._track(key, group, template, attempt)
        return JobTicket(key, group, template, attempt, retry_of)

    # ------------------------------------------------------------------ rules
    def _evaluate_metrics(self, event: EngineEvent, out: list[Effect]) -> None:
        for rule, path in self._metric_rules:
            if self.terminated or self._budgets[rule.index].finished:
                continue
            value = self.metrics.value(path)
            if value is None or (rule.when is not None and not rule.when.holds(value)):
                continue
            self._fire(rule, event, out)

    def _fire(self, rule: Rule, event: EngineEvent, out: list[Effect]) -> None:
        if self.terminated or not self._budgets[rule.index].perform():
            return
        out.append(Fired(rule, rule.action, _describe(rule), _time(event)))
        self._act(rule.action, rule, event, out)

    def _act(
        self, action: Action, rule: Rule | None, event: EngineEvent, out: list[Effect]
    ) -> None:
        """Carry out ``action``, which :func:`action_problem` passed (its label is set)."""
        match action.name:
            case "submit":
                out.append(self._submit(_label(action)))
            case "resubmit":
                group = _label(action)
                out.append(ResubmitJobs(group, tuple(self._retries(group, action.amount()))))
            case "cancel":
                out.append(self._cancel(_label(action)))
            case "custom":
                out.append(RunCustom(_label(action), action, rule, event, self.metrics.snapshot()))
            case "terminate":
                self.terminated = True
                out.append(Terminate(self.spec.executor.on_terminate == "cancel"))
            case "grow":
                out.append(Resize(action.amount(), action.label))
            case "shrink":
                out.append(Resize(-action.amount(), action.label))
            case _:
                assert_never(action.name)

    def _submit(self, group: str) -> SubmitJobs:
        templates = self.spec.templates(group)
        tickets = [self._new_ticket(group, t) for t in templates for _ in range(t.count)]
        return SubmitJobs(group, tuple(tickets))

    def _cancel(self, group: str) -> CancelJobs:
        live = [t for t in self._jobs.values() if t.group == group and t.state is not JobPhase.DONE]
        return CancelJobs(group, tuple(t.key for t in live))

    def _retries(self, group: str, limit: int) -> Iterable[JobTicket]:
        failed = [
            t
            for t in self._jobs.values()
            if t.group == group and t.outcome == "failure" and not t.resubmitted
        ]
        for track in failed:
            if track.attempt >= limit:
                continue
            track.resubmitted = True
            if track.template is None:
                yield JobTicket(track.key, group, None, track.attempt + 1, track.key)
            else:
                yield self._new_ticket(group, track.template, track.attempt + 1, track.key)


def _label(action: Action) -> str:
    """The label of an action that needs one: a job group, or a custom function's name."""
    # action_problem refuses these without a label: at parse time for rules, on request else.
    assert action.label is not None, f"action {action.name} reached the engine without a label"
    return action.label


def _describe(rule: Rule) -> str:
    """How logs name a firing: the metric path, or the trigger and the group it is scoped to."""
    if rule.trigger == TRIGGER_METRIC or not rule.name:
        return rule.label
    return f"{rule.trigger} {rule.name}"


def _time(event: EngineEvent) -> float:
    return event.time
