"""The Grid Engine launcher: ``qsub`` batch jobs (one ``qstat -xml`` per tick for all of
them, ``qdel`` on stop; batch groups as the steps of one job), and steps in the Grid Engine
job the driver runs in (``$JOB_ID``) started with ``mpirun``/``mpiexec`` (Open MPI's Grid
Engine support places the ranks on the job's slots); see
:mod:`insitu.launchers.allocated`."""

from __future__ import annotations

from insitu.jobs.spec import JobSpec
from insitu.launchers.allocated import AllocatedLauncher
from insitu.launchers.sge.scheduler import SgeScheduler

ALLOCATION_VAR = "JOB_ID"

RUN_COMMANDS = ("mpirun", "mpiexec", "orterun")


def sge_launcher(**options: float) -> AllocatedLauncher:
    """A new Grid Engine launcher; ``options``: those of :class:`AllocatedLauncher`."""
    return AllocatedLauncher(
        "sge", SgeScheduler(), allocation_var=ALLOCATION_VAR, run_commands=RUN_COMMANDS,
        **options,
    )  # fmt: skip


def validate_sge(spec: JobSpec) -> None:
    """Raise for anything the Grid Engine launcher could not honour (nothing is started)."""
    sge_launcher().validate(spec)
