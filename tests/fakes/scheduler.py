"""The pure hooks (:class:`insitu.launchers.batch.Scheduler`) for the fake scheduler whose
CLI lives in ``tests/fakes/bin`` (``fsub``/``fstat``/``fdel``; see ``fakesched.py``).

Its formats follow Slurm's shape on purpose (``Submitted batch job N``, a status table, an
error when every id asked for is unknown), so the BatchLauncher is exercised on the cases a
real scheduler presents: pending and held jobs, finished jobs still listed, finished jobs
already forgotten, refused submissions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from insitu.errors import ShellError, UnsupportedOptionError
from insitu.jobs.spec import BatchSpec, RunArgs
from insitu.jobs.status import JobState
from insitu.launchers.batch import BatchJob, NativeStatus
from insitu.launchers.directives import BatchDialect, gnu_style, hms
from insitu.launchers.subprocesses import ToolOutput

BIN = Path(__file__).parent / "bin"
"""Put this directory first on ``PATH`` to install the fake scheduler's commands."""

STATES: Mapping[str, JobState] = {
    "PENDING": JobState.STATUS_QUEUED,
    "RUNNING": JobState.STATUS_RUNNING,
    "SUSPENDED": JobState.STATUS_PAUSED,
    "COMPLETED": JobState.STATUS_COMPLETED,
    "FAILED": JobState.STATUS_FAILED,
    "CANCELLED": JobState.STATUS_CANCELLED,
}

_SUBMITTED = re.compile(r"^Submitted batch job (\d+)\s*$", re.MULTILINE)


def fsub_options(spec: BatchSpec) -> RunArgs:
    """Neutral batch fields as ``fsub`` options; the fake has no host list."""
    if spec.hosts:
        raise UnsupportedOptionError("set_hostlist", "fsub", "the fake cluster has no host names")
    pairs: list[tuple[str, str | None]] = []
    if spec.nodes is not None:
        pairs.append(("nodes", str(spec.nodes)))
    if spec.walltime is not None:
        pairs.append(("time", hms(spec.walltime)))
    if spec.account:
        pairs.append(("account", spec.account))
    if spec.queue:
        pairs.append(("partition", spec.queue))
    return tuple(pairs)


FSUB = BatchDialect("fsub", "#FAKE", fsub_options, gnu_style)


class FakeScheduler:
    """The fake scheduler's spelling of jobs, commands and states."""

    name = "fake"
    batch_command = "fsub"
    states = STATES

    def directives(self, job: BatchJob) -> list[str]:
        own = (
            ("job-name", job.name), ("chdir", str(job.cwd)),
            ("output", str(job.out_path)), ("error", str(job.err_path)),
        )  # fmt: skip
        lines = [" ".join(("#FAKE", *gnu_style(name, value))) for name, value in own]
        return lines + FSUB.directives(job.batch)

    def submit_argv(self, script: Path) -> list[str]:
        return ["fsub", str(script)]

    def parse_submit(self, output: ToolOutput) -> str:
        found = _SUBMITTED.search(output.stdout)
        if found is None:
            raise ShellError("fsub printed no job id", output.command, output.stdout)
        return found.group(1)

    def status_argv(self, job_ids: Sequence[str]) -> list[str]:
        return ["fstat", *job_ids]

    def parse_status(self, output: ToolOutput) -> Mapping[str, NativeStatus]:
        if not output.ok:
            if "Invalid job id specified" in output.stderr:
                return {}  # every job asked about has been forgotten
            raise ShellError("fstat failed", output.command, output.stderr)
        listed: dict[str, NativeStatus] = {}
        for line in output.stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) == 3:
                job_id, state, code = fields
                listed[job_id] = NativeStatus(state, None if code == "-" else int(code))
        return listed

    def cancel_argv(self, job_ids: Sequence[str]) -> list[str]:
        return ["fdel", *job_ids]
