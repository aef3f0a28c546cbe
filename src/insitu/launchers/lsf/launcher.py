"""The LSF launcher: ``bsub`` batch jobs (one ``bjobs`` per tick for all of them, ``bkill``
on stop), and steps in the LSF job the driver runs in (``$LSB_JOBID``) started with
``jsrun`` (or ``mpirun``/``mpiexec``); see :mod:`insitu.launchers.allocated`."""

from __future__ import annotations

from insitu.jobs.spec import JobSpec
from insitu.launchers.allocated import AllocatedLauncher
from insitu.launchers.lsf.scheduler import LsfScheduler

ALLOCATION_VAR = "LSB_JOBID"

RUN_COMMANDS = ("jsrun", "mpirun", "mpiexec")


def lsf_launcher(**options: float) -> AllocatedLauncher:
    """A new LSF launcher; ``options``: those of :class:`AllocatedLauncher`."""
    return AllocatedLauncher(
        "lsf",
        LsfScheduler(),
        allocation_var=ALLOCATION_VAR,
        run_commands=RUN_COMMANDS,
        **options,
    )


def validate_lsf(spec: JobSpec) -> None:
    """Raise for anything the LSF launcher could not honour (nothing is started)."""
    lsf_launcher().validate(spec)
