"""RunSettings: exe resolution, every setter, type errors and the JobSpec it produces."""

from __future__ import annotations

import copy
import os
import shutil
import stat
from pathlib import Path

import pytest

from insitu.errors import (
    ExecutableNotFoundError,
    InvalidArgumentError,
    NotExecutableError,
    ParameterTypeError,
    SSConfigError,
    UnsupportedOptionError,
)
from insitu.jobs import Resources
from insitu.settings import RunSettings

ECHO = shutil.which("echo")


def make_script(path: Path, executable: bool = True) -> Path:
    path.write_text("#!/bin/sh\necho hi\n")
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# -- executable -------------------------------------------------------------------------------


def test_exe_on_path_is_resolved_to_absolute_list() -> None:
    rs = RunSettings("echo")
    assert rs.exe == [os.path.abspath(str(ECHO))]


def test_exe_relative_path_becomes_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_script(tmp_path / "sim.sh")
    monkeypatch.chdir(tmp_path)
    assert RunSettings("./sim.sh").exe == [str(tmp_path / "sim.sh")]


def test_missing_exe_raises_typed_file_not_found(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    with pytest.raises(ExecutableNotFoundError) as info:
        RunSettings(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, SSConfigError)
    assert missing in str(info.value)


def test_non_executable_file_is_reported_as_such(tmp_path: Path) -> None:
    script = make_script(tmp_path / "plain.sh", executable=False)
    with pytest.raises(NotExecutableError, match="not executable"):
        RunSettings(str(script))


@pytest.mark.parametrize("exe", [None, 3, ["echo"]])
def test_exe_of_wrong_type_is_a_type_error(exe: object) -> None:
    with pytest.raises(ParameterTypeError, match="exe"):
        RunSettings(exe)  # type: ignore[arg-type]


def test_empty_exe_is_invalid() -> None:
    with pytest.raises(InvalidArgumentError):
        RunSettings("")


# -- exe args, env, run args ----------------------------------------------------------------------


def test_exe_args_string_is_split_like_a_shell() -> None:
    rs = RunSettings("echo", exe_args="hello 'big world' --x=1")
    assert rs.exe_args == ["hello", "big world", "--x=1"]


def test_exe_args_list_is_kept_and_add_exe_args_appends() -> None:
    rs = RunSettings("echo", exe_args=["a", "b c"])
    rs.add_exe_args("d e")
    rs.add_exe_args(["f g"])
    assert rs.exe_args == ["a", "b c", "d", "e", "f g"]


@pytest.mark.parametrize("bad", [3, ["a", 1], {"a": 1}])
def test_exe_args_of_wrong_type(bad: object) -> None:
    with pytest.raises(ParameterTypeError, match="exe_args"):
        RunSettings("echo", exe_args=bad)  # type: ignore[arg-type]


def test_add_exe_args_of_wrong_type() -> None:
    with pytest.raises(ParameterTypeError):
        RunSettings("echo").add_exe_args(5)  # type: ignore[arg-type]


def test_env_vars_are_stored_as_strings_and_update_env_validates() -> None:
    rs = RunSettings("echo", env_vars={"A": 1, "B": 2.5})
    rs.update_env({"C": "x", "A": 3})
    assert rs.env_vars == {"A": "3", "B": "2.5", "C": "x"}
    assert rs.format_env_vars() == ["A=3", "B=2.5", "C=x"]
    with pytest.raises(ParameterTypeError, match="env_vars\\['D'\\]"):
        rs.update_env({"D": [1]})  # type: ignore[dict-item]
    with pytest.raises(ParameterTypeError):
        rs.update_env({1: "x"})  # type: ignore[dict-item]
    assert "D" not in rs.env_vars


def test_run_args_dict_values_are_strings_or_flags() -> None:
    rs = RunSettings(
        "echo", run_command="srun", run_args={"exclusive": None, "mpi": "pmix", "x": 2}
    )
    assert rs.run_args == {"exclusive": None, "mpi": "pmix", "x": "2"}


def test_run_arg_names_must_not_carry_dashes_or_be_reserved() -> None:
    with pytest.raises(InvalidArgumentError, match="dashes"):
        RunSettings("echo", run_command="srun", run_args={"--nodes": 1})
    with pytest.raises(InvalidArgumentError, match="chdir"):
        RunSettings("echo", run_command="srun", run_args={"chdir": "/tmp"})


# -- run command, container, kwargs ---------------------------------------------------------------


def test_empty_run_command_means_none() -> None:
    assert RunSettings("echo").run_command is None
    assert RunSettings("echo", run_command="srun").run_command == "srun"
    assert (
        RunSettings("echo", run_command="/opt/slurm/bin/srun").run_command == "/opt/slurm/bin/srun"
    )


def test_auto_run_command_must_be_resolved_first() -> None:
    with pytest.raises(InvalidArgumentError, match="detect_run_command"):
        RunSettings("echo", run_command="auto")


def test_unknown_run_command_is_unsupported() -> None:
    with pytest.raises(UnsupportedOptionError, match="known run commands"):
        RunSettings("echo", run_command="mylauncher")


def test_container_and_unknown_kwargs_are_refused() -> None:
    with pytest.raises(UnsupportedOptionError, match="container"):
        RunSettings("echo", container=object())
    with pytest.raises(UnsupportedOptionError, match="alloc"):
        RunSettings("echo", alloc=123)


# -- neutral setters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setter", "field"),
    [
        ("set_nodes", "nodes"),
        ("set_tasks", "tasks"),
        ("set_tasks_per_node", "tasks_per_node"),
        ("set_cpus_per_task", "cpus_per_task"),
    ],
)
def test_count_setters_record_resources_and_validate(setter: str, field: str) -> None:
    rs = RunSettings("echo")
    getattr(rs, setter)(3)
    assert getattr(rs.resources, field) == 3
    with pytest.raises(InvalidArgumentError, match="at least 1"):
        getattr(rs, setter)(0)
    for bad in ("3", 2.0, True):
        with pytest.raises(ParameterTypeError):
            getattr(rs, setter)(bad)
    assert getattr(rs.resources, field) == 3


