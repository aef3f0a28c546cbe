"""The rules file as values: job groups, rules, actions, conditions and options (no I/O).

The vocabulary is ensemble-python's (``jobs``, ``rules``, ``trigger``, ``action`` with
``name``/``label``/``repetitions``/``backoff``/``value``); :mod:`insitu.rules.parse` builds
these values from YAML or a mapping and validates them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

TRIGGER_START = "start"
TRIGGER_METRIC = "metric"
TRIGGER_HEARTBEAT = "heartbeat"
TRIGGER_INTERVAL = "interval"
JOB_TRIGGER_PREFIX = "job-"

JOB_EVENTS: tuple[str, ...] = (
    "submit",
    "start",
    "finish",
    "success",
    "failure",
    "cancel",
    "exception",
)
"""Job events every member emits; a rule triggers on one as ``job-<event>``."""

TRIGGER_ALIASES: Mapping[str, str] = {"job-fail": "job-failure", "job-run": "job-start"}
"""ensemble-python's job-state trigger names, mapped onto the events above."""

ACTIONS: tuple[str, ...] = (
    "submit",
    "custom",
    "terminate",
    "cancel",
    "resubmit",
    "grow",
    "shrink",
)
GROUP_ACTIONS = frozenset({"submit", "cancel", "resubmit"})
"""Actions whose ``label`` must name a job group."""
RESIZE_ACTIONS = frozenset({"grow", "shrink"})

DEFAULT_HEARTBEAT = 60.0
"""Heartbeat seconds when rules need one (heartbeat rules, grow/shrink) and none is set."""

ON_TERMINATE = ("cancel", "leave")


@dataclass(frozen=True)
class Action:
    """What a rule does when it fires.

    ``repetitions`` is how many times the action may run in total; ``backoff`` (when set)
    is how many trigger occurrences to skip between two runs — ensemble-python's counting.
    ``value`` is the action's amount (grow/shrink step, resubmit bound), default 1.
    """

    name: str
    label: str | None = None
    repetitions: int = 1
    backoff: int | None = None
    value: float | str | None = None

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
    """A parsed ``when``: ``<op> <number>``; a bare number means equality."""

    op: str
    operand: float

    def holds(self, value: float) -> bool:
        """True if ``value <op> operand``."""
        return _COMPARE[self.op](value, self.operand)

    def __str__(self) -> str:
        return f"{self.op} {self.operand:g}"


_COMPARE: Mapping[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
COMPARISONS = tuple(_COMPARE)


@dataclass(frozen=True)
class Rule:
    """A trigger and the action it leads to.

    ``trigger`` is canonical (``start``, ``metric``, ``heartbeat``, ``interval`` or
    ``job-<event>``). ``name`` is the metric path for metric rules and the job group a
    job-event rule is scoped to (any group of the ensemble when unset). ``every`` is the
    period of an ``interval`` rule in seconds. ``index`` is the rule's position in the file.
    """

    trigger: str
    action: Action
    name: str | None = None
    when: Condition | None = None
    every: float | None = None
    index: int = 0

    @property
    def label(self) -> str:
        """How logs name the rule (ensemble-python: the name, else the trigger)."""
        return self.name or self.trigger

    @property
    def job_event(self) -> str | None:
        """The job event of a ``job-<event>`` rule, else None."""
        if self.trigger.startswith(JOB_TRIGGER_PREFIX):
            return self.trigger[len(JOB_TRIGGER_PREFIX) :]
        return None


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
    on_terminate: str = "cancel"
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
