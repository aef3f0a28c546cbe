"""JobSpec: the one neutral description of a job every launcher translates; BatchSpec: what a
batch job asks of a workload manager."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from insitu.jobs.entity_types import EntityType
from insitu.jobs.resources import Resources

RunArgs = tuple[tuple[str, "str | None"], ...]
"""Run-command arguments as ordered (name, value) pairs; value ``None`` is a bare flag."""


@dataclass(frozen=True)
class BatchSpec:
    """What a batch job asks for, independent of the scheduler.

    ``batch_cmd`` names the scheduler's submit command (``sbatch``, ``qsub``, ``bsub``); empty
    means "the launcher's own" (a store's ``batch=True``). ``walltime`` is in seconds;
    ``None``/empty means "scheduler default". ``batch_args`` are further scheduler options as
    ordered (name, value) pairs, ``None`` for a bare flag; ``preamble`` lines go into the batch
    script before the job steps. Scheduler spellings live in :mod:`insitu.launchers`.
    """

    batch_cmd: str
    nodes: int | None = None
    walltime: float | None = None
    account: str | None = None
    queue: str | None = None
    hosts: tuple[str, ...] = ()
    batch_args: RunArgs = ()
    preamble: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobSpec:
    """Everything a launcher needs to start one job.

    Contract: ``exe`` is an absolute path; ``cwd`` exists when the job is submitted;
    ``out_path``/``err_path`` receive the job's stdout/stderr; ``env`` is added on top of the
    launching process's environment. ``run_command`` (e.g. ``"mpirun"``) with ``run_args`` is
    translated by a run-command translator; ``mpmd`` holds extra programs of an MPMD launch.
    ``entity_type`` is the SmartSim entity type shown in summaries (``Model``, ``DBNode`` …).
    ``batch`` asks for the job to run as a batch job with those options; ``allocation`` for it
    to run inside that existing allocation (a scheduler's job id). A launcher that cannot
    honour either refuses the spec in ``validate``. Jobs with the same ``batch_group`` (and the
    same ``batch``) are meant to share **one** batch job, each a step of it (an Ensemble's
    members, a batch store's shards); a scheduler launcher that cannot do that submits each
    as its own batch job.
    """

    name: str
    exe: str
    args: tuple[str, ...] = ()
    cwd: Path = Path(".")
    env: Mapping[str, str] = field(default_factory=dict)
    out_path: Path | None = None
    err_path: Path | None = None
    resources: Resources = field(default_factory=Resources)
    run_command: str | None = None
    run_args: RunArgs = ()
    mpmd: tuple[JobSpec, ...] = ()
    entity_type: EntityType = EntityType.MODEL
    batch: BatchSpec | None = None
    allocation: str | None = None
    batch_group: str | None = None

    @property
    def argv(self) -> tuple[str, ...]:
        """The program and its arguments, without any run command."""
        return (self.exe, *self.args)
