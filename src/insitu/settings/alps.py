"""Cray ALPS ``aprun``: ``AprunSettings``, as in SmartSim 0.8.

==========================  ====================  ==============================
setter                      run arg               JobSpec
==========================  ====================  ==============================
``set_tasks``               ``pes``               ``resources.tasks``
``set_tasks_per_node``      ``pes-per-node``      ``resources.tasks_per_node``
``set_cpus_per_task``       ``cpus-per-pe``       ``resources.cpus_per_task``
``set_hostlist``            ``node-list``         ``resources.hosts``
``set_walltime``            ``cpu-time-limit``    ``run_args`` (a CPU-time limit per
                                                  process, not a walltime)
others                      as named              ``run_args``
==========================  ====================  ==============================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from insitu.settings import _values as val
from insitu.settings.batch_settings import format_gnu_args
from insitu.settings.run_settings import RunSettings
from insitu.settings.slurm import _colocated_or_container


class AprunSettings(RunSettings):
    """Run settings for ``aprun``."""

    resource_args: ClassVar[Mapping[str, str]] = {
        "pes": "tasks", "pes-per-node": "tasks_per_node", "cpus-per-pe": "cpus_per_task",
        "node-list": "hosts",
    }  # fmt: skip

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_args: Mapping[str, Any] | None = None,
        env_vars: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            exe, exe_args, run_command="aprun", run_args=run_args, env_vars=env_vars, **kwargs
        )

    def make_mpmd(self, settings: RunSettings) -> None:
        """Run ``settings`` as another program of this ``aprun`` (``:``-separated)."""
        _colocated_or_container(self)
        self.mpmd.append(settings)

    def set_cpus_per_task(self, cpus_per_task: int) -> None:
        """``--cpus-per-pe``."""
        self.run_args["cpus-per-pe"] = val.as_int("cpus_per_task", cpus_per_task)

    def set_tasks(self, tasks: int) -> None:
        """``--pes``."""
        self.run_args["pes"] = val.as_int("tasks", tasks)

    def set_tasks_per_node(self, tasks_per_node: int) -> None:
        """``--pes-per-node``."""
        self.run_args["pes-per-node"] = val.as_int("tasks_per_node", tasks_per_node)

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """``--node-list``."""
        self.run_args["node-list"] = ",".join(val.host_list(host_list))

    def set_hostlist_from_file(self, file_path: str) -> None:
        """``--node-list-file``."""
        self.run_args["node-list-file"] = file_path

    def set_excluded_hosts(self, host_list: str | list[str]) -> None:
        """``--exclude-node-list``."""
        self.run_args["exclude-node-list"] = ",".join(val.host_list(host_list))

    def set_cpu_bindings(self, bindings: int | list[int]) -> None:
        """``--cpu-binding``."""
        ids = val.int_list("bindings", bindings)
        self.run_args["cpu-binding"] = ",".join(str(i) for i in ids)

    def set_memory_per_node(self, memory_per_node: int) -> None:
        """``--memory-per-pe`` (megabytes)."""
        self.run_args["memory-per-pe"] = val.as_int("memory_per_node", memory_per_node)

    def set_verbose_launch(self, verbose: bool) -> None:
        """``--debug=7`` (``False`` removes it)."""
        if verbose:
            self.run_args["debug"] = 7
        else:
            self.run_args.pop("debug", None)

    def set_quiet_launch(self, quiet: bool) -> None:
        """``--quiet`` (``False`` removes it)."""
        if quiet:
            self.run_args["quiet"] = None
        else:
            self.run_args.pop("quiet", None)

    def set_walltime(self, walltime: str) -> None:
        """``--cpu-time-limit`` (seconds)."""
        self.run_args["cpu-time-limit"] = str(walltime)

    def format_run_args(self) -> list[str]:
        """As ``srun``'s spelling; ``wdir`` left out (insitu sets it)."""
        return format_gnu_args({k: v for k, v in self.run_args.items() if k != "wdir"})

    def format_env_vars(self) -> list[str]:
        """``-e NAME=value`` per variable."""
        formatted: list[str] = []
        for name, value in self.env_vars.items():
            formatted += ["-e", f"{name}={value}"]
        return formatted


__all__ = ["AprunSettings"]
