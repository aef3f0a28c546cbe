"""MPI run commands: ``MpirunSettings``, ``MpiexecSettings``, ``OrterunSettings`` (Open MPI
style) and Cray PALS' ``PalsMpiexecSettings``, as in SmartSim 0.8.

Mapping onto the neutral job description (Open MPI classes; PALS in brackets):

========================  ========================  ==============================
setter                    run arg                   JobSpec
========================  ========================  ==============================
``set_tasks``             ``n`` [``np``]            ``resources.tasks``
``set_hostlist``          ``host`` [``hosts``]      ``resources.hosts``
``set_walltime``          ``timeout`` (seconds)     ``resources.walltime``
``set_tasks_per_node``    ``npernode`` [``ppn``]    ``run_args`` [``resources.tasks_per_node``]
``set_cpus_per_task``     ``cpus-per-proc``         ``run_args``
``set_task_map`` …        ``map-by`` …              ``run_args``
========================  ========================  ==============================

The run command must be on ``PATH`` when the settings are made: with
``fail_if_missing_exec=True`` (the default) a missing one raises ``LauncherError``, else a
warning is logged. An ``mpiexec`` that is Slurm's wrapper raises ``UnsupportedOptionError``
(SmartSim's ``SSUnsupportedError``): use ``SrunSettings``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from typing import Any, ClassVar

from insitu.errors import LauncherError, UnsupportedOptionError
from insitu.settings import _values as val
from insitu.settings.run_settings import RunSettings, logger


class _BaseMPISettings(RunSettings):
    """Settings shared by the Open MPI style run commands."""

    reserved_run_args: ClassVar[frozenset[str]] = frozenset({"wd", "wdir"})
    resource_args: ClassVar[Mapping[str, str]] = {
        "n": "tasks", "np": "tasks", "host": "hosts", "timeout": "walltime",
    }  # fmt: skip

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_command: str = "mpiexec",
        run_args: Mapping[str, Any] | None = None,
        env_vars: Mapping[str, Any] | None = None,
        fail_if_missing_exec: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            exe, exe_args, run_command=run_command, run_args=run_args, env_vars=env_vars,
            **kwargs,
        )  # fmt: skip
        self.affinity_script: list[str] = []
        if not shutil.which(self._run_command):
            msg = f"Cannot find {run_command}. Try passing the full path via run_command."
            if fail_if_missing_exec:
                raise LauncherError(msg)
            logger.warning(msg)

    def make_mpmd(self, settings: RunSettings) -> None:
        """Run ``settings`` as another program of this launch (``:``-separated)."""
        if self.colocated_db_settings:
            raise UnsupportedOptionError(
                "make_mpmd", type(self).__name__, "colocated models cannot be run as MPMD"
            )
        self.mpmd.append(settings)

    def set_task_map(self, task_mapping: str) -> None:
        """``--map-by``."""
        self.run_args["map-by"] = task_mapping

    def set_cpus_per_task(self, cpus_per_task: int) -> None:
        """``--cpus-per-proc``."""
        self.run_args["cpus-per-proc"] = val.as_int("cpus_per_task", cpus_per_task)

    def set_cpu_binding_type(self, bind_type: str) -> None:
        """``--bind-to``."""
        self.run_args["bind-to"] = bind_type

    def set_tasks_per_node(self, tasks_per_node: int) -> None:
        """``--npernode``."""
        self.run_args["npernode"] = val.as_int("tasks_per_node", tasks_per_node)

    def set_tasks(self, tasks: int) -> None:
        """``--n``."""
        self.run_args["n"] = val.as_int("tasks", tasks)

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """``--host``."""
        self.run_args["host"] = ",".join(val.host_list(host_list))

    def set_hostlist_from_file(self, file_path: str) -> None:
        """``--hostfile``."""
        self.run_args["hostfile"] = file_path

    def set_verbose_launch(self, verbose: bool) -> None:
        """``--verbose`` (``False`` removes it)."""
        if verbose:
            self.run_args["verbose"] = None
        else:
            self.run_args.pop("verbose", None)

    def set_quiet_launch(self, quiet: bool) -> None:
        """``--quiet`` (``False`` removes it)."""
        if quiet:
            self.run_args["quiet"] = None
        else:
            self.run_args.pop("quiet", None)

    def set_broadcast(self, dest_path: str | None = None) -> None:
        """``--preload-binary`` (the destination is always the session directory)."""
        if isinstance(dest_path, str):
            logger.warning(
                "%s cannot set a destination path during broadcast; using the session "
                "directory instead", type(self).__name__,
            )  # fmt: skip
        self.run_args["preload-binary"] = None

    def set_walltime(self, walltime: str) -> None:
        """``--timeout`` in seconds."""
        self.run_args["timeout"] = str(walltime)

    def format_run_args(self) -> list[str]:
        """``--name value`` / ``--flag``; ``wd``/``wdir`` left out (insitu sets them)."""
        args: list[str] = []
        for opt, value in self.run_args.items():
            if opt in self.reserved_run_args:
                continue
            args += [f"--{opt}"] if not value else [f"--{opt}", str(value)]
        return args

    def format_env_vars(self) -> list[str]:
        """``-x NAME=value`` (``-x NAME`` to pass on the current value)."""
        formatted: list[str] = []
        for name, value in self.env_vars.items():
            formatted += ["-x", f"{name}={value}" if value else name]
        return formatted


class MpirunSettings(_BaseMPISettings):
    """``mpirun`` (Open MPI)."""

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_args: Mapping[str, Any] | None = None,
        env_vars: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(exe, exe_args, "mpirun", run_args, env_vars, **kwargs)


class MpiexecSettings(_BaseMPISettings):
    """``mpiexec`` (Open MPI); Slurm's ``mpiexec`` wrapper is refused."""

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_args: Mapping[str, Any] | None = None,
        env_vars: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(exe, exe_args, "mpiexec", run_args, env_vars, **kwargs)
        if _is_slurm_mpiexec(self._run_command):
            raise UnsupportedOptionError(
                "run_command='mpiexec'", "insitu", "this mpiexec is Slurm's wrapper; use "
                "SrunSettings (run_command='srun')"
            )  # fmt: skip


