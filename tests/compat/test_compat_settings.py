"""SmartSim 0.8's settings classes: each setter's run/batch argument, formatting and errors."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from insitu.errors import (
    ConfigurationError,
    LauncherError,
    SmartSimError,
    SSConfigError,
    SSUnsupportedError,
)
from insitu.settings import (
    AprunSettings,
    BsubBatchSettings,
    DragonRunSettings,
    JsrunSettings,
    MpiexecSettings,
    MpirunSettings,
    OrterunSettings,
    PalsMpiexecSettings,
    QsubBatchSettings,
    RunSettings,
    SbatchSettings,
    SgeQsubBatchSettings,
    Singularity,
    SrunSettings,
    _BaseMPISettings,
    create_batch_settings,
    create_run_settings,
)

MPI = {"fail_if_missing_exec": False}


def stub(tmp_path: Path, name: str, text: str = "exit 0") -> Path:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{text}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# -- srun / sbatch --------------------------------------------------------------------------------


def test_srun_setters_and_formatting() -> None:
    rs = SrunSettings("python")
    rs.set_nodes(5)
    rs.set_cpus_per_task(2)
    rs.set_tasks(100)
    rs.set_tasks_per_node(20)
    assert rs.format_run_args() == [
        "--nodes=5", "--cpus-per-task=2", "--ntasks=100", "--ntasks-per-node=20",
    ]  # fmt: skip
    assert rs.run_args["ntasks"] == 100
    rs = SrunSettings("python", run_args={"account": "A", "exclusive": None, "C": "P100"})
    assert rs.format_run_args() == ["--account=A", "--exclusive", "-C", "P100"]


def test_srun_named_setters() -> None:
    rs = SrunSettings("python")
    rs.set_hostlist(["a", "b"])
    rs.set_node_feature(["P100", "V100"])
    rs.set_hostlist_from_file("./hosts")
    rs.set_cpu_bindings([1, 2])
    rs.set_memory_per_node(8000)
    rs.set_broadcast("/tmp/x")
    rs.set_excluded_hosts("c")
    assert rs.run_args == {
        "nodelist": "a,b", "C": "P100,V100", "nodefile": "./hosts", "cpu_bind": "map_cpu:1,2",
        "mem": "8000M", "bcast": "/tmp/x", "exclude": "c",
    }  # fmt: skip
    rs.set_verbose_launch(True)
    rs.set_quiet_launch(True)
    assert {"verbose", "quiet"} <= set(rs.run_args)
    rs.set_verbose_launch(False)
    rs.set_verbose_launch(False)
    assert "verbose" not in rs.run_args
    with pytest.raises(TypeError):
        rs.set_hostlist([5])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        rs.set_node_feature(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rs.set_tasks("not an int")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rs.set_cpu_bindings(["x"])  # type: ignore[list-item]


def test_srun_time_is_hh_mm_ss() -> None:
    rs = SrunSettings("python")
    rs.set_time(seconds=72)
    assert rs.run_args["time"] == "00:01:12"
    rs.set_time(hours=1, minutes=31, seconds=1845)
    assert rs.run_args["time"] == "02:01:45"
    rs.set_time(seconds=0)
    assert rs.run_args["time"] == "00:00:00"


@pytest.mark.parametrize("reserved", ["chdir", "D"])
def test_srun_reserved_args_are_not_set(reserved: str) -> None:
    rs = SrunSettings("python")
    rs.set(reserved)
    assert reserved not in rs.run_args


def test_srun_env_formatting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    rs = SrunSettings("python", env_vars={"OMP_NUM_THREADS": 20, "SSKEYIN": "a,b"})
    assert rs.format_env_vars() == ["OMP_NUM_THREADS=20"]
    exported, compound = rs.format_comma_sep_env_vars()
    assert exported == "OMP_NUM_THREADS=20,SSKEYIN"
    assert compound == ["SSKEYIN=a,b"]


def test_srun_mpmd_and_its_refusals() -> None:
    rs = SrunSettings("python")
    other = SrunSettings("python")
    rs.make_mpmd(other)
    assert rs.mpmd == [other]
    colo = SrunSettings("python")
    colo.colocated_db_settings = {"port": 6379}
    with pytest.raises(SSUnsupportedError):
        colo.make_mpmd(other)


def test_het_group_needs_a_het_allocation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLURM_HET_SIZE", raising=False)
    with pytest.raises(ValueError):
        SrunSettings("python").set_het_group([1])
    monkeypatch.setenv("SLURM_HET_SIZE", "3")
    rs = SrunSettings("python")
    rs.set_het_group([0, 2])
    assert rs.run_args["het-group"] == "0,2"
    with pytest.raises(ValueError):
        rs.set_het_group([3])


def test_sbatch() -> None:
    sb = SbatchSettings(nodes=1, time="10:00:00", account="A3123")
    assert sb.format_batch_args() == ["--nodes=1", "--time=10:00:00", "--account=A3123"]
    sb = SbatchSettings()
    sb.set_nodes(5)
    sb.set_account("A3531")
    sb.set_walltime("10:00:00")
    assert sb.format_batch_args() == ["--nodes=5", "--account=A3531", "--time=10:00:00"]
    sb.set_batch_command("qsub")
    assert sb._batch_cmd == "qsub"
    spec = SbatchSettings(nodes=2, time="01:00:00", account="a", batch_args={"x": None})
    spec.set_queue("debug")
    batch = spec.to_batch_spec()
    assert (batch.batch_cmd, batch.nodes, batch.walltime, batch.account, batch.queue) == (
        "sbatch", 2, 3600.0, "a", "debug",
    )  # fmt: skip
    assert batch.batch_args == (("x", None),)


# -- MPI -------------------------------------------------------------------------------------------


def test_mpi_base_settings_format() -> None:
    rs = _BaseMPISettings(sys.executable, **MPI)
    rs.set_cpus_per_task(1)
    rs.set_tasks(2)
    rs.set_hostlist(["node005", "node006"])
    assert rs.format_run_args() == ["--cpus-per-proc", "1", "--n", "2", "--host", "node005,node006"]
    rs = _BaseMPISettings(sys.executable, run_args={"map-by": "ppr:1:node", "np": 1}, **MPI)
    rs.set_task_map("ppr:2:node")
    assert rs.format_run_args() == ["--map-by", "ppr:2:node", "--np", "1"]


def test_mpi_setters_env_and_time() -> None:
    rs = _BaseMPISettings(sys.executable, env_vars={"A": 20, "B": "v"}, **MPI)
    rs.update_env({"A": 10})
    assert rs.format_env_vars() == ["-x", "A=10", "-x", "B=v"]
    rs.set_tasks_per_node(6)
    rs.set_hostlist_from_file("./h")
    rs.set_broadcast("/tmp/x")
    assert rs.run_args == {"npernode": 6, "hostfile": "./h", "preload-binary": None}
    rs.set_time(minutes=1, seconds=12)
    assert rs.run_args["timeout"] == "72"
    rs.set("wdir")
    assert "wdir" not in rs.run_args
    with pytest.raises(TypeError):
        rs.set_hostlist(4)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [MpirunSettings, MpiexecSettings, OrterunSettings])
def test_mpi_run_command_must_exist(
    cls: type[_BaseMPISettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(LauncherError):
        cls(sys.executable)


def test_slurm_mpiexec_wrapper_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stub(tmp_path, "mpiexec", "echo 'usage: mpiexec.slurm args executable'")
    monkeypatch.setenv("PATH", str(tmp_path), prepend=os.pathsep)
    with pytest.raises(SSUnsupportedError):
        MpiexecSettings(sys.executable)


def test_pals_settings() -> None:
    rs = PalsMpiexecSettings(sys.executable, **MPI)
    rs.set_gpu_affinity_script("/a.sh", 1, 2)
    assert rs.format_run_args() == ["/a.sh", "1", "2"]
    rs = PalsMpiexecSettings(sys.executable, **MPI)
    rs.set_cpu_binding_type("numa")
    rs.set_tasks_per_node(48)
    rs.set_broadcast()
    assert rs.format_run_args() == ["--cpu-bind", "numa", "--ppn", "48", "--transfer"]
    rs = PalsMpiexecSettings(
        sys.executable, env_vars={"FOO": "3.14", "PATH": None, "LD": None}, **MPI
    )
    assert " ".join(rs.format_env_vars()) == "--env FOO=3.14 --envlist PATH,LD"


# -- aprun, jsrun, dragon ------------------------------------------------------------------------


def test_aprun() -> None:
    rs = AprunSettings("python")
    rs.set_cpus_per_task(2)
    rs.set_tasks(100)
    rs.set_tasks_per_node(20)
    assert rs.format_run_args() == ["--cpus-per-pe=2", "--pes=100", "--pes-per-node=20"]
    rs = AprunSettings("python", run_args={"z": None, "sync-output": None, "wdir": "/p", "pes": 5})
    assert rs.format_run_args() == ["-z", "--sync-output", "--pes=5"]
    rs = AprunSettings("python", env_vars={"A": 1})
    assert rs.format_env_vars() == ["-e", "A=1"]
    rs.set_verbose_launch(True)
    assert rs.run_args["debug"] == 7
    rs.set_cpu_bindings(2)
    assert rs.run_args["cpu-binding"] == "2"
    rs.set_time(minutes=1, seconds=12)
    assert rs.run_args["cpu-time-limit"] == "72"


def test_jsrun() -> None:
    rs = JsrunSettings("python")
    rs.set_num_rs(8)
    rs.set_cpus_per_rs(2)
    rs.set_gpus_per_rs(1)
    rs.set_rs_per_host(4)
    rs.set_tasks_per_rs(12)
    rs.set_tasks(96)
    rs.set_binding("packed:2")
    assert rs.format_run_args() == [
        "--nrs=8", "--cpu_per_rs=2", "--gpu_per_rs=1", "--rs_per_host=4", "--tasks_per_rs=12",
        "--np=96", "--bind=packed:2",
    ]  # fmt: skip
    rs.set_num_rs("ALL_HOSTS")
    assert rs.run_args["nrs"] == "ALL_HOSTS"
    erf = {"foo": "1"}
    rs.set_erf_sets(erf)
    erf["foo"] = "2"
    assert rs.erf_sets == {"foo": "1"}
    rs = JsrunSettings("python", env_vars={"OMP": None, "L": "v"})
    assert rs.format_env_vars() == ["-E", "OMP", "-E", "L=v"]
    rs.set_mpmd_preamble(["launch_distribution : packed"])
    assert rs.mpmd_preamble_lines == ["launch_distribution : packed"]
    rs.set("chdir")
    assert "chdir" not in rs.run_args


def test_dragon() -> None:
    rs = DragonRunSettings("python")
    rs.set_nodes(2)
    rs.set_tasks_per_node(4)
    rs.set_node_feature(["gpu"])
    rs.set_cpu_affinity([0, 1])
    assert rs.run_args == {"nodes": 2, "tasks-per-node": 4, "node-feature": "gpu",
                           "cpu-affinity": "0,1"}  # fmt: skip


# -- batch ----------------------------------------------------------------------------------------


def test_bsub() -> None:
    bs = BsubBatchSettings(
        nodes=1, time="10:00:00", project="A", smts=4, batch_args={"alloc_flags": "nvme"}
    )
    assert bs.format_batch_args() == ['-alloc_flags "nvme smt4"', "-nnodes 1"]
    assert bs.walltime == "10:00"
    bs = BsubBatchSettings(batch_args={"alloc_flags": "smt10"}, smts=2)
    bs._format_alloc_flags()
    assert bs.batch_args["alloc_flags"] == "smt10"
    bs = BsubBatchSettings()
    bs.set_hostlist(["n1", "n2"])
    bs.set_tasks(5)
    assert bs.format_batch_args() == ['-m "n1 n2"', "-n 5"]
    with pytest.raises(TypeError):
        bs.add_preamble(1)  # type: ignore[arg-type]
    spec = BsubBatchSettings(nodes=2, time="01:30:00", account="p", queue="q").to_batch_spec()
    assert (spec.batch_cmd, spec.nodes, spec.walltime, spec.account, spec.queue) == (
        "bsub", 2, 5400.0, "p", "q",
    )  # fmt: skip


def test_qsub_resources() -> None:
    qs = QsubBatchSettings(ncpus=36, nodes=10)
    assert qs._create_resource_list() == ["-l nodes=10:ncpus=36"]
    qs = QsubBatchSettings(ncpus=36, resources={"select": 10})
    assert qs._create_resource_list() == ["-l select=10:ncpus=36"]
    with pytest.raises(SSConfigError):
        QsubBatchSettings(nodes=10, resources={"select": 10})
    qs = QsubBatchSettings(nodes=10)
    before = qs.resources
    with pytest.raises(SSConfigError):
        qs.resources = {"nodes": 10, "select": 10}
    assert qs.resources == before
    assert qs.resources is not qs._resources
    with pytest.raises(TypeError):
        qs.set_resource("nodes", "10")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        qs.set_resource("foo", None)  # type: ignore[arg-type]
    with pytest.raises(SSConfigError):
        QsubBatchSettings()._create_resource_list()


def test_sge() -> None:
    assert SgeQsubBatchSettings(ncpus=8, pe_type="mpi")._create_resource_list() == ["-pe mpi 8"]
    assert SgeQsubBatchSettings(time="01:00:00")._create_resource_list() == ["-l h_rt=01:00:00"]
    assert SgeQsubBatchSettings(account="foo").format_batch_args() == ["-A foo"]
    sge = SgeQsubBatchSettings()
    sge.update_context_variables("ac", "foo")
    sge.update_context_variables("sc", "foo", "bar")
    sge.set_hyperthreading(False)
    assert sge._create_resource_list() == ["-ac foo", "-sc foo=bar", "-l threads=0"]
    with pytest.raises(SSConfigError):
        sge.update_context_variables("dc", "foo", "bar")
    with pytest.raises(TypeError):
        sge.resources = {"meep": Exception}  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError):
        sge.set_nodes(2)


# -- factories ------------------------------------------------------------------------------------


def test_create_run_settings_chooses_the_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert type(create_run_settings("local", "echo", "hello", run_command=None)) is RunSettings
    auto = create_run_settings("local", "echo", "hello", run_command="auto")
    assert type(auto) is RunSettings
    assert auto.run_command is None
    specific = create_run_settings("local", "echo", "hello", run_command="specific")
    assert specific.run_command == "specific"
    for name in ("mpirun", "mpiexec", "orterun"):
        stub(tmp_path, name)
    monkeypatch.setenv("PATH", str(tmp_path), prepend=os.pathsep)
    mpirun = create_run_settings("slurm", "echo", "hello", run_command="mpirun")
    assert isinstance(mpirun, MpirunSettings)
    assert mpirun.run_command == str(tmp_path / "mpirun")
    assert isinstance(
        create_run_settings("pals", "echo", run_command="mpiexec"), PalsMpiexecSettings
    )
    assert isinstance(create_run_settings("sge", "echo"), _BaseMPISettings)
    assert isinstance(create_run_settings("dragon", "echo"), DragonRunSettings)
    rs = create_run_settings("local", "echo", run_command="auto", run_args={"a": "1"})
    assert rs.run_args == {"a": "1"}


def test_create_batch_settings_chooses_the_class() -> None:
    pbs = create_batch_settings(
        "pbs", nodes=1, time="10:00:00", queue="default", account="myproject", ncpus=10
    )
    assert isinstance(pbs, QsubBatchSettings)
    assert pbs.format_batch_args() == [
        "-l nodes=1:ncpus=10", "-l walltime=10:00:00", "-q default", "-A myproject",
    ]  # fmt: skip
    slurm = create_batch_settings("slurm", nodes=1, queue="default", batch_args={"x": None})
    assert isinstance(slurm, SbatchSettings)
    assert slurm.batch_args["partition"] == "default"
    args = {"core_isolation": None}
    bsub = create_batch_settings("lsf", nodes=1, time="10:00:00", account="a", queue="default",
                                 batch_args=args)  # fmt: skip
    assert bsub.format_batch_args() == ["-core_isolation", "-nnodes 1", "-q default"]
    args["k"] = "v"
    assert "k" not in bsub.batch_args
    text = str(bsub).replace("\t", " ").replace("\n", "")
    assert text.startswith("Batch Command: bsub") and "nnodes = 1" in text
    with pytest.raises(SmartSimError):
        create_batch_settings("local")
    with pytest.raises(SSUnsupportedError):
        create_batch_settings("cobalt")


def test_singularity_commands() -> None:
    uri = "docker://x/y:latest"
    assert Singularity(uri)._container_cmds()[1:] == ["exec", uri]
    cmd = " ".join(Singularity(uri, args=["--verbose", "--cleanenv"])._container_cmds()[1:])
    assert cmd == f"exec --verbose --cleanenv {uri}"
    mounts = {"/usr/local/bin": "/bin", "/lus": None}
    cmd = " ".join(Singularity(uri, mount=mounts)._container_cmds()[1:])
    assert cmd == f"exec --bind /usr/local/bin:/bin,/lus {uri}"
    with pytest.raises(TypeError):
        Singularity(3)  # type: ignore[arg-type]
