"""The pure core of BatchLauncher: state resolution, checks, the job script, and the fake
scheduler's hooks read on captured-style output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from insitu.errors import ShellError, UnsupportedOptionError
from insitu.jobs import JobSpec, JobState, Resources
from insitu.jobs.spec import BatchSpec
from insitu.launchers.batch import BatchJob, NativeStatus, check_spec, render_script, resolve_state
from insitu.launchers.subprocesses import ToolOutput
from tests.fakes.scheduler import STATES, FakeScheduler

S = JobState
FAKE = FakeScheduler()


@pytest.mark.parametrize(
    ("native", "exit_code", "cancelled", "expected"),
    [
        (NativeStatus("PENDING"), None, False, (S.STATUS_QUEUED, None)),
        (NativeStatus("RUNNING"), None, False, (S.STATUS_RUNNING, None)),
        (NativeStatus("SUSPENDED"), None, False, (S.STATUS_PAUSED, None)),
        (NativeStatus("RUNNING"), None, True, (S.STATUS_RUNNING, None)),  # not ended yet
        (NativeStatus("COMPLETED", 0), None, False, (S.STATUS_COMPLETED, 0)),
        (NativeStatus("COMPLETED", 2), None, False, (S.STATUS_FAILED, 2)),  # SmartSim's rule
        (NativeStatus("COMPLETED"), 3, False, (S.STATUS_FAILED, 3)),  # code from the file
        (NativeStatus("FAILED", 1), None, False, (S.STATUS_FAILED, 1)),
        (NativeStatus("CANCELLED", 143), None, False, (S.STATUS_CANCELLED, 143)),
        (NativeStatus("FAILED", 143), None, True, (S.STATUS_CANCELLED, 143)),
        (None, 0, False, (S.STATUS_COMPLETED, 0)),  # forgotten by the scheduler
        (None, 7, False, (S.STATUS_FAILED, 7)),
        (None, None, True, (S.STATUS_CANCELLED, None)),
        (None, None, False, None),  # just submitted, or vanished: the caller decides
        (NativeStatus("BOOT_FAIL"), None, False, None),  # a state the map lacks
    ],
)
def test_resolve_state(
    native: NativeStatus | None,
    exit_code: int | None,
    cancelled: bool,
    expected: tuple[JobState, int | None] | None,
) -> None:
    assert resolve_state(native, STATES, exit_code, cancelled) == expected


def spec(**kw: object) -> JobSpec:
    return JobSpec("job", "/bin/echo", ("hi",), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "option"),
    [
        ({"run_command": "srun"}, "run_command"),
        ({"run_args": (("exclusive", None),)}, "run_args"),
        ({"mpmd": (JobSpec("b", "/bin/true"),)}, "MPMD"),
        ({"allocation": "123"}, "alloc"),
        ({"resources": Resources(nodes=2)}, "nodes"),
        ({"resources": Resources(tasks=4)}, "tasks"),
        ({"resources": Resources(hosts=("n1",))}, "hosts"),
        ({"resources": Resources(cpus_per_task=2)}, "cpus_per_task"),
        ({"resources": Resources(gpus_per_task=1)}, "gpus_per_task"),
        ({"batch": BatchSpec("sbatch")}, "batch_cmd"),
    ],
)
def test_what_a_batch_job_cannot_honour(kw: dict[str, object], option: str) -> None:
    with pytest.raises(UnsupportedOptionError, match=option) as info:
        check_spec(spec(**kw), FAKE)
    assert info.value.backend == "the fake launcher"


def test_what_a_batch_job_honours() -> None:
    check_spec(spec(resources=Resources(nodes=1, tasks=1, walltime=60.0)), FAKE)
    check_spec(spec(batch=BatchSpec("fsub", nodes=2)), FAKE)
    check_spec(spec(batch=BatchSpec("", nodes=2)), FAKE)  # a store's batch=True


def test_the_job_script(tmp_path: Path) -> None:
    job = BatchJob("job", tmp_path, tmp_path / "o", tmp_path / "e",
                   BatchSpec("fsub", nodes=1, preamble=("module load x",)))  # fmt: skip
    env = {"B": "two words", "A": "it's $HOME"}
    text = render_script(spec(env=env), job, FAKE, tmp_path / "job.rc")
    lines = text.splitlines()
    assert lines[0] == "#!/bin/sh"
    assert lines[1:6] == [
        "#FAKE --job-name=job",
        f"#FAKE --chdir={tmp_path}",
        f"#FAKE --output={tmp_path / 'o'}",
        f"#FAKE --error={tmp_path / 'e'}",
        "#FAKE --nodes=1",
    ]
    assert lines[6] == "module load x"
    assert "export A='it'\"'\"'s $HOME'" in lines
    assert "/bin/echo hi" in lines


def test_the_job_script_runs_and_records_its_exit_status(tmp_path: Path) -> None:
    job = BatchJob("job", tmp_path, tmp_path / "o", tmp_path / "e", BatchSpec(""))
    failing = JobSpec("job", "/bin/sh", ("-c", 'echo "$GREETING"; exit 3'), env={"GREETING": "a b"})
    script = tmp_path / "job.sh"
    script.write_text(render_script(failing, job, FAKE, tmp_path / "job.rc"))
    done = subprocess.run(["/bin/sh", str(script)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (3, "a b\n")
    assert (tmp_path / "job.rc").read_text() == "3\n"
    assert not (tmp_path / "job.rc.part").exists()


def out(stdout: str = "", stderr: str = "", code: int = 0) -> ToolOutput:
    return ToolOutput(("fstat",), code, stdout, stderr)


def test_parse_submit() -> None:
    assert FAKE.parse_submit(out("Submitted batch job 1042\n")) == "1042"
    with pytest.raises(ShellError, match="no job id"):
        FAKE.parse_submit(out("sbatch: queued, maybe\n"))


CAPTURED = """\
JOBID    STATE      EXITCODE
1000     PENDING    -
1001     RUNNING    -
1002     COMPLETED  0
1003     FAILED     3
1004     CANCELLED  143
"""


def test_parse_status_on_captured_output() -> None:
    assert FAKE.parse_status(out(CAPTURED)) == {
        "1000": NativeStatus("PENDING"),
        "1001": NativeStatus("RUNNING"),
        "1002": NativeStatus("COMPLETED", 0),
        "1003": NativeStatus("FAILED", 3),
        "1004": NativeStatus("CANCELLED", 143),
    }
    assert FAKE.parse_status(out("JOBID    STATE      EXITCODE\n")) == {}
    # Every id asked about is forgotten: an error exit that means "none listed".
    gone = out(stderr="fstat: error: Invalid job id specified\n", code=1)
    assert FAKE.parse_status(gone) == {}
    with pytest.raises(ShellError, match="Unable to contact"):
        FAKE.parse_status(out(stderr="fstat: error: Unable to contact controller\n", code=1))


def test_the_state_map_covers_every_state_the_fake_reports() -> None:
    assert {native.state for native in FAKE.parse_status(out(CAPTURED)).values()} <= set(STATES)
    assert {STATES[s] for s in ("COMPLETED", "FAILED", "CANCELLED")} <= {
        s for s in JobState if s.is_terminal
    }


def test_argv_builders_batch_every_id() -> None:
    assert FAKE.submit_argv(Path("/x/job.sh")) == ["fsub", "/x/job.sh"]
    assert FAKE.status_argv(["1", "2", "3"]) == ["fstat", "1", "2", "3"]
    assert FAKE.cancel_argv(["1", "2"]) == ["fdel", "1", "2"]
