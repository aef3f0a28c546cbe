"""Reading Slurm's output (pure): job and step states, ``sbatch``/``squeue``/``scontrol``
output, host lists.

Every function takes the text a command printed and returns values; nothing here runs a
command, so each is tested on captured output of Slurm 22.05.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from insitu.errors import ShellError
from insitu.jobs.status import JobState
from insitu.launchers.subprocesses import ToolOutput

STATES: Mapping[str, JobState] = {
    "PENDING": JobState.QUEUED,
    "REQUEUED": JobState.QUEUED,
    "REQUEUE_FED": JobState.QUEUED,
    "REQUEUE_HOLD": JobState.QUEUED,
    "RESV_DEL_HOLD": JobState.QUEUED,
    "CONFIGURING": JobState.RUNNING,
    "RUNNING": JobState.RUNNING,
    "COMPLETING": JobState.RUNNING,
    "STAGE_OUT": JobState.RUNNING,
    "RESIZING": JobState.RUNNING,
    "SIGNALING": JobState.RUNNING,
    "SUSPENDED": JobState.PAUSED,
    "STOPPED": JobState.PAUSED,
    "COMPLETED": JobState.COMPLETED,
    "DEADLINE": JobState.FAILED,
    "TIMEOUT": JobState.FAILED,
    "BOOT_FAIL": JobState.FAILED,
    "FAILED": JobState.FAILED,
    "NODE_FAIL": JobState.FAILED,
    "OUT_OF_MEMORY": JobState.FAILED,
    "PREEMPTED": JobState.FAILED,
    "SPECIAL_EXIT": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
    "REVOKED": JobState.CANCELLED,
}
"""Every Slurm job state (``squeue -t all``, ``scontrol``, ``sacct``) as a JobState.

