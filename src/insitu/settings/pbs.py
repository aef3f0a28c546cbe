"""PBS Pro and Grid Engine batch settings: ``QsubBatchSettings`` and
``SgeQsubBatchSettings``, as in SmartSim 0.8.

``QsubBatchSettings`` keeps a ``resources`` dict (``-l name=value``); the node count is
``resources["nodes"]`` (``-l nodes=N``) or ``resources["select"]`` (``-l select=N``), never
both (``ConfigurationError``, SmartSim's ``SSConfigError``), and an ``int``
(``TypeError``). Onto :class:`~insitu.jobs.BatchSpec`: ``nodes``/``select`` → ``nodes``,
``walltime`` → ``walltime``, ``A`` → ``account``, ``q`` → ``queue``, the host list →
``hosts``; other resources become ``batch_args`` ``("l", "name=value")``.

``SgeQsubBatchSettings`` keeps SGE's resources (``h_rt``, ``ncpus`` with ``pe_type``,
``gpu``, ``threads``, ``mem`` …) and context variables; onto ``BatchSpec``: ``h_rt`` →
``walltime``, ``A`` → ``account``, the rest as ``batch_args``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from insitu import _checks as tc
from insitu._checks import parse_walltime
from insitu.errors import ConfigurationError
from insitu.jobs.spec import BatchSpec
from insitu.launchers.registry import batch_command_of
from insitu.settings import _values as val
from insitu.settings.batch_settings import ArgBatchSettings

Resource = str | int


def _check_types(resources: Mapping[str, object]) -> None:
    for key, value in resources.items():
        if not isinstance(key, str):
            raise tc.type_error("a resource name", key, "a str")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise tc.type_error(f"resources[{key!r}]", value, "an int or a str")


def _single_dash(args: Mapping[str, Any], scheduler: str) -> list[str]:
    opts: list[str] = []
    for opt, value in args.items():
        if not value:
            raise ValueError(f"{scheduler} options without values are not allowed ({opt!r})")
        opts.append(f"-{opt} {value}")
    return opts


class QsubBatchSettings(ArgBatchSettings):
    """Batch settings for PBS ``qsub``."""

    def __init__(
        self,
        nodes: int | None = None,
        ncpus: int | None = None,
        time: str | None = None,
        queue: str | None = None,
        account: str | None = None,
        resources: Mapping[str, Resource] | None = None,
        batch_args: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._ncpus = ncpus
        self._hosts: list[str] = []
        self.resources = dict(resources or {})
        super().__init__(
            batch_command_of("QsubBatchSettings"),
            batch_args,
            nodes=nodes,
            time=time,
            queue=queue,
            account=account,
            **kwargs,
        )

    @property
    def resources(self) -> dict[str, Resource]:
        """A copy of the ``-l`` resources."""
        return dict(self._resources)

    @resources.setter
    def resources(self, resources: Mapping[str, Resource]) -> None:
        self._sanity_check_resources(resources)
        self._resources = dict(resources)

    def _sanity_check_resources(self, resources: Mapping[str, object] | None = None) -> None:
        checked = self._resources if resources is None else resources
        if checked.get("select") and checked.get("nodes"):
            raise ConfigurationError(
                "'select' and 'nodes' cannot both be specified; give the node count once"
            )
        for key in ("select", "nodes"):
            if key in checked and (
                isinstance(checked[key], bool) or not isinstance(checked[key], int)
            ):
                raise tc.type_error(f"resources[{key!r}]", checked[key], "an int")
        _check_types(checked)

    def set_resource(self, resource_name: str, value: Resource) -> None:
        """Set ``-l resource_name=value``, checked as a whole."""
        updated = self.resources
        updated[resource_name] = value
        self.resources = updated

    def set_nodes(self, num_nodes: int | None) -> None:
        """``-l nodes=N``."""
        if num_nodes:
            self.set_resource("nodes", num_nodes)

    def set_select(self, num_override: int) -> None:
        """``-l select=N``."""
        self.set_resource("select", num_override)

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """Hosts added to the node request (``:host=a+host=b``)."""
        self._hosts = val.host_list(host_list)

    def set_walltime(self, walltime: str | None) -> None:
        """``-l walltime=HH:MM:SS``."""
        if walltime:
            self.set_resource("walltime", walltime)

    def set_queue(self, queue: str | None) -> None:
        """``-q``."""
        if queue:
            self.batch_args["q"] = str(queue)

    def set_ncpus(self, num_cpus: int | str) -> None:
        """CPUs per node (``:ncpus=C`` on the node request)."""
        self._ncpus = val.as_int("num_cpus", num_cpus)

    def set_account(self, account: str | None) -> None:
        """``-A``."""
        if account:
            self.batch_args["A"] = str(account)

    def _create_resource_list(self) -> list[str]:
        self._sanity_check_resources()
        resources = self.resources
        key = "nodes" if "nodes" in resources else "select"
        if key not in resources:
            raise ConfigurationError(
                "Insufficient resource specification: no nodes or select statement"
            )
        command = f"-l {key}={resources.pop(key)}"
        if self._ncpus:
            command += f":ncpus={self._ncpus}"
        if self._hosts:
            command += ":" + "+".join(f"host={host}" for host in self._hosts)
        out = [command]
        walltime = resources.pop("walltime", None)
        if walltime:
            out.append(f"-l walltime={walltime}")
        out += [f"-l {name}={value}" for name, value in resources.items()]
        return out

    def format_batch_args(self) -> list[str]:
        """The resource list, then ``-name value`` per batch arg (a value is required)."""
        return self._create_resource_list() + _single_dash(self.batch_args, "PBS")

    def to_batch_spec(self) -> BatchSpec:
        """See the module docstring."""
        resources = self.resources
        nodes = resources.pop("nodes", None) or resources.pop("select", None)
        walltime = resources.pop("walltime", None)
        extra: list[tuple[str, str | None]] = [("l", f"{k}={v}") for k, v in resources.items()]
        if self._ncpus:
            extra.append(("l", f"ncpus={self._ncpus}"))
        extra += [
            (k, None if v is None else str(v))
            for k, v in self.batch_args.items()
            if k not in ("A", "q")
        ]
        return BatchSpec(
            batch_command_of("QsubBatchSettings"),
            nodes=None if nodes is None else int(nodes),
            walltime=None if walltime is None else parse_walltime(str(walltime)),
            account=self.batch_args.get("A"),
            queue=self.batch_args.get("q"),
            hosts=tuple(self._hosts),
            batch_args=tuple(extra),
            preamble=self.preamble,
        )


class SgeQsubBatchSettings(ArgBatchSettings):
    """Batch settings for Grid Engine's ``qsub``."""

    def __init__(
        self,
        time: str | None = None,
        ncpus: int | None = None,
        pe_type: str | None = None,
        account: str | None = None,
        shebang: str = "#!/bin/bash -l",
        resources: Mapping[str, Resource] | None = None,
        batch_args: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._context_variables: list[str] = []
        self._env_vars: dict[str, str] = {}
        self.resources = dict(resources or {})
        if ncpus:
            self.set_ncpus(ncpus)
        if pe_type:
            self.set_pe_type(pe_type)
        self.set_shebang(shebang)
        kwargs.pop("nodes", None)  # SGE has no node count; SmartSim drops it here too
        super().__init__(
            batch_command_of("SgeQsubBatchSettings"),
            batch_args,
            time=time,
            account=account,
            **kwargs,
        )

    @property
    def resources(self) -> dict[str, Resource]:
        """A copy of the resources."""
        return dict(self._resources)

    @resources.setter
    def resources(self, resources: Mapping[str, Resource]) -> None:
        _check_types(resources)
        self._resources = dict(resources)

    def set_shebang(self, shebang: str) -> None:
        """The interpreter line of the batch script."""
        self.shebang = shebang

    def set_walltime(self, walltime: str | None) -> None:
        """``-l h_rt=HH:MM:SS``."""
        if walltime:
            self.set_resource("h_rt", walltime)

    def set_nodes(self, num_nodes: int | None) -> None:
        """Grid Engine has no node count: any non-zero value is a ``ConfigurationError``."""
        if num_nodes:
            raise ConfigurationError("SGE does not support setting the number of nodes")

    def set_ncpus(self, num_cpus: int | str) -> None:
        """Slots of the parallel environment (``-pe <pe_type> N``)."""
        self.set_resource("ncpus", val.as_int("num_cpus", num_cpus))

    def set_ngpus(self, num_gpus: int | str) -> None:
        """``-l gpu=N``."""
        self.set_resource("gpu", num_gpus)

    def set_account(self, account: str | None) -> None:
        """``-A``."""
        if account:
            self.batch_args["A"] = str(account)

    def set_project(self, project: str | None) -> None:
        """``-P``."""
        if project:
            self.batch_args["P"] = str(project)

    def set_queue(self, queue: str | None) -> None:
        """``-q``."""
        if queue:
            self.batch_args["q"] = str(queue)

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """``-l hostname=a|b``."""
        self.set_resource("hostname", "|".join(val.host_list(host_list)))

    def update_context_variables(
        self,
        action: Literal["ac", "sc", "dc"],
        var_name: str,
        value: int | str | None = None,
    ) -> None:
        """Add (``ac``), set (``sc``) or delete (``dc``, no value) a context variable."""
        if action not in ("ac", "sc", "dc"):
            raise ValueError("The action argument must be ac, sc, or dc")
        if action == "dc" and value:
            raise ConfigurationError("When using the 'dc' action, value should not be set")
        command = f"-{action} {var_name}"
        if value:
            command += f"={value}"
        self._context_variables.append(command)

    def set_hyperthreading(self, enable: bool = True) -> None:
        """``-l threads=1`` (or ``0``)."""
        self.set_resource("threads", int(enable))

    def set_memory_per_pe(self, memory_spec: str) -> None:
        """``-l mem=…`` (e.g. ``2G``)."""
        self.set_resource("mem", memory_spec)

    def set_pe_type(self, pe_type: str) -> None:
        """Parallel environment (``mpi``, ``smp`` …)."""
        if pe_type:
            self.set_resource("pe_type", pe_type)

    def set_threads_per_pe(self, threads_per_core: int) -> None:
        """``OMP_NUM_THREADS`` of the job (``-v``)."""
        self._env_vars["OMP_NUM_THREADS"] = str(threads_per_core)

    def set_resource(self, resource_name: str, value: Resource) -> None:
        """Set one resource, checked as a whole."""
        updated = self.resources
        updated[resource_name] = value
        self.resources = updated

    def _create_resource_list(self) -> list[str]:
        resources = self.resources
        ncpus = resources.pop("ncpus", None)
        pe_type = resources.pop("pe_type", None)
        if (pe_type is None) != (ncpus is None):
            raise ConfigurationError(
                f"ncpus={ncpus!r} and pe_type={pe_type!r} must both be set: call set_ncpus "
                "and/or set_pe_type"
            )
        out = [f"-pe {pe_type} {ncpus}"] if pe_type and ncpus else []
        out += self._context_variables
        out += [f"-l {name}={value}" for name, value in resources.items()]
        out += [f"-v {key}={value}" for key, value in self._env_vars.items()]
        return out

    def format_batch_args(self) -> list[str]:
        """The resource list, then ``-name value`` per batch arg (a value is required)."""
        return self._create_resource_list() + _single_dash(self.batch_args, "SGE")

    def to_batch_spec(self) -> BatchSpec:
        """See the module docstring."""
        resources = self.resources
        walltime = resources.pop("h_rt", None)
        # The same options as format_batch_args: -pe, context variables, -l, -v, then the
        # batch args (account and queue become the neutral fields).
        listed = self._create_resource_list()
        extra: list[tuple[str, str | None]] = []
        for option in listed:
            flag, _, value = option.partition(" ")
            if flag != "-l" or not value.startswith("h_rt="):
                extra.append((flag[1:], value))
        extra += [
            (k, None if v is None else str(v))
            for k, v in self.batch_args.items()
            if k not in ("A", "q")
        ]
        return BatchSpec(
            batch_command_of("SgeQsubBatchSettings"),
            walltime=None if walltime is None else parse_walltime(str(walltime)),
            account=self.batch_args.get("A"),
            queue=self.batch_args.get("q"),
            batch_args=tuple(extra),
            preamble=self.preamble,
        )


__all__ = ["QsubBatchSettings", "SgeQsubBatchSettings"]
