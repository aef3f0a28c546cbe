"""Subscription API for the runtime's events: :class:`~insitu.jobs.JobEvent` (every state
change of a job) and :class:`StoreEvent` (a store became ready or stopped). Rules, telemetry,
the launch record and the client-side password registry subscribe here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from insitu.jobs.events import JobEvent
from insitu.log import get_logger

logger = get_logger("insitu.runtime.events")

EventT = TypeVar("EventT")

StoreState = Literal["ready", "stopped"]
"""``ready``: every shard serves authenticated requests (and the cluster is formed);
``stopped``: the controller has stopped the shards (or given up on them)."""


@dataclass(frozen=True)
class StoreEvent:
    """A store of the controller became ready, or was stopped.

    ``name`` is the store's name (``Orchestrator.name``); ``addresses`` are its shards'
    addresses in shard order, as ``Orchestrator.get_address()`` gives them (``"host:port"``
    or ``"unix://<path>"``); ``clustered`` tells a Redis Cluster from a standalone store;
    ``colocated`` marks a store private to one application (``Model.colocate_db_*``);
    ``time`` is epoch seconds. It never carries credentials: a listener that needs the
    password looks the store up by name where it is allowed to.

    Contract: ``ready`` is published once the store is ready and its workers launched,
    before ``Controller.start_store`` returns (so a listener can act before anyone uses the
    store); every ``ready`` is followed, eventually, by exactly one ``stopped`` for that
    store. A store that fails to start publishes neither.
    """

    name: str
    state: StoreState
    addresses: tuple[str, ...]
    clustered: bool
    time: float
    colocated: bool = False

    @property
    def shards(self) -> int:
        """Number of shards (one address each)."""
        return len(self.addresses)


Listener = Callable[[JobEvent], None]
StoreListener = Callable[[StoreEvent], None]


class Subscription:
    """Handle returned by :meth:`EventBus.subscribe`; ``cancel()`` stops delivery."""

    def __init__(self, cancel: Callable[[], None]) -> None:
        self._cancel = cancel

    def cancel(self) -> None:
        """Stop delivering events to this listener (idempotent)."""
        self._cancel()


class EventBus(Generic[EventT]):
    """Delivers every event, in the order published, to each listener.

    Listeners run on the publishing thread (for job events usually the monitor's) and must
    return quickly; an exception in one is logged and does not stop delivery to the others.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Callable[[EventT], None]] = []

    def subscribe(self, listener: Callable[[EventT], None]) -> Subscription:
        """Deliver future events to ``listener`` until the subscription is cancelled."""
        with self._lock:
            self._listeners.append(listener)
        return Subscription(lambda: self._remove(listener))

    def publish(self, event: EventT) -> None:
        """Send ``event`` to every current listener."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("event listener %r failed on %s", listener, event)

    def _remove(self, listener: Callable[[EventT], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)
