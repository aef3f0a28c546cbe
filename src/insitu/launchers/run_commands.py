"""Run commands (``srun``, ``mpirun`` …): pure translation of a :class:`JobSpec` into an argv.

Each run command is one :class:`RunCommand` value in :data:`REGISTRY`: how it spells run
arguments, which arguments insitu must own (``chdir`` …), which options recorded by
:class:`~insitu.settings.RunSettings` setters it can express, and a function that turns
:class:`~insitu.jobs.Resources` into flags. :func:`translate` raises
``UnsupportedOptionError`` for anything the run command cannot express, so nothing is
silently dropped.

``pals`` is Cray PALS' ``mpiexec``: its registry name differs from its program name because
its flags differ from Open MPI's ``mpiexec``. A ``run_command`` may be a path
(``/opt/x/bin/srun``); the registry is keyed by its basename and the path is kept as argv[0].
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields, replace

from insitu.errors import (
    InvalidArgumentError,
    MissingDependencyError,
    UnsupportedOptionError,
)
from insitu.jobs.resources import Resources
from insitu.jobs.spec import JobSpec, RunArgs
from insitu.launchers import resource_flags as flags
from insitu.launchers.registry import run_command_candidates

ArgStyle = Callable[[str, "str | None"], list[str]]


def _style_equals(name: str, value: str | None) -> list[str]:
    """``-n 4`` for one-letter names, ``--name=value`` otherwise (srun, aprun, jsrun)."""
    if len(name) == 1:
        return [f"-{name}"] if value is None else [f"-{name}", value]
    return [f"--{name}"] if value is None else [f"--{name}={value}"]


def _style_space(name: str, value: str | None) -> list[str]:
    """``-n 4`` / ``--name value`` (the MPI launchers)."""
    flag = f"-{name}" if len(name) == 1 else f"--{name}"
    return [flag] if value is None else [flag, value]


def _style_literal(name: str, value: str | None) -> list[str]:
    """Name and value as given (SmartSim's base ``RunSettings`` without a run command)."""
    return [name] if value is None else [name, value]


@dataclass(frozen=True)
class RunCommand:
    """How one run command spells things.

    ``options`` maps the neutral name of a setter-recorded option (``hostfile``,
    ``excluded_hosts``, ``memory_per_node``, ``verbose``, ``quiet``, ``broadcast``,
    ``binding``) to this command's argument name. ``conflicts`` maps a Resources field to
    the argument names it is rendered as, so a run arg that sets the same thing twice is
    refused.
    """

    name: str
    program: str
    style: ArgStyle
    resources: Callable[[Resources, str], list[str]]
    conflicts: Mapping[str, frozenset[str]]
    options: Mapping[str, str] = field(default_factory=dict)
    reserved: frozenset[str] = frozenset()
    mpmd: bool = True
    export_env: bool = False


_MPI_OPTIONS = {
    "hostfile": "hostfile",
    "verbose": "verbose",
    "quiet": "quiet",
    "binding": "bind-to",
}


def _mpi(name: str) -> RunCommand:
    return RunCommand(
        name, name, _style_space, flags.mpi, flags.MPI_CONFLICTS, _MPI_OPTIONS,
        frozenset({"wdir", "wd"}), export_env=True,
    )  # fmt: skip


REGISTRY: Mapping[str, RunCommand] = {
    "srun": RunCommand(
        "srun", "srun", _style_equals, flags.srun, flags.SRUN_CONFLICTS,
        {
            "hostfile": "nodefile", "excluded_hosts": "exclude", "memory_per_node": "mem",
            "verbose": "verbose", "quiet": "quiet", "broadcast": "bcast", "binding": "cpu-bind",
        },
        frozenset({"chdir", "D"}),
    ),
    "mpirun": _mpi("mpirun"),
    "mpiexec": _mpi("mpiexec"),
    "orterun": _mpi("orterun"),
    "pals": RunCommand(
        "pals", "mpiexec", _style_space, flags.pals, flags.PALS_CONFLICTS,
        {"hostfile": "hostfile", "verbose": "verbose", "binding": "cpu-bind"},
        frozenset({"wdir"}),
    ),
    "aprun": RunCommand(
        "aprun", "aprun", _style_equals, flags.aprun, flags.APRUN_CONFLICTS,
        {
            "hostfile": "node-list-file", "excluded_hosts": "exclude-node-list",
            "quiet": "quiet", "binding": "cc",
        },
    ),
    "jsrun": RunCommand(
        "jsrun", "jsrun", _style_equals, flags.jsrun, flags.JSRUN_CONFLICTS,
        {"binding": "bind"}, frozenset({"chdir", "h"}), mpmd=False,
    ),
}  # fmt: skip
"""Every run command insitu can translate, by name."""

RUN_COMMANDS: tuple[str, ...] = tuple(REGISTRY)

PLAIN = "plain execution (no run command)"
"""How error messages name the absence of a run command."""


def lookup(run_command: str) -> RunCommand:
    """The registry entry for a run command name or path; unknown → UnsupportedOptionError."""
    key = os.path.basename(run_command)
    try:
        return REGISTRY[key]
    except KeyError:
        raise UnsupportedOptionError(
            f"run_command={run_command!r}", "insitu", f"known run commands: {', '.join(REGISTRY)}"
        ) from None


def option_name(run_command: str | None, option: str) -> str:
    """The argument name under which ``run_command`` expresses a setter-recorded option.

    Raises ``UnsupportedOptionError`` when the run command (or plain execution) has none.
    """
    if run_command is None:
        raise UnsupportedOptionError(option, PLAIN, "choose a run command that supports it")
    command = lookup(run_command)
    if option not in command.options:
        raise UnsupportedOptionError(option, command.name)
    return command.options[option]


def reserved_args(run_command: str | None) -> frozenset[str]:
    """Run-argument names insitu sets itself for this run command (e.g. the working dir)."""
    return frozenset() if run_command is None else lookup(run_command).reserved


def format_run_args(run_command: str | None, run_args: RunArgs) -> list[str]:
    """Run arguments spelled as ``run_command`` expects them (literal pairs without one)."""
    style = _style_literal if run_command is None else lookup(run_command).style
    return [token for name, value in run_args for token in style(name, value)]


def translate(spec: JobSpec, *, handled: Collection[str] = ()) -> list[str]:
    """The full command line for ``spec``: run command, its flags, then the program(s).

    ``handled`` names :class:`Resources` fields the caller (a launcher) honours itself, e.g.
    ``{"walltime"}`` when the batch job carries the time limit; they are left out here.
    Anything else that is set and that the run command cannot express raises
    ``UnsupportedOptionError``; a run arg that duplicates a resource or is reserved raises
    ``InvalidArgumentError``.
    """
    if spec.run_command is None:
        return _translate_plain(spec, handled)
    if not is_known(spec.run_command):
        return _translate_wrapper(spec, handled)
    command = lookup(spec.run_command)
    if spec.mpmd and not command.mpmd:
        raise UnsupportedOptionError("make_mpmd", command.name, "MPMD is not supported by it")
    program = command.program if command.name == "pals" else spec.run_command
    argv = [program, *_env_flags(spec, command)]
    for index, segment in enumerate((spec, *spec.mpmd)):
        if index:
            argv.append(":")
        resources = _without(segment.resources, handled)
        _check_run_args(command, segment.run_args, resources)
        argv += command.resources(resources, command.name)
        argv += format_run_args(spec.run_command, segment.run_args)
        argv += segment.argv
    return argv


def _translate_plain(spec: JobSpec, handled: Collection[str]) -> list[str]:
    """Without a run command only a one-process job on any host is expressible."""
    if spec.run_args:
        names = ", ".join(name for name, _ in spec.run_args)
        raise UnsupportedOptionError(f"run_args ({names})", PLAIN, "set a run command")
    if spec.mpmd:
        raise UnsupportedOptionError("make_mpmd", PLAIN, "MPMD needs a run command")
    res = _without(spec.resources, handled)
    trivial = replace(res, nodes=_unless_one(res.nodes), tasks=_unless_one(res.tasks))
    trivial = replace(trivial, tasks_per_node=_unless_one(res.tasks_per_node))
    flags.reject(trivial, (), PLAIN)
    return list(spec.argv)


def is_known(run_command: str) -> bool:
    """Whether ``run_command`` (a name or path) is one insitu translates natively."""
    return os.path.basename(run_command) in REGISTRY


def _translate_wrapper(spec: JobSpec, handled: Collection[str]) -> list[str]:
    """Any other program as run command (a site wrapper): its run args passed literally
    (SmartSim's base ``RunSettings``), with the resources of a one-process job only."""
    if spec.mpmd:
        raise UnsupportedOptionError(
            "make_mpmd", spec.run_command or PLAIN, "not a known run command"
        )
    res = _without(spec.resources, handled)
    trivial = replace(res, nodes=_unless_one(res.nodes), tasks=_unless_one(res.tasks))
    trivial = replace(trivial, tasks_per_node=_unless_one(res.tasks_per_node))
    flags.reject(
        trivial, ("cpus_per_task", "walltime", "cpu_pinning", "hosts"), str(spec.run_command)
    )
    return [str(spec.run_command), *format_run_args(None, spec.run_args), *spec.argv]


def _unless_one(value: int | None) -> int | None:
    return None if value == 1 else value


def _without(resources: Resources, handled: Collection[str]) -> Resources:
    """``resources`` with the ``handled`` fields reset to "not asked for"."""
    unknown = set(handled) - {f.name for f in fields(Resources)}
    if unknown:
        raise InvalidArgumentError(f"handled names unknown Resources fields: {sorted(unknown)}")
    return replace(resources, **{name: getattr(flags.UNSET, name) for name in handled})


def _check_run_args(command: RunCommand, run_args: RunArgs, resources: Resources) -> None:
    """Refuse reserved run args and run args that set what a resource already sets."""
    names = {name for name, _ in run_args}
    reserved = names & command.reserved
    if reserved:
        raise InvalidArgumentError(
            f"run args {sorted(reserved)} are set by insitu for {command.name}; remove them"
        )
    for resource, spellings in command.conflicts.items():
        clash = names & spellings
        if clash and flags.is_set(resources, resource):
            raise InvalidArgumentError(
                f"run arg {sorted(clash)[0]!r} sets {resource} a second time for "
                f"{command.name}; use either the setter or the run arg"
            )


def _env_flags(spec: JobSpec, command: RunCommand) -> list[str]:
    """``-x NAME`` per variable for Open MPI, which does not forward the environment.

    Values stay out of argv (they may hold the store password); the launcher puts them in
    the run command's own environment. All MPMD programs therefore share one environment.
    """
    for segment in spec.mpmd:
        if dict(segment.env) != dict(spec.env):
            raise UnsupportedOptionError(
                "env_vars differing between MPMD programs", command.name,
                "all programs of one launch share its environment",
            )  # fmt: skip
    if not command.export_env:
        return []
    return [token for name in sorted(spec.env) for token in ("-x", name)]


def detect_run_command(
    launcher: str, which: Callable[[str], str | None] = shutil.which
) -> str | None:
    """The run command that ``run_command="auto"`` means for ``launcher`` (SmartSim's order).

    ``local`` (and ``flux``/``dragon``, which place jobs themselves) → ``None``: the program
    is executed directly, without a run command. Otherwise the first of the launcher's
    candidates (:func:`insitu.launchers.registry.run_command_candidates`) found on ``PATH``
    by ``which``; none found → ``MissingDependencyError`` naming the candidates. An unknown
    launcher name raises ``UnknownLauncherError``.
    """
    candidates = run_command_candidates(launcher)
    if candidates is None:
        return None
    for name in candidates:
        if which(REGISTRY[name].program):
            return name
    searched = ", ".join(REGISTRY[name].program for name in candidates)
    raise MissingDependencyError(
        f"a run command for launcher {launcher!r}",
        f"none of {searched} is on PATH; install one or pass run_command explicitly",
    )
