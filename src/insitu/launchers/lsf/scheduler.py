"""IBM Spectrum LSF as a :class:`~insitu.launchers.batch.Scheduler` (pure): how ``bsub``
jobs are spelled and submitted, queried (one ``bjobs -a -o`` for all of them, finished jobs
included) and cancelled (``bkill``).

Formats, from the LSF command reference: ``bsub < script`` (the ``#BSUB`` lines of a script
are read only when it comes on standard input) prints ``Job <1234> is submitted to queue
<normal>.``; ``bjobs -o "... delimiter='|'"`` prints one line per job with the fields
asked for (``-`` for an empty one), and ``Job <1234> is not found`` on stderr for ids it
no longer knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from insitu.errors import ShellError
from insitu.jobs.status import JobState
from insitu.launchers.batch import BatchJob, NativeStatus
from insitu.launchers.directives import single_dash
from insitu.launchers.lsf.commands import BSUB
from insitu.launchers.subprocesses import ToolOutput

STATES: Mapping[str, JobState] = {
    "PEND": JobState.QUEUED,
    "WAIT": JobState.QUEUED,
    "PROV": JobState.QUEUED,
    "RUN": JobState.RUNNING,
    "PSUSP": JobState.PAUSED,
    "USUSP": JobState.PAUSED,
    "SSUSP": JobState.PAUSED,
    "DONE": JobState.COMPLETED,
    "EXIT": JobState.FAILED,
    "ZOMBI": JobState.FAILED,
}
"""LSF's job states (``UNKWN`` is left out: such a job is asked about again). PEND is Queued
(SmartSim: Paused), as for Slurm and PBS."""

BJOBS_FORMAT = "jobid stat exit_code delimiter='|'"
"""``bjobs -o``: id, state, exit code (read by :func:`parse_bjobs`)."""

_SUBMITTED = re.compile(r"^Job <(\d+)> is submitted", re.MULTILINE)


def parse_bsub(output: ToolOutput) -> str:
    """The job id in ``bsub``'s answer; a refusal is a ``ShellError`` with its message."""
    found = _SUBMITTED.search(output.stdout)
    if not output.ok or found is None:
        raise ShellError(
            f"bsub refused the job: {output.stderr.strip() or output.stdout.strip()}",
            output.command,
            output.stderr,
        )
    return found.group(1)


def parse_bjobs(output: ToolOutput) -> dict[str, NativeStatus]:
    """``bjobs -a -noheader -o BJOBS_FORMAT`` by job id; ids LSF has forgotten are left out,
    any other failure with nothing listed raises ``ShellError``."""
    listed: dict[str, NativeStatus] = {}
    for line in output.stdout.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        job_id, state, code = parts
        listed[job_id] = NativeStatus(state.upper(), int(code) if code.isdigit() else None)
    if not listed and not output.ok and "is not found" not in output.stderr:
        raise ShellError("bjobs failed", output.command, output.stderr)
    return listed


class LsfScheduler:
    """The pure hooks of LSF's batch side (see :class:`insitu.launchers.batch.Scheduler`)."""

    name = "lsf"
    batch_command = "bsub"
    states: Mapping[str, JobState] = STATES

    def directives(self, job: BatchJob) -> list[str]:
        own = (
            ("J", job.name), ("cwd", str(job.cwd)),
            ("o", str(job.out_path)), ("e", str(job.err_path)),
        )  # fmt: skip
        lines = [" ".join(("#BSUB", *single_dash(k, v))) for k, v in own]
        return lines + BSUB.directives(job.batch)

    def submit_argv(self, script: Path) -> list[str]:
        # bsub reads #BSUB lines only from a script on its standard input.
        return ["/bin/sh", "-c", 'exec bsub < "$1"', "bsub", str(script)]

    def parse_submit(self, output: ToolOutput) -> str:
        return parse_bsub(output)

    def status_argv(self, job_ids: Sequence[str]) -> list[str]:
        return ["bjobs", "-a", "-noheader", "-o", BJOBS_FORMAT, *job_ids]

    def parse_status(self, output: ToolOutput) -> Mapping[str, NativeStatus]:
        return parse_bjobs(output)

    def cancel_argv(self, job_ids: Sequence[str]) -> list[str]:
        return ["bkill", *job_ids]
