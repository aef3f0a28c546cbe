"""Grid Engine's scheduler hooks (pure), on output in Grid Engine's documented formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu.errors import ShellError, UnsupportedOptionError
from insitu.jobs.spec import BatchSpec
from insitu.jobs.status import JobState
from insitu.launchers.batch import BatchJob, resolve_state
from insitu.launchers.sge.scheduler import STATES, SgeScheduler, parse_qstat_xml
from insitu.launchers.subprocesses import ToolOutput
from insitu.settings import SgeQsubBatchSettings

QSTAT_XML = """<?xml version='1.0'?>
<job_info  xmlns:xsd="http://arc.liv.ac.uk/repos/darcs/sge/source/dist/util/resources/schemas/qstat/qstat.xsd">
  <queue_info>
    <job_list state="running">
      <JB_job_number>101</JB_job_number>
      <JAT_prio>0.55500</JAT_prio>
      <JB_name>ens</JB_name>
      <JB_owner>alice</JB_owner>
      <state>r</state>
      <JAT_start_time>2026-12-04T11:37:15</JAT_start_time>
      <queue_name>all.q@node1</queue_name>
      <slots>4</slots>
    </job_list>
    <job_list state="running">
      <JB_job_number>102</JB_job_number>
      <JAT_prio>0.55500</JAT_prio>
      <JB_name>gone</JB_name>
      <JB_owner>alice</JB_owner>
      <state>dr</state>
      <JAT_start_time>2026-12-04T11:30:00</JAT_start_time>
      <queue_name>all.q@node2</queue_name>
      <slots>1</slots>
    </job_list>
  </queue_info>
  <job_info>
    <job_list state="pending">
      <JB_job_number>103</JB_job_number>
      <JAT_prio>0.00000</JAT_prio>
      <JB_name>waits</JB_name>
      <JB_owner>alice</JB_owner>
      <state>qw</state>
      <JB_submission_time>2026-12-04T11:37:10</JB_submission_time>
      <queue_name></queue_name>
      <slots>1</slots>
    </job_list>
    <job_list state="pending">
      <JB_job_number>104</JB_job_number>
      <JB_name>broken</JB_name>
      <state>Eqw</state>
    </job_list>
  </job_info>
</job_info>
"""


def out(code: int, stdout: str, stderr: str = "", *command: str) -> ToolOutput:
    return ToolOutput(command or ("qstat", "-xml"), code, stdout, stderr)


def test_qstat_xml_lists_every_job_with_its_state() -> None:
    listed = SgeScheduler().parse_status(out(0, QSTAT_XML))
    states = {j: resolve_state(n, STATES, None, False) for j, n in listed.items()}
    assert states == {
        "101": (JobState.RUNNING, None), "102": (JobState.RUNNING, None),
        "103": (JobState.QUEUED, None), "104": (JobState.FAILED, None),
    }  # fmt: skip
    assert listed["101"].start_time is not None and listed["103"].start_time is None
    empty = "<?xml version='1.0'?>\n<job_info><queue_info/><job_info/></job_info>\n"
    assert parse_qstat_xml(out(0, empty)) == {}
    with pytest.raises(ShellError, match="no XML"):
        parse_qstat_xml(out(0, "error: commlib error"))
    with pytest.raises(ShellError, match="qstat failed"):
        parse_qstat_xml(out(1, "", "error: unable to contact qmaster"))


def test_qsub_terse_answers_and_refusals() -> None:
    sched = SgeScheduler()
    assert sched.parse_submit(out(0, "1234\n", "", "qsub")) == "1234"
    assert sched.parse_submit(out(0, "1235.1-10:1\n", "", "qsub")) == "1235"
    refusal = 'Unable to run job: job rejected: the requested queue "x" does not exist.\nExiting.\n'
    with pytest.raises(ShellError, match="does not exist") as info:
        sched.parse_submit(out(1, "", refusal, "qsub"))
    assert info.value.stderr == refusal
    assert sched.submit_argv(Path("/j.sh")) == ["qsub", "-terse", "/j.sh"]
    assert sched.status_argv(["1", "2"]) == ["qstat", "-xml"]  # one call, every job
    assert sched.cancel_argv(["1", "2"]) == ["qdel", "1", "2"]


def test_directives_spell_the_settings_as_format_batch_args_does() -> None:
    settings = SgeQsubBatchSettings(time="00:05:00", ncpus=4, pe_type="mpi", account="acc")
    settings.set_queue("all.q")
    settings.update_context_variables("ac", "FOO", 3)
    job = BatchJob("my job", Path("/w"), Path("/w/o"), Path("/w/e"), settings.to_batch_spec())
    lines = SgeScheduler().directives(job)
    assert lines[:5] == ["#$ -N my_job", "#$ -wd /w", "#$ -o /w/o", "#$ -e /w/e", "#$ -S /bin/sh"]
    assert lines[5:] == [
        "#$ -l h_rt=0:05:00", "#$ -A acc", "#$ -q all.q", "#$ -pe mpi 4", "#$ -ac FOO=3",
    ]  # fmt: skip
    with pytest.raises(UnsupportedOptionError, match="no node count"):
        SgeScheduler().directives(
            BatchJob("s", Path("/w"), Path("/o"), Path("/e"), BatchSpec("", nodes=3))
        )
