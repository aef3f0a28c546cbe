"""Grid Engine as a :class:`~insitu.launchers.batch.Scheduler` (pure): how ``qsub`` jobs
are spelled (``#$`` directives) and submitted, queried (one ``qstat -xml`` for all of
them) and cancelled (``qdel``).

Formats, from the Grid Engine manual pages: ``qsub -terse`` prints the new job's id alone
(``1234``; ``1234.1-10:1`` for an array) and on a refusal ``Unable to run job: …`` on
stderr with exit status 1; ``qstat -xml`` lists every unfinished job of the user as
``<job_list>`` elements (``JB_job_number``, ``state``, ``JAT_start_time``), running ones
under ``queue_info`` and pending ones under ``job_info``. Finished jobs leave ``qstat`` at
once (only ``qacct -j`` knows them, one job per call, once the accounting file has them):
their end comes from the exit file the job script writes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from insitu.errors import ShellError, UnsupportedOptionError
from insitu.jobs.spec import BatchSpec
from insitu.jobs.status import JobState
from insitu.launchers.batch import BatchJob, NativeStatus
from insitu.launchers.directives import hms, single_dash
from insitu.launchers.subprocesses import ToolOutput

STATES: Mapping[str, JobState] = {
    **dict.fromkeys(("r", "t", "Rr", "Rt", "hr"), JobState.RUNNING),
    **dict.fromkeys(("qw", "hqw", "hRwq", "Rq", "Rqw", "hRqw"), JobState.QUEUED),
    **dict.fromkeys(
        ("s", "ts", "S", "tS", "T", "tT", "Rs", "Rts", "RS", "RtS", "RT", "RtT"), JobState.PAUSED
    ),
    **dict.fromkeys(("Eqw", "Ehqw", "EhRqw"), JobState.FAILED),
    # Being deleted: still there (its processes may run) until it leaves qstat.
    **dict.fromkeys(
        ("dr", "dt", "dRr", "dRt", "ds", "dS", "dT", "dRs", "dRS", "dRT", "dqw", "dhqw"),
        JobState.RUNNING,
    ),
    "z": JobState.COMPLETED,
}
"""Grid Engine's job states (as SmartSim maps them, except the ``d`` states: SmartSim says
Cancelled at once, here a job being deleted is Running until it has left the queue, so a
cancel returns once its processes are gone)."""

_JOB_ID = re.compile(r"^\s*(\d+)(?:\.\S*)?\s*$", re.MULTILINE)


def parse_qsub_terse(output: ToolOutput) -> str:
    """The job id ``qsub -terse`` printed; a refusal is a ``ShellError`` with its message."""
    found = _JOB_ID.search(output.stdout)
    if not output.ok or found is None:
        raise ShellError(
            f"qsub refused the job: {output.stderr.strip() or output.stdout.strip()}",
            output.command,
            output.stderr,
        )
    return found.group(1)


def parse_qstat_xml(output: ToolOutput) -> dict[str, NativeStatus]:
    """``qstat -xml`` by job id (every unfinished job of the user); a failure or output
    that is not qstat's XML raises ``ShellError``."""
    if not output.ok:
        raise ShellError("qstat failed", output.command, output.stderr)
    try:
        root = ET.fromstring(output.stdout)  # the local qstat's own output
    except ET.ParseError as err:
        raise ShellError(f"qstat printed no XML ({err})", output.command, output.stdout) from err
    listed: dict[str, NativeStatus] = {}
    for job in root.iter("job_list"):
        number = (job.findtext("JB_job_number") or "").strip()
        state = (job.findtext("state") or "").strip()
        if number and state:
            start = _iso_time(job.findtext("JAT_start_time") or "")
            listed[number] = NativeStatus(state, None, start)
    return listed


def sge_options(spec: BatchSpec) -> list[tuple[str, str | None]]:
    """The neutral fields of ``spec`` as ``qsub`` options, then its ``batch_args``. Grid
    Engine has no node count: slots come from a parallel environment (``-pe``)."""
    if spec.nodes not in (None, 1):
        raise UnsupportedOptionError(
            f"nodes={spec.nodes}", "the sge launcher",
            "Grid Engine has no node count: ask for slots with set_ncpus and set_pe_type",
        )  # fmt: skip
    pairs: list[tuple[str, str | None]] = []
    if spec.walltime is not None:
        pairs.append(("l", f"h_rt={hms(spec.walltime)}"))
    if spec.account:
        pairs.append(("A", spec.account))
    if spec.queue:
        pairs.append(("q", spec.queue))
    if spec.hosts:
        pairs.append(("l", f"hostname={'|'.join(spec.hosts)}"))
    return pairs + list(spec.batch_args)


def _directive(name: str, value: str | None) -> str:
    """``#$ -pe mpi 4``: values are written as they are (a ``-pe`` value holds a space)."""
    return "#$ " + (f"-{name}" if value is None else f"-{name} {value}")


class SgeScheduler:
    """The pure hooks of Grid Engine's batch side (see
    :class:`~insitu.launchers.batch.Scheduler`)."""

    name = "sge"
    batch_command = "qsub"
    states: Mapping[str, JobState] = STATES

    def directives(self, job: BatchJob) -> list[str]:
        own = [("N", _job_name(job.name)), ("wd", str(job.cwd)), ("o", str(job.out_path)),
               ("e", str(job.err_path)), ("S", "/bin/sh")]  # fmt: skip
        lines = [" ".join(("#$", *single_dash(k, v))) for k, v in own]
        return lines + [_directive(k, v) for k, v in sge_options(job.batch)]

    def submit_argv(self, script: Path) -> list[str]:
        return ["qsub", "-terse", str(script)]

    def parse_submit(self, output: ToolOutput) -> str:
        return parse_qsub_terse(output)

    def status_argv(self, job_ids: Sequence[str]) -> list[str]:
        return ["qstat", "-xml"]  # every job of the user, in one call

    def parse_status(self, output: ToolOutput) -> Mapping[str, NativeStatus]:
        return parse_qstat_xml(output)

    def cancel_argv(self, job_ids: Sequence[str]) -> list[str]:
        return ["qdel", *job_ids]


def _iso_time(text: str) -> float | None:
    """``2026-12-04T11:37:15`` (local time) as epoch seconds; ``None`` otherwise."""
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        return None


def _job_name(name: str) -> str:
    """Grid Engine job names: no white space, ``/ : @ \\ * ?``, nor a leading digit."""
    cleaned = re.sub(r"[\s/:@\\*?]+", "_", name)
    return cleaned if cleaned[:1].isalpha() else f"j{cleaned}"
