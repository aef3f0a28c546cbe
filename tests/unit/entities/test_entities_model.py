"""Model: SmartSim 0.8 attributes, key prefixing, attached files and params as arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu.entities import EntityFiles, Model
from insitu.entities.model import param_to_args
from insitu.errors import (
    AttachedFileNotFoundError,
    EntityExistsError,
    InvalidArgumentError,
    ParameterTypeError,
)
from insitu.settings import BatchSettings, RunSettings


def model(name: str = "sim", params: dict[str, object] | None = None, **kwargs: object) -> Model:
    return Model(name, params, RunSettings("echo"), **kwargs)  # type: ignore[arg-type]


def test_attributes(tmp_path: Path) -> None:
    bs = BatchSettings("sbatch")
    params: dict[str, str | int | float] = {"STEPS": 10, "dt": 0.5, "tag": "x"}
    m = Model("sim", params, RunSettings("echo"), path=tmp_path / "sim", batch_settings=bs)
    assert m.name == "sim"
    assert m.params == {"STEPS": "10", "dt": "0.5", "tag": "x"}
    assert m.path == str(tmp_path / "sim")
    assert m.type == "Model"
    assert m.colocated is False
    assert m.batch_settings is bs
    assert m.incoming_entities == []
    assert m.files is None
    assert repr(m) == "sim"
    assert "sim" in str(m)


def test_default_path_is_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert model().path == str(tmp_path)
    m = model(path="rel")
    assert m.path == str(tmp_path / "rel")
    m.set_path("other")
    assert m.path == str(tmp_path / "other")


@pytest.mark.parametrize("bad", ["", "a/b", ".", ".."])
def test_names_must_be_directory_names(bad: str) -> None:
    with pytest.raises(InvalidArgumentError):
        model(bad)


def test_wrong_types_are_type_errors() -> None:
    with pytest.raises(ParameterTypeError, match="params\\['x'\\]"):
        model(params={"x": [1, 2]})
    with pytest.raises(ParameterTypeError):
        Model("m", {}, "echo")  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError):
        Model("m", {}, RunSettings("echo"), batch_settings="sbatch")  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError):
        model(params=[("a", 1)])  # type: ignore[arg-type]


def test_key_prefixing_toggles() -> None:
    m = model()
    assert m.query_key_prefixing() is False
    m.enable_key_prefixing()
    assert m.query_key_prefixing() is True
    m.disable_key_prefixing()
    assert m.query_key_prefixing() is False


def test_register_incoming_entity_refuses_duplicate_names() -> None:
    m = model()
    producer = model("producer")
    m.register_incoming_entity(producer)
    assert m.incoming_entities == [producer]
    with pytest.raises(EntityExistsError, match="producer"):
        m.register_incoming_entity(model("producer"))
    with pytest.raises(ParameterTypeError):
        m.register_incoming_entity("producer")  # type: ignore[arg-type]


def test_equality_and_hash_follow_the_name() -> None:
    assert model("a") == model("a")
    assert model("a") != model("b")
    assert len({model("a"), model("a"), model("b")}) == 2
    assert model("a") != "a"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("--steps", ["--steps=5"]), ("-s", ["-s", "5"]), ("s", ["-s", "5"]), ("steps", ["--steps=5"])],
)
def test_param_to_args_follows_cat_arg_and_value(name: str, expected: list[str]) -> None:
    assert param_to_args(name, "5") == expected


def test_params_as_args_become_exe_args_once() -> None:
    rs = RunSettings("echo", exe_args="run")
    m = Model("m", {"steps": 5, "n": 2, "msg": "a b", "other": 1}, rs,
              params_as_args=["steps", "n", "msg"])  # fmt: skip
    assert rs.exe_args == ["run", "--steps=5", "-n", "2", "--msg=a b"]
    m.params_to_args()
    assert rs.exe_args == ["run", "--steps=5", "-n", "2", "--msg=a b"]


def test_params_as_args_must_name_params() -> None:
    with pytest.raises(InvalidArgumentError, match="missing"):
        model(params={"a": 1}, params_as_args=["missing"])


def test_attach_generator_files(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("x = ;x;\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "big.bin").write_bytes(b"\0")
    m = model()
    m.attach_generator_files(to_copy=str(tmp_path / "data"), to_symlink=[str(tmp_path / "big.bin")],
                             to_configure=str(tmp_path / "in.txt"))  # fmt: skip
    assert m.files == EntityFiles(
        tagged=(tmp_path / "in.txt",), copy=(tmp_path / "data",), link=(tmp_path / "big.bin",)
    )
    table = m.attached_files_table
    assert "Copy" in table and "Symlink" in table and "Configure" in table
    m.attach_generator_files(to_copy=str(tmp_path / "in.txt"))
    assert m.files is not None and m.files.tagged == () and m.files.copy == (tmp_path / "in.txt",)


def test_attach_missing_file_names_it(tmp_path: Path) -> None:
    m = model()
    missing = str(tmp_path / "missing.cfg")
    with pytest.raises(AttachedFileNotFoundError, match=r"missing\.cfg") as info:
        m.attach_generator_files(to_configure=[missing])
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.path == missing
    assert m.files is None


def test_attach_wrong_type() -> None:
    with pytest.raises(ParameterTypeError, match="to_copy"):
        model().attach_generator_files(to_copy=3)  # type: ignore[arg-type]


def test_print_attached_files(capsys: pytest.CaptureFixture[str]) -> None:
    m = model()
    m.print_attached_files()
    assert capsys.readouterr().out.strip() == "No file attached to this model."
