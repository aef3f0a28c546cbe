"""RunSettings: how to run one program — SmartSim's setters onto a neutral :class:`JobSpec`.

One class serves every run command. Setters whose meaning is the same everywhere (nodes,
tasks, tasks per node, CPUs per task, hosts, walltime, CPU pinning) are recorded neutrally
and become :class:`~insitu.jobs.Resources`; options that only some run commands have
(hostfile, excluded hosts, memory, verbose/quiet, broadcast, binding) are stored in
``run_args`` under the run command's own argument name, and raise
``UnsupportedOptionError`` at once when the run command has no such option. Nothing is
silently dropped.

Differences from SmartSim: a ``str`` of ``exe_args`` is split with :mod:`shlex` (quotes are
honoured); ``container`` and unknown keyword arguments raise ``UnsupportedOptionError``
instead of being ignored; ``run_command="auto"`` must be resolved first with
:func:`~insitu.launchers.run_commands.detect_run_command` (``Experiment.create_run_settings``
does this).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from insitu import _checks as tc
from insitu._checks import parse_walltime
from insitu.errors import InvalidArgumentError, UnsupportedOptionError
from insitu.jobs.entity_types import EntityType
from insitu.jobs.resources import Resources
from insitu.jobs.spec import JobSpec, RunArgs
from insitu.launchers import run_commands
from insitu.log import get_logger
from insitu.settings._arguments import (
    build_exe_args,
    check_arg_name,
    check_run_args,
    check_run_command,
    resolve_exe,
)

logger = get_logger("insitu.settings")

_NO_ENV: Mapping[str, str] = MappingProxyType({})


class RunSettings:
    """How to run one executable: program, arguments, environment and resources.

    Contract: ``exe`` is ``[absolute path]`` once constructed; every setter validates its
    argument at the call (``ParameterTypeError`` for a wrong type, ``InvalidArgumentError``
    for a bad value, ``UnsupportedOptionError`` for an option the run command lacks);
    :meth:`to_job_spec` turns the settings into the neutral :class:`JobSpec`.
    """

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_command: str = "",
        run_args: Mapping[str, str | int | float | None] | None = None,
        env_vars: Mapping[str, str | int | float] | None = None,
        container: object = None,
        **kwargs: object,
    ) -> None:
        if container is not None:
            raise UnsupportedOptionError("container", "insitu", "containers are not supported")
        if kwargs:
            raise UnsupportedOptionError(f"RunSettings({', '.join(sorted(kwargs))}=…)", "insitu")
        self.exe: list[str] = [resolve_exe(exe)]
        self._run_command = check_run_command(run_command)
        self.exe_args = build_exe_args(exe_args)
        self.run_args = run_args
        self.env_vars = env_vars
        self.container = None
        self.mpmd: list[RunSettings] = []
        self._resources = Resources()

    # -- SmartSim attributes ---------------------------------------------------------------

    @property
    def exe_args(self) -> list[str]:
        """Arguments of the executable (a list; a ``str`` given is split like a shell)."""
        return self._exe_args

    @exe_args.setter
    def exe_args(self, value: str | list[str] | None) -> None:
        self._exe_args = build_exe_args(value)

    @property
    def run_args(self) -> dict[str, str | None]:
        """Run-command arguments by name (no dashes); ``None`` is a bare flag."""
        return self._run_args

    @run_args.setter
    def run_args(self, value: Mapping[str, str | int | float | None] | None) -> None:
        self._run_args = check_run_args(value, self._run_command)

    @property
    def env_vars(self) -> dict[str, str]:
        """Environment variables of the job (values kept as ``str``)."""
        return self._env_vars

    @env_vars.setter
    def env_vars(self, value: Mapping[str, str | int | float] | None) -> None:
        self._env_vars = {} if value is None else tc.check_scalar_mapping("env_vars", value)

    @property
    def run_command(self) -> str | None:
        """The run command (name or path) or ``None`` to execute the program directly."""
        return self._run_command

    @property
    def resources(self) -> Resources:
        """The neutrally recorded resource request."""
        return self._resources

    # -- neutral setters ---------------------------------------------------------------------

    def _set_resource(self, **change: object) -> None:
        self._resources = replace(self._resources, **change)  # type: ignore[arg-type]

    def set_nodes(self, nodes: int) -> None:
        """Number of nodes (≥ 1)."""
        self._set_resource(nodes=tc.check_int("nodes", nodes))

    def set_tasks(self, tasks: int) -> None:
        """Total number of tasks (≥ 1)."""
        self._set_resource(tasks=tc.check_int("tasks", tasks))

    def set_tasks_per_node(self, tasks_per_node: int) -> None:
        """Tasks on each node (≥ 1)."""
        self._set_resource(tasks_per_node=tc.check_int("tasks_per_node", tasks_per_node))

    def set_cpus_per_task(self, cpus_per_task: int) -> None:
        """CPUs for each task (≥ 1)."""
        self._set_resource(cpus_per_task=tc.check_int("cpus_per_task", cpus_per_task))

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """Hosts to run on: one name or a list of names."""
        hosts = [h.strip() for h in tc.check_str_list("host_list", host_list)]
        for host in hosts:
            if not host or "," in host or " " in host:
                raise InvalidArgumentError(f"host_list holds a bad host name {host!r}")
        self._set_resource(hosts=tuple(hosts))

    def set_cpu_bindings(self, bindings: int | list[int]) -> None:
        """Pin to these CPU ids (one id or a list)."""
        ids = [bindings] if isinstance(bindings, int) else bindings
        if not isinstance(ids, list | tuple):
            raise tc.type_error("bindings", bindings, "an int or a list of int")
        pins = tuple(tc.check_int(f"bindings[{i}]", cpu, minimum=0) for i, cpu in enumerate(ids))
        self._set_resource(cpu_pinning=pins)

    def set_walltime(self, walltime: str) -> None:
        """Time limit as ``"HH:MM:SS"``."""
        self._set_resource(walltime=parse_walltime(walltime))

    def set_time(self, hours: int = 0, minutes: int = 0, seconds: int = 0) -> None:
        """Time limit from its parts (each ≥ 0, total > 0)."""
        parts = [tc.check_int(n, v, 0) for n, v in (("hours", hours), ("minutes", minutes),
                                                   ("seconds", seconds))]  # fmt: skip
        total = parts[0] * 3600 + parts[1] * 60 + parts[2]
        if total <= 0:
            raise InvalidArgumentError("set_time needs a time longer than zero")
        self._set_resource(walltime=float(total))

    # -- options only some run commands have ---------------------------------------------------

    def _record(self, option: str, value: str | None) -> None:
        self._run_args[run_commands.option_name(self._run_command, option)] = value

    def _toggle(self, option: str, name: str, enabled: object) -> None:
        if tc.check_bool(name, enabled):
            self._record(option, None)
            return
        try:
            spelled = run_commands.option_name(self._run_command, option)
        except UnsupportedOptionError:
            return  # switching off an option the run command does not have changes nothing
        self._run_args.pop(spelled, None)

    def set_hostlist_from_file(self, file_path: str) -> None:
        """Hosts listed in a file (read by the run command, possibly on another machine)."""
        self._record("hostfile", tc.check_str("file_path", os.fspath(file_path)))

    def set_excluded_hosts(self, host_list: str | list[str]) -> None:
        """Hosts not to run on."""
        self._record("excluded_hosts", ",".join(tc.check_str_list("host_list", host_list)))

    def set_memory_per_node(self, memory_per_node: int) -> None:
        """Memory per node in megabytes."""
        self._record("memory_per_node", f"{tc.check_int('memory_per_node', memory_per_node)}M")

    def set_verbose_launch(self, verbose: bool) -> None:
        """Ask the run command for verbose output (``False`` removes the request)."""
        self._toggle("verbose", "verbose", verbose)

    def set_quiet_launch(self, quiet: bool) -> None:
        """Ask the run command to be quiet (``False`` removes the request)."""
        self._toggle("quiet", "quiet", quiet)

    def set_broadcast(self, dest_path: str | None = None) -> None:
        """Copy the executable to the compute nodes first (``srun --bcast``)."""
        value = None if dest_path is None else tc.check_str("dest_path", dest_path)
        self._record("broadcast", value)

    def set_binding(self, binding: str) -> None:
        """Binding policy in the run command's own vocabulary (e.g. ``core``, ``rs``)."""
        self._record("binding", tc.check_str("binding", binding))

    def set_mpmd_preamble(self, preamble_lines: list[str]) -> None:
        """ERF-file preambles (SmartSim's jsrun MPMD) are not supported: always raises."""
        tc.check_str_list("preamble_lines", preamble_lines)
        backend = self._run_command or run_commands.PLAIN
        raise UnsupportedOptionError("set_mpmd_preamble", backend, "ERF-file MPMD is not supported")

    def set(self, arg: str, value: str | None = None, condition: bool = True) -> None:
        """Set run argument ``arg`` (no dashes) to ``value`` (``None``: a bare flag).

        Nothing happens when ``condition`` is false (SmartSim's conditional form).
        """
        name = check_arg_name(arg, self._run_command)
        if value is not None:
            tc.check_str(f"value of {name}", value, allow_empty=True)
        if not tc.check_bool("condition", condition):
            logger.debug("run argument %s not set: condition is false", name)
            return
        if name in self._run_args and self._run_args[name] != value:
            logger.debug("run argument %s changes from %r to %r", name, self._run_args[name], value)
        self._run_args[name] = value

    # -- environment, arguments, MPMD ------------------------------------------------------------

    def update_env(self, env_vars: Mapping[str, str | int | float]) -> None:
        """Add or replace environment variables (values str/int/float, stored as ``str``)."""
        self._env_vars.update(tc.check_scalar_mapping("env_vars", env_vars))

    def add_exe_args(self, args: str | list[str]) -> None:
        """Append executable arguments (a ``str`` is split like a shell would)."""
        if not isinstance(args, str | list):
            raise tc.type_error("args", args, "a str or a list of str")
        self._exe_args.extend(build_exe_args(args))

    def make_mpmd(self, settings: RunSettings) -> None:
        """Launch ``settings`` as another program of the same MPMD job."""
        other = tc.check_type("settings", settings, RunSettings)
        if self._run_command is None:
            raise UnsupportedOptionError("make_mpmd", run_commands.PLAIN, "set a run command")
        if not run_commands.lookup(self._run_command).mpmd:
            raise UnsupportedOptionError("make_mpmd", self._run_command)
        if other is self or other.mpmd:
            raise InvalidArgumentError("an MPMD program cannot itself hold MPMD programs")
        if other.run_command is None or os.path.basename(other.run_command) != os.path.basename(
            self._run_command
        ):
            raise InvalidArgumentError(
                f"MPMD programs need the same run command ({self._run_command}), "
                f"got {other.run_command}"
            )
        self.mpmd.append(other)

    def format_run_args(self) -> list[str]:
        """Resources and run args as the run command's flags (literal pairs without one)."""
        pairs = self._run_arg_pairs()
        if self._run_command is None:
            return run_commands.format_run_args(None, pairs)
        command = run_commands.lookup(self._run_command)
        flags = command.resources(self._resources, command.name)
        return flags + run_commands.format_run_args(self._run_command, pairs)

    def format_env_vars(self) -> list[str]:
        """Environment as ``NAME=value`` strings."""
        return [f"{name}={value}" for name, value in self._env_vars.items()]

    def _run_arg_pairs(self) -> RunArgs:
        return tuple(self._run_args.items())

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
        """The neutral :class:`JobSpec` of these settings.

        ``env`` is ``env_vars`` overlaid with ``extra_env`` (e.g. the store connection, which
        therefore wins). MPMD programs become ``spec.mpmd`` with the same paths. Whether the
        launcher and run command can honour everything is checked by the launcher's
        ``validate`` (see :func:`~insitu.launchers.run_commands.translate`).
        """
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
        )
        return self._spec(base, extra, mpmd)

    def _spec(
        self, base: JobSpec, extra_env: Mapping[str, str], mpmd: tuple[JobSpec, ...]
    ) -> JobSpec:
        """``base`` (name, paths, type) completed with this program's part."""
        if len(self.exe) != 1:
            raise InvalidArgumentError(f"exe must hold exactly one path, got {self.exe!r}")
        return replace(
            base,
            exe=self.exe[0],
            args=tuple(self._exe_args),
            env={**self._env_vars, **extra_env},
            resources=self._resources,
            run_command=self._run_command,
            run_args=self._run_arg_pairs(),
            mpmd=mpmd,
        )

    def __str__(self) -> str:
        lines = [f"Executable: {self.exe[0]}", f"Executable Arguments: {' '.join(self._exe_args)}"]
        if self._run_command:
            lines.append(f"Run Command: {self._run_command}")
        if self._run_args:
            lines.append(f"Run Arguments: {self._run_args}")
        if self._resources != Resources():
            lines.append(f"Resources: {self._resources}")
        if self.mpmd:
            lines.append(f"MPMD programs: {len(self.mpmd)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"RunSettings(exe={self.exe[0]!r}, run_command={self._run_command!r})"
