"""PBS Pro as a :class:`~insitu.launchers.batch.Scheduler` (pure): how ``qsub`` jobs are
spelled and submitted, queried (one ``qstat -f -F json -x`` for all of them, finished jobs
included) and cancelled (``qdel``).

Formats, from the PBS Professional reference guide: ``qsub`` prints the new job's id
(``1234.server``) alone on stdout; ``qstat -f -F json`` prints one JSON document whose
``Jobs`` object maps job ids to their attributes (``job_state``, ``Exit_status``,
``stime``, ``obittime`` …), and for an id the server does not know writes
``qstat: Unknown Job Id <id>`` on stderr and exits non-zero (153), still printing the
others.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from insitu.errors import ShellError
from insitu.jobs.status import JobState
from insitu.launchers.batch import BatchJob, NativeStatus
from insitu.launchers.directives import single_dash
from insitu.launchers.pbs.commands import QSUB
from insitu.launchers.subprocesses import ToolOutput

STATES: Mapping[str, JobState] = {
    "Q": JobState.QUEUED,
    "H": JobState.QUEUED,
    "W": JobState.QUEUED,
    "T": JobState.QUEUED,
    "M": JobState.QUEUED,
    "B": JobState.RUNNING,
    "R": JobState.RUNNING,
    "E": JobState.RUNNING,
    "S": JobState.PAUSED,
    "U": JobState.PAUSED,
    "X": JobState.COMPLETED,
    "F": JobState.COMPLETED,
}
"""PBS's one-letter job states. As for Slurm, on purpose unlike SmartSim: waiting states
are Queued (SmartSim: Paused), E (exiting, the program has ended, the job not yet) is
Running until PBS says F; a finished job with a non-zero ``Exit_status`` is Failed."""

_JOB_ID = re.compile(r"^\s*(\d+(?:\[\d*\])?(?:\.\S+)?)\s*$", re.MULTILINE)

_TIME_FORMAT = "%a %b %d %H:%M:%S %Y"


def parse_qsub(output: ToolOutput) -> str:
    """The job id ``qsub`` printed; a refusal is a ``ShellError`` with qsub's message."""
    found = _JOB_ID.search(output.stdout)
    if not output.ok or found is None:
        raise ShellError(
            f"qsub refused the job: {output.stderr.strip() or output.stdout.strip()}",
            output.command,
            output.stderr,
        )
    return found.group(1)


def parse_qstat_json(output: ToolOutput) -> dict[str, NativeStatus]:
    """``qstat -f -F json -x`` by job id. Unknown ids (purged from the history) are left
    out; output that is not PBS's JSON, or a failure other than unknown ids, raises
    ``ShellError``."""
    text = output.stdout.strip()
    if not text:
        if output.ok or "Unknown Job Id" in output.stderr:
            return {}
        raise ShellError("qstat failed", output.command, output.stderr)
    try:
        document = json.loads(text)
        jobs = document.get("Jobs", {})
        if not isinstance(jobs, dict):
            raise TypeError("Jobs is not an object")
    except (ValueError, TypeError, AttributeError) as err:
        raise ShellError(f"qstat printed no PBS JSON ({err})", output.command, text) from err
    listed: dict[str, NativeStatus] = {}
    for job_id, attributes in jobs.items():
        state = str(attributes.get("job_state", "")).strip().upper()
        code = attributes.get("Exit_status")
        listed[job_id] = NativeStatus(
            state,
            int(code) if isinstance(code, int | str) and str(code).lstrip("-").isdigit() else None,
            _pbs_time(attributes.get("stime")),
            _pbs_time(attributes.get("obittime")) if state in ("F", "X") else None,
        )
    return listed


def _pbs_time(value: object) -> float | None:
    """PBS's ``Fri Dec  4 13:00:00 2026`` (local time) as epoch seconds, else ``None``."""
    if not isinstance(value, str):
        return None
    try:
        return time.mktime(time.strptime(" ".join(value.split()), _TIME_FORMAT))
    except ValueError:
        return None


def same_job(short: str, listed: Mapping[str, NativeStatus]) -> NativeStatus | None:
    """The entry of ``listed`` for ``short`` (PBS may print ``1.srv.domain`` for ``1.srv``)."""
    if short in listed:
        return listed[short]
    number = short.split(".", maxsplit=1)[0]
    for job_id, status in listed.items():
        if job_id.split(".")[0] == number:
            return status
    return None


class PbsScheduler:
    """The pure hooks of PBS Pro's batch side (see :class:`insitu.launchers.batch.Scheduler`)."""

    name = "pbs"
    batch_command = "qsub"
    states: Mapping[str, JobState] = STATES

    def directives(self, job: BatchJob) -> list[str]:
        own = (("N", _job_name(job.name)), ("o", str(job.out_path)), ("e", str(job.err_path)))
        lines = [" ".join(("#PBS", *single_dash(k, v))) for k, v in own]
        return lines + QSUB.directives(job.batch)

    def submit_argv(self, script: Path) -> list[str]:
        return ["qsub", str(script)]

    def parse_submit(self, output: ToolOutput) -> str:
        return parse_qsub(output)

    def status_argv(self, job_ids: Sequence[str]) -> list[str]:
        return ["qstat", "-f", "-F", "json", "-x", *job_ids]

    def parse_status(self, output: ToolOutput) -> Mapping[str, NativeStatus]:
        listed = parse_qstat_json(output)
        asked = [w for w in output.command[1:] if not w.startswith("-") and w != "json"]
        found = {job_id: same_job(job_id, listed) for job_id in asked}
        return {job_id: status for job_id, status in found.items() if status is not None}

    def cancel_argv(self, job_ids: Sequence[str]) -> list[str]:
        return ["qdel", *job_ids]


def _job_name(name: str) -> str:
    """PBS job names: at most 236 characters, no whitespace, starting with a letter."""
    cleaned = re.sub(r"\s+", "_", name)[:236]
    return cleaned if cleaned[:1].isalpha() else f"j{cleaned}"[:236]
