"""The PBS allocation this process runs in, read from the variables PBS sets."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from insitu.errors import AllocationError


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise AllocationError(f"{name} is not set: this process does not run inside a PBS job")
    return value


def _nodefile() -> list[str]:
    """``$PBS_NODEFILE``: one line per task slot, short host names."""
    path = Path(_env("PBS_NODEFILE"))
    try:
        return [line.split(".")[0] for line in path.read_text().split()]
    except OSError as err:
        raise AllocationError(f"cannot read PBS_NODEFILE {path}: {err.strerror}") from err


def get_hosts() -> list[str]:
    """Distinct hosts of this job, in order."""
    return list(dict.fromkeys(_nodefile()))


def get_queue() -> str:
    """This job's queue (``PBS_QUEUE``)."""
    return _env("PBS_QUEUE")


def get_tasks() -> int:
    """Task slots of this job (``PBS_NP``, else the node file's lines)."""
    np = os.environ.get("PBS_NP")
    return int(np) if np else len(_nodefile())


def get_tasks_per_node() -> dict[str, int]:
    """Task slots per host of this job."""
    return dict(Counter(_nodefile()))


__all__ = ["get_hosts", "get_queue", "get_tasks", "get_tasks_per_node"]
