"""Slurm allocations for a driver script, as SmartSim's ``smartsim.wlm.slurm``.

``get_allocation`` obtains an allocation with ``salloc --no-shell`` (it returns once the
allocation is granted) and ``release_allocation`` gives it back; ``validate`` tells whether
the cluster could grant a request; the ``get_*`` functions read the allocation this process
runs in from the variables Slurm sets in it. Every failure is an ``AllocationError`` (a
``LauncherError``) naming the problem, with Slurm's own message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from insitu._checks import parse_walltime
from insitu.errors import AllocationError, InvalidArgumentError, ShellError
from insitu.launchers.directives import gnu_style, hms
from insitu.launchers.slurm.parse import expand_hostlist
from insitu.launchers.subprocesses import run_tool

ALLOCATION_TIMEOUT = 300.0
"""Seconds ``get_allocation`` waits for Slurm to grant the allocation."""

_GRANTED = re.compile(r"Granted job allocation (\d+)")
_RESERVED = frozenset(
    {"nodes", "N", "time", "t", "account", "A", "no-shell", "job-name", "J", "jobid"}
)


def get_allocation(
    nodes: int = 1,
    time: str | None = None,
    account: str | None = None,
    options: Mapping[str, str | None] | None = None,
) -> str:
    """Request an allocation of ``nodes`` nodes and return its job id once granted.

    ``time`` is ``HH:MM:SS``; ``options`` are further ``salloc`` options (``{"exclusive":
    None, "partition": "debug"}``). Raises ``InvalidArgumentError`` for options given twice
    (``nodes`` in ``options`` …), ``AllocationError`` when Slurm refuses or does not grant it
    within :data:`ALLOCATION_TIMEOUT` seconds (the pending request is then withdrawn).
    """
    if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 1:
        raise InvalidArgumentError(f"nodes must be a positive int, got {nodes!r}")
    argv = ["salloc", "--no-shell", f"--nodes={nodes}", "--job-name=insitu-allocation"]
    if time is not None:
        argv.append(f"--time={hms(parse_walltime(time))}")
    if account is not None:
        argv.append(f"--account={account}")
    for name, value in (options or {}).items():
        key = name.lstrip("-")
        if key in _RESERVED:
            raise InvalidArgumentError(
                f"salloc option {name!r} is set by get_allocation's own arguments"
            )
        argv += gnu_style(key, None if value is None else str(value))
    try:
        output = run_tool(argv, timeout=ALLOCATION_TIMEOUT, check=False)
    except ShellError as err:  # the tool is missing, or hung and was killed
        raise AllocationError(f"could not get a Slurm allocation: {err}") from err
    found = _GRANTED.search(output.stderr)
    if not output.ok or found is None:
        raise AllocationError(
            f"Slurm did not grant an allocation of {nodes} node(s): "
            f"{output.stderr.strip() or 'no answer'}"
        )
    return found.group(1)


def release_allocation(alloc_id: str) -> None:
    """Give allocation ``alloc_id`` back (``scancel``); ``AllocationError`` if Slurm refuses."""
    if not str(alloc_id).isdigit():
        raise InvalidArgumentError(f"{alloc_id!r} is not a Slurm job id")
    output = run_tool(["scancel", "--verbose", str(alloc_id)], check=False)
    # scancel exits 0 for an unknown job id, and says so on stderr with --verbose only.
    if not output.ok or "error" in output.stderr.lower():
        raise AllocationError(f"could not release allocation {alloc_id}: {output.stderr.strip()}")


def validate(nodes: int = 1, ppn: int = 1, partition: str | None = None) -> bool:
    """Whether ``partition`` (default: the default one) has ``nodes`` nodes with at least
    ``ppn`` CPUs each that are up (idle, mixed or allocated: a request may wait for them)."""
    part = partition or get_default_partition()
    output = run_tool(["sinfo", "--noheader", "--Node", f"--partition={part}",
                       "--format=%N %c %t"])  # fmt: skip
    usable = 0
    for line in output.stdout.splitlines():
        words = line.split()
        if len(words) == 3 and int(words[1]) >= ppn and words[2].rstrip("*") in _UP:
            usable += 1
    return usable >= nodes


_UP = frozenset({"idle", "mix", "alloc", "comp", "resv"})


def get_default_partition() -> str:
    """The partition Slurm uses when none is named (``sinfo`` marks it with ``*``)."""
    output = run_tool(["sinfo", "--noheader", "--format=%P"])
    for line in output.stdout.split():
        if line.endswith("*"):
            return line[:-1]
    raise AllocationError("this Slurm cluster has no default partition")


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise AllocationError(
            f"{name} is not set: this process does not run inside a Slurm allocation"
        )
    return value


def get_hosts() -> list[str]:
    """Host names of this allocation (``SLURM_JOB_NODELIST``), in order."""
    return expand_hostlist(_env("SLURM_JOB_NODELIST"))


def get_queue() -> str:
    """This allocation's partition (``SLURM_JOB_PARTITION``)."""
    return _env("SLURM_JOB_PARTITION")


def get_tasks() -> int:
    """Tasks of this allocation (``SLURM_NTASKS``)."""
    return int(_env("SLURM_NTASKS"))


def get_tasks_per_node() -> dict[str, int]:
    """Tasks per host of this allocation (``SLURM_TASKS_PER_NODE``, e.g. ``2(x3),1``)."""
    counts: list[int] = []
    for item in _env("SLURM_TASKS_PER_NODE").split(","):
        count, _, repeat = item.partition("(x")
        counts += [int(count)] * (int(repeat.rstrip(")")) if repeat else 1)
    hosts = get_hosts()
    if len(counts) != len(hosts):
        raise AllocationError(
            f"SLURM_TASKS_PER_NODE lists {len(counts)} nodes, the node list {len(hosts)}"
        )
    return dict(zip(hosts, counts, strict=True))


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
