"""BatchSettings: SmartSim's batch-job builder onto a neutral, frozen :class:`BatchSpec`.

One class serves every batch command the launcher registry knows (``sbatch``, ``qsub``,
``bsub``). Nodes, walltime, account, queue and hosts are recorded neutrally; anything else
goes into ``batch_args`` under the scheduler's own names (no dashes). Batch launchers read
:meth:`BatchSettings.to_batch_spec`; how each scheduler spells the options lives in
:mod:`insitu.launchers` (found through :func:`insitu.launchers.registry.batch_dialect`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from insitu import _checks as tc
from insitu._checks import parse_walltime
from insitu.errors import InvalidArgumentError, UnsupportedOptionError
from insitu.jobs.spec import BatchSpec
from insitu.launchers.registry import batch_commands, batch_dialect

BATCH_COMMANDS = batch_commands()
"""Batch commands insitu knows how to spell arguments for (from the launcher registry)."""

_KWARGS = ("nodes", "time", "account", "queue")


def _check_batch_cmd(batch_cmd: object) -> str:
    name = tc.check_str("batch_cmd", batch_cmd)
    if name not in BATCH_COMMANDS:
        raise UnsupportedOptionError(
            f"batch_cmd={name!r}", "insitu", f"known batch commands: {', '.join(BATCH_COMMANDS)}"
        )
    return name


def _check_batch_args(value: object) -> dict[str, str | None]:
    if value is None:
        return {}
    mapping = tc.check_type("batch_args", value, Mapping, "a dict")  # type: ignore[type-abstract]
    out: dict[str, str | None] = {}
    for name, item in mapping.items():
        key = tc.check_str("batch argument name", name)
        if key.startswith("-"):
            raise InvalidArgumentError(f"give batch argument {key!r} without leading dashes")
        out[key] = None if item is None else str(tc.check_scalar(f"batch_args[{key!r}]", item))
    return out


class BatchSettings:
    """Settings of a batch job (SmartSim's ``BatchSettings`` API in one class).

    ``kwargs`` are SmartSim's ``nodes``, ``time`` (``"HH:MM:SS"``), ``account`` and
    ``queue``; empty values mean "not set". Any other keyword raises
    ``UnsupportedOptionError``.
    """

    def __init__(
        self,
        batch_cmd: str,
        batch_args: Mapping[str, str | int | float | None] | None = None,
        **kwargs: object,
    ) -> None:
        unknown = sorted(set(kwargs) - set(_KWARGS))
        if unknown:
            raise UnsupportedOptionError(f"BatchSettings({', '.join(unknown)}=…)", "insitu")
        self._spec = BatchSpec(_check_batch_cmd(batch_cmd))
        self.batch_args = batch_args
        self._preamble: list[str] = []
        given = {key: value for key, value in kwargs.items() if value is not None and value != ""}
        if "nodes" in given:
            self.set_nodes(tc.check_int("nodes", given["nodes"]))
        if "time" in given:
            self.set_walltime(tc.check_str("time", given["time"]))
        if "account" in given:
            self.set_account(tc.check_str("account", given["account"]))
        if "queue" in given:
            self.set_queue(tc.check_str("queue", given["queue"]))

    @property
    def batch_cmd(self) -> str:
        """The scheduler's submit command (``sbatch``, ``qsub`` or ``bsub``)."""
        return self._spec.batch_cmd

    @property
    def batch_args(self) -> dict[str, str | None]:
        """Further scheduler options by name (no dashes); ``None`` is a bare flag."""
        return self._batch_args

    @batch_args.setter
    def batch_args(self, value: Mapping[str, str | int | float | None] | None) -> None:
        self._batch_args = _check_batch_args(value)

    @property
    def preamble(self) -> tuple[str, ...]:
        """Lines placed in the batch script before the job steps."""
        return tuple(self._preamble)

    def set_batch_command(self, command: str) -> None:
        """Use another scheduler command."""
        self._spec = replace(self._spec, batch_cmd=_check_batch_cmd(command))

    def set_nodes(self, num_nodes: int) -> None:
        """Number of nodes of the allocation (≥ 1)."""
        self._spec = replace(self._spec, nodes=tc.check_int("num_nodes", num_nodes))

    def set_walltime(self, walltime: str) -> None:
        """Time limit of the job as ``"HH:MM:SS"``."""
        self._spec = replace(self._spec, walltime=parse_walltime(walltime))

    def set_account(self, account: str) -> None:
        """Account (project) charged for the job."""
        self._spec = replace(self._spec, account=tc.check_str("account", account))

    def set_queue(self, queue: str) -> None:
        """Queue (Slurm: partition) to submit to."""
        self._spec = replace(self._spec, queue=tc.check_str("queue", queue))

    def set_hostlist(self, host_list: str | list[str]) -> None:
        """Hosts the allocation must contain."""
        hosts = tuple(tc.check_str_list("host_list", host_list))
        self._spec = replace(self._spec, hosts=hosts)

    def add_preamble(self, lines: str | list[str]) -> None:
        """Append lines (one ``str`` or a list) to the batch script preamble."""
        self._preamble.extend(tc.check_str_list("lines", lines))

    def to_batch_spec(self) -> BatchSpec:
        """The frozen neutral description of this batch job."""
        return replace(
            self._spec,
            batch_args=tuple(self._batch_args.items()),
            preamble=tuple(self._preamble),
        )

    def format_batch_args(self) -> list[str]:
        """The job's options as the scheduler's command-line flags."""
        spec = self.to_batch_spec()
        return batch_dialect(spec.batch_cmd).flags(spec)

    def __str__(self) -> str:
        return f"Batch Command: {self.batch_cmd}\nBatch arguments: {self.format_batch_args()}"


__all__ = ["BATCH_COMMANDS", "BatchSettings", "BatchSpec"]
