"""Reading and rendering a Model's ``to_configure`` files, and writing files atomically.

Rendering happens entirely in memory before the generator touches the disk, so a binary
or unreadable file stops generation before anything is created.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from insitu.errors import InvalidArgumentError, ParameterWriterError
from insitu.generation.templating import substitute


@dataclass(frozen=True)
class RenderedFile:
    """One configured file: where it goes (relative to the entity dir) and what it holds."""

    relpath: Path
    source: Path
    content: bytes
    mode: int
    used: tuple[str, ...]
    unused: tuple[str, ...]


def tagged_sources(tagged: tuple[Path, ...]) -> Iterator[tuple[Path, Path | None]]:
    """``(relative destination, source file or None for a directory)`` of tagged paths.

    A tagged file lands under its own name; a tagged directory's contents land in the
    entity directory itself and its subdirectories are recreated (SmartSim's layout).
    Symlinked directories inside are refused: they could make the walk circular.
    """
    for path in tagged:
        if not path.is_dir():
            yield Path(path.name), path
            continue
        for root, dirs, files in os.walk(path):
            base = Path(root).relative_to(path)
            for name in sorted(dirs):
                if (Path(root) / name).is_symlink():
                    raise InvalidArgumentError(
                        f"to_configure directory {root!r} holds a symlinked directory {name!r}"
                    )
                yield base / name, None
            for name in sorted(files):
                yield base / name, Path(root) / name


def render(
    tagged: tuple[Path, ...], params: Mapping[str, str], tag: str
) -> tuple[list[Path], list[RenderedFile]]:
    """Directories to create and rendered files for one entity's tagged paths."""
    dirs: list[Path] = []
    files: list[RenderedFile] = []
    for relpath, source in tagged_sources(tagged):
        if source is None:
            dirs.append(relpath)
            continue
        result = substitute(_read_text(source), params, tag)
        mode = source.stat().st_mode & 0o7777
        files.append(
            RenderedFile(relpath, source, result.text.encode(), mode, result.used, result.unused)
        )
    return dirs, files


def _read_text(source: Path) -> str:
    try:
        data = source.read_bytes()
    except OSError as err:
        raise ParameterWriterError(
            f"could not read to_configure file {str(source)!r}: {err}"
        ) from err
    binary = ParameterWriterError(
        f"to_configure file {str(source)!r} is not UTF-8 text (binary files belong in to_copy)"
    )
    if b"\0" in data:
        raise binary
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise binary from err


def write_atomic(path: Path, content: bytes, mode: int) -> None:
    """Write ``content`` to ``path`` through a temporary file and a rename.

    Readers never see a half-written file; on failure the temporary file is removed and
    ``ParameterWriterError`` names ``path``.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise ParameterWriterError(f"could not write configured file {str(path)!r}: {err}") from err
