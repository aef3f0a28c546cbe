"""The runner: the thin shell that feeds the pure engine and carries out its effects.

Events reach the engine from the member's monitor (job updates), a timer thread (heartbeat
and interval ticks, scheduled from :meth:`Engine.next_deadline`), a store poller (only when
rules read ``store.*`` metrics) and requests (custom-action results, gRPC, the Python API).
The engine runs under one lock and only *computes*; effects are queued to worker threads —
one per job group, one per custom function — so a slow custom action or a large submission
never stalls event handling or other groups.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from typing_extensions import assert_never

from insitu.log import get_logger
from insitu.rules.actions import returned_actions
from insitu.rules.engine import Engine
from insitu.rules.events import (
    ActionRequest,
    CancelJobs,
    Effect,
    EngineEvent,
    Fired,
    JobUpdate,
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
from insitu.rules.members.base import Member
from insitu.rules.metrics import MetricSource, MetricsSnapshot
from insitu.rules.model import Action, EnsembleSpec

logger = get_logger("insitu.rules.runner")


@dataclass(frozen=True)
class ActionFailed:
    """Note: carrying out ``effect`` raised; ``message`` says why."""

    effect: Effect
    message: str
    time: float


Note = Fired | Rejected | JobUpdate | ActionFailed
Observer = Callable[[Note], None]


@dataclass(frozen=True)
class EnsembleResult:
    """How a run ended: ``terminated`` by a rule or stop, final metrics, action failures."""

    terminated: bool
    metrics: MetricsSnapshot
    jobs: Mapping[str, Mapping[str, int]]
    errors: tuple[str, ...]
    fired: int


class _Workers:
    """One thread and FIFO queue per key; effects of one key run in order."""

    def __init__(self, run: Callable[[Effect], None]) -> None:
        self._run = run
        self._queues: dict[str, queue.SimpleQueue[Effect | None]] = {}
        self._threads: list[threading.Thread] = []

    def put(self, key: str, effect: Effect) -> None:
        box = self._queues.get(key)
        if box is None:
            box = self._queues[key] = queue.SimpleQueue()
            thread = threading.Thread(
                target=self._loop, args=(box,), name=f"insitu-rules-{key}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        box.put(effect)

    def stop(self, timeout: float) -> None:
        for box in self._queues.values():
            box.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _loop(self, box: queue.SimpleQueue[Effect | None]) -> None:
        while (effect := box.get()) is not None:
            self._run(effect)


class EnsembleRunner:
    """Runs one ensemble: ``start()``, then ``wait()``, then ``close()`` (or use ``with``).

    Contract: ``wait`` returns True once the ensemble is finished — terminated by a rule
    or :meth:`stop` (and its jobs cancelled, or ended when left running), or idle: no job
    queued or running, no action in progress, and no heartbeat/interval rule left to fire.
    ``close`` stops every thread of the runner and the member's jobs if any remain.
    """

    def __init__(
        self,
        spec: EnsembleSpec,
        member: Member,
        metric_source: MetricSource | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.spec = spec
        self.member = member
        self.engine = Engine(spec, adopt=member.adopts)
        self._source = metric_source
        self._observer = observer
        self._lock = threading.Condition()
        self._workers = _Workers(self._carry_out)
        self._inflight = 0
        self._fired = 0
        self._errors: list[str] = []
        self._terminate: Terminate | None = None
        self._closed_member = False
        self._started = False
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._deadline: float | None = None
        self._close_hooks: list[Callable[[], None]] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> EnsembleRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Validate with the member, subscribe to its events, fire ``start`` rules."""
        self.member.validate(self.spec)
        self.member.start(self._on_update)
        with self._lock:
            self._started = True
        self._feed(Started(time.time()))
        self._spawn(self._clock, "clock")
        names = self.spec.store_metrics()
        if names and self._source is not None:
            self._spawn(lambda: self._poll_store(names), "store")

    def wait(self, timeout: float | None = None, until_terminated: bool = False) -> bool:
        """Block until the ensemble is finished (see class contract); False on timeout.

        ``until_terminated``: being idle is not enough (a served ensemble waits for
        requests until something terminates it).
        """

        def done() -> bool:
            return self._finished() and (not until_terminated or self._terminate is not None)

        with self._lock:
            return self._lock.wait_for(done, timeout)

    def stop(self, cancel_running: bool = True) -> None:
        """Terminate now, as a ``terminate`` action would (idempotent)."""
        with self._lock:
            effect = self.engine.terminate(cancel_running)
            if effect is not None:
                self._dispatch(effect)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the runner's threads and every job still running (idempotent)."""
        with self._lock:
            finished = self._finished()
        if not finished:
            self.stop(cancel_running=True)
            self.wait(timeout)
        self.member.close(cancel_running=True)
        for hook in self._close_hooks:
            hook()
        self._close_hooks.clear()
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._workers.stop(timeout)
        if self._source is not None:
            self._source.close()

    def on_close(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` when the runner closes (before its threads stop)."""
        self._close_hooks.append(hook)

    def request(self, action: Action, origin: str = "api") -> str | None:
        """Run ``action`` once now; the reason it was refused, or None if accepted."""
        effects = self._feed(ActionRequest(action, time.time(), origin))
        reasons = [e.reason for e in effects if isinstance(e, Rejected)]
        return reasons[0] if reasons else None

    def result(self) -> EnsembleResult:
        """Metrics and outcome so far (final once :meth:`wait` returned True)."""
        with self._lock:
            return EnsembleResult(
                terminated=self.engine.terminated,
                metrics=self.engine.metrics.snapshot(),
                jobs=self.engine.job_states(),
                errors=tuple(self._errors),
                fired=self._fired,
            )

    # ------------------------------------------------------------------ engine
    def _on_update(self, update: JobUpdate) -> None:
        if self._observer is not None:
            self._observer(update)
        self._feed(update)

    def _feed(self, event: EngineEvent) -> list[Effect]:
        with self._lock:
            effects = self.engine.handle(event)
            for effect in effects:
                self._dispatch(effect)
            deadline = self.engine.next_deadline()
            if deadline != self._deadline:
                self._deadline = deadline
                self._wake.set()
            self._lock.notify_all()
        return effects

    def _dispatch(self, effect: Effect) -> None:
        """Route one effect (called with the lock held; never blocks)."""
        if isinstance(effect, Fired | Rejected):
            self._fired += isinstance(effect, Fired)
            if self._observer is not None:
                self._observer(effect)
            return
        self._inflight += 1
        match effect:
            case Terminate():
                self._terminate = effect
                self._spawn(lambda: self._carry_out(effect), "terminate")
            case RunCustom():
                self._workers.put(f"custom-{effect.function}", effect)
            case Resize():
                self._workers.put("resize", effect)
            case SubmitJobs() | ResubmitJobs() | CancelJobs():
                self._workers.put(f"group-{effect.group}", effect)
            case _:
                assert_never(effect)

    def _finished(self) -> bool:
        if not self._started:
            return False
        if self._terminate is not None:
            left = self._terminate.cancel_running or self.engine.active_jobs() == 0
            return self._closed_member and self._inflight == 0 and left
        idle = self._inflight == 0 and self.engine.active_jobs() == 0
        return idle and not self.engine.has_live_periodic()

    # ------------------------------------------------------------------ effects
    def _carry_out(self, effect: Effect) -> None:
        try:
            self._apply(effect)
        except Exception as err:
            self._failed(effect, err)
        finally:
            with self._lock:
                self._inflight -= 1
                if isinstance(effect, Terminate):
                    self._closed_member = True
                self._lock.notify_all()

    def _apply(self, effect: Effect) -> None:
        member = self.member
        match effect:
            case SubmitJobs():
                member.submit(effect.group, effect.tickets)
            case ResubmitJobs():
                member.resubmit(effect.group, effect.tickets)
            case CancelJobs():
                member.cancel(effect.group, effect.keys)
            case Resize():
                size = member.resize(effect.delta, effect.group)
                logger.info("executor size is now %d", size)
            case Terminate():
                member.close(effect.cancel_running)
            case RunCustom():
                self._run_custom(effect)
            case Fired() | Rejected():
                pass  # notes: _dispatch hands them to the observer, never to a worker
            case _:
                assert_never(effect)

    def _run_custom(self, effect: RunCustom) -> None:
        function = self.spec.custom[effect.function]
        result = function(
            event=effect.event,
            action=effect.action,
            rule=effect.rule,
            metrics=effect.metrics,
            handle=self.member.handle,
        )
        for action in returned_actions(result):
            reason = self.request(action, origin=f"custom {effect.function}")
            if reason is not None:
                raise ValueError(f"returned action {action.name} was refused: {reason}")

    def _failed(self, effect: Effect, err: Exception) -> None:
        message = f"{type(effect).__name__} failed: {err}"
        logger.error("%s", message)
        now = time.time()
        with self._lock:
            self._errors.append(message)
        if self._observer is not None:
            self._observer(ActionFailed(effect, message, now))
        if isinstance(effect, SubmitJobs | ResubmitJobs):
            for ticket in effect.tickets:
                if ticket.template is not None:
                    self._feed(JobUpdate(ticket.key, "failure", now))

    # ------------------------------------------------------------------ threads
    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"insitu-rules-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _clock(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                deadline = self.engine.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.time())
            if self._wake.wait(timeout):
                self._wake.clear()
                continue
            self._feed(Tick(time.time()))

    def _poll_store(self, names: tuple[str, ...]) -> None:
        assert self._source is not None
        last: dict[str, float] = {}
        while not self._stopping.is_set():
            try:
                values = self._source.read(names)
            except Exception as err:
                logger.warning("could not read store metrics %s: %s", names, err)
                values = {}
            for name, value in values.items():
                if last.get(name) != value:
                    last[name] = value
                    self._feed(MetricSample(name, value, time.time()))
            self._stopping.wait(self.spec.executor.metric_interval)
