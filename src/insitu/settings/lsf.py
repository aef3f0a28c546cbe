"""IBM LSF: ``JsrunSettings`` (``jsrun``) and ``BsubBatchSettings`` (``bsub``), as in
SmartSim 0.8.

``JsrunSettings`` works in resource sets (RS): ``set_tasks`` → ``np``
(``resources.tasks``); ``set_tasks_per_node`` → ``tasks_per_rs``, ``set_cpus_per_task`` →
``cpu_per_rs``, ``set_memory_per_node`` → ``memory_per_rs`` and the RS setters stay
``run_args`` (their meaning depends on ``rs_per_host``). ERF sets and the MPMD preamble are
kept as values.

``BsubBatchSettings`` → :class:`~insitu.jobs.BatchSpec`: ``nnodes`` → ``nodes``, the
walltime (``hh:mm``) → ``walltime``, ``project`` → ``account``, ``q`` → ``queue``, ``m`` →
``hosts``; other ``batch_args`` (``alloc_flags``, ``n`` …) as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

from insitu.jobs.spec import BatchSpec
from insitu.launchers.registry import batch_command_of
from insitu.settings import _values as val
from insitu.settings.batch_settings import ArgBatchSettings, format_gnu_args
from insitu.settings.run_settings import RunSettings
from insitu.settings.slurm import _colocated_or_container

_RS_ARGS = (
    "nrs", "n", "tasks_per_rs", "a", "cpu_per_rs", "c", "gpu_per_rs", "g", "rs_per_host",
    "r", "latency_priority", "l", "launch_distribution", "d", "bind", "b", "memory_per_rs",
    "np", "p",
)  # fmt: skip


class JsrunSettings(RunSettings):
    """Run settings for LSF's ``jsrun``."""

    reserved_run_args: ClassVar[frozenset[str]] = frozenset(
        {"chdir", "h", "stdio_stdout", "o", "stdio_stderr", "k"}
    )
    resource_args: ClassVar[Mapping[str, str]] = {"np": "tasks"}

    def __init__(
        self,
        exe: str,
        exe_args: str | list[str] | None = None,
        run_args: Mapping[str, Any] | None = None,
        env_vars: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            exe, exe_args, run_command="jsrun", run_args=run_args, env_vars=env_vars, **kwargs
        )
        self.mpmd_preamble_lines: list[str] = []
        self.erf_sets: dict[str, str] = {"host": "*", "cpu": "*", "ranks": "1"}
        self.individual_suffix: str | None = None

    def set_num_rs(self, num_rs: str | int) -> None:
        """``--nrs`` (a number, or a keyword such as ``ALL_HOSTS``)."""
        self.run_args["nrs"] = num_rs if isinstance(num_rs, str) else val.as_int("num_rs", num_rs)

    def set_cpus_per_rs(self, cpus_per_rs: str | int) -> None:
        """``--cpu_per_rs`` (a number or ``ALL_CPUS``); at least the colocated store's CPUs."""
        if self.colocated_db_settings and not isinstance(cpus_per_rs, str):
            db_cpus = int(self.colocated_db_settings.get("db_cpus", 0))
            if not db_cpus:
                raise ValueError("db_cpus must be configured on colocated_db_settings")
            if val.as_int("cpus_per_rs", cpus_per_rs) < db_cpus:
                raise ValueError(
                    f"Cannot set cpus_per_rs ({cpus_per_rs}) to less than db_cpus ({db_cpus})"
                )
        self.run_args["cpu_per_rs"] = (
            cpus_per_rs if isinstance(cpus_per_rs, str) else val.as_int("cpus_per_rs", cpus_per_rs)
        )

    def set_gpus_per_rs(self, gpus_per_rs: str | int) -> None:
        """``--gpu_per_rs`` (a number or ``ALL_GPUS``)."""
        self.run_args["gpu_per_rs"] = (
            gpus_per_rs if isinstance(gpus_per_rs, str) else val.as_int("gpus_per_rs", gpus_per_rs)
        )

    def set_rs_per_host(self, rs_per_host: int) -> None:
        """``--rs_per_host``."""
        self.run_args["rs_per_host"] = val.as_int("rs_per_host", rs_per_host)

    def set_tasks(self, tasks: int) -> None:
        """``--np``."""
        self.run_args["np"] = val.as_int("tasks", tasks)

    def set_tasks_per_rs(self, tasks_per_rs: int) -> None:
        """``--tasks_per_rs``."""
        self.run_args["tasks_per_rs"] = val.as_int("tasks_per_rs", tasks_per_rs)

    def set_tasks_per_node(self, tasks_per_node: int) -> None:
        """Tasks per resource set (one RS per host is assumed)."""
        self.set_tasks_per_rs(val.as_int("tasks_per_node", tasks_per_node))

    def set_cpus_per_task(self, cpus_per_task: int) -> None:
        """CPUs per resource set."""
        self.set_cpus_per_rs(val.as_int("cpus_per_task", cpus_per_task))

    def set_memory_per_rs(self, memory_per_rs: int) -> None:
        """``--memory_per_rs`` (megabytes)."""
        self.run_args["memory_per_rs"] = val.as_int("memory_per_rs", memory_per_rs)

    def set_memory_per_node(self, memory_per_node: int) -> None:
        """Memory per resource set."""
        self.set_memory_per_rs(val.as_int("memory_per_node", memory_per_node))

    def set_binding(self, binding: str) -> None:
        """``--bind``."""
        self.run_args["bind"] = binding

    def set_individual_output(self, suffix: str | None = None) -> None:
        """One output file per task (``--stdio_mode individual``), named with ``suffix``."""
        self.run_args["stdio_mode"] = "individual"
        if suffix:
            self.individual_suffix = suffix

    def make_mpmd(self, settings: RunSettings) -> None:
        """Another program of this launch (through an ERF file)."""
        _colocated_or_container(self)
        if not self.mpmd:
            self.mpmd.append(self)
        self.mpmd.append(settings)

    def set_mpmd_preamble(self, preamble_lines: list[str]) -> None:
        """Lines at the top of the ERF file of an MPMD launch."""
        self.mpmd_preamble_lines = preamble_lines

    def set_erf_sets(self, erf_sets: Mapping[str, str]) -> None:
        """ERF fields of this program (``host``, ``cpu``, ``ranks`` …), copied."""
        self.erf_sets = copy.deepcopy(dict(erf_sets))

    def format_env_vars(self) -> list[str]:
        """``-E NAME=value`` (``-E NAME`` to pass on the current value)."""
        formatted: list[str] = []
        for name, value in self.env_vars.items():
            formatted += ["-E", f"{name}={value}" if value else name]
        return formatted

    def format_run_args(self) -> list[str]:
        """srun-like spelling; with MPMD or an ERF file the RS arguments are left out."""
        restricted = set(self.reserved_run_args)
        if self.mpmd or "erf_input" in self.run_args:
            restricted.update(_RS_ARGS)
        return format_gnu_args({k: v for k, v in self.run_args.items() if k not in restricted})


