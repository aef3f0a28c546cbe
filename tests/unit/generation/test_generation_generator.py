"""Generator: run-directory layout, overwrite rules and attached files, on real files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from insitu.entities import Ensemble, Model
from insitu.errors import (
    EntityDirExistsError,
    InvalidArgumentError,
    ParameterTypeError,
    ParameterWriterError,
    UnsupportedOptionError,
)
from insitu.generation import Generator
from insitu.settings import RunSettings


class FakeOrchestrator:
    """Stands in for store.Orchestrator: the generator only reads type, name and path."""

    type = "Orchestrator"

    def __init__(self, path: Path) -> None:
        self.name = "orchestrator"
        self.path = str(path)


def model(exp: Path, name: str = "sim", params: dict[str, object] | None = None) -> Model:
    return Model(name, params or {}, RunSettings("echo"), path=exp / name)  # type: ignore[arg-type]


def tree(root: Path) -> set[str]:
    """Every path under ``root`` but the experiment's generation log (SmartSim's
    ``smartsim_params.txt``, written by every generation; see the compat suite)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")} - {"smartsim_params.txt"}


def test_layout_of_model_ensemble_and_orchestrator(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    ens = Ensemble("ens", None, path=exp / "ens", run_settings=RunSettings("echo"), replicas=2)
    report = Generator(exp).generate_experiment(
        model(exp), ens, FakeOrchestrator(exp / "orchestrator")
    )
    assert tree(exp) == {"sim", "ens", "ens/ens_0", "ens/ens_1", "orchestrator"}
    assert report.directories == (
        exp / "sim",
        exp / "ens",
        exp / "ens" / "ens_0",
        exp / "ens" / "ens_1",
        exp / "orchestrator",
    )


def test_model_outside_the_experiment_directory(tmp_path: Path) -> None:
    m = model(tmp_path / "elsewhere")
    Generator(tmp_path / "exp").generate_experiment(m)
    assert (tmp_path / "exp").is_dir()
    assert Path(m.path).is_dir()


def test_existing_model_dir_without_overwrite_writes_nothing(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    (exp / "second").mkdir(parents=True)
    with pytest.raises(EntityDirExistsError, match=str(exp / "second")) as info:
        Generator(exp).generate_experiment(model(exp, "first"), model(exp, "second"))
    assert isinstance(info.value, FileExistsError)
    assert tree(exp) == {"second"}


def test_nothing_is_created_when_the_experiment_is_new_and_a_check_fails(tmp_path: Path) -> None:
    binary = tmp_path / "data.cfg"
    binary.write_bytes(b"\x00\x01\xff")
    m = model(tmp_path / "exp")
    m.attach_generator_files(to_configure=str(binary))
    with pytest.raises(ParameterWriterError, match=r"data\.cfg"):
        Generator(tmp_path / "exp").generate_experiment(m)
    assert not (tmp_path / "exp").exists()


def test_non_utf8_text_is_binary(tmp_path: Path) -> None:
    latin = tmp_path / "latin.cfg"
    latin.write_bytes("é".encode("latin-1"))
    m = model(tmp_path / "exp")
    m.attach_generator_files(to_configure=str(latin))
    with pytest.raises(ParameterWriterError, match=r"latin\.cfg"):
        Generator(tmp_path / "exp").generate_experiment(m)


def test_overwrite_recreates_entity_dirs(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    (exp / "sim").mkdir(parents=True)
    (exp / "sim" / "old.out").write_text("old")
    (exp / "ens" / "ens_0").mkdir(parents=True)
    (exp / "ens" / "stale").write_text("x")
    ens = Ensemble("ens", None, path=exp / "ens", run_settings=RunSettings("echo"), replicas=1)
    Generator(exp, overwrite=True).generate_experiment(model(exp), ens)
    assert tree(exp) == {"sim", "ens", "ens/ens_0"}


def test_existing_ensemble_dir_is_reused_without_overwrite(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    (exp / "ens").mkdir(parents=True)
    (exp / "ens" / "notes.txt").write_text("keep")
    ens = Ensemble("ens", None, path=exp / "ens", run_settings=RunSettings("echo"), replicas=1)
    Generator(exp).generate_experiment(ens)
    assert tree(exp) == {"ens", "ens/notes.txt", "ens/ens_0"}
    with pytest.raises(EntityDirExistsError, match="ens_0"):
        Generator(exp).generate_experiment(ens)


def test_orchestrator_dir_is_kept_unless_overwrite(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    orc = FakeOrchestrator(exp / "orchestrator")
    Generator(exp).generate_experiment(orc)
    (exp / "orchestrator" / "orchestrator_0.out").write_text("log")
    Generator(exp).generate_experiment(orc)
    assert (exp / "orchestrator" / "orchestrator_0.out").exists()
    Generator(exp, overwrite=True).generate_experiment(orc)
    assert tree(exp) == {"orchestrator"}


def test_attached_files_are_copied_linked_and_configured(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "data" / "sub").mkdir(parents=True)
    (src / "data" / "mesh.dat").write_text("mesh")
    (src / "data" / "sub" / "deep.dat").write_text("deep")
    (src / "run.sh").write_text("#!/bin/sh\nsteps=;STEPS;\n")
    (src / "run.sh").chmod(0o755)
    (src / "big.h5").write_bytes(b"\0" * 16)
    conf = src / "conf"
    (conf / "nested").mkdir(parents=True)
    (conf / "a.cfg").write_text("dt = ;DT;\n")
    (conf / "nested" / "b.cfg").write_text("steps = ;STEPS; dt=;DT;\n")
    exp = tmp_path / "exp"
    m = model(exp, params={"STEPS": 10, "DT": 0.5, "SEED": 1})
    m.attach_generator_files(
        to_copy=[str(src / "data")],
        to_symlink=str(src / "big.h5"),
        to_configure=[str(conf), str(src / "run.sh")],
    )
    report = Generator(exp).generate_experiment(m)
    root = exp / "sim"
    assert (root / "mesh.dat").read_text() == "mesh"
    assert (root / "sub" / "deep.dat").read_text() == "deep"
    assert (root / "big.h5").is_symlink()
    assert os.readlink(root / "big.h5") == str(src / "big.h5")
    assert (root / "a.cfg").read_text() == "dt = 0.5\n"
    assert (root / "nested" / "b.cfg").read_text() == "steps = 10 dt=0.5\n"
    assert (root / "run.sh").read_text() == "#!/bin/sh\nsteps=10\n"
    assert stat.S_IMODE((root / "run.sh").stat().st_mode) == 0o755
    assert (conf / "a.cfg").read_text() == "dt = ;DT;\n"
    assert not [p for p in root.rglob("*.tmp")]
    by_path = {c.path: c for c in report.configured}
    assert by_path[root / "a.cfg"].used == ("DT",)
    assert set(by_path[root / "a.cfg"].unused) == {"STEPS", "SEED"}


def test_ensemble_members_get_their_own_values(tmp_path: Path) -> None:
    (tmp_path / "in.cfg").write_text("T = ;T;\n")
    exp = tmp_path / "exp"
    ens = Ensemble("e", {"T": [1, 2]}, path=exp / "e", run_settings=RunSettings("echo"))
    ens.attach_generator_files(to_configure=str(tmp_path / "in.cfg"))
    Generator(exp).generate_experiment(ens)
    assert (exp / "e" / "e_0" / "in.cfg").read_text() == "T = 1\n"
    assert (exp / "e" / "e_1" / "in.cfg").read_text() == "T = 2\n"


def test_custom_tag(tmp_path: Path) -> None:
    (tmp_path / "in.cfg").write_text("x = @x@; y = ;x;\n")
    m = model(tmp_path / "exp", params={"x": 3})
    m.attach_generator_files(to_configure=str(tmp_path / "in.cfg"))
    Generator(tmp_path / "exp", tag="@").generate_experiment(m)
    assert (tmp_path / "exp" / "sim" / "in.cfg").read_text() == "x = 3; y = ;x;\n"


def test_tag_checks() -> None:
    with pytest.raises(InvalidArgumentError):
        Generator("/tmp/x", tag="")
    gen = Generator("/tmp/x")
    gen.set_tag("%")
    assert gen.tag == "%"
    with pytest.raises(UnsupportedOptionError):
        gen.set_tag(";", regex="(;.+;)")


def test_vanished_attachment_stops_before_writing(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("x")
    m = model(tmp_path / "exp")
    m.attach_generator_files(to_copy=str(data))
    data.unlink()
    with pytest.raises(ParameterWriterError, match=r"data\.txt"):
        Generator(tmp_path / "exp").generate_experiment(m)
    assert not (tmp_path / "exp").exists()


def test_layout_conflicts(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    with pytest.raises(InvalidArgumentError, match="share"):
        Generator(exp).generate_experiment(
            model(exp, "a"), Model("b", {}, RunSettings("echo"), path=exp / "a")
        )
    with pytest.raises(InvalidArgumentError, match="contain the experiment"):
        Generator(exp).generate_experiment(Model("a", {}, RunSettings("echo"), path=exp))
    with pytest.raises(InvalidArgumentError, match="contains"):
        Generator(exp).generate_experiment(
            model(exp, "a"), Model("b", {}, RunSettings("echo"), path=exp / "a" / "b")
        )
    assert not exp.exists()


def test_paths_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(EntityDirExistsError, match="not a directory"):
        Generator(tmp_path / "file").generate_experiment()
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "sim").write_text("x")
    with pytest.raises(EntityDirExistsError, match="not a directory"):
        Generator(exp, overwrite=True).generate_experiment(model(exp))


def test_only_entities_are_generated(tmp_path: Path) -> None:
    with pytest.raises(ParameterTypeError, match="Model, Ensemble or Orchestrator"):
        Generator(tmp_path).generate_experiment("sim")
    with pytest.raises(ParameterTypeError):
        Generator(tmp_path, overwrite="yes")  # type: ignore[arg-type]


def test_recreating_an_ensemble_dir_keeps_a_model_placed_inside_it(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    (exp / "ens").mkdir(parents=True)
    inside = Model("extra", {}, RunSettings("echo"), path=exp / "ens" / "extra")
    ens = Ensemble("ens", None, path=exp / "ens", run_settings=RunSettings("echo"), replicas=1)
    Generator(exp, overwrite=True).generate_experiment(inside, ens)
    assert tree(exp) == {"ens", "ens/extra", "ens/ens_0"}
