"""BatchSettings: SmartSim's batch-job builder onto a neutral, frozen :class:`BatchSpec`.

One class serves every batch command the launcher registry knows (``sbatch``, ``qsub``,
``bsub``). Nodes, walltime, account, queue and hosts are recorded neutrally; anything else
goes into ``batch_args`` under the scheduler's own names (no dashes). Batch launchers read
:meth:`BatchSettings.to_batch_spec`; how each scheduler spells the options lives in
:mod:`insitu.launchers` (found through :func:`insitu.launchers.registry.batch_dialect`).
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from insitu import _checks as tc
from insitu._checks import parse_walltime
from insitu.errors import InvalidArgumentError, UnsupportedOptionError
from insitu.jobs.spec import BatchSpec
from insitu.launchers.registry import batch_commands, batch_dialect
from insitu.log import get_logger

logger = get_logger("insitu.settings")

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


def format_gnu_args(args: Mapping[str, Any]) -> list[str]:
    """SmartSim's Slurm spelling: ``-x v`` for one letter, ``--name=v``, a bare flag when
    the value is empty."""
    opts: list[str] = []
    for opt, value in args.items():
        short = len(str(opt)) == 1
        prefix = "-" if short else "--"
        if not value:
            opts.append(prefix + opt)
        elif short:
            opts += [prefix + opt, str(value)]
        else:
            opts.append(f"{prefix}{opt}={value}")
    return opts


class ArgBatchSettings(BatchSettings):
    """Base of SmartSim's per-scheduler batch classes (``SbatchSettings`` …).

    State is SmartSim's: ``batch_args`` (a dict copied on assignment, values as given), the
    preamble, ``_batch_cmd``. Constructor keywords ``nodes``, ``time``, ``queue`` and
    ``account`` go through the setters in that order; an empty value is "not set". Other
    keywords are accepted and ignored with a warning, as SmartSim does.
    :meth:`to_batch_spec` lifts the ``batch_args`` named in :attr:`spec_args` into the
    :class:`BatchSpec` (a subclass with other state overrides it).
    """

    spec_args: ClassVar[Mapping[str, str]] = {}
    """Batch-arg name → :class:`BatchSpec` field (``nodes``, ``walltime``, ``account``,
    ``queue``, ``hosts``)."""

    def __init__(
        self, batch_cmd: str, batch_args: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        self._batch_cmd = tc.check_str("batch_cmd", batch_cmd)
        self.batch_args = batch_args
        self._preamble: list[str] = []
        known = {"nodes", "time", "queue", "account"}
        extra = sorted(set(kwargs) - known)
        if extra:
            logger.warning("%s ignores the keyword arguments %s", type(self).__name__, extra)
        if kwargs.get("nodes"):
            self.set_nodes(kwargs["nodes"])
        self.set_walltime(kwargs.get("time"))
        if kwargs.get("queue"):
            self.set_queue(kwargs["queue"])
        self.set_account(kwargs.get("account"))

    @property
    def batch_cmd(self) -> str:
        """The submit command, expanded to its path when it is on ``PATH``."""
        found = shutil.which(self._batch_cmd)
        return os.path.abspath(found) if found else self._batch_cmd

    @property
    def batch_args(self) -> dict[str, Any]:
        """Scheduler options by name (no dashes); ``None`` is a bare flag."""
        return self._args

    @batch_args.setter
    def batch_args(self, value: Mapping[str, Any] | None) -> None:
        if value is None:
            self._args: dict[str, Any] = {}
            return
        mapping = tc.check_type("batch_args", value, Mapping, "a dict")  # type: ignore[type-abstract]
        self._args = copy.deepcopy(dict(mapping))

    @property
    def preamble(self) -> tuple[str, ...]:
        """Lines placed in the batch script before the job steps."""
        return tuple(self._preamble)

    def add_preamble(self, lines: str | list[str]) -> None:
        """Append a line or a list of lines to the preamble (else ``TypeError``)."""
        if isinstance(lines, str):
            self._preamble.append(lines)
        elif isinstance(lines, list) and all(isinstance(x, str) for x in lines):
            self._preamble.extend(lines)
        else:
            raise tc.type_error("lines", lines, "a str or a list of str")

    def set_batch_command(self, command: str) -> None:
        """Use another submit command."""
        self._batch_cmd = tc.check_str("command", command)

    def set_nodes(self, num_nodes: int) -> None:  # pragma: no cover - every subclass has it
        raise NotImplementedError

    def set_walltime(self, walltime: str | None) -> None:  # pragma: no cover
        raise NotImplementedError

    def set_account(self, account: str | None) -> None:  # pragma: no cover
        raise NotImplementedError

    def set_queue(self, queue: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def set_hostlist(self, host_list: str | list[str]) -> None:  # pragma: no cover
        raise NotImplementedError

    def format_batch_args(self) -> list[str]:  # pragma: no cover
        raise NotImplementedError

    def to_batch_spec(self) -> BatchSpec:
        """The neutral description (see :attr:`spec_args`)."""
        fields: dict[str, Any] = {}
        rest: list[tuple[str, str | None]] = []
        for name, value in self.batch_args.items():
            field = self.spec_args.get(name)
            converted = _spec_value(field, value) if field else None
            if converted is None:
                rest.append((name, None if value is None else str(value)))
            else:
                fields[field] = converted  # type: ignore[index]
        return BatchSpec(
            os.path.basename(self._batch_cmd), batch_args=tuple(rest),
            preamble=tuple(self._preamble), **fields,
        )  # fmt: skip

    def __str__(self) -> str:
        text = f"Batch Command: {self._batch_cmd}"
        if self.batch_args:
            lines = "\n".join(f"\t{key} = {value}" for key, value in self.batch_args.items())
            text += f"\nBatch arguments:\n{lines}"
        return text


def _spec_value(field: str, value: object) -> object:
    """``value`` as BatchSpec field ``field``, or ``None`` when it is not in that form."""
    try:
        if field == "nodes":
            number = int(value)  # type: ignore[call-overload]
            return number if number > 0 else None
        if field == "walltime":
            return parse_walltime(str(value))
        if field == "hosts":
            return tuple(h for h in str(value).strip('"').replace(" ", ",").split(",") if h)
        return None if value is None else str(value)
    except (ValueError, TypeError):
        return None


__all__ = ["BATCH_COMMANDS", "ArgBatchSettings", "BatchSettings", "BatchSpec", "format_gnu_args"]
