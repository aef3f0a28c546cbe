"""What kind of entity a job runs, as SmartSim's summaries name it."""

from __future__ import annotations

from enum import Enum


class EntityType(str, Enum):
    """The entity a job belongs to. A ``str`` whose value is SmartSim's name (``"Model"``,
    ``"DBNode"``), so it compares equal to that name, prints as it and is written as it in
    JSON (the launch record)."""

    MODEL = "Model"
    DB_NODE = "DBNode"
    WORKER = "Worker"
    """An inference worker beside a store shard (insitu's)."""
    ENSEMBLE_JOB = "EnsembleJob"
    """A job submitted by the rules engine's local executor (insitu's)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)
