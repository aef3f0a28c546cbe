"""Slurm as a :class:`~insitu.launchers.batch.Scheduler`: how ``sbatch`` jobs are spelled,
submitted, queried (one ``squeue`` for all of them) and cancelled, and ``sacct`` as its
:class:`~insitu.launchers.batch.History` (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from insitu.jobs.status import JobState
from insitu.launchers.batch import BatchJob, NativeStatus
from insitu.launchers.slurm import commands, parse
from insitu.launchers.subprocesses import ToolOutput


class SlurmScheduler:
    """The pure hooks of Slurm's batch side (see :class:`insitu.launchers.batch.Scheduler`)."""

    name = "slurm"
    batch_command = "sbatch"
    states: Mapping[str, JobState] = parse.STATES

    def directives(self, job: BatchJob) -> list[str]:
        own = commands.job_directives(job.name, str(job.cwd), str(job.out_path), str(job.err_path))
        return own + commands.SBATCH.directives(job.batch)

    def submit_argv(self, script: Path) -> list[str]:
        return commands.sbatch_argv(str(script))

    def parse_submit(self, output: ToolOutput) -> str:
        return parse.parse_sbatch(output)

    def status_argv(self, job_ids: Sequence[str]) -> list[str]:
        return commands.squeue_jobs_argv(list(job_ids))

    def parse_status(self, output: ToolOutput) -> Mapping[str, NativeStatus]:
        return {
            job_id: NativeStatus(_native_word(job.state), None, job.start_time, job.end_time)
            for job_id, job in parse.parse_jobs(output).items()
        }

    def cancel_argv(self, job_ids: Sequence[str]) -> list[str]:
        return commands.scancel_argv(list(job_ids))


def _native_word(state: str) -> str:
    """``CANCELLED by 0`` → ``CANCELLED`` (the key of :data:`parse.STATES`)."""
    return state.strip().split(" ")[0].rstrip("+").upper()


class SacctHistory:
    """``sacct`` about jobs ``squeue`` forgot (see :class:`insitu.launchers.batch.History`)."""

    def argv(self, job_ids: Sequence[str]) -> list[str]:
        return commands.sacct_argv(list(job_ids))

    def parse(self, output: ToolOutput) -> Mapping[str, NativeStatus]:
        return {
            job_id: NativeStatus(
                _native_word(job.state), job.returncode, job.start_time, job.end_time
            )
            for job_id, job in parse.parse_sacct(output).items()
        }
