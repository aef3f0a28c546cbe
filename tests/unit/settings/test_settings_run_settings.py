"""RunSettings: exe resolution, every setter, type errors and the JobSpec it produces."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import stat
from collections.abc import Iterator
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


@contextlib.contextmanager
def warnings_of_settings(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture the settings logger (insitu loggers do not propagate by default)."""
    logger = logging.getLogger("insitu.settings")
    logger.propagate = True
    try:
        with caplog.at_level(logging.WARNING, logger="insitu.settings"):
            yield
    finally:
        logger.propagate = False


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


def test_non_executable_file_is_also_a_type_error(tmp_path: Path) -> None:
    script = make_script(tmp_path / "plain.sh", executable=False)
    with pytest.raises(TypeError):
        RunSettings(str(script))


def test_empty_exe_is_invalid() -> None:
    with pytest.raises(InvalidArgumentError):
        RunSettings("")


# -- exe args, env, run args ----------------------------------------------------------------------


def test_exe_args_string_is_split_on_white_space_as_smartsim() -> None:
    rs = RunSettings("echo", exe_args="hello  world --x=1")
    assert rs.exe_args == ["hello", "world", "--x=1"]


def test_exe_args_list_is_kept_and_add_exe_args_appends() -> None:
    rs = RunSettings("echo", exe_args=["a", "b c"])
    rs.add_exe_args("d e")
    rs.add_exe_args(["f g"])
    assert rs.exe_args == ["a", "b c", "d", "e", "f g"]


@pytest.mark.parametrize("bad", [3, ["a", 1], {"a": 1}, [["a"], ["b"]]])
def test_exe_args_of_wrong_type(bad: object) -> None:
    with pytest.raises(ParameterTypeError, match="exe_args"):
        RunSettings("echo", exe_args=bad)  # type: ignore[arg-type]


def test_add_exe_args_of_wrong_type() -> None:
    with pytest.raises(ParameterTypeError):
        RunSettings("echo").add_exe_args(5)  # type: ignore[arg-type]


def test_env_vars_keep_none_and_update_env_validates() -> None:
    rs = RunSettings("echo", env_vars={"A": 1, "B": 2.5, "C": None})
    rs.update_env({"D": "x", "A": 3, "E": True})
    assert rs.env_vars == {"A": "3", "B": "2.5", "C": None, "D": "x", "E": "True"}
    assert rs.format_env_vars() == ["A=3", "B=2.5", "C=", "D=x", "E=True"]
    with pytest.raises(ParameterTypeError, match="env_vars\\['F'\\]"):
        rs.update_env({"F": [1]})  # type: ignore[dict-item]
    with pytest.raises(ParameterTypeError):
        rs.update_env({"F": None})  # type: ignore[dict-item]
    assert "F" not in rs.env_vars


def test_run_args_are_copied_and_kept_as_given() -> None:
    given = {"exclusive": None, "-np": 2}
    rs = RunSettings("echo", run_command="mywrap", run_args=given)
    given["-np"] = 3
    assert rs.run_args == {"exclusive": None, "-np": 2}
    assert rs.format_run_args() == ["exclusive", "None", "-np", "2"]


# -- run command, container -----------------------------------------------------------------------


def test_run_command_is_expanded_when_on_path_and_kept_otherwise() -> None:
    assert RunSettings("echo").run_command is None
    assert RunSettings("echo", run_command="echo").run_command == ECHO
    assert RunSettings("echo", run_command="not-here-wrap").run_command == "not-here-wrap"


def test_container_keeps_exe_literally_and_is_refused_at_launch(tmp_path: Path) -> None:
    from insitu.settings import Singularity

    rs = RunSettings("python3", container=Singularity("img.sif"))
    assert rs.exe == ["python3"]
    with pytest.raises(UnsupportedOptionError, match="container"):
        rs.to_job_spec("m", tmp_path, tmp_path / "o", tmp_path / "e")
    with pytest.raises(ParameterTypeError):
        RunSettings("echo", container="img.sif")  # type: ignore[arg-type]


