"""The Member protocol: the seam between the rules runner and a workload manager.

A member runs the jobs the engine asks for and reports what happens to them as
:class:`~insitu.rules.events.JobUpdate` values through the ``sink`` given to :meth:`start`.
Members are event-driven: they forward the events of their launcher's monitor (or
scheduler's journal) and never make the engine poll.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from insitu.rules.events import JobTicket, JobUpdate
from insitu.rules.model import EnsembleSpec, JobEventName

Sink = Callable[[JobUpdate], None]


class Member(Protocol):
    """Runs an ensemble's jobs (ensemble-python calls it the executor or queue).

    Contract:

    - ``job_events`` are the ``job-<event>`` names it emits (rules on others are refused
      at load); ``adopts`` is True when its jobs may start outside the engine, so updates
      carry their ``group``.
    - ``validate`` raises a ``ConfigurationError`` for anything in ``spec`` it cannot run
      (e.g. ``UnsupportedOptionError`` for grow/shrink where it cannot resize), before
      anything starts.
    - ``submit``/``resubmit``/``cancel``/``resize`` may block (they run on a worker thread
      of the group concerned) but must not wait for jobs to finish, except ``cancel``,
      which returns once the jobs are gone. A job that cannot be started is reported as a
      ``failure`` update with no return code.
    - ``close(cancel_running)`` stops starting jobs; with ``cancel_running`` it cancels
      everything still queued or running and returns once it is gone.
    - ``resize`` returns the new size (jobs that may run at once).
    - ``handle`` is passed to custom actions (ensemble-python passes the Flux handle).
    """

    name: str
    job_events: tuple[JobEventName, ...]
    adopts: bool

    @property
    def handle(self) -> object: ...

    def validate(self, spec: EnsembleSpec) -> None: ...

    def start(self, sink: Sink) -> None: ...

    def submit(self, group: str, tickets: Sequence[JobTicket]) -> None: ...

    def resubmit(self, group: str, tickets: Sequence[JobTicket]) -> None: ...

    def cancel(self, group: str, keys: Sequence[str]) -> None: ...

    def resize(self, delta: int, group: str | None) -> int: ...

    def close(self, cancel_running: bool) -> None: ...
