"""The rules file as values: job groups, rules, actions, conditions and options (no I/O).

The vocabulary is ensemble-python's (``jobs``, ``rules``, ``trigger``, ``action`` with
``name``/``label``/``repetitions``/``backoff``/``value``); :mod:`insitu.rules.parse` builds
these values from YAML or a mapping and validates them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeVar, get_args

from typing_extensions import assert_never

from insitu.errors import InvalidArgumentError

# The words of a rules file are Literal types, not Enums: they arrive as strings from YAML, JSON
# and gRPC, leave as strings (logs, the CLI's event log, status payloads), and ensemble-python's
# custom code compares them as strings (``rule.trigger == "job-success"``). A Literal stays a
# plain str at run time, so all of that keeps working, while mypy checks every comparison, match
# and constructor call against the vocabulary. :func:`parse_choice` is the one way from a raw
# value to one of these types.

CoreJobEvent = Literal["submit", "start", "finish", "success", "failure", "cancel", "exception"]
"""Job events every member emits; a rule triggers on one as ``job-<event>``."""

FluxJobEvent = Literal["validate", "depend", "priority", "alloc", "release", "free", "clean"]
"""Flux's further job events (ensemble-python's own triggers), emitted by the flux member only."""

JobEventName = Literal[CoreJobEvent, FluxJobEvent]
"""Every job event a ``job-<event>`` rule may name (which ones a member emits varies)."""

EnsembleTrigger = Literal["start", "metric", "heartbeat", "interval"]
"""Triggers that are not about one job: the ensemble starts, a metric, the clocks."""

JobTrigger = Literal[
    "job-submit",
    "job-start",
    "job-finish",
    "job-success",
    "job-failure",
    "job-cancel",
    "job-exception",
    "job-validate",
    "job-depend",
    "job-priority",
    "job-alloc",
    "job-release",
    "job-free",
    "job-clean",
]
"""``job-<event>`` for every :data:`JobEventName` (a unit test keeps the two in step)."""

Trigger = Literal[EnsembleTrigger, JobTrigger]
"""A rule's canonical trigger (aliases such as ``job-fail`` are resolved by the parser)."""

ActionName = Literal["submit", "custom", "terminate", "cancel", "resubmit", "grow", "shrink"]
"""What a rule (or a request) can do."""

ComparisonOp = Literal["==", "!=", "<", "<=", ">", ">="]
"""The operator of a metric rule's ``when``."""

OnTerminate = Literal["cancel", "leave"]
"""What ``terminate`` does to running jobs (``executor.on_terminate``)."""

TRIGGER_START: Final = "start"
TRIGGER_METRIC: Final = "metric"
TRIGGER_HEARTBEAT: Final = "heartbeat"
TRIGGER_INTERVAL: Final = "interval"
JOB_TRIGGER_PREFIX: Final = "job-"

JOB_EVENTS: tuple[CoreJobEvent, ...] = get_args(CoreJobEvent)
"""Job events every member emits; a rule triggers on one as ``job-<event>``."""
JOB_EVENT_NAMES: tuple[JobEventName, ...] = get_args(JobEventName)
TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)

TRIGGER_ALIASES: Mapping[str, JobTrigger] = {"job-fail": "job-failure", "job-run": "job-start"}
"""ensemble-python's job-state trigger names, mapped onto the events above."""

_JOB_EVENT_OF: Mapping[str, JobEventName] = {f"{JOB_TRIGGER_PREFIX}{e}": e for e in JOB_EVENT_NAMES}

ACTIONS: tuple[ActionName, ...] = get_args(ActionName)
GROUP_ACTIONS: frozenset[ActionName] = frozenset({"submit", "cancel", "resubmit"})
"""Actions whose ``label`` must name a job group."""
RESIZE_ACTIONS: frozenset[ActionName] = frozenset({"grow", "shrink"})

COMPARISONS: tuple[ComparisonOp, ...] = get_args(ComparisonOp)

DEFAULT_HEARTBEAT = 60.0
"""Heartbeat seconds when rules need one (heartbeat rules, grow/shrink) and none is set."""

ON_TERMINATE: tuple[OnTerminate, ...] = get_args(OnTerminate)

_Word = TypeVar("_Word", bound=str)


def match_choice(value: object, choices: Sequence[_Word]) -> _Word | None:
    """The member of ``choices`` equal to ``value`` (typed as the vocabulary), else None."""
    for choice in choices:
        if value == choice:
            return choice
    return None


def parse_choice(value: object, choices: Sequence[_Word], what: str) -> _Word:
    """``value`` as a word of ``choices``; ``InvalidArgumentError`` (a ``ValueError``) naming
    the value and the allowed words otherwise."""
    found = match_choice(value, choices)
    if found is None:
        raise InvalidArgumentError(f"unknown {what} {value!r}; use one of {', '.join(choices)}")
    return found


def parse_trigger(value: object) -> Trigger:
    """A trigger name from a file (aliases resolved) as a :data:`Trigger`."""
    canonical = TRIGGER_ALIASES.get(value, value) if isinstance(value, str) else value
    return parse_choice(canonical, TRIGGERS, "trigger")