def _is_slurm_mpiexec(command: str) -> bool:
    path = shutil.which(command)
    if path is None:
        return False
    try:
        out = subprocess.run(
            [path, "--help"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return "mpiexec.slurm" in out.stdout + out.stderr


class OrterunSettings(_BaseMPISettings):
    """``orterun`` (Open MPI)."""

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_args: Mapping[str, Any] | None = None,
        env_vars: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(exe, exe_args, "orterun", run_args, env_vars, **kwargs)


class PalsMpiexecSettings(_BaseMPISettings):
    """Cray PALS ``mpiexec`` (launcher ``pals``): its own flag names."""

    resource_args: ClassVar[Mapping[str, str]] = {
        "np": "tasks", "ppn": "tasks_per_node", "hosts": "hosts",
    }  # fmt: skip
    spec_run_command: ClassVar[str | None] = "pals"

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_args: Mapping[str, Any] | None = None,
        env_vars: Mapping[str, Any] | None = None,
        fail_if_missing_exec: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            exe, exe_args, "mpiexec", run_args, env_vars, fail_if_missing_exec, **kwargs
        )

    def _unsupported(self, what: str) -> None:
        logger.warning("%s not supported under PALS", what)

    def set_task_map(self, task_mapping: str) -> None:
        """Not available with PALS (logged)."""
        self._unsupported("set_task_map")

    def set_cpus_per_task(self, cpus_per_task: int) -> None:
        """Not available with PALS (logged)."""
        self._unsupported("set_cpus_per_task")

    def set_quiet_launch(self, quiet: bool) -> None:
        """Not available with PALS (logged)."""
        self._unsupported("set_quiet_launch")

    def set_walltime(self, walltime: str) -> None:
        """Not available with PALS (logged)."""
        self._unsupported("set_walltime")

    def set_cpu_binding_type(self, bind_type: str) -> None:
        """``--cpu-bind``."""
        self.run_args["cpu-bind"] = bind_type

    def set_tasks(self, tasks: int) -> None:
        """``--np``."""
        self.run_args["np"] = val.as_int("tasks", tasks)

    def set_tasks_per_node(self, tasks_per_node: int) -> None:
        """``--ppn``."""
        self.run_args["ppn"] = val.as_int("tasks_per_node", tasks_per_node)

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """``--hosts``."""
        self.run_args["hosts"] = ",".join(val.host_list(host_list))

    def set_broadcast(self, dest_path: str | None = None) -> None:
        """``--transfer``."""
        self.run_args["transfer"] = None

    def set_gpu_affinity_script(self, affinity: str, *args: Any) -> None:
        """A script (and its arguments) run before the executable to bind GPUs."""
        self.affinity_script += [str(affinity), *(str(arg) for arg in args)]

    def format_run_args(self) -> list[str]:
        """As the Open MPI classes, then the affinity script."""
        return super().format_run_args() + self.affinity_script

    def format_env_vars(self) -> list[str]:
        """``--env NAME=value``; variables without a value in one ``--envlist A,B``."""
        formatted: list[str] = []
        inherit: list[str] = []
        for name, value in self.env_vars.items():
            if value:
                formatted += ["--env", f"{name}={value}"]
            else:
                inherit.append(name)
        if inherit:
            formatted += ["--envlist", ",".join(inherit)]
        return formatted


__all__ = [
    "MpiexecSettings",
    "MpirunSettings",
    "OrterunSettings",
    "PalsMpiexecSettings",
    "_BaseMPISettings",
]
