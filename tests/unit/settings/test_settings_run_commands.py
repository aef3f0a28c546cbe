"""Run-command translators: argv for each run command, and what each refuses."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest

from insitu.errors import (
    InvalidArgumentError,
    MissingDependencyError,
    UnknownLauncherError,
    UnsupportedOptionError,
)
from insitu.jobs import JobSpec, Resources
from insitu.settings import detect_run_command, translate


def spec(run_command: str | None = None, **resources: object) -> JobSpec:
    return JobSpec(
        name="job",
        exe="/bin/app",
        args=("--in", "x"),
        run_command=run_command,
        resources=Resources(**resources),  # type: ignore[arg-type]
    )


# -- plain execution ------------------------------------------------------------------------------


def test_plain_is_the_program_alone() -> None:
    assert translate(spec()) == ["/bin/app", "--in", "x"]
    assert translate(spec(nodes=1, tasks=1, tasks_per_node=1)) == ["/bin/app", "--in", "x"]


@pytest.mark.parametrize(
    "resources",
    [{"tasks": 2}, {"nodes": 2}, {"hosts": ("n1",)}, {"walltime": 5.0}, {"cpu_pinning": (0,)}],
)
def test_plain_refuses_what_needs_a_run_command(resources: dict[str, object]) -> None:
    with pytest.raises(UnsupportedOptionError, match="no run command"):
        translate(spec(**resources))  # type: ignore[arg-type]


def test_fields_a_launcher_handles_are_left_to_it() -> None:
    job = spec(walltime=5.0, cpu_pinning=(0, 1))
    assert translate(job, handled={"walltime", "cpu_pinning"}) == ["/bin/app", "--in", "x"]
    with pytest.raises(InvalidArgumentError, match="unknown Resources"):
        translate(job, handled={"wall"})


def test_plain_refuses_run_args_and_mpmd() -> None:
    with pytest.raises(UnsupportedOptionError):
        translate(JobSpec(name="j", exe="/bin/app", run_args=(("x", None),)))
    with pytest.raises(UnsupportedOptionError):
        translate(JobSpec(name="j", exe="/bin/app", mpmd=(spec(),)))


# -- srun -----------------------------------------------------------------------------------------


def test_srun_expresses_every_resource() -> None:
    job = spec(
        "srun", nodes=2, tasks=8, tasks_per_node=4, cpus_per_task=2, hosts=("n1", "n2"),
        walltime=3723.0, cpu_pinning=(0, 2),
    )  # fmt: skip
    assert translate(job) == [
        "srun", "--nodes=2", "--ntasks=8", "--ntasks-per-node=4", "--cpus-per-task=2",
        "--nodelist=n1,n2", "--time=1:02:03", "--cpu-bind=map_cpu:0,2", "/bin/app", "--in", "x",
    ]  # fmt: skip


def test_srun_run_args_spelling_and_path_kept_as_program() -> None:
    job = JobSpec(
        name="j", exe="/bin/app", run_command="/opt/slurm/bin/srun",
        run_args=(("exclusive", None), ("mpi", "pmix"), ("N", "1")),
    )  # fmt: skip
    assert translate(job) == [
        "/opt/slurm/bin/srun",
        "--exclusive",
        "--mpi=pmix",
        "-N",
        "1",
        "/bin/app",
    ]


def test_walltime_rounds_up_partial_seconds() -> None:
    assert "--time=0:00:02" in translate(spec("srun", walltime=1.2))


def test_srun_mpmd_segments_are_joined_by_colons() -> None:
    second = JobSpec(name="b", exe="/bin/b", resources=Resources(tasks=2), run_command="srun")
    first = JobSpec(
        name="a", exe="/bin/a", resources=Resources(tasks=1), run_command="srun", mpmd=(second,)
    )
    assert translate(first) == ["srun", "--ntasks=1", "/bin/a", ":", "--ntasks=2", "/bin/b"]


def test_run_arg_that_duplicates_a_resource_is_refused() -> None:
    job = JobSpec(
        name="j", exe="/bin/app", run_command="srun",
        resources=Resources(nodes=2), run_args=(("nodes", "3"),),
    )  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="nodes"):
        translate(job)
    # Without the resource the same run arg passes through.
    ok = JobSpec(name="j", exe="/bin/app", run_command="srun", run_args=(("nodes", "3"),))
    assert translate(ok) == ["srun", "--nodes=3", "/bin/app"]


def test_reserved_run_arg_is_refused() -> None:
    job = JobSpec(name="j", exe="/bin/app", run_command="srun", run_args=(("chdir", "/x"),))
    with pytest.raises(InvalidArgumentError, match="chdir"):
        translate(job)


def test_mpmd_programs_must_share_the_environment() -> None:
    second = JobSpec(name="b", exe="/bin/b", env={"A": "2"}, run_command="srun")
    first = JobSpec(name="a", exe="/bin/a", env={"A": "1"}, run_command="srun", mpmd=(second,))
    with pytest.raises(UnsupportedOptionError, match="MPMD"):
        translate(first)


# -- Open MPI -------------------------------------------------------------------------------------


@pytest.mark.parametrize("program", ["mpirun", "mpiexec", "orterun"])
def test_mpi_family_tasks_env_and_walltime(program: str) -> None:
    job = JobSpec(
        name="j", exe="/bin/app", run_command=program, env={"B": "2", "A": "1"},
        resources=Resources(tasks=4, walltime=59.5), run_args=(("oversubscribe", None),),
    )  # fmt: skip
    assert translate(job) == [
        program, "-x", "A", "-x", "B", "-n", "4", "--timeout", "60", "--oversubscribe", "/bin/app",
    ]  # fmt: skip


def test_mpirun_places_tasks_per_node_with_ppr_and_pe() -> None:
    job = spec("mpirun", nodes=2, tasks_per_node=3, cpus_per_task=2, hosts=("n1", "n2"))
    assert translate(job) == [
        "mpirun", "-n", "6", "--map-by", "ppr:3:node:PE=2", "--host", "n1:3,n2:3",
        "/bin/app", "--in", "x",
    ]  # fmt: skip


def test_mpirun_derives_tasks_per_node_from_divisible_tasks() -> None:
    assert translate(spec("mpirun", nodes=2, tasks=4))[:5] == [
        "mpirun", "-n", "4", "--map-by", "ppr:2:node",
    ]  # fmt: skip


def test_mpirun_cpus_per_task_alone_maps_by_slot() -> None:
    assert translate(spec("mpirun", cpus_per_task=4))[:3] == ["mpirun", "--map-by", "slot:PE=4"]


def test_mpirun_cannot_express_a_bare_node_count() -> None:
    with pytest.raises(UnsupportedOptionError, match="nodes=2"):
        translate(spec("mpirun", nodes=2, tasks=3))
    with pytest.raises(UnsupportedOptionError, match="nodes=2"):
        translate(spec("mpirun", nodes=2))


def test_mpirun_refuses_inconsistent_counts_and_pinning() -> None:
    with pytest.raises(InvalidArgumentError):
        translate(spec("mpirun", nodes=2, tasks_per_node=2, tasks=5))
    with pytest.raises(UnsupportedOptionError, match="cpu_pinning"):
        translate(spec("mpirun", cpu_pinning=(0,)))


def test_mpirun_nodes_expressed_by_host_list() -> None:
    assert translate(spec("mpirun", nodes=2, hosts=("a", "b")))[:3] == ["mpirun", "--host", "a,b"]


# -- PALS, aprun, jsrun ---------------------------------------------------------------------------


def test_pals_runs_mpiexec_with_its_flags() -> None:
    job = spec(
        "pals", nodes=2, tasks_per_node=4, cpus_per_task=2, hosts=("a", "b"), cpu_pinning=(0, 1)
    )
    assert translate(job) == [
        "mpiexec", "-n", "8", "--ppn", "4", "--depth", "2", "--hosts", "a,b",
        "--cpu-bind", "list:0:1", "/bin/app", "--in", "x",
    ]  # fmt: skip


def test_pals_and_aprun_refuse_walltime() -> None:
    for command in ("pals", "aprun", "jsrun"):
        with pytest.raises(UnsupportedOptionError, match="walltime"):
            translate(spec(command, walltime=60.0))


def test_aprun_flags() -> None:
    job = spec(
        "aprun", tasks=8, tasks_per_node=4, cpus_per_task=2, hosts=("a",), cpu_pinning=(1, 3)
    )
    assert translate(job) == [
        "aprun", "-n", "8", "-N", "4", "-d", "2", "-L", "a", "-cc", "1,3", "/bin/app", "--in", "x",
    ]  # fmt: skip


def test_jsrun_one_resource_set_per_node() -> None:
    job = spec("jsrun", nodes=2, tasks_per_node=3, cpus_per_task=2)
    assert translate(job) == [
        "jsrun", "--rs_per_host", "1", "--tasks_per_rs", "3", "--nrs", "2", "--np", "6",
        "--cpu_per_rs", "6", "/bin/app", "--in", "x",
    ]  # fmt: skip


def test_jsrun_refuses_hosts_and_mpmd() -> None:
    with pytest.raises(UnsupportedOptionError, match="hosts"):
        translate(spec("jsrun", hosts=("a",)))
    job = JobSpec(name="a", exe="/bin/a", run_command="jsrun", mpmd=(spec("jsrun"),))
    with pytest.raises(UnsupportedOptionError, match="make_mpmd"):
        translate(job)


def test_unknown_run_command_is_a_wrapper_with_literal_run_args() -> None:
    # SmartSim's base RunSettings: any program as run command, its run args as given.
    job = JobSpec(name="a", exe="/bin/a", args=("x",), run_command="mywrap",
                  run_args=(("-np", "2"), ("--flag", None)))  # fmt: skip
    assert translate(job) == ["mywrap", "-np", "2", "--flag", "/bin/a", "x"]
    with pytest.raises(UnsupportedOptionError, match="tasks"):
        translate(spec("mywrap", tasks=4))
    with pytest.raises(UnsupportedOptionError, match="make_mpmd"):
        translate(replace(job, mpmd=(job,)))


# -- detection ------------------------------------------------------------------------------------


def fake_bin(tmp_path: Path, *names: str) -> Path:
    for name in names:
        path = tmp_path / name
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def test_local_launcher_means_no_run_command() -> None:
    assert detect_run_command("local") is None


def test_detection_follows_smartsim_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(fake_bin(tmp_path, "mpiexec", "mpirun")))
    assert detect_run_command("slurm") == "mpirun"
    assert detect_run_command("pals") == "pals"
    fake_bin(tmp_path, "srun", "jsrun", "aprun")
    assert detect_run_command("slurm") == "srun"
    assert detect_run_command("lsf") == "jsrun"
    assert detect_run_command("pbs") == "aprun"


def test_detection_without_candidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="srun, mpirun, mpiexec"):
        detect_run_command("slurm")
    with pytest.raises(UnknownLauncherError):
        detect_run_command("cobalt")
