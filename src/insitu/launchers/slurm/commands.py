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


# ------------------------------------------------------------------------------ commands
JOB_FORMAT = "%i|%T|%N|%S|%e|%j"
"""``squeue -o`` for jobs: id, state, nodes, start, end, name (read by ``parse.parse_jobs``)."""

STEP_FORMAT = "StepId:|,StepState:|,Nodes:|,StartTime:|,StepName:"
"""``squeue -s -O`` for steps: id, state, nodes, start, name (the name last: it may hold
any character but a newline; read by ``parse.parse_steps``)."""


def sbatch_argv(script: str) -> list[str]:
    """Submit ``script``; ``--parsable`` prints the job id alone."""
    return ["sbatch", "--parsable", script]


def job_directives(name: str, cwd: str, out: str, err: str) -> list[str]:
    """The ``#SBATCH`` lines insitu writes for every batch job (before the user's)."""
    own = (("job-name", name), ("chdir", cwd), ("output", out), ("error", err))
    return [" ".join(("#SBATCH", *gnu_style(key, value))) for key, value in own]


def squeue_jobs_argv(job_ids: list[str]) -> list[str]:
    """One status query for many jobs, finished ones still remembered included."""
    return ["squeue", "--noheader", "--states=all", f"--jobs={','.join(job_ids)}",
            f"--format={JOB_FORMAT}"]  # fmt: skip


def squeue_steps_argv(job_ids: list[str]) -> list[str]:
    """One status query for every step of the allocations ``job_ids``."""
    return ["squeue", "--noheader", "--steps", f"--jobs={','.join(job_ids)}",
            f"--Format={STEP_FORMAT}"]  # fmt: skip


DEAD_NODE_STATES = "down,fail"
"""Node states in which a step's tasks are gone for good (the controller decided)."""


def sinfo_dead_nodes_argv() -> list[str]:
    """One query for every node the controller holds dead (one name per line)."""
    return ["sinfo", "--noheader", "--Node", f"--states={DEAD_NODE_STATES}", "--format=%N"]


SACCT_FORMAT = "JobID,State,ExitCode,Start,End"
"""``sacct --format`` for ended jobs (read by ``parse.parse_sacct``)."""


def sacct_argv(job_ids: list[str]) -> list[str]:
    """One accounting query for many jobs, whatever their age (``--starttime`` from the
    epoch: by default sacct lists only jobs of today)."""
    return ["sacct", "--noheader", "--parsable2", "--allocations", "--starttime=1970-01-01",
            f"--jobs={','.join(job_ids)}", f"--format={SACCT_FORMAT}"]  # fmt: skip


def scancel_argv(ids: list[str]) -> list[str]:
    """Cancel jobs or steps (``123`` or ``123.4``)."""
    return ["scancel", *ids]


def step_prefix(
    allocation: str, step_name: str, cwd: str, out: str | None, err: str | None, *, overlap: bool
) -> list[str]:
    """What insitu puts before the user's ``srun`` flags for a step of ``allocation``.

    ``--export=ALL``: the step's environment is srun's own (the launcher puts the job's
    variables there, so no value — the store password included — is on a command line).
    ``--overlap`` lets the step share CPUs with the allocation's other steps (Slurm >= 20.11
    gives a step all CPUs of its nodes otherwise, and a second step on them waits forever).
    """
    argv = [f"--jobid={allocation}", f"--job-name={step_name}", f"--chdir={cwd}", "--export=ALL"]
    if out is not None:
        argv.append(f"--output={out}")
    if err is not None:
        argv.append(f"--error={err}")
    if overlap:
        argv.append("--overlap")
    return argv
