"""What a job asks of the machine, independent of any launcher or run command."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resources:
    """Resource request for one job; ``None`` means "not asked for" (launcher default).

    ``walltime`` is in seconds. ``hosts`` is the requested host list, empty for "any".
    ``gpus_per_task`` asks the launcher to assign that many GPUs to each task.
    ``node_index`` places the job on that node (0-based, modulo the node count) of the
    allocation it runs in, so that jobs can be spread one per node (a store's shards); a
    launcher whose jobs all run on one host has nothing to place and ignores it.
    """

    nodes: int | None = None
    tasks: int | None = None
    tasks_per_node: int | None = None
    cpus_per_task: int | None = None
    hosts: tuple[str, ...] = ()
    walltime: float | None = None
    cpu_pinning: tuple[int, ...] = ()
    gpus_per_task: int | None = None
    node_index: int | None = None
