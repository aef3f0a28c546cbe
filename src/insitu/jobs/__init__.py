"""Backend-neutral descriptions of what to run and what happened to it (no I/O)."""

from insitu.jobs.entity_types import EntityType
from insitu.jobs.events import JobEvent
from insitu.jobs.resources import Resources
from insitu.jobs.spec import JobSpec
from insitu.jobs.status import JobState

__all__ = ["EntityType", "JobEvent", "JobSpec", "JobState", "Resources"]
