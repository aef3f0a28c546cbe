"""Pure rendering of :class:`Resources` as each run command's flags.

Each function takes the resources (fields the launcher handles itself already reset) and
the run command's name for error messages, and raises ``UnsupportedOptionError`` for a set
field it cannot express.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import fields

from insitu.errors import InvalidArgumentError, UnsupportedOptionError
from insitu.jobs.resources import Resources
from insitu.launchers.directives import hms

_DETAIL = {
    "walltime": "set the time limit on the batch job or allocation instead",
    "cpu_pinning": "use set_binding or a run arg of this run command instead",
    "hosts": "use a hostfile run arg instead",
}


_PLACEMENT = ("nodes", "tasks", "tasks_per_node", "cpus_per_task")

UNSET = Resources()
"""Every field "not asked for"."""


def is_set(resources: Resources, name: str) -> bool:
    """Whether field ``name`` differs from "not asked for"."""
    return bool(getattr(resources, name) != getattr(UNSET, name))


def reject(resources: Resources, supported: Collection[str], backend: str) -> None:
    """Raise UnsupportedOptionError for the first set field not in ``supported``."""
    for f in fields(Resources):
        if f.name not in supported and is_set(resources, f.name):
            value = getattr(resources, f.name)
            raise UnsupportedOptionError(f"{f.name}={value!r}", backend, _DETAIL.get(f.name, ""))


def tasks_and_per_node(res: Resources, backend: str) -> tuple[int | None, int | None]:
    """Total tasks and tasks per node for run commands that have no node-count flag.

    The node count is expressed through tasks per node (given, or ``tasks / nodes`` when
    that divides), or through a host list of exactly ``nodes`` hosts.
    """
    tasks, per_node, nodes = res.tasks, res.tasks_per_node, res.nodes
    if nodes is None:
        return tasks, per_node
    if per_node is None and tasks is not None and tasks % nodes == 0:
        per_node = tasks // nodes
    if per_node is not None:
        total = nodes * per_node
        if tasks is not None and tasks != total:
            raise InvalidArgumentError(
                f"{tasks} tasks do not fit {per_node} per node on {nodes} nodes"
            )
        return total, per_node
    if len(res.hosts) == nodes:
        return tasks, per_node
    raise UnsupportedOptionError(
        f"nodes={nodes}", backend, "it has no node-count flag: also set tasks per node"
    )


def srun(res: Resources, backend: str) -> list[str]:
    """Slurm ``srun`` expresses every field."""
    out: list[str] = []
    for name, flag in (
        ("nodes", "--nodes"),
        ("tasks", "--ntasks"),
        ("tasks_per_node", "--ntasks-per-node"),
        ("cpus_per_task", "--cpus-per-task"),
        ("gpus_per_task", "--gpus-per-task"),
    ):
        value = getattr(res, name)
        if value is not None:
            out.append(f"{flag}={value}")
    if res.hosts:
        out.append(f"--nodelist={','.join(res.hosts)}")
    if res.walltime is not None:
        out.append(f"--time={hms(res.walltime)}")
    if res.cpu_pinning:
        out.append(f"--cpu-bind=map_cpu:{','.join(map(str, res.cpu_pinning))}")
    if res.node_index is not None:
        out.append(f"--relative={res.node_index}")
    return out


def mpi(res: Resources, backend: str) -> list[str]:
    """Open MPI ``mpirun``/``mpiexec``/``orterun``: placement through ``--map-by``."""
    reject(res, (*_PLACEMENT, "hosts", "walltime"), backend)
    tasks, per_node = tasks_and_per_node(res, backend)
    out: list[str] = [] if tasks is None else ["-n", str(tasks)]
    mapping = None if per_node is None else f"ppr:{per_node}:node"
    if res.cpus_per_task is not None:
        mapping = f"{mapping or 'slot'}:PE={res.cpus_per_task}"
    if mapping:
        out += ["--map-by", mapping]
    if res.hosts:
        slots = "" if per_node is None else f":{per_node}"
        out += ["--host", ",".join(f"{host}{slots}" for host in res.hosts)]
    if res.walltime is not None:
        out += ["--timeout", str(math.ceil(res.walltime))]
    return out


def pals(res: Resources, backend: str) -> list[str]:
    """Cray PALS ``mpiexec``."""
    reject(res, (*_PLACEMENT, "hosts", "cpu_pinning"), backend)
    tasks, per_node = tasks_and_per_node(res, backend)
    out: list[str] = [] if tasks is None else ["-n", str(tasks)]
    if per_node is not None:
        out += ["--ppn", str(per_node)]
    if res.cpus_per_task is not None:
        out += ["--depth", str(res.cpus_per_task)]
    if res.hosts:
        out += ["--hosts", ",".join(res.hosts)]
    if res.cpu_pinning:
        out += ["--cpu-bind", "list:" + ":".join(map(str, res.cpu_pinning))]
    return out


def aprun(res: Resources, backend: str) -> list[str]:
    """Cray ALPS ``aprun`` (its ``-t`` is a CPU-time limit per process, not a walltime)."""
    reject(res, (*_PLACEMENT, "hosts", "cpu_pinning"), backend)
    tasks, per_node = tasks_and_per_node(res, backend)
    out: list[str] = [] if tasks is None else ["-n", str(tasks)]
    if per_node is not None:
        out += ["-N", str(per_node)]
    if res.cpus_per_task is not None:
        out += ["-d", str(res.cpus_per_task)]
    if res.hosts:
        out += ["-L", ",".join(res.hosts)]
    if res.cpu_pinning:
        out += ["-cc", ",".join(map(str, res.cpu_pinning))]
    return out


def jsrun(res: Resources, backend: str) -> list[str]:
    """LSF ``jsrun``: one resource set per node holding the node's tasks."""
    reject(res, _PLACEMENT, backend)
    tasks, per_node = tasks_and_per_node(res, backend)
    out: list[str] = []
    if per_node is not None:
        out += ["--rs_per_host", "1", "--tasks_per_rs", str(per_node)]
        if res.nodes is not None:
            out += ["--nrs", str(res.nodes)]
    if tasks is not None:
        out += ["--np", str(tasks)]
    if res.cpus_per_task is not None:
        out += ["--cpu_per_rs", str(res.cpus_per_task * (per_node or 1))]
    return out


