"""Slurm's output read as Slurm 22.05 prints it (pure): states as SmartSim maps them (with
insitu's documented differences), sbatch/squeue/scontrol output, host lists, exit codes."""

from __future__ import annotations

import pytest

from insitu.errors import ShellError
from insitu.jobs.status import JobState
from insitu.launchers.batch import resolve_state
from insitu.launchers.slurm import commands, parse
from insitu.launchers.slurm.scheduler import SlurmScheduler
from insitu.launchers.subprocesses import ToolOutput


def out(code: int, stdout: str, stderr: str = "") -> ToolOutput:
    return ToolOutput(("squeue",), code, stdout, stderr)


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("PENDING", JobState.QUEUED), ("RUNNING", JobState.RUNNING),
        ("COMPLETING", JobState.RUNNING), ("SUSPENDED", JobState.PAUSED),
        ("COMPLETED", JobState.COMPLETED), ("TIMEOUT", JobState.FAILED),
        ("NODE_FAIL", JobState.FAILED), ("OUT_OF_MEMORY", JobState.FAILED),
        ("PREEMPTED", JobState.FAILED), ("BOOT_FAIL", JobState.FAILED),
        ("CANCELLED by 0", JobState.CANCELLED), ("cancelled+", JobState.CANCELLED),
        ("SOMETHING_NEW", None),
    ],
)  # fmt: skip
def test_every_slurm_state_maps(text: str, state: JobState | None) -> None:
    assert parse.job_state(text) is state


def test_a_completed_job_with_a_nonzero_exit_is_failed() -> None:
    job = SlurmScheduler().parse_status(out(0, "12|COMPLETED|node1|N/A|N/A|m\n"))["12"]
    assert resolve_state(job, parse.STATES, 3, False) == (JobState.FAILED, 3)
    gone = resolve_state(None, parse.STATES, 0, False)  # forgotten by squeue, exit file says 0
    assert gone == (JobState.COMPLETED, 0)


def test_sbatch_answers_and_refusals() -> None:
    assert parse.parse_sbatch(out(0, "42\n")) == "42"
    assert parse.parse_sbatch(out(0, "42;cluster\n")) == "42"
    refusal = "sbatch: error: Batch job submission failed: Invalid partition name specified\n"
    with pytest.raises(ShellError, match="Invalid partition") as info:
        parse.parse_sbatch(out(1, "", refusal))
    assert info.value.stderr == refusal


def test_squeue_jobs_and_steps() -> None:
    jobs = parse.parse_jobs(
        out(0, "7|RUNNING|node[1-2]|2026-12-04T11:37:15|2026-12-04T12:07:15|ens\n"
               "8|PENDING||N/A|N/A|x\n")
    )  # fmt: skip
    assert jobs["7"].nodes == "node[1-2]" and jobs["7"].start_time is not None
    assert jobs["8"].start_time is None
    assert parse.parse_jobs(out(1, "", "slurm_load_jobs error: Invalid job id specified")) == {}
    with pytest.raises(ShellError):
        parse.parse_jobs(out(1, "", "Unable to contact slurm controller"))
    steps = parse.parse_steps(out(0, "7.0|RUNNING|node3|2026-12-04T11:37:16|m-abc|x\n"))
    assert steps["m-abc|x"].job_id == "7.0"  # the name is last and may hold anything


def test_one_squeue_call_for_many_jobs_and_steps() -> None:
    argv = commands.squeue_jobs_argv(["1", "2", "3"])
    assert "--jobs=1,2,3" in argv and "--states=all" in argv
    assert "--jobs=5,6" in commands.squeue_steps_argv(["5", "6"])


def test_hostlists_exit_codes_and_scontrol() -> None:
    assert parse.expand_hostlist("node[1-3,07],login2") == [
        "node1", "node2", "node3", "node07", "login2"
    ]  # fmt: skip
    assert parse.exit_code("2:0") == 2 and parse.exit_code("0:9") == -9
    assert parse.exit_code("junk") is None
    record = parse.parse_scontrol("JobId=5 JobState=TIMEOUT ExitCode=0:15 NodeList=node1")
    assert record["JobState"] == "TIMEOUT" and parse.exit_code(record["ExitCode"]) == -15


SACCT = (
    # sacct --noheader --parsable2 --allocations --format=JobID,State,ExitCode,Start,End
    "101|COMPLETED|0:0|2026-12-04T11:37:15|2026-12-04T11:37:20\n"
    "101.batch|COMPLETED|0:0|2026-12-04T11:37:15|2026-12-04T11:37:20\n"
    "102|FAILED|2:0|2026-12-04T11:37:15|2026-12-04T11:37:16\n"
    "103|CANCELLED by 0|0:15|2026-12-04T11:37:15|2026-12-04T11:38:00\n"
    "104|TIMEOUT|0:0|2026-12-04T11:00:00|2026-12-04T11:05:01\n"
    "105|NODE_FAIL|0:0|2026-12-04T11:00:00|2026-12-04T11:02:00\n"
    "106|OUT_OF_MEMORY|0:125|2026-12-04T11:00:00|2026-12-04T11:01:00\n"
    "107|PENDING|0:0|Unknown|Unknown\n"
    "108_3|COMPLETED|0:0|2026-12-04T11:00:00|2026-12-04T11:00:01\n"
)


def test_sacct_parsable2_lines_give_states_codes_and_times() -> None:
    from insitu.launchers.slurm.scheduler import SacctHistory

    found = SacctHistory().parse(out(0, SACCT))
    assert sorted(found) == ["101", "102", "103", "104", "105", "106", "107", "108_3"]
    resolved = {
        job_id: resolve_state(native, parse.STATES, None, False) for job_id, native in found.items()
    }
    assert resolved == {
        "101": (JobState.COMPLETED, 0), "102": (JobState.FAILED, 2),
        "103": (JobState.CANCELLED, -15), "104": (JobState.FAILED, 0),
        "105": (JobState.FAILED, 0), "106": (JobState.FAILED, -125),
        "107": (JobState.QUEUED, None), "108_3": (JobState.COMPLETED, 0),
    }  # fmt: skip
    assert found["101"].start_time is not None and found["101"].end_time is not None
    assert found["107"].start_time is None and found["107"].end_time is None
    assert resolve_state(found["101"], parse.STATES, None, True) == (JobState.CANCELLED, 0)


def test_sacct_without_accounting_is_a_failure() -> None:
    disabled = "sacct: error: Slurm accounting storage is disabled\n"
    with pytest.raises(ShellError, match="sacct failed") as info:
        parse.parse_sacct(out(1, "", disabled))
    assert info.value.stderr == disabled
    with pytest.raises(ShellError):  # the database is configured but unreachable
        parse.parse_sacct(out(0, "", "sacct: error: Problem talking to the database\n"))
    argv = commands.sacct_argv(["1", "2"])
    assert argv[0] == "sacct" and "--jobs=1,2" in argv and "--parsable2" in argv
