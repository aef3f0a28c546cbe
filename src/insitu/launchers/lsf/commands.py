"""IBM LSF's ``bsub``: batch options and ``#BSUB`` directives (pure argv builders)."""

from __future__ import annotations

from insitu.jobs.spec import BatchSpec, RunArgs
from insitu.launchers.directives import BatchDialect, single_dash


def bsub_options(spec: BatchSpec) -> RunArgs:
    """The neutral fields of ``spec`` as ``bsub`` options (walltime in whole minutes,
    rounded up, as ``HH:MM``)."""
    pairs: list[tuple[str, str | None]] = []
    if spec.nodes is not None:
        pairs.append(("nnodes", str(spec.nodes)))
    if spec.walltime is not None:
        minutes = max(1, -(-int(spec.walltime) // 60))
        pairs.append(("W", f"{minutes // 60:02d}:{minutes % 60:02d}"))
    if spec.account:
        pairs.append(("P", spec.account))
    if spec.queue:
        pairs.append(("q", spec.queue))
    if spec.hosts:
        pairs.append(("m", " ".join(spec.hosts)))
    return tuple(pairs)


BSUB = BatchDialect("bsub", "#BSUB", bsub_options, single_dash)
"""LSF options take one dash whatever their length (``-nnodes 2``)."""