Differences from SmartSim, on purpose: PENDING is Queued (SmartSim: Paused); TIMEOUT,
DEADLINE and PREEMPTED are Failed (SmartSim: Completed, Completed, Paused) since the program
did not finish; see docs/porting.md.
"""


def job_state(text: str) -> JobState | None:
    """A native state as printed (``CANCELLED by 0``, ``CANCELLED+``, lower case …) mapped;
    ``None`` for a state this table does not know."""
    word = text.strip().split(" ")[0].rstrip("+").upper()
    return STATES.get(word)


@dataclass(frozen=True)
class SlurmJob:
    """One line of ``squeue`` about a job (or a step: ``job_id`` is then ``123.4``)."""

    job_id: str
    state: str
    nodes: str = ""
    name: str = ""
    start_time: float | None = None
    end_time: float | None = None
    returncode: int | None = None


_PARSABLE = re.compile(r"^\s*(\d+)(?:;\S*)?\s*$", re.MULTILINE)


def parse_sbatch(output: ToolOutput) -> str:
    """The job id ``sbatch --parsable`` printed (``123`` or ``123;cluster``).

    A refusal is a ``ShellError`` carrying sbatch's own message.
    """
    found = _PARSABLE.search(output.stdout)
    if not output.ok or found is None:
        raise ShellError(
            f"sbatch refused the job: {output.stderr.strip() or output.stdout.strip()}",
            output.command,
            output.stderr,
        )
    return found.group(1)


def parse_jobs(output: ToolOutput) -> dict[str, SlurmJob]:
    """``squeue -h -t all -o JOB_FORMAT`` by job id.

    squeue fails when *every* id asked for is unknown (purged after ``MinJobAge``): that is an
    empty answer, not an error. Any other failure raises ``ShellError``.
    """
    if not output.ok:
        if "Invalid job id" in output.stderr:
            return {}
        raise ShellError("squeue failed", output.command, output.stderr)
    jobs: dict[str, SlurmJob] = {}
    for line in output.stdout.splitlines():
        parts = line.split("|", 5)
        if len(parts) < 6:
            continue
        job_id, state, nodes, start, end, name = (p.strip() for p in parts)
        jobs[job_id] = SlurmJob(job_id, state, nodes, name, parse_time(start), parse_time(end))
    return jobs


def parse_steps(output: ToolOutput) -> dict[str, SlurmJob]:
    """``squeue -h -s -O STEP_FORMAT`` by step *name* (insitu names every step)."""
    if not output.ok:
        if "Invalid job id" in output.stderr:
            return {}
        raise ShellError("squeue failed", output.command, output.stderr)
    steps: dict[str, SlurmJob] = {}
    for line in output.stdout.splitlines():
        parts = line.split("|", 4)
        if len(parts) < 5:
            continue
        step_id, state, nodes, start, name = (p.strip() for p in parts)
        steps[name] = SlurmJob(step_id, state, nodes, name, parse_time(start))
    return steps


def parse_sacct(output: ToolOutput) -> dict[str, SlurmJob]:
    """``sacct --noheader --parsable2 --format=SACCT_FORMAT`` by job id (job allocations
    only: ``123.batch``, ``123.0`` lines are steps and left out), with each job's return
    code from its ``ExitCode``.

    A failure (``sacct`` installed without an accounting database: "Slurm accounting
    storage is disabled", or the database unreachable) raises ``ShellError``.
    """
    if not output.ok or "error" in output.stderr.lower():
        raise ShellError("sacct failed", output.command, output.stderr)
    jobs: dict[str, SlurmJob] = {}
    for line in output.stdout.splitlines():
        parts = line.split("|")
        if len(parts) < 5 or not parts[0].strip() or "." in parts[0]:
            continue
        job_id, state, code, start, end = (p.strip() for p in parts[:5])
        jobs[job_id] = SlurmJob(
            job_id, state, start_time=parse_time(start), end_time=parse_time(end),
            returncode=exit_code(code),
        )  # fmt: skip
    return jobs


def parse_time(text: str) -> float | None:
    """Slurm's ``2026-12-04T11:37:15`` (local time) as epoch seconds; ``None`` for
    ``NONE``, ``Unknown``, ``N/A`` or an empty field."""
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        return None


def parse_scontrol(text: str) -> dict[str, str]:
    """One record of ``scontrol show job -o`` (``Key=Value`` words) as a mapping.

    Values may not contain spaces except ``Command=`` and the like at the end; the keys
    insitu reads (JobState, ExitCode, NodeList, BatchHost …) never do.
    """
    record: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep and key and key not in record:
            record[key] = value
    return record


def exit_code(text: str) -> int | None:
    """Slurm's ``ExitCode=2:0`` (status:signal) as a return code: the status, or minus the
    signal when a signal ended it; ``None`` when unreadable."""
    status, _, signal = text.strip().partition(":")
    try:
        code, sig = int(status), int(signal or 0)
    except ValueError:
        return None
    return -sig if sig and not code else code


_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def expand_hostlist(text: str) -> list[str]:
    """Slurm's compressed host list (``node[1-3,7],login2``) as names, in order."""
    names: list[str] = []
    for item in _split_top(text.strip()):
        if not item:
            continue
        prefix, bracket, rest = item.partition("[")
        if not bracket:
            names.append(item)
            continue
        body, _, suffix = rest.partition("]")
        for part in body.split(","):
            match = _RANGE.match(part)
            if match is None:
                raise ValueError(f"bad host range {part!r} in {text!r}")
            first, last = match.group(1), match.group(2) or match.group(1)
            width = len(first)
            for number in range(int(first), int(last) + 1):
                names.extend(
                    f"{prefix}{number:0{width}d}{tail}" for tail in expand_hostlist(suffix) or [""]
                )
    return names


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets."""
    out: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "," and depth == 0:
            out.append("".join(current))
            current = []
            continue
        depth += {"[": 1, "]": -1}.get(char, 0)
        current.append(char)
    out.append("".join(current))
    return out
