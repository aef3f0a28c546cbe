"""What goes into the engine (events) and what comes out (effects): plain frozen values.

Events: :class:`Started`, :class:`JobUpdate`, :class:`Tick`, :class:`MetricSample`,
:class:`ActionRequest`. Effects: :class:`SubmitJobs`, :class:`ResubmitJobs`,
:class:`CancelJobs`, :class:`RunCustom`, :class:`Resize`, :class:`Terminate`, plus the
:class:`Fired` and :class:`Rejected` notes that only inform (logs, the CLI's event log).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from insitu.jobs.events import JobEventKind
from insitu.rules.metrics import MetricsSnapshot
from insitu.rules.model import Action, JobEventName, JobTemplate, Rule

# A Literal (see insitu.rules.model): members build updates from the runtime's JobEvent.kind
# and from Flux's event names, both strings.
JobUpdateKind = Literal[JobEventKind, "other"]
"""What a :class:`JobUpdate` reports; ``other`` carries only member-specific ``extra`` events."""

JOB_KINDS: tuple[JobUpdateKind, ...] = get_args(JobUpdateKind)
"""``JobUpdate.kind`` values; ``other`` carries only member-specific ``extra`` events."""


@dataclass(frozen=True)
class Started:
    """The ensemble starts: ``start`` rules fire; heartbeat and interval clocks begin."""

    time: float


@dataclass(frozen=True)
class JobUpdate:
    """A job of the ensemble changed state.

    ``key`` is the engine's job key. ``group`` is set only by members whose jobs are started
    outside the engine (an Experiment's entities): the engine adopts an unknown key whose
    group it watches; any other unknown key is ignored. ``returncode`` is set on ends;
    ``extra`` names member-specific events (e.g. Flux's ``alloc``) for ``job-<name>`` rules.
    """

    key: str
    kind: JobUpdateKind
    time: float
    returncode: int | None = None
    group: str | None = None
    extra: tuple[JobEventName, ...] = ()


@dataclass(frozen=True)
class Tick:
    """Time passed (fed by the shell's timer at :meth:`Engine.next_deadline`)."""

    time: float


@dataclass(frozen=True)
class MetricSample:
    """A store metric has a new value."""

    name: str
    value: float
    time: float


@dataclass(frozen=True)
class ActionRequest:
    """Run ``action`` now, outside any rule (returned by a custom action, gRPC, API).

    Repetitions and backoff do not apply: each request runs once.
    """

    action: Action
    time: float
    origin: str = "api"


EngineEvent = Started | JobUpdate | Tick | MetricSample | ActionRequest


@dataclass(frozen=True)
class JobTicket:
    """One job the engine asks a member to run; ``key`` is unique in the ensemble.

    ``template`` is None for members that run whole entities (an Experiment's).
    ``retry_of`` is the key of the failed job a resubmission replaces.
    """

    key: str
    group: str
    template: JobTemplate | None
    attempt: int = 0
    retry_of: str | None = None


@dataclass(frozen=True)
class SubmitJobs:
    """Start ``tickets`` (possibly empty for entity groups: start the group's entity)."""

    group: str
    tickets: tuple[JobTicket, ...]


@dataclass(frozen=True)
class ResubmitJobs:
    """Run failed jobs of ``group`` again; each ticket's ``retry_of`` names the failed one."""

    group: str
    tickets: tuple[JobTicket, ...]


@dataclass(frozen=True)
class CancelJobs:
    """Stop the queued and running jobs ``keys`` of ``group``."""

    group: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class RunCustom:
    """Call custom function ``function``; what it returns is fed back as ActionRequests."""

    function: str
    action: Action
    rule: Rule | None
    event: EngineEvent
    metrics: MetricsSnapshot


@dataclass(frozen=True)
class Resize:
    """Grow (``delta`` > 0) or shrink the executor, or ``group``'s share of it."""

    delta: int
    group: str | None = None


@dataclass(frozen=True)
class Terminate:
    """Stop the ensemble; ``cancel_running`` says whether running jobs are cancelled."""

    cancel_running: bool


@dataclass(frozen=True)
class Fired:
    """Note: ``rule`` (None for a request) fired ``action`` on ``trigger`` at ``time``."""

    rule: Rule | None
    action: Action
    trigger: str
    time: float


@dataclass(frozen=True)
class Rejected:
    """Note: a requested action was refused (unknown label, ensemble terminated …)."""

    action: Action
    reason: str
    time: float


Effect = SubmitJobs | ResubmitJobs | CancelJobs | RunCustom | Resize | Terminate | Fired | Rejected
