"""Slurm: ``SrunSettings`` (``srun``) and ``SbatchSettings`` (``sbatch``), as in SmartSim 0.8.

Setters write SmartSim's run/batch argument names; :meth:`RunSettings.to_job_spec` lifts
these into the neutral :class:`~insitu.jobs.Resources` (the rest stay ``run_args`` and are
spelled by :mod:`insitu.launchers.run_commands`):

=========================  ==================  ==============================
setter                     run arg             JobSpec
=========================  ==================  ==============================
``set_nodes``              ``nodes``           ``resources.nodes``
``set_tasks``              ``ntasks``          ``resources.tasks``
``set_tasks_per_node``     ``ntasks-per-node`` ``resources.tasks_per_node``
``set_cpus_per_task``      ``cpus-per-task``   ``resources.cpus_per_task``
``set_hostlist``           ``nodelist``        ``resources.hosts``
``set_walltime``           ``time``            ``resources.walltime`` (seconds)
``alloc``                  —                   ``JobSpec.allocation``
others (``C``, ``mem``,    as named            ``run_args``
``exclude``, ``bcast``…)
=========================  ==================  ==============================

``SbatchSettings`` → :class:`~insitu.jobs.BatchSpec`: ``nodes``, ``time`` (walltime),
``account``, ``partition`` (queue), ``nodelist`` (hosts); other ``batch_args`` as they are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from insitu.errors import UnsupportedOptionError
from insitu.jobs.entity_types import EntityType
from insitu.jobs.spec import JobSpec
from insitu.launchers.registry import batch_command_of
from insitu.settings import _values as val
from insitu.settings.batch_settings import ArgBatchSettings, format_gnu_args
from insitu.settings.run_settings import _NO_ENV, RunSettings, logger


def _colocated_or_container(settings: RunSettings) -> None:
    if settings.colocated_db_settings:
        raise UnsupportedOptionError(
            "make_mpmd", type(settings).__name__, "colocated models cannot be run as MPMD"
        )
    if settings.container:
        raise UnsupportedOptionError(
            "make_mpmd", type(settings).__name__, "containerized MPMD is not supported"
        )


class SrunSettings(RunSettings):
    """Run settings for Slurm's ``srun``; ``alloc`` is the allocation (job id) to run in."""

    reserved_run_args: ClassVar[frozenset[str]] = frozenset({"chdir", "D"})
    resource_args: ClassVar[Mapping[str, str]] = {
        "nodes": "nodes", "ntasks": "tasks", "ntasks-per-node": "tasks_per_node",
        "cpus-per-task": "cpus_per_task", "nodelist": "hosts", "time": "walltime",
    }  # fmt: skip

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_args: Mapping[str, Any] | None = None,
        env_vars: Mapping[str, Any] | None = None,
        alloc: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            exe, exe_args, run_command="srun", run_args=run_args, env_vars=env_vars, **kwargs
        )
        self.alloc = alloc

    def set_nodes(self, nodes: int) -> None:
        """``--nodes``."""
        self.run_args["nodes"] = val.as_int("nodes", nodes)

    def set_tasks(self, tasks: int) -> None:
        """``--ntasks``."""
        self.run_args["ntasks"] = val.as_int("tasks", tasks)

    def set_tasks_per_node(self, tasks_per_node: int) -> None:
        """``--ntasks-per-node``."""
        self.run_args["ntasks-per-node"] = val.as_int("tasks_per_node", tasks_per_node)

    def set_cpus_per_task(self, cpus_per_task: int) -> None:
        """``--cpus-per-task``."""
        self.run_args["cpus-per-task"] = val.as_int("cpus_per_task", cpus_per_task)

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """``--nodelist``."""
        self.run_args["nodelist"] = ",".join(val.host_list(host_list))

    def set_hostlist_from_file(self, file_path: str) -> None:
        """``--nodefile``."""
        self.run_args["nodefile"] = file_path

    def set_excluded_hosts(self, host_list: str | list[str]) -> None:
        """``--exclude``."""
        self.run_args["exclude"] = ",".join(val.host_list(host_list))

    def set_node_feature(self, feature_list: str | list[str]) -> None:
        """``-C`` (constraint)."""
        self.run_args["C"] = ",".join(val.str_list("feature_list", feature_list))

    def set_cpu_bindings(self, bindings: int | list[int]) -> None:
        """``--cpu_bind=map_cpu:…``."""
        ids = val.int_list("bindings", bindings)
        self.run_args["cpu_bind"] = "map_cpu:" + ",".join(str(i) for i in ids)

    def set_memory_per_node(self, memory_per_node: int) -> None:
        """``--mem=<n>M``."""
        self.run_args["mem"] = f"{val.as_int('memory_per_node', memory_per_node)}M"

    def set_verbose_launch(self, verbose: bool) -> None:
        """``--verbose`` (``False`` removes it)."""
        self._flag("verbose", verbose)

    def set_quiet_launch(self, quiet: bool) -> None:
        """``--quiet`` (``False`` removes it)."""
        self._flag("quiet", quiet)

    def _flag(self, name: str, enabled: bool) -> None:
        if enabled:
            self.run_args[name] = None
        else:
            self.run_args.pop(name, None)

    def set_broadcast(self, dest_path: str | None = None) -> None:
        """``--bcast[=path]``."""
        self.run_args["bcast"] = dest_path

    def set_walltime(self, walltime: str) -> None:
        """``--time`` (``"HH:MM:SS"``)."""
        self.run_args["time"] = str(walltime)

    def _fmt_walltime(self, hours: int, minutes: int, seconds: int) -> str:
        return val.hms(hours, minutes, seconds)

    def set_het_group(self, het_group: Iterable[int]) -> None:
        """``--het-group`` inside a heterogeneous allocation (``SLURM_HET_SIZE``)."""
        size_env = os.environ.get("SLURM_HET_SIZE")
        if size_env is None:
            raise ValueError("Requested to set het group, but the allocation is not a het job")
        if self.mpmd:
            raise ValueError("Slurm does not support MPMD workloads in heterogeneous jobs")
        groups = [val.as_int("het_group", g) for g in het_group]
        if any(g >= int(size_env) for g in groups):
            raise ValueError(
                f"Het group {max(groups)} requested, but max het group in allocation is "
                f"{int(size_env) - 1}"
            )
        logger.warning("Support for heterogeneous groups is an experimental feature")
        self.run_args["het-group"] = ",".join(str(g) for g in groups)

    def make_mpmd(self, settings: RunSettings) -> None:
        """Run ``settings`` as another program of this ``srun`` (``:``-separated)."""
        _colocated_or_container(self)
        if os.environ.get("SLURM_HET_SIZE") is not None:
            raise ValueError("Slurm does not support MPMD workloads in heterogeneous jobs")
        self.mpmd.append(settings)

    def format_run_args(self) -> list[str]:
        """``-x v`` for one-letter names, ``--name=v`` otherwise, a bare flag for no value."""
        return format_gnu_args(self.run_args)

    def check_env_vars(self) -> None:
        """Warn about variables already set differently in this environment (an
        interactive allocation would keep those)."""
        for key, value in self.env_vars.items():
            if "," in str(value):
                continue
            current = os.environ.get(key)
            if current is not None and current != value:
                logger.warning(
                    "Variable %s is set to %s in current environment. If the job is running "
                    "in an interactive allocation, the value %s will not be set. Please "
                    "consider removing the variable from the environment and re-running the "
                    "experiment.",
                    key, current, value,
                )  # fmt: skip

    def format_env_vars(self) -> list[str]:
        """``NAME=value`` for every variable whose value has no comma."""
        self.check_env_vars()
        return [f"{k}={v}" for k, v in self.env_vars.items() if "," not in str(v)]

    def format_comma_sep_env_vars(self) -> tuple[str, list[str]]:
        """``--export`` text (values without commas, then names of the others) and the
        ``NAME=value`` pairs with commas (set with ``env`` before ``srun``)."""
        self.check_env_vars()
        plain = [f"{k}={v}" for k, v in self.env_vars.items() if "," not in str(v)]
        names = [k for k, v in self.env_vars.items() if "," in str(v)]
        compound = [f"{k}={v}" for k, v in self.env_vars.items() if "," in str(v)]
        return ",".join(plain + names), compound

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
        """As :meth:`RunSettings.to_job_spec`, with ``alloc`` as ``JobSpec.allocation``."""
        spec = super().to_job_spec(
            name, cwd, out_path, err_path, extra_env=extra_env, entity_type=entity_type
        )
        if self.alloc is None:
            return spec
        from dataclasses import replace

        return replace(spec, allocation=str(self.alloc))


