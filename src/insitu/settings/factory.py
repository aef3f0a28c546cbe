"""``create_run_settings`` and ``create_batch_settings``: the settings class for a launcher
and run command, chosen as SmartSim 0.8 chooses it.

``run_command="auto"`` takes the first of the launcher's run commands on ``PATH`` (the
launcher registry's order: slurm ``srun``, ``mpirun``, ``mpiexec``; pbs ``aprun``, ``mpirun``,
``mpiexec``; pals ``mpiexec``; lsf ``jsrun``, ``mpirun``, ``mpiexec``; sge ``mpirun``,
``mpiexec``; local and dragon: none). A known run command gives its class (``mpiexec``
under ``pals`` gives :class:`PalsMpiexecSettings`); any other, or none, gives a base
:class:`RunSettings` whose run args are passed literally.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from typing import Any

from insitu.errors import InsituError, UnknownLauncherError, UnsupportedOptionError
from insitu.launchers.registry import (
    KNOWN_LAUNCHERS,
    LauncherInfo,
    launcher_info,
    run_command_name,
)
from insitu.launchers.run_commands import REGISTRY
from insitu.settings.alps import AprunSettings
from insitu.settings.batch_settings import BatchSettings
from insitu.settings.dragon import DragonRunSettings
from insitu.settings.lsf import BsubBatchSettings, JsrunSettings
from insitu.settings.mpi import (
    MpiexecSettings,
    MpirunSettings,
    OrterunSettings,
    PalsMpiexecSettings,
)
from insitu.settings.pbs import QsubBatchSettings, SgeQsubBatchSettings
from insitu.settings.run_settings import RunSettings
from insitu.settings.slurm import SbatchSettings, SrunSettings

_RUN_CLASSES: Mapping[str, Callable[..., RunSettings]] = {
    "srun": SrunSettings, "mpirun": MpirunSettings, "mpiexec": MpiexecSettings,
    "orterun": OrterunSettings, "pals": PalsMpiexecSettings, "aprun": AprunSettings,
    "jsrun": JsrunSettings,
}  # fmt: skip
"""Run command (registry name) → its settings class."""

_OWN_RUN_CLASSES: Mapping[str, Callable[..., RunSettings]] = {
    "DragonRunSettings": DragonRunSettings,
}
"""Classes the launcher registry names as ``run_settings``."""

_BATCH_CLASSES: Mapping[str, Callable[..., BatchSettings]] = {
    cls.__name__: cls
    for cls in (SbatchSettings, QsubBatchSettings, BsubBatchSettings, SgeQsubBatchSettings)
}
"""Classes the launcher registry names as ``batch_settings``."""


def _info(launcher: str) -> LauncherInfo:
    try:
        return launcher_info(launcher)
    except UnknownLauncherError:
        raise UnsupportedOptionError(
            f"launcher={launcher!r}", "insitu", f"known launchers: {', '.join(KNOWN_LAUNCHERS)}"
        ) from None


def detect_command(launcher: str) -> str:
    """The run command ``"auto"`` means for ``launcher`` (``""``: none).

    ``InsituError`` (SmartSim's ``SmartSimError``) when none of its candidates is on PATH.
    """
    candidates = tuple(REGISTRY[name].program for name in _info(launcher).run_commands or ())
    if not candidates:
        return ""
    for name in candidates:
        if shutil.which(name):
            return name
    raise InsituError(
        f"Could not automatically detect a run command to use for launcher {launcher}: "
        f"none of {', '.join(candidates)} is on PATH"
    )


def create_run_settings(
    launcher: str,
    exe: str,
    exe_args: str | list[str] | None = None,
    run_command: str | None = "auto",
    run_args: Mapping[str, Any] | None = None,
    env_vars: Mapping[str, Any] | None = None,
    container: object | None = None,
    **kwargs: Any,
) -> RunSettings:
    """Run settings of the class that fits ``launcher`` and ``run_command`` (see module)."""
    launcher = launcher.lower()
    info = _info(launcher)
    command = run_command.lower() if run_command else ""
    if command == "auto":
        command = detect_command(launcher)
    if info.run_settings is not None:
        own = _OWN_RUN_CLASSES[info.run_settings]
        return own(exe, exe_args, env_vars=env_vars, container=container, **kwargs)
    chosen = _RUN_CLASSES.get(run_command_name(launcher, command)) if command else None
    if chosen is not None:
        return chosen(exe, exe_args, run_args, env_vars, container=container, **kwargs)
    return RunSettings(exe, exe_args, command, run_args, env_vars, container=container)


def create_batch_settings(
    launcher: str,
    nodes: int | None = None,
    time: str = "",
    queue: str = "",
    account: str = "",
    batch_args: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> BatchSettings:
    """Batch settings of ``launcher``'s scheduler. A launcher without batch jobs
    (``local``) raises ``InsituError`` (SmartSim's ``SmartSimError``); an unknown one
    ``UnsupportedOptionError``."""
    launcher = launcher.lower()
    info = _info(launcher)
    if info.batch_settings is None:
        raise InsituError(f"The {launcher} launcher does not support batch workloads")
    chosen = _BATCH_CLASSES[info.batch_settings]
    return chosen(
        nodes=nodes, time=time, batch_args=batch_args, queue=queue, account=account, **kwargs
    )


__all__ = ["create_batch_settings", "create_run_settings", "detect_command"]
