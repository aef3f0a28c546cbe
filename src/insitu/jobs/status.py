"""Job states, named as SmartSim 0.8's ``SmartSimStatus`` (values and ``STATUS_*`` members)."""

from __future__ import annotations

from enum import Enum


class JobState(Enum):
    """The state of one run of an entity.

    Members carry SmartSim's names (``STATUS_RUNNING`` …) and values (``"Running"`` …),
    so that ``.name`` and ``repr`` read as SmartSim's do; the short names (``RUNNING`` …)
    are aliases of the same members, and the ones insitu's own code uses.
    """

    STATUS_NEW = "New"
    STATUS_QUEUED = "Queued"
    STATUS_RUNNING = "Running"
    STATUS_PAUSED = "Paused"
    STATUS_COMPLETED = "Completed"
    STATUS_FAILED = "Failed"
    STATUS_CANCELLED = "Cancelled"
    STATUS_NEVER_STARTED = "NeverStarted"

    NEW = "New"
    QUEUED = "Queued"
    RUNNING = "Running"
    PAUSED = "Paused"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    NEVER_STARTED = "NeverStarted"

    @property
    def is_terminal(self) -> bool:
        """True once the run can no longer change state."""
        return self in _TERMINAL

    def __str__(self) -> str:
        return self.value


_TERMINAL = frozenset(
    {
        JobState.COMPLETED,
        JobState.FAILED,
        JobState.CANCELLED,
        JobState.NEVER_STARTED,
    }
)

TERMINAL_STATES: frozenset[JobState] = _TERMINAL
"""States after which a run does not change any more."""

SmartSimStatus = JobState