def job_event_of(trigger: Trigger) -> JobEventName | None:
    """The job event of a ``job-<event>`` trigger, else None."""
    return _JOB_EVENT_OF.get(trigger)


@dataclass(frozen=True)
class Action:
    """What a rule does when it fires.

    ``repetitions`` is how many times the action may run in total; ``backoff`` (when set)
    is how many trigger occurrences to skip between two runs — ensemble-python's counting.
    ``value`` is the action's amount (grow/shrink step, resubmit bound), default 1.
    An unknown ``name`` raises ``InvalidArgumentError`` naming the allowed ones.
    """

    name: ActionName
    label: str | None = None
    repetitions: int = 1
    backoff: int | None = None
    value: float | str | None = None

    def __post_init__(self) -> None:
        parse_choice(self.name, ACTIONS, "action")

    def amount(self, default: int = 1) -> int:
        """``value`` as a whole number (``default`` when unset)."""
        if self.value is None:
            return default
        number = float(self.value)
        if not math.isfinite(number) or number != int(number):
            raise ValueError(f"action {self.name}: value {self.value!r} is not a whole number")
        return int(number)


@dataclass(frozen=True)
class Condition:
    """A parsed ``when``: ``<op> <number>``; a bare number means equality.

    An unknown ``op`` raises ``InvalidArgumentError`` naming the allowed ones.
    """

    op: ComparisonOp
    operand: float

    def __post_init__(self) -> None:
        parse_choice(self.op, COMPARISONS, "comparison")

    def holds(self, value: float) -> bool:
        """True if ``value <op> operand``."""
        operand = self.operand
        match self.op:
            case "==":
                return value == operand
            case "!=":
                return value != operand
            case "<":
                return value < operand
            case "<=":
                return value <= operand
            case ">":
                return value > operand
            case ">=":
                return value >= operand
            case _:
                assert_never(self.op)

    def __str__(self) -> str:
        return f"{self.op} {self.operand:g}"


@dataclass(frozen=True)
class Rule:
    """A trigger and the action it leads to.

    ``trigger`` is canonical (``start``, ``metric``, ``heartbeat``, ``interval`` or
    ``job-<event>``). ``name`` is the metric path for metric rules and the job group a
    job-event rule is scoped to (any group of the ensemble when unset). ``every`` is the
    period of an ``interval`` rule in seconds. ``index`` is the rule's position in the file.
    An unknown ``trigger`` raises ``InvalidArgumentError`` naming the allowed ones.
    """

    trigger: Trigger
    action: Action
    name: str | None = None
    when: Condition | None = None
    every: float | None = None
    index: int = 0

    def __post_init__(self) -> None:
        parse_choice(self.trigger, TRIGGERS, "trigger")

    @property
    def label(self) -> str:
        """How logs name the rule (ensemble-python: the name, else the trigger)."""
        return self.name or self.trigger

    @property
    def job_event(self) -> JobEventName | None:
        """The job event of a ``job-<event>`` rule, else None."""
        return job_event_of(self.trigger)


@dataclass(frozen=True)
class JobTemplate:
    """One ``jobs`` entry: ``count`` copies of a command in group ``group``.

    ``argv[0]`` is an absolute path. ``duration`` (seconds) is the walltime, None for
    unlimited. ``index`` is the entry's position in the file.
    """

    group: str
    argv: tuple[str, ...]
    count: int = 1
    nodes: int | None = None
    tasks: int | None = None
    duration: float | None = None
    workdir: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    index: int = 0


@dataclass(frozen=True)
class ExecutorOptions:
    """The ``executor`` section (insitu extension).

    ``size`` caps how many jobs run at once (queued jobs wait; grow/shrink change it).
    ``on_terminate`` is ``cancel`` (stop running jobs) or ``leave`` (let them finish).
    ``metric_interval`` is how often (seconds) store metrics are read. ``logs`` is a
    directory for each job's ``<key>.out``/``<key>.err`` (None: output is discarded).
    """

    name: str | None = None
    size: int | None = None
    on_terminate: OnTerminate = "cancel"
    metric_interval: float = 0.5
    logs: str | None = None


CustomFunction = Callable[..., object]


@dataclass(frozen=True)
class EnsembleSpec:
    """A whole validated rules file.

    ``groups`` are every job group rules may name (job groups of ``jobs``, or the entities
    an Experiment attaches). ``heartbeat`` is in seconds, None when off.
    """

    jobs: tuple[JobTemplate, ...]
    rules: tuple[Rule, ...]
    groups: tuple[str, ...]
    custom: Mapping[str, CustomFunction] = field(default_factory=dict)
    debug: bool = False
    heartbeat: float | None = None
    executor: ExecutorOptions = field(default_factory=ExecutorOptions)
    source: str | None = None

    def templates(self, group: str) -> tuple[JobTemplate, ...]:
        """The ``jobs`` entries of ``group``, in file order."""
        return tuple(t for t in self.jobs if t.group == group)

    def store_metrics(self) -> tuple[str, ...]:
        """Names of the store metrics (``store.<name>``) that rules read."""
        prefix = "store."
        names = {
            r.name[len(prefix) :]
            for r in self.rules
            if r.trigger == TRIGGER_METRIC and r.name and r.name.startswith(prefix)
        }
        return tuple(sorted(names))