class BsubBatchSettings(ArgBatchSettings):
    """Batch settings for ``bsub``; ``project`` (or ``account``) is charged, ``smts`` sets
    the SMT level through ``alloc_flags``."""

    def __init__(
        self,
        nodes: int | None = None,
        time: str | None = None,
        project: str | None = None,
        batch_args: Mapping[str, Any] | None = None,
        smts: int = 0,
        **kwargs: Any,
    ) -> None:
        self.project: str | None = None
        self.walltime: str | None = None
        self.smts = 0
        self.expert_mode = False
        self.easy_settings = ["ln_slots", "ln_mem", "cn_cu", "nnodes"]
        account = kwargs.pop("account", None)
        super().__init__(
            batch_command_of("BsubBatchSettings"), batch_args, nodes=nodes, time=time, **kwargs
        )
        self.set_project(project or account)
        if smts:
            self.set_smts(smts)

    def set_walltime(self, walltime: str | None) -> None:
        """``-W hh:mm`` (seconds of an ``HH:MM:SS`` are dropped)."""
        if walltime:
            walltime = ":".join(str(walltime).split(":")[:2])
        self.walltime = walltime

    def set_smts(self, smts: int | str) -> None:
        """SMT level (``alloc_flags smt<n>``)."""
        self.smts = val.as_int("smts", smts)

    def set_project(self, project: str | None) -> None:
        """``-P``."""
        if project:
            self.project = project

    def set_account(self, account: str | None) -> None:
        """Alias of :meth:`set_project`."""
        self.set_project(account)

    def set_nodes(self, num_nodes: int | None) -> None:
        """``-nnodes``."""
        if num_nodes:
            self.batch_args["nnodes"] = val.as_int("num_nodes", num_nodes)

    def set_expert_mode_req(self, res_req: str, slots: int) -> None:
        """An expert-mode resource request (``-csm y -R … -n slots``)."""
        self.expert_mode = True
        self.batch_args["csm"] = "y"
        self.batch_args["R"] = res_req
        self.batch_args["n"] = slots

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """``-m "h1 h2"``."""
        self.batch_args["m"] = '"' + " ".join(val.host_list(host_list)) + '"'

    def set_tasks(self, tasks: int) -> None:
        """``-n``."""
        self.batch_args["n"] = val.as_int("tasks", tasks)

    def set_queue(self, queue: str | None) -> None:
        """``-q``."""
        if queue:
            self.batch_args["q"] = queue

    def _format_alloc_flags(self) -> None:
        """Add ``smt<n>`` to ``alloc_flags`` unless an SMT flag is there; quote several."""
        name = "alloc_flags"
        if self.smts:
            if name not in self.batch_args:
                self.batch_args[name] = f"smt{self.smts}"
            else:
                flags = str(self.batch_args[name]).strip('"').split()
                if not any(flag.startswith("smt") for flag in flags):
                    flags.append(f"smt{self.smts}")
                    self.batch_args[name] = " ".join(flags)
        value = self.batch_args.get(name)
        if isinstance(value, str) and len(value.split()) > 1 and not value.startswith('"'):
            self.batch_args[name] = f'"{value}"'

    def format_batch_args(self) -> list[str]:
        """``-name value`` strings (one dash); easy settings left out in expert mode."""
        self._format_alloc_flags()
        opts: list[str] = []
        for opt, value in self.batch_args.items():
            if self.expert_mode and opt in self.easy_settings:
                continue
            opts.append(f"-{opt}" if not value else f"-{opt} {value}")
        return opts

    def to_batch_spec(self) -> BatchSpec:
        """See the module docstring."""
        self._format_alloc_flags()
        nodes = self.batch_args.get("nnodes")
        hosts = str(self.batch_args.get("m", "")).strip('"').split()
        rest = tuple(
            (k, None if v is None else str(v))
            for k, v in self.batch_args.items()
            if k not in ("nnodes", "q", "m")
        )
        walltime = None
        if self.walltime:
            hours, _, minutes = self.walltime.partition(":")
            walltime = float(int(hours) * 3600 + int(minutes or 0) * 60) or None
        return BatchSpec(
            batch_command_of("BsubBatchSettings"),
            nodes=None if nodes is None else int(nodes),
            walltime=walltime,
            account=self.project,
            queue=self.batch_args.get("q"),
            hosts=tuple(hosts),
            batch_args=rest,
            preamble=self.preamble,
        )


__all__ = ["BsubBatchSettings", "JsrunSettings"]
