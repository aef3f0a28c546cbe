"""PBS and LSF as batch schedulers (pure): directives, and their commands' output as the
PBS Professional and LSF references print it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insitu.errors import ShellError
from insitu.jobs.spec import BatchSpec
from insitu.jobs.status import JobState
from insitu.launchers.batch import BatchJob, resolve_state
from insitu.launchers.lsf.scheduler import LsfScheduler
from insitu.launchers.pbs.scheduler import PbsScheduler
from insitu.launchers.subprocesses import ToolOutput

BATCH = BatchSpec("qsub", nodes=2, walltime=90.0, account="acct", queue="debug")
JOB = BatchJob("sim", Path("/w"), Path("/w/sim.out"), Path("/w/sim.err"), BATCH)


def out(command: list[str], code: int, stdout: str, stderr: str = "") -> ToolOutput:
    return ToolOutput(tuple(command), code, stdout, stderr)


def test_pbs_directives_submit_and_refusal() -> None:
    pbs = PbsScheduler()
    assert pbs.directives(JOB) == [
        "#PBS -N sim", "#PBS -o /w/sim.out", "#PBS -e /w/sim.err",
        "#PBS -l select=2", "#PBS -l walltime=0:01:30", "#PBS -A acct", "#PBS -q debug",
    ]  # fmt: skip
    assert pbs.parse_submit(out(["qsub", "s"], 0, "1234.pbs01\n")) == "1234.pbs01"
    with pytest.raises(ShellError, match="Unknown queue") as info:
        pbs.parse_submit(out(["qsub", "s"], 170, "", "qsub: Unknown queue\n"))
    assert info.value.stderr == "qsub: Unknown queue\n"


def test_pbs_qstat_json_with_finished_and_forgotten_jobs() -> None:
    pbs = PbsScheduler()
    argv = pbs.status_argv(["1.srv", "2.srv", "3.srv"])
    document = {"Jobs": {
        "1.srv.example.org": {"job_state": "R", "stime": "Fri Dec  4 13:00:00 2026"},
        "2.srv.example.org": {"job_state": "F", "Exit_status": 3,
                              "obittime": "Fri Dec  4 13:05:00 2026"},
    }}  # fmt: skip
    listed = pbs.parse_status(out(argv, 153, json.dumps(document), "qstat: Unknown Job Id 3.srv\n"))
    assert set(listed) == {"1.srv", "2.srv"}  # the short ids asked for
    assert listed["1.srv"].state == "R" and listed["1.srv"].start_time is not None
    assert resolve_state(listed["2.srv"], pbs.states, None, False) == (JobState.FAILED, 3)
    assert pbs.parse_status(out(argv, 153, "", "qstat: Unknown Job Id 1.srv\n")) == {}
    with pytest.raises(ShellError, match="no PBS JSON"):
        pbs.parse_status(out(argv, 0, "Job id  Name\n---"))


def test_lsf_directives_submit_status_and_refusal() -> None:
    lsf = LsfScheduler()
    assert lsf.directives(JOB)[:4] == ["#BSUB -J sim", "#BSUB -cwd /w", "#BSUB -o /w/sim.out",
                                       "#BSUB -e /w/sim.err"]  # fmt: skip
    argv = lsf.submit_argv(Path("/w/s.sh"))
    assert argv[-1] == "/w/s.sh" and "bsub <" in argv[2]  # the script on bsub's stdin
    assert lsf.parse_submit(out(argv, 0, "Job <77> is submitted to queue <normal>.\n")) == "77"
    with pytest.raises(ShellError, match="No such queue"):
        lsf.parse_submit(out(argv, 255, "", "q: No such queue. Job not submitted.\n"))
    listed = lsf.parse_status(
        out(lsf.status_argv(["7", "8", "9"]), 0, "7|RUN|-\n8|EXIT|2\n", "Job <9> is not found\n")
    )
    assert listed["7"].state == "RUN" and listed["8"].returncode == 2 and "9" not in listed
    assert resolve_state(listed["8"], lsf.states, None, False) == (JobState.FAILED, 2)
    with pytest.raises(ShellError, match="bjobs failed"):
        lsf.parse_status(out(["bjobs"], 255, "", "LSF is down\n"))