class SbatchSettings(ArgBatchSettings):
    """Batch settings for Slurm's ``sbatch``; ``batch_args`` without dashes."""

    spec_args: ClassVar[Mapping[str, str]] = {
        "nodes": "nodes", "time": "walltime", "account": "account", "partition": "queue",
        "nodelist": "hosts",
    }  # fmt: skip

    def __init__(
        self,
        nodes: int | None = None,
        time: str = "",
        account: str | None = None,
        batch_args: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            batch_command_of("SbatchSettings"),
            batch_args,
            nodes=nodes,
            time=time,
            account=account,
            **kwargs,
        )

    def set_walltime(self, walltime: str | None) -> None:
        """``--time``."""
        if walltime:
            self.batch_args["time"] = walltime

    def set_nodes(self, num_nodes: int | None) -> None:
        """``--nodes``."""
        if num_nodes:
            self.batch_args["nodes"] = val.as_int("num_nodes", num_nodes)

    def set_account(self, account: str | None) -> None:
        """``--account``."""
        if account:
            self.batch_args["account"] = account

    def set_partition(self, partition: str) -> None:
        """``--partition``."""
        self.batch_args["partition"] = str(partition)

    def set_queue(self, queue: str | None) -> None:
        """Alias of :meth:`set_partition`."""
        if queue:
            self.set_partition(queue)

    def set_cpus_per_task(self, cpus_per_task: int) -> None:
        """``--cpus-per-task``."""
        self.batch_args["cpus-per-task"] = val.as_int("cpus_per_task", cpus_per_task)

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """``--nodelist``."""
        self.batch_args["nodelist"] = ",".join(val.host_list(host_list))

    def format_batch_args(self) -> list[str]:
        """As :meth:`SrunSettings.format_run_args`."""
        return format_gnu_args(self.batch_args)


__all__ = ["SbatchSettings", "SrunSettings"]
