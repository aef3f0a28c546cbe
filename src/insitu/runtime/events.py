"""Subscription API for :class:`~insitu.jobs.JobEvent` (rules and telemetry subscribe here)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from insitu.jobs.events import JobEvent
from insitu.log import get_logger

logger = get_logger("insitu.runtime.events")

Listener = Callable[[JobEvent], None]


class Subscription:
    """Handle returned by :meth:`EventBus.subscribe`; ``cancel()`` stops delivery."""

    def __init__(self, bus: EventBus, listener: Listener) -> None:
        self._bus = bus
        self._listener = listener

    def cancel(self) -> None:
        """Stop delivering events to this listener (idempotent)."""
        self._bus._remove(self._listener)


class EventBus:
    """Delivers every event, in the order observed, to each listener.

    Listeners run on the monitor thread and must return quickly; an exception in one
    is logged and does not stop delivery to the others.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Subscription:
        """Deliver future events to ``listener`` until the subscription is cancelled."""
        with self._lock:
            self._listeners.append(listener)
        return Subscription(self, listener)

    def publish(self, event: JobEvent) -> None:
        """Send ``event`` to every current listener."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("job event listener %r failed on %s", listener, event)

    def _remove(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)
