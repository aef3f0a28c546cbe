"""EntityFiles: the files an entity asks the generator to copy, symlink or configure."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from insitu import _checks as tc
from insitu.errors import AttachedFileNotFoundError, InvalidArgumentError

_ROLES = (("tagged", "to_configure"), ("copy", "to_copy"), ("link", "to_symlink"))


@dataclass(frozen=True)
class EntityFiles:
    """Validated attached files; every path is absolute and existed when attached.

    ``tagged`` (SmartSim's ``to_configure``) are text files, or directories of them, whose
    ``;name;`` tags are replaced by parameter values; a directory's *contents* land in the
    entity directory, its subdirectories are recreated. ``copy`` entries are copied (a
    directory's contents are merged into the entity directory, as SmartSim does); ``link``
    entries are symlinked under their own name.
    """

    tagged: tuple[Path, ...] = ()
    copy: tuple[Path, ...] = ()
    link: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        for field_name, role in _ROLES:
            paths = getattr(self, field_name)
            if not isinstance(paths, tuple) or not all(isinstance(p, Path) for p in paths):
                raise tc.type_error(field_name, paths, "a tuple of pathlib.Path")
            for path in paths:
                if not path.is_absolute():
                    raise InvalidArgumentError(f"{role} path {str(path)!r} is not absolute")
                if not path.exists():
                    raise AttachedFileNotFoundError(str(path), role)
        for path in self.tagged:
            if path.is_dir() and path.is_symlink():
                raise InvalidArgumentError(
                    f"to_configure directory {str(path)!r} is a symlink; give the real directory"
                )
        _check_unique_names(self)

    @classmethod
    def attach(
        cls, to_copy: object = None, to_symlink: object = None, to_configure: object = None
    ) -> EntityFiles:
        """Build from user arguments: each ``None``, a path, or a list of paths.

        Relative paths are taken from the current directory. Raises
        ``AttachedFileNotFoundError`` naming the first path that does not exist and
        ``ParameterTypeError`` for anything that is not a path.
        """
        lists = {"to_copy": to_copy, "to_symlink": to_symlink, "to_configure": to_configure}
        paths = {
            role: tuple(_absolute(p, role) for p in tc.check_path_list(role, value))
            for role, value in lists.items()
            if value is not None
        }
        return cls(
            tagged=paths.get("to_configure", ()),
            copy=paths.get("to_copy", ()),
            link=paths.get("to_symlink", ()),
        )

    def __bool__(self) -> bool:
        return bool(self.tagged or self.copy or self.link)

    def __iter__(self) -> Iterator[Path]:
        yield from (*self.tagged, *self.copy, *self.link)

    def table(self) -> str:
        """A plain-text grid of the attached files by strategy (SmartSim's layout)."""
        rows = [
            [label, "\n".join(str(p) for p in paths)]
            for label, paths in (
                ("Copy", self.copy),
                ("Symlink", self.link),
                ("Configure", self.tagged),
            )
            if paths
        ]
        if not rows:
            return "No file attached to this entity."
        return tabulate(rows, headers=["Strategy", "Files"], tablefmt="grid")

    def __str__(self) -> str:
        return self.table()


def _absolute(path: str, role: str) -> Path:
    if not path:
        raise InvalidArgumentError(f"{role} holds an empty path")
    absolute = Path(os.path.abspath(path))
    if not absolute.exists():
        raise AttachedFileNotFoundError(path, role)
    return absolute


def _check_unique_names(files: EntityFiles) -> None:
    """Two entries that would land under the same name in the entity directory clash."""
    seen: dict[str, Path] = {}
    entries = [p for p in (*files.tagged, *files.copy) if not p.is_dir()] + list(files.link)
    for path in entries:
        if path.name in seen:
            raise InvalidArgumentError(
                f"attached files {str(seen[path.name])!r} and {str(path)!r} would both be "
                f"written as {path.name!r} in the entity directory"
            )
        seen[path.name] = path
