"""Runtime type checks for the public API boundary, in one place.

SmartSim raises ``TypeError`` for arguments of the wrong type; we raise
:class:`~insitu.errors.ParameterTypeError` (a ``TypeError``) whose message names the argument
and the types it accepts. Values of the right type but out of range raise
:class:`~insitu.errors.InvalidArgumentError` (a ``ValueError``). Internal code, already typed,
does not call these.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TypeVar

from insitu.errors import InvalidArgumentError, ParameterTypeError

T = TypeVar("T")

Scalar = str | int | float
"""A parameter or environment value as users give it."""

_WALLTIME = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)$")


def type_error(name: str, value: object, expected: str) -> ParameterTypeError:
    """The error for ``name`` holding ``value`` where ``expected`` was wanted."""
    return ParameterTypeError(f"{name} must be {expected}, not {type(value).__name__} {value!r}")


def check_type(name: str, value: object, expected: type[T], label: str = "") -> T:
    """Return ``value`` if it is an instance of ``expected``, else raise ParameterTypeError."""
    if not isinstance(value, expected):
        raise type_error(name, value, label or expected.__name__)
    return value


def check_str(name: str, value: object, *, allow_empty: bool = False) -> str:
    """A ``str``; empty only if ``allow_empty``."""
    text = check_type(name, value, str, "a str")
    if not text and not allow_empty:
        raise InvalidArgumentError(f"{name} must not be empty")
    return text


def check_bool(name: str, value: object) -> bool:
    """A real ``bool`` (not 0/1, so that a wrong argument order is caught)."""
    return check_type(name, value, bool, "a bool")


def check_int(name: str, value: object, minimum: int | None = 1) -> int:
    """An ``int`` (``bool`` refused) that is at least ``minimum`` when one is given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise type_error(name, value, "an int")
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"{name} must be at least {minimum}, got {value}")
    return value


def check_scalar(name: str, value: object) -> Scalar:
    """A ``str``, ``int`` or ``float`` (the values SmartSim accepts for params and env vars)."""
    if not isinstance(value, str | int | float):
        raise type_error(name, value, "a str, int or float")
    return value


def check_str_list(name: str, value: object, *, allow_str: bool = True) -> list[str]:
    """A list (or tuple) of ``str``; a single ``str`` becomes a one-item list if allowed."""
    if allow_str and isinstance(value, str):
        return [value]
    expected = "a str or a list of str" if allow_str else "a list of str"
    if not isinstance(value, list | tuple):
        raise type_error(name, value, expected)
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise type_error(f"{name}[{i}]", item, "a str")
    return list(value)


def check_path_list(name: str, value: object) -> list[str]:
    """Paths as ``str``/``os.PathLike`` or a list of them; returned as ``str``."""
    if isinstance(value, str | os.PathLike):
        return [os.fspath(value)]
    if not isinstance(value, list | tuple):
        raise type_error(name, value, "a path or a list of paths")
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str | os.PathLike):
            raise type_error(f"{name}[{i}]", item, "a str or os.PathLike")
        out.append(os.fspath(item))
    return out


def check_scalar_mapping(name: str, value: object) -> dict[str, str]:
    """A mapping of ``str`` to str/int/float, returned with the values as ``str``."""
    mapping = check_type(name, value, Mapping, "a dict")  # type: ignore[type-abstract]
    out: dict[str, str] = {}
    for key, item in mapping.items():
        if not isinstance(key, str):
            raise type_error(f"a key of {name}", key, "a str")
        out[key] = str(check_scalar(f"{name}[{key!r}]", item))
    return out


def check_any(name: str, value: object, *types: type) -> None:
    """Raise ParameterTypeError unless ``value`` is one of ``types``.

    ``bool`` is not accepted where ``int`` is asked for, unless ``bool`` is listed.
    """
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        expected = " or ".join(t.__name__ for t in types)
        raise type_error(name, value, expected)


def parse_walltime(walltime: object) -> float:
    """Seconds in an ``"HH:MM:SS"`` string (hours may exceed 24); must be positive."""
    text = check_str("walltime", walltime)
    match = _WALLTIME.match(text.strip())
    if not match:
        raise InvalidArgumentError(f"walltime must be 'HH:MM:SS', got {text!r}")
    hours, minutes, seconds = (int(part) for part in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise InvalidArgumentError(f"walltime must be longer than zero, got {text!r}")
    return float(total)
