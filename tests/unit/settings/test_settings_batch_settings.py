"""BatchSettings: SmartSim keyword arguments, setters, neutral BatchSpec and flag spelling."""

from __future__ import annotations

import pytest

from insitu.errors import InvalidArgumentError, ParameterTypeError, UnsupportedOptionError
from insitu.settings import BatchSettings, BatchSpec


def test_smartsim_kwargs_become_a_neutral_spec() -> None:
    bs = BatchSettings("sbatch", batch_args={"exclusive": None}, nodes=2, time="01:00:00",
                       account="proj", queue="debug")  # fmt: skip
    assert bs.to_batch_spec() == BatchSpec(
        batch_cmd="sbatch", nodes=2, walltime=3600.0, account="proj", queue="debug",
        batch_args=(("exclusive", None),),
    )  # fmt: skip


def test_empty_smartsim_defaults_mean_unset() -> None:
    spec = BatchSettings("sbatch", nodes=None, time="", account="", queue="").to_batch_spec()
    assert spec == BatchSpec("sbatch")


def test_setters_preamble_and_command() -> None:
    bs = BatchSettings("sbatch")
    bs.set_nodes(4)
    bs.set_walltime("00:30:00")
    bs.set_account("acct")
    bs.set_queue("q")
    bs.set_hostlist(["n1", "n2"])
    bs.add_preamble("module load x")
    bs.add_preamble(["export A=1", "cd /tmp"])
    assert bs.preamble == ("module load x", "export A=1", "cd /tmp")
    spec = bs.to_batch_spec()
    assert (spec.nodes, spec.walltime, spec.account, spec.queue) == (4, 1800.0, "acct", "q")
    assert spec.hosts == ("n1", "n2")
    assert spec.preamble == bs.preamble
    bs.set_batch_command("qsub")
    assert bs.batch_cmd == "qsub"


def test_sbatch_flags() -> None:
    bs = BatchSettings(
        "sbatch", batch_args={"exclusive": None, "C": "gpu"}, nodes=2, time="1:00:00"
    )
    bs.set_queue("debug")
    assert bs.format_batch_args() == [
        "--nodes=2", "--time=1:00:00", "--partition=debug", "--exclusive", "-C", "gpu",
    ]  # fmt: skip


def test_qsub_and_bsub_flags_take_one_dash() -> None:
    qsub = BatchSettings("qsub", nodes=2, time="01:00:00", account="a", queue="q")
    assert qsub.format_batch_args() == [
        "-l", "select=2", "-l", "walltime=1:00:00", "-A", "a", "-q", "q",
    ]  # fmt: skip
    bsub = BatchSettings("bsub", nodes=3, time="00:01:30", batch_args={"alloc_flags": "smt4"})
    assert bsub.format_batch_args() == ["-nnodes", "3", "-W", "00:02", "-alloc_flags", "smt4"]


def test_qsub_has_no_host_list() -> None:
    qsub = BatchSettings("qsub")
    qsub.set_hostlist("n1")
    with pytest.raises(UnsupportedOptionError):
        qsub.format_batch_args()


def test_refusals() -> None:
    with pytest.raises(UnsupportedOptionError, match="known batch commands"):
        BatchSettings("cobalt")
    with pytest.raises(UnsupportedOptionError, match="walltime"):
        BatchSettings("sbatch", walltime="1:00:00")
    with pytest.raises(InvalidArgumentError):
        BatchSettings("sbatch", time="1h")
    with pytest.raises(InvalidArgumentError, match="dashes"):
        BatchSettings("sbatch", batch_args={"--x": 1})
    with pytest.raises(ParameterTypeError):
        BatchSettings("sbatch", nodes="2")
    with pytest.raises(InvalidArgumentError):
        BatchSettings("sbatch").set_nodes(0)
    with pytest.raises(ParameterTypeError):
        BatchSettings("sbatch").add_preamble(3)  # type: ignore[arg-type]
