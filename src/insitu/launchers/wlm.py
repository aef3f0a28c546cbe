"""Workload-manager helpers for users (``insitu.wlm``, as SmartSim's ``smartsim.wlm``).

:func:`detect_launcher` names the workload manager found here; the others read the
allocation this process runs in (Slurm or PBS), from the variables the scheduler sets.
Slurm's own helpers (``get_allocation`` …) are in :mod:`insitu.wlm.slurm`
(:mod:`insitu.launchers.slurm.allocation`).
"""

from __future__ import annotations

import os

from insitu.errors import AllocationError
from insitu.launchers.pbs import allocation as pbs
from insitu.launchers.registry import detect_launcher as _detect
from insitu.launchers.slurm import allocation as slurm


def detect_launcher() -> str:
    """``slurm``, ``pbs`` or ``lsf`` when that scheduler's commands are on ``PATH``, else
    ``local`` (the name ``launcher="auto"`` resolves to)."""
    return _detect()[0]


def _which() -> str:
    if "SLURM_JOB_ID" in os.environ:
        return "slurm"
    if "PBS_JOBID" in os.environ:
        return "pbs"
    raise AllocationError(
        "not inside a Slurm or PBS allocation (neither SLURM_JOB_ID nor PBS_JOBID is set)"
    )


def get_hosts() -> list[str]:
    """Host names of the allocation this process runs in."""
    return slurm.get_hosts() if _which() == "slurm" else pbs.get_hosts()


def get_queue() -> str:
    """The partition (Slurm) or queue (PBS) of the allocation this process runs in."""
    return slurm.get_queue() if _which() == "slurm" else pbs.get_queue()


def get_tasks() -> int:
    """Number of tasks of the allocation this process runs in."""
    return slurm.get_tasks() if _which() == "slurm" else pbs.get_tasks()


def get_tasks_per_node() -> dict[str, int]:
    """Tasks per host of the allocation this process runs in."""
    return slurm.get_tasks_per_node() if _which() == "slurm" else pbs.get_tasks_per_node()


__all__ = ["detect_launcher", "get_hosts", "get_queue", "get_tasks", "get_tasks_per_node"]