def test_set_hostlist_accepts_one_name_or_a_list() -> None:
    rs = RunSettings("echo")
    rs.set_hostlist("node1")
    assert rs.resources.hosts == ("node1",)
    rs.set_hostlist(["a", "b"])
    assert list(rs.resources.hosts) == ["a", "b"]
    with pytest.raises(InvalidArgumentError):
        rs.set_hostlist("a,b")
    with pytest.raises(ParameterTypeError):
        rs.set_hostlist(["a", 2])  # type: ignore[list-item]


def test_set_cpu_bindings_records_pinning() -> None:
    rs = RunSettings("echo")
    rs.set_cpu_bindings(2)
    assert rs.resources.cpu_pinning == (2,)
    rs.set_cpu_bindings([0, 3])
    assert list(rs.resources.cpu_pinning) == [0, 3]
    with pytest.raises(InvalidArgumentError):
        rs.set_cpu_bindings([-1])
    with pytest.raises(ParameterTypeError):
        rs.set_cpu_bindings("0")  # type: ignore[arg-type]


def test_walltime_from_string_and_from_parts() -> None:
    rs = RunSettings("echo")
    rs.set_walltime("01:02:03")
    assert rs.resources.walltime == 3723
    rs.set_time(hours=100, minutes=1)
    assert rs.resources.walltime == 360060
    rs.set_time(seconds=90)
    assert rs.resources.walltime == 90


@pytest.mark.parametrize("bad", ["1:2", "10:61:00", "00:00:00", "ab:cd:ef", "1-00:00:00"])
def test_bad_walltime_format_is_invalid(bad: str) -> None:
    with pytest.raises(InvalidArgumentError, match="walltime"):
        RunSettings("echo").set_walltime(bad)


def test_set_time_validates_parts() -> None:
    rs = RunSettings("echo")
    with pytest.raises(InvalidArgumentError):
        rs.set_time()
    with pytest.raises(InvalidArgumentError):
        rs.set_time(minutes=-1)
    with pytest.raises(ParameterTypeError):
        rs.set_time(hours=1.5)  # type: ignore[arg-type]


# -- options only some run commands have ----------------------------------------------------------


