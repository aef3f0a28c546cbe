"""Which launch options an Orchestrator accepts on which launcher (pure).

Only the local launcher can start an Orchestrator in this version. Options the local
launcher cannot honour raise :class:`~insitu.errors.UnsupportedOptionError` when the
Orchestrator is created, never a warning that they were ignored.
"""

from __future__ import annotations

from collections.abc import Mapping

from insitu._checks import check_any
from insitu.errors import UnknownLauncherError, UnsupportedOptionError
from insitu.store.options import SMARTSIM_LAUNCH_KWARGS

LOCAL = "local"
_LOCAL_BACKEND = "the local launcher"
KNOWN_LAUNCHERS = ("local", "auto", "slurm", "pbs", "pals", "lsf", "flux", "dragon")
"""Launcher names SmartSim knows; all but ``local``/``auto`` are refused here for now."""


def resolve_launcher(launcher: str) -> str:
    """The launcher that will start the shards: ``"local"`` (``"auto"`` resolves to it).

    A known scheduler name raises :class:`UnsupportedOptionError`; an unknown name raises
    :class:`UnknownLauncherError`.
    """
    check_any("launcher", launcher, str)
    name = launcher.strip().lower()
    if name in (LOCAL, "auto"):
        return LOCAL
    if name in KNOWN_LAUNCHERS:
        raise UnsupportedOptionError(
            "launcher",
            "the Orchestrator",
            f"{launcher!r}: only the local launcher can start "
            "an orchestrator in this version of insitu",
        )
    raise UnknownLauncherError(launcher, ("local", "auto"))


def resolve_run_command(run_command: str | None) -> str:
    """The run command for local shards: none (``""``); ``"auto"`` resolves to it."""
    if run_command is None:
        return ""
    check_any("run_command", run_command, str)
    if run_command.strip() in ("", "auto"):
        return ""
    raise UnsupportedOptionError(
        "run_command", _LOCAL_BACKEND, f"{run_command!r}: local shards are started directly"
    )


def check_local_launch(
    *,
    batch: bool,
    account: str | None,
    time: str | None,
    alloc: str | None,
    single_cmd: bool,
    db_nodes: int,
) -> None:
    """Refuse the batch/allocation options the local launcher cannot honour."""
    check_any("batch", batch, bool)
    check_any("single_cmd", single_cmd, bool)
    if batch:
        raise UnsupportedOptionError("batch", _LOCAL_BACKEND, "there is no batch system locally")
    for option, value in (("account", account), ("time", time), ("alloc", alloc)):
        if value is not None:
            raise UnsupportedOptionError(
                option, _LOCAL_BACKEND, "it only applies to batch jobs and allocations"
            )


def split_launch_kwargs(kwargs: Mapping[str, object]) -> dict[str, object]:
    """The server options among ``kwargs``, after refusing SmartSim's launch keywords.

    ``run_args``/``batch_args`` (if not empty) and ``gpus_per_shard``/``cpus_per_shard``
    configure a scheduler launch, which the local launcher cannot honour.
    """
    server: dict[str, object] = {}
    for key, value in kwargs.items():
        if key in SMARTSIM_LAUNCH_KWARGS:
            if value in (None, {}, []):
                continue
            raise UnsupportedOptionError(key, _LOCAL_BACKEND, "it configures a scheduler launch")
        server[key] = value
    return server
