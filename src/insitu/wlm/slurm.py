"""insitu.wlm.slurm: Slurm allocations for a driver script, as ``smartsim.wlm.slurm`` (see
:mod:`insitu.launchers.slurm.allocation`)."""

from insitu.launchers.slurm.allocation import (
    get_allocation,
    get_default_partition,
    get_hosts,
    get_queue,
    get_tasks,
    get_tasks_per_node,
    release_allocation,
    validate,
)

__all__ = [
    "get_allocation",
    "get_default_partition",
    "get_hosts",
    "get_queue",
    "get_tasks",
    "get_tasks_per_node",
    "release_allocation",
    "validate",
]