def _names(**by_field: str) -> Mapping[str, frozenset[str]]:
    return {name: frozenset(spellings.split()) for name, spellings in by_field.items()}


SRUN_CONFLICTS = _names(
    nodes="nodes N", tasks="ntasks n", tasks_per_node="ntasks-per-node",
    cpus_per_task="cpus-per-task c", hosts="nodelist w", walltime="time t",
    cpu_pinning="cpu-bind cpu_bind", gpus_per_task="gpus-per-task", node_index="relative r",
)  # fmt: skip
MPI_CONFLICTS = _names(
    nodes="map-by npernode", tasks="n np", tasks_per_node="map-by npernode",
    cpus_per_task="map-by cpus-per-proc", hosts="host H", walltime="timeout",
)  # fmt: skip
PALS_CONFLICTS = _names(
    nodes="ppn", tasks="n np", tasks_per_node="ppn", cpus_per_task="depth d",
    hosts="hosts", cpu_pinning="cpu-bind",
)  # fmt: skip
APRUN_CONFLICTS = _names(
    nodes="N pes-per-node", tasks="n pes", tasks_per_node="N pes-per-node",
    cpus_per_task="d cpus-per-pe", hosts="L node-list", cpu_pinning="cc cpu-binding",
)  # fmt: skip
JSRUN_CONFLICTS = _names(
    nodes="nrs n", tasks="np p", tasks_per_node="rs_per_host tasks_per_rs r a",
    cpus_per_task="cpu_per_rs c",
)  # fmt: skip