def test_srun_options_are_recorded_under_srun_names(tmp_path: Path) -> None:
    rs = RunSettings("echo", run_command="srun")
    rs.set_hostlist_from_file(str(tmp_path / "hosts"))
    rs.set_excluded_hosts(["n1", "n2"])
    rs.set_memory_per_node(2048)
    rs.set_verbose_launch(True)
    rs.set_quiet_launch(True)
    rs.set_broadcast("/tmp/exe")
    rs.set_binding("cores")
    assert rs.run_args == {
        "nodefile": str(tmp_path / "hosts"),
        "exclude": "n1,n2",
        "mem": "2048M",
        "verbose": None,
        "quiet": None,
        "bcast": "/tmp/exe",
        "cpu-bind": "cores",
    }
    rs.set_verbose_launch(False)
    rs.set_quiet_launch(False)
    assert "verbose" not in rs.run_args
    assert "quiet" not in rs.run_args


def test_mpirun_options_use_mpirun_names() -> None:
    rs = RunSettings("echo", run_command="mpirun")
    rs.set_hostlist_from_file("hosts.txt")
    rs.set_binding("core")
    rs.set_verbose_launch(True)
    assert rs.run_args == {"hostfile": "hosts.txt", "bind-to": "core", "verbose": None}


@pytest.mark.parametrize(
    ("run_command", "call"),
    [
        ("", lambda rs: rs.set_hostlist_from_file("h")),
        ("", lambda rs: rs.set_verbose_launch(True)),
        ("mpirun", lambda rs: rs.set_excluded_hosts("n1")),
        ("mpirun", lambda rs: rs.set_memory_per_node(10)),
        ("mpirun", lambda rs: rs.set_broadcast()),
        ("jsrun", lambda rs: rs.set_hostlist_from_file("h")),
        ("pals", lambda rs: rs.set_quiet_launch(True)),
        ("srun", lambda rs: rs.set_mpmd_preamble(["x"])),
    ],
)
def test_options_a_run_command_lacks_raise_at_once(run_command: str, call: object) -> None:
    rs = RunSettings("echo", run_command=run_command)
    with pytest.raises(UnsupportedOptionError):
        call(rs)  # type: ignore[operator]
    assert rs.run_args == {}


def test_switching_off_an_absent_option_is_harmless() -> None:
    rs = RunSettings("echo")
    rs.set_verbose_launch(False)
    rs.set_quiet_launch(False)
    assert rs.run_args == {}
    with pytest.raises(ParameterTypeError):
        rs.set_verbose_launch(1)  # type: ignore[arg-type]


def test_set_records_flags_values_and_honours_condition() -> None:
    rs = RunSettings("echo", run_command="srun")
    rs.set("exclusive")
    rs.set("mpi", "pmix")
    rs.set("partition", "debug", condition=False)
    rs.set("mpi", "pmi2")
    assert rs.run_args == {"exclusive": None, "mpi": "pmi2"}


def test_set_validates_names_and_values() -> None:
    rs = RunSettings("echo", run_command="srun")
    with pytest.raises(ParameterTypeError):
        rs.set(1)  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError):
        rs.set("nodes", 2)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        rs.set("-N", "2")
    with pytest.raises(InvalidArgumentError, match="set by insitu"):
        rs.set("chdir", "/tmp")
    assert rs.run_args == {}


# -- MPMD and formatting --------------------------------------------------------------------------


def test_make_mpmd_appends_programs_of_the_same_run_command() -> None:
    first = RunSettings("echo", "a", run_command="srun")
    second = RunSettings("echo", "b", run_command="srun")
    first.make_mpmd(second)
    assert first.mpmd == [second]


def test_make_mpmd_refusals() -> None:
    with pytest.raises(UnsupportedOptionError):
        RunSettings("echo").make_mpmd(RunSettings("echo"))
    with pytest.raises(UnsupportedOptionError):
        RunSettings("echo", run_command="jsrun").make_mpmd(RunSettings("echo", run_command="jsrun"))
    with pytest.raises(InvalidArgumentError, match="same run command"):
        RunSettings("echo", run_command="srun").make_mpmd(RunSettings("echo", run_command="mpirun"))
    with pytest.raises(ParameterTypeError):
        RunSettings("echo", run_command="srun").make_mpmd("echo")  # type: ignore[arg-type]
    nested = RunSettings("echo", run_command="srun")
    nested.make_mpmd(RunSettings("echo", run_command="srun"))
    with pytest.raises(InvalidArgumentError):
        RunSettings("echo", run_command="srun").make_mpmd(nested)