# -- base setters: recorded neutrally, warned as SmartSim does -------------------------------------


@pytest.mark.parametrize(
    ("setter", "field"),
    [
        ("set_nodes", "nodes"),
        ("set_tasks", "tasks"),
        ("set_tasks_per_node", "tasks_per_node"),
        ("set_cpus_per_task", "cpus_per_task"),
    ],
)
def test_count_setters_record_resources_and_validate(
    setter: str, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    rs = RunSettings("echo")
    with warnings_of_settings(caplog):
        getattr(rs, setter)(3)
    assert getattr(rs.resources, field) == 3
    assert any("not implemented" in r.getMessage() for r in caplog.records)
    with pytest.raises(InvalidArgumentError, match="at least 1"):
        getattr(rs, setter)(0)
    with pytest.raises(InvalidArgumentError):
        getattr(rs, setter)("three")
    with pytest.raises(ParameterTypeError):
        getattr(rs, setter)(None)
    assert getattr(rs.resources, field) == 3


def test_set_hostlist_accepts_one_name_or_a_list() -> None:
    rs = RunSettings("echo")
    rs.set_hostlist(" node1 ")
    assert rs.resources.hosts == ("node1",)
    rs.set_hostlist(["a", "b"])
    assert list(rs.resources.hosts) == ["a", "b"]
    with pytest.raises(ParameterTypeError):
        rs.set_hostlist(["a", 2])  # type: ignore[list-item]


def test_set_cpu_bindings_records_pinning() -> None:
    rs = RunSettings("echo")
    rs.set_cpu_bindings(2)
    assert rs.resources.cpu_pinning == (2,)
    rs.set_cpu_bindings([0, 3])
    assert list(rs.resources.cpu_pinning) == [0, 3]
    with pytest.raises(InvalidArgumentError):
        rs.set_cpu_bindings(["x"])  # type: ignore[list-item]


def test_walltime_from_string_seconds_and_parts() -> None:
    rs = RunSettings("echo")
    rs.set_walltime("01:02:03")
    assert rs.resources.walltime == 3723
    rs.set_time(hours=100, minutes=1)
    assert rs.resources.walltime == 360060
    rs.set_time(seconds=90)
    assert rs.resources.walltime == 90
    rs.set_time(0, 0, 0)
    assert rs.resources.walltime is None
    with pytest.raises(InvalidArgumentError, match="walltime"):
        rs.set_walltime("1h")
    with pytest.raises(ValueError):
        rs.set_time("not an int")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call",
    [
        lambda rs: rs.set_hostlist_from_file("h"),
        lambda rs: rs.set_verbose_launch(True),
        lambda rs: rs.set_excluded_hosts("n1"),
        lambda rs: rs.set_memory_per_node(10),
        lambda rs: rs.set_broadcast(),
        lambda rs: rs.set_task_map("ppr:1:node"),
        lambda rs: rs.set_node_feature("P100"),
        lambda rs: rs.set_binding("core"),
        lambda rs: rs.set_mpmd_preamble(["x"]),
        lambda rs: rs.make_mpmd(RunSettings("echo")),
    ],
)
def test_options_the_base_class_lacks_are_refused_at_launch(call: object, tmp_path: Path) -> None:
    rs = RunSettings("echo")
    call(rs)  # type: ignore[operator]  # SmartSim logs a warning here; so does insitu
    assert rs.run_args == {}
    with pytest.raises(UnsupportedOptionError, match="RunSettings"):
        rs.to_job_spec("m", tmp_path, tmp_path / "o", tmp_path / "e")


def test_switching_off_an_absent_option_is_no_request(tmp_path: Path) -> None:
    rs = RunSettings("echo")
    rs.set_verbose_launch(True)
    rs.set_verbose_launch(False)
    rs.set_quiet_launch(False)
    assert rs.to_job_spec("m", tmp_path, tmp_path / "o", tmp_path / "e").run_args == ()


