"""The one launcher list: every launcher name insitu knows, what it means, and how to make one.

:data:`LAUNCHERS` is the only place launcher names are written down. Everything else reads
it: ``Experiment(launcher=...)`` and ``auto`` detection (:func:`resolve_launcher_name`,
:func:`create_launcher`), the run commands that ``run_command="auto"`` may pick per launcher
(:func:`run_command_candidates`, read by :mod:`insitu.launchers.run_commands`), the batch
commands and their directive spellings (:func:`batch_commands`, :func:`batch_dialect`, read by
:mod:`insitu.settings.batch_settings`), an Orchestrator's launch checks
(:func:`check_spec`), and the rules executors (:func:`rules_executors`, read by the rules
members, the rules schema and the ``insitu ensemble`` CLI).

A name is *known* (SmartSim has it) or also *usable* (this version can drive it: it has a
factory). Factories and dialects are imported lazily, only when that launcher is chosen.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from insitu.errors import LauncherNotAvailableError, UnknownLauncherError

if TYPE_CHECKING:
    from insitu.jobs.spec import JobSpec
    from insitu.launchers.base import Launcher
    from insitu.launchers.directives import BatchDialect

AUTO = "auto"
"""The pseudo-name that picks a launcher (or a run command) from what is on ``PATH``."""

LAUNCHER_ENV = "INSITU_LAUNCHER"
"""A site's (or a test's) choice for ``auto``: when set to a launcher name, ``auto`` means
that launcher instead of detecting one."""


@dataclass(frozen=True)
class LauncherInfo:
    """What insitu knows about one launcher name.

    ``factory`` makes the launcher and ``check`` validates a job for it without making one
    (both ``None``: known, not usable in this version). ``detect`` is the command whose
    presence on ``PATH`` (all of them) makes ``auto`` pick it. ``run_commands`` are the run commands
    ``run_command="auto"`` tries, in SmartSim's order (``None``: the launcher places
    processes itself and runs programs directly). ``batch_command`` is its scheduler's
    submit command and ``batch_dialect`` that command's directive spelling.
    ``rules_executor``: ``insitu ensemble`` may run rules files on it. ``multi_host``: its
    jobs may run on other hosts than the driver's (a store then resolves its interface on
    each shard's host, and spreads its shards one per node).
    ``batch_multi_host``: the members of its batch groups may run on the job's other nodes
    (a batch store's shards one per node), though its other jobs run on the driver's host.
    ``detect_unless``: commands whose presence means another scheduler with the same
    command names (Grid Engine's ``qacct`` beside ``qsub``, ``qstat``, ``qdel``).
    ``run_settings`` names the :mod:`insitu.settings` class every job of this launcher uses
    whatever the run command (Dragon's), ``batch_settings`` the class of its batch jobs
    (SmartSim's ``create_batch_settings``); names, so that this module imports no settings.
    """

    name: str
    factory: Callable[[], Launcher] | None = None
    check: Callable[[JobSpec], None] | None = None
    detect: tuple[str, ...] = ()
    run_commands: tuple[str, ...] | None = None
    batch_command: str | None = None
    batch_dialect: Callable[[], BatchDialect] | None = None
    rules_executor: bool = False
    multi_host: bool = False
    detect_unless: tuple[str, ...] = ()
    batch_multi_host: bool = False
    run_settings: str | None = None
    batch_settings: str | None = None

    @property
    def usable(self) -> bool:
        """True when this version of insitu can launch jobs with it."""
        return self.factory is not None


def _local() -> Launcher:
    from insitu.launchers.local import LocalLauncher

    return LocalLauncher()


def _check_local(spec: JobSpec) -> None:
    from insitu.launchers.local import validate_local

    validate_local(spec)


def _slurm() -> Launcher:
    from insitu.launchers.slurm.launcher import SlurmLauncher

    return SlurmLauncher()


def _check_slurm(spec: JobSpec) -> None:
    from insitu.launchers.slurm.launcher import validate_slurm

    validate_slurm(spec)


def _pbs() -> Launcher:
    from insitu.launchers.pbs.launcher import pbs_launcher

    return pbs_launcher("pbs")


def _check_pbs(spec: JobSpec) -> None:
    from insitu.launchers.pbs.launcher import validate_pbs

    validate_pbs(spec, "pbs")


def _pals() -> Launcher:
    from insitu.launchers.pbs.launcher import pbs_launcher

    return pbs_launcher("pals")


def _check_pals(spec: JobSpec) -> None:
    from insitu.launchers.pbs.launcher import validate_pbs

    validate_pbs(spec, "pals")


def _lsf() -> Launcher:
    from insitu.launchers.lsf.launcher import lsf_launcher

    return lsf_launcher()


def _check_lsf(spec: JobSpec) -> None:
    from insitu.launchers.lsf.launcher import validate_lsf

    validate_lsf(spec)


def _sge() -> Launcher:
    from insitu.launchers.sge.launcher import sge_launcher

    return sge_launcher()


def _check_sge(spec: JobSpec) -> None:
    from insitu.launchers.sge.launcher import validate_sge

    validate_sge(spec)


def _sbatch() -> BatchDialect:
    from insitu.launchers.slurm.commands import SBATCH

    return SBATCH


def _qsub() -> BatchDialect:
    from insitu.launchers.pbs.commands import QSUB

    return QSUB


def _bsub() -> BatchDialect:
    from insitu.launchers.lsf.commands import BSUB

    return BSUB


LAUNCHERS: tuple[LauncherInfo, ...] = (
    LauncherInfo("local", _local, _check_local, rules_executor=True),
    LauncherInfo(
        "slurm", _slurm, _check_slurm, detect=("sbatch", "squeue", "srun", "scancel"),
        run_commands=("srun", "mpirun", "mpiexec"),
        batch_command="sbatch", batch_dialect=_sbatch, rules_executor=True, multi_host=True,
        batch_settings="SbatchSettings",
    ),
    LauncherInfo(
        "pbs", _pbs, _check_pbs, detect=("qsub", "qstat", "qdel"), detect_unless=("qacct",),
        run_commands=("aprun", "mpirun", "mpiexec"), batch_command="qsub", batch_dialect=_qsub,
        rules_executor=True, batch_settings="QsubBatchSettings", batch_multi_host=True,
    ),
    LauncherInfo(
        "pals", _pals, _check_pals, run_commands=("pals",), batch_command="qsub",
        batch_dialect=_qsub, batch_settings="QsubBatchSettings", batch_multi_host=True,
    ),
    LauncherInfo(
        "lsf", _lsf, _check_lsf, detect=("bsub", "bjobs", "bkill"),
        run_commands=("jsrun", "mpirun", "mpiexec"), batch_command="bsub", batch_dialect=_bsub,
        rules_executor=True, batch_settings="BsubBatchSettings", batch_multi_host=True,
    ),
    # PBS and LSF steps (and store shards) are processes of the driver, on its node of the
    # allocation; their MPI ranks spread through mpiexec/jsrun. Members of a batch group run
    # through the job's step agent, on the node it places them on (pbsdsh, blaunch): a batch
    # store's shards one per node (batch_multi_host).
    # Flux (not a SmartSim 0.8 launcher either) and Dragon place processes themselves;
    # rules files reach Flux through its own Python bindings (insitu.rules.members.flux),
    # not through an insitu launcher: `insitu info` lists a flux CLI, `launcher="flux"`
    # is a LauncherNotAvailableError.
    LauncherInfo("flux", detect=("flux",), rules_executor=True),
    LauncherInfo("dragon", run_settings="DragonRunSettings"),
    # Grid Engine has PBS's command names; its qacct tells them apart (SmartSim never
    # detects it). Its qsub directives are spelled by its scheduler, not a dialect.
    LauncherInfo(
        "sge", _sge, _check_sge, detect=("qsub", "qstat", "qdel", "qacct"),
        run_commands=("mpirun", "mpiexec"), batch_command="qsub",
        batch_settings="SgeQsubBatchSettings",
    ),
)  # fmt: skip
"""Every launcher name SmartSim (and insitu) knows, in ``auto`` detection order."""

AUTO_RUN_COMMANDS = ("srun", "aprun", "mpirun", "mpiexec")
"""What ``run_command="auto"`` tries when the launcher itself is ``auto`` (SmartSim's order)."""

_BY_NAME = {info.name: info for info in LAUNCHERS}

KNOWN_LAUNCHERS: tuple[str, ...] = tuple(_BY_NAME)
"""Every launcher name SmartSim (and insitu) knows; only usable ones can be chosen today."""


def launcher_info(name: str) -> LauncherInfo:
    """The entry for a known launcher name (exact, lower case); ``UnknownLauncherError``
    otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownLauncherError(name, (*KNOWN_LAUNCHERS, AUTO), "unknown name") from None


def available_launchers() -> tuple[str, ...]:
    """Names that :func:`create_launcher` accepts on this installation (``auto`` aside)."""
    return tuple(info.name for info in LAUNCHERS if info.usable)


def resolve_launcher_name(name: str) -> str:
    """Turn a user's launcher name (``auto`` included, any case) into a usable one.

    ``auto`` picks the first usable workload manager whose command is on ``PATH`` and falls
    back to ``local``. A known name this version cannot drive raises
    ``LauncherNotAvailableError`` (an ``UnknownLauncherError`` and an
    ``UnsupportedOptionError``); any other name ``UnknownLauncherError``.
    """
    if not isinstance(name, str):
        raise UnknownLauncherError(repr(name), available_launchers(), "launcher must be a str")
    key = name.strip().lower()
    choices = (*available_launchers(), AUTO)
    if key == AUTO:
        return detect_launcher()[0]
    entry = _BY_NAME.get(key)
    if entry is None:
        raise UnknownLauncherError(name, choices, "unknown name")
    if not entry.usable:
        raise LauncherNotAvailableError(name, choices, "not supported yet in this version")
    return key


def detect_launcher() -> tuple[str, str]:
    """What ``auto`` picks, and why: ``$INSITU_LAUNCHER`` when set, else the first usable
    workload manager (registry order) whose commands are all on ``PATH``, else ``local``."""
    chosen = os.environ.get(LAUNCHER_ENV, "").strip().lower()
    if chosen and chosen != AUTO:
        return resolve_launcher_name(chosen), f"{LAUNCHER_ENV}={chosen}"
    for info in LAUNCHERS:
        if info.usable and _detected(info):
            return info.name, f"{', '.join(info.detect)} found on PATH"
    return "local", "no workload manager's commands found on PATH"


def _detected(info: LauncherInfo) -> bool:
    """Every ``detect`` command of ``info`` on ``PATH``, and none of ``detect_unless``."""
    return (
        bool(info.detect)
        and all(shutil.which(c) for c in info.detect)
        and not any(shutil.which(c) for c in info.detect_unless)
    )


def detection_report() -> list[tuple[str, bool, str]]:
    """For ``insitu info``: every launcher with commands to detect, whether all are on
    ``PATH``, and which are found or missing."""
    rows = []
    for info in LAUNCHERS:
        if not info.detect:
            continue
        missing = [c for c in info.detect if shutil.which(c) is None]
        found = not missing
        detail = (
            f"found {', '.join(str(shutil.which(c)) for c in info.detect)}"
            if found else f"missing {', '.join(missing)}"
        )  # fmt: skip
        others = [c for c in info.detect_unless if shutil.which(c)]
        if found and others:
            found = False
            detail += f", but also {', '.join(others)} (another scheduler's)"
        if not info.usable:
            detail += " (not usable in this version)"
        rows.append((info.name, found and info.usable, detail))
    return rows


def create_launcher(name: str) -> Launcher:
    """A new launcher instance for ``name`` (resolved as in :func:`resolve_launcher_name`)."""
    factory = _BY_NAME[resolve_launcher_name(name)].factory
    assert factory is not None  # resolve_launcher_name returns usable names only
    return factory()


def check_spec(name: str, spec: JobSpec) -> None:
    """Validate ``spec`` as launcher ``name``'s ``validate`` would, without creating it.

    Raises what ``resolve_launcher_name`` raises for ``name``, and
    ``UnsupportedOptionError`` for anything the launcher could not honour. Pure apart from
    the host facts a launcher may consult (the local launcher: this host's names and CPUs).
    """
    check = _BY_NAME[resolve_launcher_name(name)].check
    if check is not None:
        check(spec)


def runs_on_other_hosts(name: str) -> bool:
    """Whether jobs of launcher ``name`` (resolved as in :func:`resolve_launcher_name`) may
    run on hosts other than the driver's."""
    return _BY_NAME[resolve_launcher_name(name)].multi_host


def batch_runs_on_other_hosts(name: str) -> bool:
    """Whether the members of a batch group of launcher ``name`` (a batch store's shards)
    may run on the job's other nodes: every multi-host launcher's, and PBS's and LSF's
    (through their step agent)."""
    info = _BY_NAME[resolve_launcher_name(name)]
    return info.multi_host or info.batch_multi_host


def run_command_candidates(name: str) -> tuple[str, ...] | None:
    """Run commands ``run_command="auto"`` tries for launcher ``name`` (known or ``auto``),
    in order; ``None`` when it runs programs directly. Unknown → ``UnknownLauncherError``."""
    if name == AUTO:
        return AUTO_RUN_COMMANDS
    return launcher_info(name).run_commands


def batch_commands() -> tuple[str, ...]:
    """The schedulers' submit commands insitu can spell options for (``sbatch`` …)."""
    seen: dict[str, None] = {}
    for info in LAUNCHERS:
        if info.batch_command is not None:
            seen.setdefault(info.batch_command)
    return tuple(seen)


def batch_dialect(batch_cmd: str) -> BatchDialect:
    """How ``batch_cmd``'s scheduler spells batch options and script directives.

    ``batch_cmd`` must be one of :func:`batch_commands` (``KeyError`` otherwise: callers
    check user input against that list first).
    """
    for info in LAUNCHERS:
        if info.batch_command == batch_cmd and info.batch_dialect is not None:
            return info.batch_dialect()
    raise KeyError(batch_cmd)


def run_command_name(launcher: str, program: str) -> str:
    """The run command ``program`` (e.g. ``mpiexec``) names under ``launcher``: the entry of
    its candidates whose program it is (``pals`` for ``mpiexec`` under ``pals``), else
    ``program`` itself. Unknown launcher → ``UnknownLauncherError``."""
    from insitu.launchers.run_commands import REGISTRY

    for name in run_command_candidates(launcher) or ():
        if REGISTRY[name].program == program:
            return name
    return program


def batch_command_of(settings_class: str) -> str:
    """The submit command of the batch settings class named ``settings_class``."""
    for info in LAUNCHERS:
        if info.batch_settings == settings_class and info.batch_command is not None:
            return info.batch_command
    raise KeyError(settings_class)


def rules_executors() -> tuple[str, ...]:
    """Executor names a rules file (``insitu ensemble``) may choose, in registry order."""
    return tuple(info.name for info in LAUNCHERS if info.rules_executor)


__all__ = [
    "AUTO",
    "LAUNCHER_ENV",
    "KNOWN_LAUNCHERS",
    "LAUNCHERS",
    "LauncherInfo",
    "available_launchers",
    "batch_command_of",
    "batch_commands",
    "batch_dialect",
    "check_spec",
    "create_launcher",
    "detect_launcher",
    "detection_report",
    "launcher_info",
    "resolve_launcher_name",
    "rules_executors",
    "run_command_candidates",
    "run_command_name",
    "runs_on_other_hosts",
]
