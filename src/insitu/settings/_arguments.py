"""Validation of RunSettings/BatchSettings arguments at the public boundary (no state)."""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping

from insitu import _checks as tc
from insitu.errors import ExecutableNotFoundError, InvalidArgumentError, NotExecutableError
from insitu.launchers import run_commands


def resolve_exe(exe: object) -> str:
    """Absolute path of ``exe``: a name found on ``PATH`` or an executable file path.

    Raises ``ExecutableNotFoundError`` (a ``FileNotFoundError``) when there is none and
    ``NotExecutableError`` when the file exists without execute permission.
    """
    if not isinstance(exe, str | os.PathLike):
        raise tc.type_error("exe", exe, "a str or os.PathLike")
    name = tc.check_str("exe", os.fspath(exe))
    found = shutil.which(name)
    if found:
        return os.path.abspath(found)
    if os.path.isfile(name):
        raise NotExecutableError(name)
    raise ExecutableNotFoundError(name)


def check_run_command(run_command: object) -> str | None:
    """``""``/``None`` → no run command; ``"auto"`` is refused (it needs a launcher)."""
    if run_command is None or run_command == "":
        return None
    name = tc.check_str("run_command", run_command)
    if name == "auto":
        raise InvalidArgumentError(
            "run_command='auto' depends on the launcher: use Experiment.create_run_settings, "
            "or insitu.launchers.run_commands.detect_run_command(launcher)"
        )
    run_commands.lookup(name)
    return name


def check_run_args(value: object, run_command: str | None) -> dict[str, str | None]:
    """Run args as ``{name: str value or None}``; names checked by :func:`check_arg_name`."""
    if value is None:
        return {}
    mapping = tc.check_type("run_args", value, Mapping, "a dict")  # type: ignore[type-abstract]
    out: dict[str, str | None] = {}
    for name, item in mapping.items():
        out[check_arg_name(name, run_command)] = (
            None if item is None else str(tc.check_scalar(f"run_args[{name!r}]", item))
        )
    return out


def check_arg_name(name: object, run_command: str | None) -> str:
    """A run-argument name without dashes that insitu does not set itself."""
    arg = tc.check_str("run argument name", name)
    if arg.startswith("-"):
        raise InvalidArgumentError(f"give run argument {arg!r} without leading dashes")
    if arg in run_commands.reserved_args(run_command):
        raise InvalidArgumentError(f"run argument {arg!r} is set by insitu for {run_command}")
    return arg


def build_exe_args(value: object) -> list[str]:
    """Executable arguments from ``None``, a shell-like ``str`` or a list of ``str``."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return tc.check_str_list("exe_args", value, allow_str=False)
