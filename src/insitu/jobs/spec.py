"""JobSpec: the one neutral description of a job every launcher translates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from insitu.jobs.resources import Resources

RunArgs = tuple[tuple[str, "str | None"], ...]
"""Run-command arguments as ordered (name, value) pairs; value ``None`` is a bare flag."""


@dataclass(frozen=True)
class JobSpec:
    """Everything a launcher needs to start one job.

    Contract: ``exe`` is an absolute path; ``cwd`` exists when the job is submitted;
    ``out_path``/``err_path`` receive the job's stdout/stderr; ``env`` is added on top of the
    launching process's environment. ``run_command`` (e.g. ``"mpirun"``) with ``run_args`` is
    translated by a run-command translator; ``mpmd`` holds extra programs of an MPMD launch.
    ``entity_type`` is the SmartSim entity type shown in summaries (``Model``, ``DBNode`` …).
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
    entity_type: str = "Model"

    @property
    def argv(self) -> tuple[str, ...]:
        """The program and its arguments, without any run command."""
        return (self.exe, *self.args)
