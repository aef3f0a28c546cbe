"""sbatch on the test cluster: a Model as its own batch job, an Ensemble as one job whose
members are steps, a refused submission, and a job that vanished from the queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu import Experiment
from insitu.errors import ShellError
from insitu.jobs import JobState
from tests.cluster.fixture import wait_queue_empty
from tests.cluster.slurm import Cluster

pytestmark = pytest.mark.requires_slurm


def test_a_model_with_batch_settings_is_one_sbatch_job(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    exp = Experiment("batch", exp_path=str(tmp_path), launcher="slurm")
    bs = exp.create_batch_settings(nodes=1, time="00:05:00")
    bs.add_preamble(["echo preamble-ran"])
    ok = exp.create_model("ok", exp.create_run_settings("/bin/hostname"), batch_settings=bs)
    bad = exp.create_model(
        "bad", exp.create_run_settings("/bin/sh", exe_args=["-c", "exit 4"]), batch_settings=bs
    )
    exp.start(ok, bad, block=True)
    assert exp.get_status(ok, bad) == [JobState.COMPLETED, JobState.FAILED]
    out = Path(ok.path, "ok.out").read_text().split()
    assert out[0] == "preamble-ran" and out[1] in slurm_cluster.node_names
    record = exp._control.table.latest("bad")
    assert record is not None and record.returncode == 4
    assert record.job_id.isdigit()  # a Slurm job id: a batch job, not a step
    assert wait_queue_empty(slurm_cluster) == []


def test_an_ensemble_with_batch_settings_is_one_job_of_steps(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    exp = Experiment("ens", exp_path=str(tmp_path), launcher="slurm")
    bs = exp.create_batch_settings(nodes=3, time="00:05:00")
    rs = exp.create_run_settings("/bin/sh", exe_args=["-c", 'echo "$SLURM_JOB_ID"; hostname'])
    rs.set_tasks(1)
    ensemble = exp.create_ensemble("ens", batch_settings=bs, run_settings=rs, replicas=3)
    exp.start(ensemble, block=True)
    assert exp.get_status(ensemble) == [JobState.COMPLETED] * 3
    jobs = {Path(m.path, f"{m.name}.out").read_text().split()[0] for m in ensemble.models}
    assert len(jobs) == 1  # every member ran in the same batch job
    assert wait_queue_empty(slurm_cluster) == []


def test_a_refused_submission_carries_sbatchs_message(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    exp = Experiment("refused", exp_path=str(tmp_path), launcher="slurm")
    bs = exp.create_batch_settings(nodes=1, time="00:01:00", queue="nosuchpartition")
    model = exp.create_model("m", exp.create_run_settings("/bin/true"), batch_settings=bs)
    with pytest.raises(ShellError, match="invalid partition") as info:
        exp.start(model)
    assert "invalid partition" in info.value.stderr.lower()
    assert wait_queue_empty(slurm_cluster) == []


def test_stopping_a_batch_model_cancels_its_job(slurm_cluster: Cluster, tmp_path: Path) -> None:
    exp = Experiment("stop", exp_path=str(tmp_path), launcher="slurm")
    bs = exp.create_batch_settings(nodes=1, time="00:05:00")
    model = exp.create_model(
        "long", exp.create_run_settings("/bin/sleep", exe_args=["300"]), batch_settings=bs
    )
    exp.start(model, block=False)
    exp.stop(model)
    assert exp.get_status(model) == [JobState.CANCELLED]
    assert wait_queue_empty(slurm_cluster) == []


def test_without_accounting_sacct_is_asked_once_and_status_falls_back(
    slurm_cluster: Cluster, tmp_path: Path
) -> None:
    import time

    from insitu.jobs import JobSpec
    from insitu.jobs.spec import BatchSpec
    from insitu.launchers.slurm.launcher import SlurmLauncher

    launcher = SlurmLauncher(poll_interval=0.2)
    spec = JobSpec("three", "/bin/sh", ("-c", "exit 3"), tmp_path, batch=BatchSpec("", nodes=1))
    job_id = launcher.submit(spec)
    deadline = time.monotonic() + 120
    while not (status := launcher.poll([job_id])[job_id]).state.is_terminal:
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert (status.state, status.returncode) == (JobState.FAILED, 3)
    assert launcher.batch.history_calls == 0  # squeue still listed it: no sacct needed
    # A job squeue forgot: this cluster has no slurmdbd, so sacct fails, once for good.
    assert launcher.batch.ask_history(["999999"]) == {}
    assert launcher.batch.history_usable is False
    assert launcher.batch.ask_history(["999999", job_id]) == {}
    assert launcher.batch.history_calls == 1
    assert wait_queue_empty(slurm_cluster) == []
