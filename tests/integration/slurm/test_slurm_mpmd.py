"""MPMD on Slurm (`make_mpmd`): one srun launch of two programs, a heterogeneous step
of the allocation, whose tasks all write to the Model's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu import Experiment
from insitu.jobs import JobState
from tests.cluster.slurm import Cluster

pytestmark = pytest.mark.requires_slurm


def test_an_mpmd_model_runs_both_programs_in_one_step(
    slurm_cluster: Cluster, allocation: str, tmp_path: Path
) -> None:
    exp = Experiment("mpmd", exp_path=str(tmp_path), launcher="slurm")
    a = exp.create_run_settings("/bin/sh", ["-c", "echo A $(hostname)"], run_command="srun")
    a.set_tasks(2)
    b = exp.create_run_settings("/bin/sh", ["-c", "echo B $(hostname)"], run_command="srun")
    b.set_tasks(1)
    a.make_mpmd(b)
    m = exp.create_model("m", a)
    exp.start(m, block=True)
    out = Path(m.path, "m.out").read_text()
    err = Path(m.path, "m.err").read_text()
    log = "".join(p.read_text() for p in Path(m.path, ".insitu", "slurm").glob("*"))
    assert exp.get_status(m) == [JobState.COMPLETED], (out, err, log)
    assert sorted(line.split()[0] for line in out.splitlines()) == ["A", "A", "B"], out
