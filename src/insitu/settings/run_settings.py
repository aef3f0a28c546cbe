"""RunSettings: SmartSim's base run settings, a thin face over the neutral :class:`JobSpec`.

The base class behaves as SmartSim 0.8's ``RunSettings`` (so a SmartSim driver ports by
changing imports): ``run_args`` is a dict of run-command arguments kept as given (names with
their leading dashes stripped by :meth:`RunSettings.set`), ``format_run_args`` passes them
literally, ``run_command`` may be any program (a site wrapper, ``echo`` in tests), and
``env_vars`` keeps ``None`` values (formatted ``NAME=``).

Mapping onto the neutral job description (:meth:`RunSettings.to_job_spec`):

========================  ==========================================================
``exe`` / ``exe_args``    ``JobSpec.exe`` / ``JobSpec.args``
``env_vars``              ``JobSpec.env`` (``None`` values: inherited, left out)
``run_command``           ``JobSpec.run_command`` (a known one translated natively, any
                          other program with its ``run_args`` passed literally)
``run_args``              ``JobSpec.run_args``; a subclass lifts the arguments listed in
                          its ``resource_args`` table into :class:`Resources`
``set_nodes`` …           base class: :class:`Resources` fields (nodes, tasks,
                          tasks_per_node, cpus_per_task, hosts, cpu_pinning, walltime)
``mpmd``                  ``JobSpec.mpmd``
========================  ==========================================================

The base class has no run command of its own, so SmartSim logs "not implemented for this
RunSettings type" for its setters. insitu logs the same warning, but never drops a request:
the neutral ones are recorded as :class:`Resources` (the launcher honours them or refuses the
job before it starts: the local launcher enforces walltime, pins CPUs and sets
``OMP_NUM_THREADS``, and refuses more than one node or task), and the others make
:meth:`to_job_spec` raise ``UnsupportedOptionError`` at launch.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from insitu import _checks as tc
from insitu.errors import (
    ExecutableNotFoundError,
    InsituError,
    NotExecutableError,
    UnsupportedOptionError,
)
from insitu.jobs.entity_types import EntityType
from insitu.jobs.resources import Resources
from insitu.jobs.spec import JobSpec, RunArgs
from insitu.log import get_logger
from insitu.settings import _values as val

logger = get_logger("insitu.settings")
"""The one logger of every settings class (SmartSim's ``smartsim.settings.*.logger``)."""

_NO_ENV: Mapping[str, str] = MappingProxyType({})


def expand_exe_path(exe: object) -> str:
    """Absolute path of ``exe``: a name on ``PATH`` or an executable file.

    ``ExecutableNotFoundError`` (a ``FileNotFoundError``) when there is none;
    ``NotExecutableError`` (also a ``TypeError``, as SmartSim raises) for a file without
    execute permission.
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


def fmt_dict(value: Mapping[str, object]) -> str:
    """``key = value`` lines, tab-indented (SmartSim's ``__str__`` layout)."""
    return "\n".join(f"\t{key} = {item}" for key, item in value.items())


class RunSettings:
    """How to run one executable: program, arguments, environment, run command.

    ``exe`` is ``[absolute path]`` (kept literally under a ``container``); ``exe_args`` a
    ``str`` (split on white space, as SmartSim) or a list of ``str``; ``run_args`` and
    ``env_vars`` are copied. Unknown keyword arguments are accepted and ignored, as SmartSim's
    base class does (with a warning naming them).
    """

    reserved_run_args: ClassVar[frozenset[str]] = frozenset()
    """Run-argument names insitu sets itself; :meth:`set` refuses them with a warning."""

    resource_args: ClassVar[Mapping[str, str]] = {}
    """Run-argument name → :class:`Resources` field lifted out by :meth:`to_job_spec`."""

    spec_run_command: ClassVar[str | None] = None
    """The run command's name in :mod:`insitu.launchers.run_commands` when it differs from
    the program (PALS' ``mpiexec`` is ``pals``)."""

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_command: str = "",
        run_args: Mapping[str, Any] | None = None,
        env_vars: Mapping[str, Any] | None = None,
        container: object | None = None,
        **kwargs: Any,
    ) -> None:
        if container is not None:
            from insitu.settings.containers import Container

            tc.check_type("container", container, Container)
            self.exe: list[str] = [tc.check_str("exe", exe)]
        else:
            self.exe = [expand_exe_path(exe)]
        if kwargs:
            logger.warning("RunSettings ignores the keyword arguments %s", sorted(kwargs))
        self.exe_args = exe_args
        self.run_args = run_args
        self.env_vars = env_vars
        self.container = container
        self._run_command = (
            ""
            if run_command is None
            else tc.check_str("run_command", run_command, allow_empty=True)
        )
        self.in_batch = False
        self.colocated_db_settings: dict[str, Any] | None = None
        self.mpmd: list[RunSettings] = []
        self._resources = Resources()
        self._refused: dict[str, object] = {}

    # -- SmartSim attributes ---------------------------------------------------------------

    @property
    def exe_args(self) -> list[str]:
        """Arguments of the executable."""
        return self._exe_args

    @exe_args.setter
    def exe_args(self, value: str | list[str] | None) -> None:
        self._exe_args = val.exe_args(value)

    @property
    def run_args(self) -> dict[str, Any]:
        """Run-command arguments by name; ``None`` is a bare flag."""
        return self._run_args

    @run_args.setter
    def run_args(self, value: Mapping[str, Any] | None) -> None:
        self._run_args = val.copied_dict("run_args", value)

    @property
    def env_vars(self) -> dict[str, str | None]:
        """Environment of the job; ``None`` means "inherit" (formatted ``NAME=``)."""
        return self._env_vars

    @env_vars.setter
    def env_vars(self, value: Mapping[str, Any] | None) -> None:
        self._env_vars = val.env_vars(value)

    @property
    def run_command(self) -> str | None:
        """The run command, expanded to its path when it is on ``PATH``; ``None`` for none."""
        if not self._run_command:
            return None
        found = shutil.which(self._run_command)
        return os.path.abspath(found) if found else self._run_command

    @property
    def resources(self) -> Resources:
        """What the neutral setters recorded (see the module docstring)."""
        return self._resources

    # -- base setters: recorded neutrally or refused at launch -----------------------------------

    def _not_implemented(self, what: str, detail: str) -> None:
        logger.warning(
            "%s specification not implemented for this RunSettings type: %s (%s)",
            what, type(self).__name__, detail,
        )  # fmt: skip

    def _record(self, what: str, **change: Any) -> None:
        self._not_implemented(what, "recorded as a resource request the launcher checks")
        self._resources = replace(self._resources, **change)

    def _refuse(self, what: str, option: str, value: object) -> None:
        self._not_implemented(what, "the launch will refuse it: choose a run command class")
        if value is None or value is False or value in ([], ()):
            self._refused.pop(option, None)
        else:
            self._refused[option] = value

    def set_nodes(self, nodes: int) -> None:
        """Number of nodes (see the module docstring for the base class)."""
        self._record("Node", nodes=val.positive("nodes", nodes))

    def set_tasks(self, tasks: int) -> None:
        """Total number of tasks."""
        self._record("Task", tasks=val.positive("tasks", tasks))

    def set_tasks_per_node(self, tasks_per_node: int) -> None:
        """Tasks on each node."""
        self._record("Task per node", tasks_per_node=val.positive("tasks_per_node", tasks_per_node))

    def set_cpus_per_task(self, cpus_per_task: int) -> None:
        """CPUs of each task."""
        self._record("CPU per node", cpus_per_task=val.positive("cpus_per_task", cpus_per_task))

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """Hosts to run on."""
        self._record("Hostlist", hosts=tuple(val.host_list(host_list)))

    def set_cpu_bindings(self, bindings: int | list[int]) -> None:
        """CPU ids to pin to."""
        self._record("CPU binding", cpu_pinning=tuple(val.int_list("bindings", bindings)))

    def set_walltime(self, walltime: str) -> None:
        """Time limit: ``"HH:MM:SS"`` or seconds (``"0"``: none)."""
        self._record("Walltime", walltime=val.walltime_seconds(walltime))

    def set_time(self, hours: int = 0, minutes: int = 0, seconds: int = 0) -> None:
        """Time limit from its parts, formatted by :meth:`_fmt_walltime`."""
        self.set_walltime(self._fmt_walltime(int(hours), int(minutes), int(seconds)))

    def _fmt_walltime(self, hours: int, minutes: int, seconds: int) -> str:
        """Total seconds (SmartSim's default walltime format)."""
        return str(hours * 3600 + minutes * 60 + seconds)

    def set_task_map(self, task_mapping: str) -> None:
        """Task mapping (a run command's own vocabulary)."""
        self._refuse("Task mapping", "task_map", task_mapping)

    def set_node_feature(self, feature_list: str | list[str]) -> None:
        """Node features (constraints) the job needs."""
        self._refuse("Node feature", "node_feature", feature_list)

    def set_hostlist_from_file(self, file_path: str) -> None:
        """Hosts listed in a file."""
        self._refuse("Hostlist from file", "hostlist_from_file", file_path)

    def set_excluded_hosts(self, host_list: str | list[str]) -> None:
        """Hosts not to run on."""
        self._refuse("Excluded host list", "excluded_hosts", host_list)

    def set_memory_per_node(self, memory_per_node: int) -> None:
        """Memory per node in megabytes."""
        self._refuse("Memory per node", "memory_per_node", memory_per_node)

    def set_verbose_launch(self, verbose: bool) -> None:
        """Verbose run command output."""
        self._refuse("Verbose", "verbose", verbose)

    def set_quiet_launch(self, quiet: bool) -> None:
        """Quiet run command output."""
        self._refuse("Quiet", "quiet", quiet)

    def set_broadcast(self, dest_path: str | None = None) -> None:
        """Copy the executable to the compute nodes first."""
        self._refuse("Broadcast", "broadcast", dest_path or True)

    def set_binding(self, binding: str) -> None:
        """Process binding."""
        self._refuse("binding", "binding", binding)

    def set_mpmd_preamble(self, preamble_lines: list[str]) -> None:
        """ERF-file preamble of an MPMD job (jsrun)."""
        self._refuse("MPMD preamble", "mpmd_preamble", preamble_lines)

    def make_mpmd(self, settings: RunSettings) -> None:
        """Another program of the same MPMD launch (needs a run command class)."""
        self._refuse("Make MPMD", "make_mpmd", settings)

    # -- arguments and environment ------------------------------------------------------------

    def update_env(self, env_vars: Mapping[str, str | int | float | bool]) -> None:
        """Add or replace variables (``str``, ``int``, ``float`` or ``bool``, stored as str)."""
        self._env_vars.update(val.env_update(env_vars))

    def add_exe_args(self, args: str | list[str]) -> None:
        """Append executable arguments (a ``str`` is split on white space)."""
        self._exe_args.extend(val.exe_args(args, nested=False))

    def set(self, arg: str, value: str | None = None, condition: bool = True) -> None:
        """Set run argument ``arg`` (leading dashes and spaces stripped) to ``value``.

        ``value`` is a ``str`` or ``None`` (a flag), else ``TypeError``. Nothing is set when
        ``condition`` is false (logged) or the argument is reserved (warned).
        """
        if not isinstance(arg, str):
            raise tc.type_error("arg", arg, "a str")
        if value is not None and not isinstance(value, str):
            raise tc.type_error("value", value, "a str or None")
        name = arg.strip().lstrip("-")
        if not condition:
            logger.info("Could not set argument '%s': condition not met", name)
            return
        if name in self.reserved_run_args:
            logger.warning(
                "Could not set argument '%s': it is a reserved argument of '%s'",
                name, type(self).__name__,
            )  # fmt: skip
            return
        if name in self._run_args and value != self._run_args[name]:
            logger.warning("Overwriting argument '%s' with value '%s'", name, value)
        self._run_args[name] = value

    def format_run_args(self) -> list[str]:
        """Run arguments passed literally: ``[name, str(value), …]``."""
        formatted: list[str] = []
        for arg, value in self._run_args.items():
            formatted += [arg, str(value)]
        return formatted

    def format_env_vars(self) -> list[str]:
        """``NAME=value`` strings (``NAME=`` for ``None``)."""
        return [f"{k}=" if v is None else f"{k}={v}" for k, v in self._env_vars.items()]

    # -- neutral job description ------------------------------------------------------------

    def to_job_spec(
        self,
        name: str,
        cwd: Path,
        out_path: Path,
        err_path: Path,
        *,
        extra_env: Mapping[str, str] = _NO_ENV,
        entity_type: EntityType = EntityType.MODEL,
    ) -> JobSpec:
        """The neutral :class:`JobSpec` of these settings (see the module docstring).

        ``extra_env`` (e.g. the store connection) overlays ``env_vars``. Raises
        ``UnsupportedOptionError`` for a request the base class recorded but no run command
        of it can express, and for a container (insitu runs no container engine yet).
        """
        if self.container is not None:
            raise UnsupportedOptionError(
                "container", "insitu", "containers are values here; launching one is not "
                "supported yet"
            )  # fmt: skip
        if self._refused:
            option = sorted(self._refused)[0]
            raise UnsupportedOptionError(
                option, type(self).__name__, "use the RunSettings class of a run command "
                "that has it (create_run_settings picks one)"
            )  # fmt: skip
        extra = tc.check_scalar_mapping("extra_env", extra_env)
        base = JobSpec(
            name=tc.check_str("name", name),
            exe="",
            cwd=Path(cwd),
            out_path=Path(out_path),
            err_path=Path(err_path),
            entity_type=EntityType(entity_type),
        )
        mpmd = tuple(
            other._spec(replace(base, name=f"{name}_mpmd_{i}"), extra, ())
            for i, other in enumerate(self.mpmd)
            if other is not self
        )
        return self._spec(base, extra, mpmd)

    def _spec(
        self, base: JobSpec, extra_env: Mapping[str, str], mpmd: tuple[JobSpec, ...]
    ) -> JobSpec:
        """``base`` (name, paths, type) completed with this program's part."""
        resources, run_args = self._neutral()
        env = {k: v for k, v in self._env_vars.items() if v is not None}
        return replace(
            base,
            exe=self.exe[0],
            args=tuple(self._exe_args),
            env={**env, **extra_env},
            resources=resources,
            run_command=self.spec_run_command or self._run_command or None,
            run_args=run_args,
            mpmd=mpmd,
        )

    def _neutral(self) -> tuple[Resources, RunArgs]:
        """Resources and the remaining run args (see :attr:`resource_args`)."""
        resources = self._resources
        rest: list[tuple[str, str | None]] = []
        for arg, value in self._run_args.items():
            name = arg.strip().lstrip("-") if self._known_run_command() else arg
            field = self.resource_args.get(name)
            if field is not None:
                try:
                    change: dict[str, Any] = {field: val.to_resource(field, value)}
                    resources = replace(resources, **change)
                    continue
                except (InsituError, ValueError, TypeError):
                    pass  # not in the neutral form: passed on as the run arg it is
            rest.append((name, None if value is None else str(value)))
        return resources, tuple(rest)

    def _known_run_command(self) -> bool:
        from insitu.launchers.run_commands import REGISTRY

        return os.path.basename(self._run_command) in REGISTRY

    def __deepcopy__(self, memo: dict[int, Any]) -> RunSettings:
        clone = copy.copy(self)
        memo[id(self)] = clone
        for key, item in self.__dict__.items():
            setattr(clone, key, copy.deepcopy(item, memo))
        return clone

    def __str__(self) -> str:
        text = f"Executable: {self.exe[0]}\nExecutable Arguments: {' '.join(self._exe_args)}"
        if self.run_command:
            text += f"\nRun Command: {self._run_command}"
        if self._run_args:
            text += f"\nRun Arguments:\n{fmt_dict(self._run_args)}"
        if self.colocated_db_settings:
            text += "\nCo-located Database: True"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(exe={self.exe[0]!r}, run_command={self._run_command!r})"


__all__ = ["RunSettings", "expand_exe_path", "fmt_dict", "logger"]
