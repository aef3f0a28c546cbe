"""BatchSettings: SmartSim's batch-job builder onto a neutral, frozen :class:`BatchSpec`.

One class serves ``sbatch``, ``qsub`` and ``bsub``. Nodes, walltime, account, queue and
hosts are recorded neutrally; anything else goes into ``batch_args`` under the scheduler's
own names (no dashes). Batch launchers read :meth:`BatchSettings.to_batch_spec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from insitu import _checks as tc
from insitu.errors import InvalidArgumentError, UnsupportedOptionError
from insitu.jobs.spec import RunArgs
from insitu.settings._arguments import parse_walltime
from insitu.settings._resource_flags import hms
from insitu.settings.run_commands import format_run_args

BATCH_COMMANDS = ("sbatch", "qsub", "bsub")
"""Batch commands insitu knows how to spell arguments for."""

_KWARGS = ("nodes", "time", "account", "queue")


@dataclass(frozen=True)
class BatchSpec:
    """What a batch job asks for, independent of the scheduler.

    ``walltime`` is in seconds; ``None``/empty means "scheduler default". ``batch_args`` are
    further scheduler options as ordered (name, value) pairs, ``None`` for a bare flag;
    ``preamble`` lines go into the batch script before the job steps.
    """

    batch_cmd: str
    nodes: int | None = None
    walltime: float | None = None
    account: str | None = None
    queue: str | None = None
    hosts: tuple[str, ...] = ()
    batch_args: RunArgs = ()
    preamble: tuple[str, ...] = ()


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
        pairs = _NEUTRAL[spec.batch_cmd](spec) + spec.batch_args
        if spec.batch_cmd == "sbatch":
            return format_run_args("srun", pairs)  # Slurm spells options alike everywhere
        # PBS and LSF options take one dash whatever their length (``-nnodes 2``).
        return [tok for name, value in pairs for tok in (f"-{name}", value) if tok is not None]

    def __str__(self) -> str:
        return f"Batch Command: {self.batch_cmd}\nBatch arguments: {self.format_batch_args()}"


def _sbatch(spec: BatchSpec) -> RunArgs:
    pairs: list[tuple[str, str | None]] = []
    if spec.nodes is not None:
        pairs.append(("nodes", str(spec.nodes)))
    if spec.walltime is not None:
        pairs.append(("time", hms(spec.walltime)))
    if spec.account:
        pairs.append(("account", spec.account))
    if spec.queue:
        pairs.append(("partition", spec.queue))
    if spec.hosts:
        pairs.append(("nodelist", ",".join(spec.hosts)))
    return tuple(pairs)


def _qsub(spec: BatchSpec) -> RunArgs:
    pairs: list[tuple[str, str | None]] = []
    if spec.nodes is not None:
        pairs.append(("l", f"select={spec.nodes}"))
    if spec.walltime is not None:
        pairs.append(("l", f"walltime={hms(spec.walltime)}"))
    if spec.account:
        pairs.append(("A", spec.account))
    if spec.queue:
        pairs.append(("q", spec.queue))
    if spec.hosts:
        raise UnsupportedOptionError("set_hostlist", "qsub", "use a select statement instead")
    return tuple(pairs)


def _bsub(spec: BatchSpec) -> RunArgs:
    pairs: list[tuple[str, str | None]] = []
    if spec.nodes is not None:
        pairs.append(("nnodes", str(spec.nodes)))
    if spec.walltime is not None:
        minutes = max(1, -(-int(spec.walltime) // 60))
        pairs.append(("W", f"{minutes // 60:02d}:{minutes % 60:02d}"))
    if spec.account:
        pairs.append(("P", spec.account))
    if spec.queue:
        pairs.append(("q", spec.queue))
    if spec.hosts:
        pairs.append(("m", " ".join(spec.hosts)))
    return tuple(pairs)


_NEUTRAL = {"sbatch": _sbatch, "qsub": _qsub, "bsub": _bsub}
