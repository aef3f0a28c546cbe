"""insitu.runtime: what happens to launched jobs, behind one launcher.

:class:`~insitu.runtime.controller.Controller` (launch order, environment, teardown, store
readiness), the :class:`~insitu.runtime.monitor.Monitor` thread that turns launcher status
into :class:`~insitu.jobs.JobEvent` and :class:`StoreEvent` values on event buses, the
worker supervisor, the reaper (nothing outlives the interpreter) and the launch record
(:func:`read_record`, :func:`follow_record`, written by :class:`RecordWriter`).
"""

from insitu.runtime.controller import Controller, Store
from insitu.runtime.events import EventBus, StoreEvent, Subscription
from insitu.runtime.record import RecordWriter, follow_record, read_record

__all__ = [
    "Controller",
    "EventBus",
    "RecordWriter",
    "Store",
    "StoreEvent",
    "Subscription",
    "follow_record",
    "read_record",
]
