"""The PBS Pro and PALS launchers: ``qsub`` batch jobs (one ``qstat`` per tick for all of
them, ``qdel`` on stop), and steps in the PBS job the driver runs in (``$PBS_JOBID``)
started with ``mpiexec`` (PALS' on ``pals``, Open MPI's or ``aprun`` on ``pbs``); see
:mod:`insitu.launchers.allocated`."""

from __future__ import annotations

from insitu.jobs.spec import JobSpec
from insitu.launchers.allocated import AllocatedLauncher
from insitu.launchers.pbs.scheduler import PbsScheduler

ALLOCATION_VAR = "PBS_JOBID"

RUN_COMMANDS = {"pbs": ("aprun", "mpirun", "mpiexec", "pals"), "pals": ("pals",)}
"""The run commands steps may use under each launcher name (registry names)."""


def pbs_launcher(name: str = "pbs", **options: float) -> AllocatedLauncher:
    """A new launcher for PBS Pro (``pbs``) or PBS with Cray PALS (``pals``); ``options``:
    those of :class:`AllocatedLauncher` (``tool_timeout`` …)."""
    return AllocatedLauncher(
        name,
        PbsScheduler(),
        allocation_var=ALLOCATION_VAR,
        run_commands=RUN_COMMANDS[name],
        **options,
    )


def validate_pbs(spec: JobSpec, name: str = "pbs") -> None:
    """Raise for anything the launcher ``name`` could not honour (nothing is started)."""
    pbs_launcher(name).validate(spec)
