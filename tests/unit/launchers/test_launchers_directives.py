"""Scheduler directive translators: neutral BatchSpec → native options, flags, #-lines."""

from __future__ import annotations

import pytest

from insitu.errors import UnsupportedOptionError
from insitu.jobs.spec import BatchSpec
from insitu.launchers.directives import gnu_style, hms, single_dash
from insitu.launchers.lsf.commands import BSUB
from insitu.launchers.pbs.commands import QSUB
from insitu.launchers.slurm.commands import SBATCH

FULL = BatchSpec(
    "", nodes=2, walltime=3601.5, account="proj", queue="debug",
    batch_args=(("exclusive", None), ("C", "gpu")),
)  # fmt: skip


def test_hms_rounds_up_and_does_not_wrap_hours() -> None:
    assert hms(0.2) == "0:00:01"
    assert hms(3600) == "1:00:00"
    assert hms(100 * 3600 + 61) == "100:01:01"


def test_spellings() -> None:
    assert gnu_style("n", "4") == ["-n", "4"]
    assert gnu_style("nodes", "4") == ["--nodes=4"]
    assert gnu_style("exclusive", None) == ["--exclusive"]
    assert single_dash("nnodes", "2") == ["-nnodes", "2"]
    assert single_dash("x", None) == ["-x"]


def test_sbatch_directives() -> None:
    assert SBATCH.directives(FULL) == [
        "#SBATCH --nodes=2",
        "#SBATCH --time=1:00:02",
        "#SBATCH --account=proj",
        "#SBATCH --partition=debug",
        "#SBATCH --exclusive",
        "#SBATCH -C gpu",
    ]
    hosts = SBATCH.directives(BatchSpec("sbatch", hosts=("n1", "n2")))
    assert hosts == ["#SBATCH --nodelist=n1,n2"]


def test_qsub_directives() -> None:
    assert QSUB.directives(FULL) == [
        "#PBS -l select=2",
        "#PBS -l walltime=1:00:02",
        "#PBS -A proj",
        "#PBS -q debug",
        "#PBS -exclusive",
        "#PBS -C gpu",
    ]
    with pytest.raises(UnsupportedOptionError, match="set_hostlist"):
        QSUB.directives(BatchSpec("qsub", hosts=("n1",)))


def test_bsub_directives_round_walltime_up_to_minutes() -> None:
    assert BSUB.directives(FULL)[:4] == ["#BSUB -nnodes 2", "#BSUB -W 01:01", "#BSUB -P proj",
                                         "#BSUB -q debug"]  # fmt: skip
    assert BSUB.flags(BatchSpec("bsub", walltime=5.0, hosts=("a", "b"))) == [
        "-W", "00:01", "-m", "a b",
    ]  # fmt: skip


def test_an_empty_spec_has_no_directives() -> None:
    for dialect in (SBATCH, QSUB, BSUB):
        assert dialect.directives(BatchSpec(dialect.command)) == []
        assert dialect.flags(BatchSpec(dialect.command)) == []