def test_set_strips_dashes_and_spaces_and_honours_condition() -> None:
    rs = RunSettings("echo")
    rs.set("exclusive")
    rs.set("--mpi", "pmix")
    rs.set("  -x  ", "1")
    rs.set("partition", "debug", condition=False)
    rs.set("mpi", "pmi2")
    assert rs.run_args == {"exclusive": None, "mpi": "pmi2", "x": "1"}


def test_set_validates_types() -> None:
    rs = RunSettings("echo")
    with pytest.raises(ParameterTypeError):
        rs.set(1)  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError):
        rs.set("nodes", 2)  # type: ignore[arg-type]
    assert rs.run_args == {}


# -- JobSpec --------------------------------------------------------------------------------------


def test_base_to_job_spec_carries_everything(tmp_path: Path) -> None:
    rs = RunSettings("echo", exe_args="hi", env_vars={"A": 1, "SSKEYIN": "x", "KEEP": None})
    rs.set_cpus_per_task(4)
    rs.set_walltime("00:10:00")
    rs.set_cpu_bindings([0, 1])
    spec = rs.to_job_spec(
        "m", tmp_path, tmp_path / "m.out", tmp_path / "m.err",
        extra_env={"SSKEYIN": "store", "SSDB": "127.0.0.1:6379"}, entity_type="Model",
    )  # fmt: skip
    assert spec.exe == rs.exe[0]
    assert spec.args == ("hi",)
    assert spec.cwd == tmp_path
    assert spec.out_path == tmp_path / "m.out"
    assert dict(spec.env) == {"A": "1", "SSKEYIN": "store", "SSDB": "127.0.0.1:6379"}
    assert spec.resources == Resources(cpus_per_task=4, walltime=600.0, cpu_pinning=(0, 1))
    assert spec.run_command is None
    assert spec.entity_type == "Model"


def test_srun_settings_lift_resources_into_the_spec(tmp_path: Path) -> None:
    from insitu.settings import SrunSettings

    rs = SrunSettings("echo", exe_args="hi", run_args={"exclusive": None}, alloc="77")
    rs.set_nodes(2)
    rs.set_tasks_per_node(3)
    rs.set_cpus_per_task(4)
    rs.set_hostlist(["n1", "n2"])
    rs.set_walltime("00:10:00")
    rs.set_memory_per_node(100)
    spec = rs.to_job_spec("m", tmp_path, tmp_path / "o", tmp_path / "e")
    assert spec.resources == Resources(
        nodes=2, tasks_per_node=3, cpus_per_task=4, hosts=("n1", "n2"), walltime=600.0
    )
    assert spec.run_command == "srun"
    assert spec.run_args == (("exclusive", None), ("mem", "100M"))
    assert spec.allocation == "77"


def test_mpmd_programs_become_spec_mpmd(tmp_path: Path) -> None:
    from insitu.settings import SrunSettings

    first = SrunSettings("echo", "a")
    second = SrunSettings("echo", "b")
    second.set_tasks(2)
    first.make_mpmd(second)
    assert first.mpmd == [second]
    spec = first.to_job_spec("job", tmp_path, tmp_path / "o", tmp_path / "e")
    assert len(spec.mpmd) == 1
    assert spec.mpmd[0].args == ("b",)
    assert spec.mpmd[0].resources.tasks == 2


def test_to_job_spec_validates_extra_env(tmp_path: Path) -> None:
    with pytest.raises(ParameterTypeError):
        RunSettings("echo").to_job_spec("m", tmp_path, tmp_path, tmp_path, extra_env={"A": None})  # type: ignore[dict-item]


def test_copies_are_independent() -> None:
    rs = RunSettings("echo")
    clone = copy.deepcopy(rs)
    clone.set_tasks(2)
    clone.add_exe_args("x")
    clone.set("exclusive")
    assert rs.resources.tasks is None
    assert rs.exe_args == []
    assert rs.run_args == {}


def test_str_has_smartsim_layout() -> None:
    rs = RunSettings("echo", exe_args="a b", run_command="echo", run_args={"x": "1"})
    assert str(rs) == (
        f"Executable: {ECHO}\nExecutable Arguments: a b\nRun Command: echo\nRun Arguments:\n\tx = 1"
    )
