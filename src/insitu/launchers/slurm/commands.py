"""Slurm's ``sbatch``: batch options and ``#SBATCH`` directives (pure argv builders)."""

from __future__ import annotations

from insitu.jobs.spec import BatchSpec, RunArgs
from insitu.launchers.directives import BatchDialect, gnu_style, hms


def sbatch_options(spec: BatchSpec) -> RunArgs:
    """The neutral fields of ``spec`` as ``sbatch`` options (``queue`` is a partition)."""
    pairs: list[tuple[str, str | None]] = []
    if spec.nodes is not None:
        pairs.append(("nodes", str(spec.nodes)))
    if spec.walltime is not None:
        pairs.append(("time", hms(spec.walltime)))
    if spec.account:
        pairs.append(("account", spec.account))
    if spec.queue:
        pairs.append(("partition", spec.queue))
    if spec.hosts:
        pairs.append(("nodelist", ",".join(spec.hosts)))
    return tuple(pairs)


SBATCH = BatchDialect("sbatch", "#SBATCH", sbatch_options, gnu_style)
"""Slurm spells options alike on the command line and in ``#SBATCH`` lines."""
