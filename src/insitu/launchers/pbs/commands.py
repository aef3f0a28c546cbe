"""PBS Pro's ``qsub``: batch options and ``#PBS`` directives (pure argv builders)."""

from __future__ import annotations

from insitu.errors import UnsupportedOptionError
from insitu.jobs.spec import BatchSpec, RunArgs
from insitu.launchers.directives import BatchDialect, hms, single_dash


def qsub_options(spec: BatchSpec) -> RunArgs:
    """The neutral fields of ``spec`` as ``qsub`` options; PBS has no plain host list."""
    pairs: list[tuple[str, str | None]] = []
    if spec.nodes is not None:
        pairs.append(("l", f"select={spec.nodes}"))
    if spec.walltime is not None:
        pairs.append(("l", f"walltime={hms(spec.walltime)}"))
    if spec.account:
        pairs.append(("A", spec.account))
    if spec.queue:
        pairs.append(("q", spec.queue))
    if spec.hosts:
        raise UnsupportedOptionError("set_hostlist", "qsub", "use a select statement instead")
    return tuple(pairs)


QSUB = BatchDialect("qsub", "#PBS", qsub_options, single_dash)
"""PBS options take one dash whatever their length."""
