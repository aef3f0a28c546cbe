"""EntityFiles: a validated value of attached paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu.entities import EntityFiles
from insitu.errors import AttachedFileNotFoundError, InvalidArgumentError, ParameterTypeError


def test_attach_makes_paths_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.txt").write_text("a")
    monkeypatch.chdir(tmp_path)
    files = EntityFiles.attach(to_copy="a.txt")
    assert files.copy == (tmp_path / "a.txt",)
    assert bool(files)
    assert not EntityFiles()
    assert list(files) == [tmp_path / "a.txt"]


def test_direct_construction_is_validated(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="absolute"):
        EntityFiles(copy=(Path("rel.txt"),))
    with pytest.raises(AttachedFileNotFoundError):
        EntityFiles(link=(tmp_path / "gone",))
    with pytest.raises(ParameterTypeError):
        EntityFiles(copy=[tmp_path])  # type: ignore[arg-type]


def test_two_entries_with_one_destination_name_clash(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "in.txt").write_text("1")
    (tmp_path / "b" / "in.txt").write_text("2")
    with pytest.raises(InvalidArgumentError, match=r"in\.txt"):
        EntityFiles.attach(to_copy=str(tmp_path / "a" / "in.txt"),
                           to_configure=str(tmp_path / "b" / "in.txt"))  # fmt: skip
    with pytest.raises(InvalidArgumentError):
        EntityFiles.attach(to_copy=str(tmp_path / "a" / "in.txt"),
                           to_symlink=str(tmp_path / "a" / "in.txt"))  # fmt: skip


def test_symlinked_configure_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(InvalidArgumentError, match="symlink"):
        EntityFiles.attach(to_configure=str(tmp_path / "link"))


def test_table_lists_strategies(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("x")
    assert EntityFiles().table() == "No file attached to this entity."
    table = EntityFiles.attach(to_symlink=str(tmp_path / "x")).table()
    assert "Symlink" in table and str(tmp_path / "x") in table and "Copy" not in table