def test_format_run_args_renders_resources_and_run_args() -> None:
    rs = RunSettings("echo", run_command="srun", run_args={"exclusive": None, "N": 2})
    rs.set_tasks(4)
    assert rs.format_run_args() == ["--ntasks=4", "--exclusive", "-N", "2"]
    mpi = RunSettings("echo", run_command="mpirun", run_args={"oversubscribe": None, "np": 2})
    assert mpi.format_run_args() == ["--oversubscribe", "--np", "2"]
    plain = RunSettings("echo", run_args={"x": "1"})
    assert plain.format_run_args() == ["x", "1"]


# -- JobSpec --------------------------------------------------------------------------------------


def test_to_job_spec_carries_everything(tmp_path: Path) -> None:
    rs = RunSettings("echo", exe_args="hi", run_command="srun", env_vars={"A": 1, "SSKEYIN": "x"})
    rs.set_nodes(2)
    rs.set_tasks_per_node(3)
    rs.set_cpus_per_task(4)
    rs.set_hostlist(["n1", "n2"])
    rs.set_walltime("00:10:00")
    rs.set_cpu_bindings([0, 1])
    rs.set("exclusive")
    rs.set_memory_per_node(100)
    spec = rs.to_job_spec(
        "m", tmp_path, tmp_path / "m.out", tmp_path / "m.err",
        extra_env={"SSKEYIN": "store", "SSDB": "127.0.0.1:6379"}, entity_type="Model",
    )  # fmt: skip
    assert spec.exe == rs.exe[0]
    assert spec.args == ("hi",)
    assert spec.cwd == tmp_path
    assert spec.out_path == tmp_path / "m.out"
    assert spec.err_path == tmp_path / "m.err"
    assert dict(spec.env) == {"A": "1", "SSKEYIN": "store", "SSDB": "127.0.0.1:6379"}
    assert spec.resources == Resources(
        nodes=2, tasks_per_node=3, cpus_per_task=4, hosts=("n1", "n2"), walltime=600.0,
        cpu_pinning=(0, 1),
    )  # fmt: skip
    assert spec.run_command == "srun"
    assert spec.run_args == (("exclusive", None), ("mem", "100M"))
    assert spec.entity_type == "Model"


def test_to_job_spec_includes_mpmd_programs(tmp_path: Path) -> None:
    first = RunSettings("echo", "a", run_command="mpirun")
    second = RunSettings("echo", "b", run_command="mpirun")
    second.set_tasks(2)
    first.make_mpmd(second)
    spec = first.to_job_spec("job", tmp_path, tmp_path / "o", tmp_path / "e")
    assert len(spec.mpmd) == 1
    assert spec.mpmd[0].args == ("b",)
    assert spec.mpmd[0].resources.tasks == 2
    assert spec.mpmd[0].cwd == tmp_path
    assert spec.mpmd[0].mpmd == ()


def test_to_job_spec_validates_extra_env(tmp_path: Path) -> None:
    with pytest.raises(ParameterTypeError):
        RunSettings("echo").to_job_spec("m", tmp_path, tmp_path, tmp_path, extra_env={"A": None})  # type: ignore[dict-item]


def test_copies_are_independent() -> None:
    rs = RunSettings("echo", run_command="srun")
    clone = copy.deepcopy(rs)
    clone.set_tasks(2)
    clone.add_exe_args("x")
    clone.set("exclusive")
    assert rs.resources.tasks is None
    assert rs.exe_args == []
    assert rs.run_args == {}


def test_str_names_the_program() -> None:
    rs = RunSettings("echo", exe_args="a b", run_command="srun")
    text = str(rs)
    assert rs.exe[0] in text
    assert "a b" in text
    assert "srun" in text
