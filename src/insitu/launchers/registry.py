"""Launcher names → lazy factories, and ``auto`` detection."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from insitu.errors import UnknownLauncherError
from insitu.launchers.base import Launcher

KNOWN_LAUNCHERS = ("local", "slurm", "pbs", "pals", "lsf", "flux", "dragon")
"""Every name SmartSim (and insitu) knows; only those in the registry can be used today."""

_DETECT_ORDER = (("slurm", "sbatch"), ("pbs", "qsub"), ("lsf", "bsub"), ("flux", "flux"))


def _local() -> Launcher:
    from insitu.launchers.local import LocalLauncher

    return LocalLauncher()


_FACTORIES: dict[str, Callable[[], Launcher]] = {"local": _local}


def available_launchers() -> tuple[str, ...]:
    """Names that :func:`create_launcher` accepts on this installation."""
    return tuple(_FACTORIES)


def resolve_launcher_name(name: str) -> str:
    """Turn a user's launcher name (``auto`` included) into a usable one.

    ``auto`` picks the first workload manager whose submit command is on ``PATH`` and that
    insitu can drive, and falls back to ``local``. A known but not yet usable name, or an
    unknown one, raises ``UnknownLauncherError``.
    """
    if not isinstance(name, str):
        raise UnknownLauncherError(repr(name), available_launchers(), "launcher must be a str")
    key = name.strip().lower()
    if key == "auto":
        for candidate, command in _DETECT_ORDER:
            if candidate in _FACTORIES and shutil.which(command):
                return candidate
        return "local"
    if key in _FACTORIES:
        return key
    detail = "not supported yet in this version" if key in KNOWN_LAUNCHERS else "unknown name"
    raise UnknownLauncherError(name, (*available_launchers(), "auto"), detail)


def create_launcher(name: str) -> Launcher:
    """A new launcher instance for ``name`` (resolved as in :func:`resolve_launcher_name`)."""
    return _FACTORIES[resolve_launcher_name(name)]()
