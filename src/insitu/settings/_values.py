"""Argument checks of the settings classes, with SmartSim's exception types (pure, no state).

SmartSim converts counts with ``int(value)``, so ``"not an int"`` is a ``ValueError``; here
that is :class:`~insitu.errors.InvalidArgumentError` (a ``ValueError``) and a value of a
type ``int()`` cannot take is :class:`~insitu.errors.ParameterTypeError` (a ``TypeError``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from insitu import _checks as tc
from insitu.errors import InvalidArgumentError

ENV_TYPES = (str, int, float, bool)


def as_int(name: str, value: object) -> int:
    """``int(value)`` with typed errors (``"8"`` and ``8.0`` convert, as in SmartSim)."""
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except ValueError:
        raise InvalidArgumentError(f"{name} must be an integer, got {value!r}") from None
    except TypeError:
        raise tc.type_error(name, value, "an int") from None


def positive(name: str, value: object) -> int:
    """An integer ≥ 1."""
    number = as_int(name, value)
    if number < 1:
        raise InvalidArgumentError(f"{name} must be at least 1, got {number}")
    return number


def host_list(value: object, name: str = "host_list") -> list[str]:
    """A host name or a list of them (SmartSim: a ``str`` is stripped; others ``TypeError``)."""
    if isinstance(value, str):
        value = [value.strip()]
    if not isinstance(value, list):
        raise tc.type_error(name, value, "a str or a list of str")
    for i, host in enumerate(value):
        if not isinstance(host, str):
            raise tc.type_error(f"{name}[{i}]", host, "a str")
    return list(value)


def str_list(name: str, value: object) -> list[str]:
    """A ``str`` (stripped) or a list of ``str``; anything else ``TypeError``."""
    if isinstance(value, str):
        return [value.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise tc.type_error(name, value, "a str or a list of str")
    return list(value)


def int_list(name: str, value: object) -> list[int]:
    """One integer or a list of them (each converted with :func:`as_int`)."""
    items = value if isinstance(value, list | tuple) else [value]
    return [as_int(f"{name}[{i}]", item) for i, item in enumerate(items)]


def exe_args(value: object, *, nested: bool = True) -> list[str]:
    """Executable arguments: ``None``, a ``str`` (split on white space) or a list of ``str``."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(arg, str) for arg in value):
        return list(value)
    raise tc.type_error("exe_args", value, "a str or a list of str")


def copied_dict(name: str, value: Mapping[str, Any] | None) -> dict[str, Any]:
    """A deep copy of a mapping with ``str`` keys (``None``: empty)."""
    if value is None:
        return {}
    mapping = tc.check_type(name, value, Mapping, "a dict")  # type: ignore[type-abstract]
    for key in mapping:
        if not isinstance(key, str):
            raise tc.type_error(f"a key of {name}", key, "a str")
    return copy.deepcopy(dict(mapping))


def env_vars(value: Mapping[str, Any] | None) -> dict[str, str | None]:
    """The environment given to a constructor: values as ``str``, ``None`` kept (inherit)."""
    out: dict[str, str | None] = {}
    for key, item in copied_dict("env_vars", value).items():
        if item is not None and not isinstance(item, ENV_TYPES):
            raise tc.type_error(f"env_vars[{key!r}]", item, "a str, int, float, bool or None")
        out[key] = None if item is None else str(item)
    return out


def env_update(value: object) -> dict[str, str]:
    """Variables for ``update_env``: ``str``/``int``/``float``/``bool`` values, stored as
    ``str``; anything else ``TypeError``."""
    mapping = tc.check_type("env_vars", value, Mapping, "a dict")  # type: ignore[type-abstract]
    out: dict[str, str] = {}
    for key, item in mapping.items():
        if not isinstance(key, str):
            raise tc.type_error("a key of env_vars", key, "a str")
        if not isinstance(item, ENV_TYPES):
            raise tc.type_error(f"env_vars[{key!r}]", item, "a str, int, float or bool")
        out[key] = str(item)
    return out


def walltime_seconds(value: object) -> float | None:
    """Seconds in ``"HH:MM:SS"`` or a number of seconds; zero means "no limit" (``None``)."""
    text = str(value).strip() if isinstance(value, str | int | float) else None
    if text is None:
        raise tc.type_error("walltime", value, "a str")
    if text.isdigit():
        seconds = float(text)
    elif text.count(":") == 2 and all(p.isdigit() for p in text.split(":")):
        hours, minutes, secs = (int(p) for p in text.split(":"))
        seconds = float(hours * 3600 + minutes * 60 + secs)
    else:
        raise InvalidArgumentError(f"walltime must be 'HH:MM:SS' or seconds, got {value!r}")
    return seconds or None


def hms(hours: int, minutes: int, seconds: int) -> str:
    """``HH:MM:SS`` of the total time (parts may overflow: 1845 s is 30:45)."""
    total = hours * 3600 + minutes * 60 + seconds
    return f"{total // 3600:02}:{total % 3600 // 60:02}:{total % 60:02}"


def to_resource(field: str, value: object) -> object:
    """A run-arg value in the form of :class:`~insitu.jobs.Resources` field ``field``."""
    if field == "hosts":
        hosts = tuple(h for h in str(value).split(",") if h)
        if not hosts:
            raise InvalidArgumentError("empty host list")
        return hosts
    if field == "walltime":
        return walltime_seconds(value)
    return positive(field, value)
