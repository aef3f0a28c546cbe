"""How an Orchestrator's shards are to be launched, as one neutral value (pure).

SmartSim's launch arguments — ``run_command``, ``batch``, ``account``, ``time``, ``alloc``,
``hosts`` and the keywords ``run_args``, ``batch_args``, ``queue``, ``gpus_per_shard`` — are
recorded in a :class:`ShardLaunch` and become fields of every
shard's :class:`~insitu.jobs.JobSpec` (:meth:`ShardLaunch.apply`). Whether the launcher can
honour them is the launcher's business alone: the Orchestrator has its shard specs checked
by the launcher (``insitu.launchers.registry.check_spec``) when it is created and when an
option changes, and the runtime validates them again before it starts them, as every job.

The rules here hold on every launcher: batch options need ``batch=True`` (SmartSim ignored
them otherwise; insitu never ignores an option), and argument types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from insitu._checks import check_any, check_int, check_str, check_type, parse_walltime
from insitu.errors import UnsupportedOptionError
from insitu.jobs import JobSpec
from insitu.jobs.spec import BatchSpec, RunArgs
from insitu.launchers.registry import run_command_candidates
from insitu.store.options import SMARTSIM_LAUNCH_KWARGS

NOT_BATCH = "an Orchestrator without batch=True"
"""How refusals of batch-only options name what refuses them."""

LAUNCH_KEYWORDS = frozenset({"run_args", "batch_args", "queue", "gpus_per_shard"})
"""SmartSim's launch keywords recorded here (``cpus_per_shard`` is ``set_cpus``)."""


@dataclass(frozen=True)
class ShardLaunch:
    """The launch options of an Orchestrator's shards (``None``/empty: not asked for).

    ``run_command`` ``None`` means none: shards are executed directly. ``walltime`` is in
    seconds; ``hosts`` are assigned to shards in turn (shard ``i`` on ``hosts[i % n]``).
    """

    run_command: str | None = None
    run_args: RunArgs = ()
    batch: bool = False
    account: str | None = None
    walltime: float | None = None
    queue: str | None = None
    batch_args: RunArgs = ()
    allocation: str | None = None
    hosts: tuple[str, ...] = ()
    gpus_per_shard: int | None = None

    def batch_spec(self, db_nodes: int) -> BatchSpec | None:
        """The batch job the shards ask for (one node per shard), or ``None``."""
        if not self.batch:
            return None
        return BatchSpec(
            "", db_nodes, self.walltime, self.account, self.queue, batch_args=self.batch_args
        )

    def apply(self, spec: JobSpec, index: int, db_nodes: int) -> JobSpec:
        """Shard ``index``'s ``spec`` with these options laid over it."""
        resources = spec.resources
        if self.hosts:
            resources = replace(resources, hosts=(self.hosts[index % len(self.hosts)],))
        if self.gpus_per_shard:
            resources = replace(resources, gpus_per_task=self.gpus_per_shard)
        return replace(
            spec,
            resources=resources,
            run_command=self.run_command,
            run_args=self.run_args,
            batch=self.batch_spec(db_nodes),
            allocation=self.allocation,
        )


def shard_launch(
    *,
    run_command: str | None,
    batch: bool,
    account: str | None,
    time: str | None,
    alloc: str | None,
    single_cmd: bool,
    kwargs: Mapping[str, object],
) -> ShardLaunch:
    """The Orchestrator constructor's launch arguments, with SmartSim's launch keywords
    (``run_args``, ``batch_args``, ``queue``, ``gpus_per_shard``) taken from ``kwargs``, as
    a :class:`ShardLaunch`; ``run_command`` is already resolved.

    Raises ``UnsupportedOptionError`` for batch options without ``batch=True``, and
    ``TypeError``/``ValueError`` subclasses for malformed values.
    """
    check_any("batch", batch, bool)
    check_any("single_cmd", single_cmd, bool)
    launch = ShardLaunch(
        run_command=run_command,
        batch=batch,
        account=None if account is None else check_str("account", account),
        walltime=None if time is None else parse_walltime(time),
        allocation=None if alloc is None else check_str("alloc", alloc),
    )
    for key, value in kwargs.items():
        if key in LAUNCH_KEYWORDS and value not in (None, {}, []):
            launch = _with_keyword(launch, key, value)
    return check_batch_only(launch)


def check_batch_only(launch: ShardLaunch) -> ShardLaunch:
    """``launch`` if its batch options come with ``batch=True``; else UnsupportedOptionError."""
    if launch.batch:
        return launch
    for option, value in (
        ("account", launch.account), ("time", launch.walltime),
        ("queue", launch.queue), ("batch_args", launch.batch_args),
    ):  # fmt: skip
        if value:
            raise UnsupportedOptionError(option, NOT_BATCH, "it applies to the batch job only")
    return launch


def server_kwargs(kwargs: Mapping[str, object]) -> dict[str, object]:
    """The server options among an Orchestrator's ``kwargs`` (launch keywords left out)."""
    return {k: v for k, v in kwargs.items() if k not in SMARTSIM_LAUNCH_KWARGS}


def refuse_launch_kwargs(kwargs: Mapping[str, object], owner: str) -> dict[str, object]:
    """The server options among ``kwargs`` of a store that is not launched on its own
    (``owner``, e.g. colocated stores): a launch keyword given a value is refused."""
    for key, value in kwargs.items():
        if key in SMARTSIM_LAUNCH_KWARGS and value not in (None, {}, []):
            raise UnsupportedOptionError(key, owner, "the store is launched with its application")
    return server_kwargs(kwargs)


def _with_keyword(launch: ShardLaunch, key: str, value: object) -> ShardLaunch:
    if key in ("run_args", "batch_args"):
        mapping = check_type(key, value, dict, "a dict")
        pairs = tuple(
            (check_str(f"{key} name", name), None if item is None else str(item))
            for name, item in mapping.items()
        )
        if key == "run_args":
            return replace(launch, run_args=pairs)
        return replace(launch, batch_args=pairs)
    if key == "queue":
        return replace(launch, queue=check_str("queue", value))
    return replace(launch, gpus_per_shard=check_int(key, value, minimum=0) or None)


def resolve_run_command(launcher: str, run_command: str | None) -> str | None:
    """The shards' run command: ``None`` (none) for ``""``/``None``, and for ``"auto"``: the
    launcher then starts each shard its own way (directly, or as a one-task step of its
    allocation); any other name as given."""
    if run_command is None:
        return None
    check_any("run_command", run_command, str)
    name = run_command.strip()
    if name in ("", "auto"):
        run_command_candidates(launcher)  # an unknown launcher name still raises
        return None
    return name


def parse_hosts(host_list: object) -> tuple[str, ...]:
    """``hosts``/``set_hosts``'s argument (a str or a list of str) as a tuple."""
    hosts = [host_list] if isinstance(host_list, str) else host_list
    check_any("host_list", hosts, list)
    assert isinstance(hosts, list)
    return tuple(check_str("host", host).strip() for host in hosts)


def with_arg(
    args: tuple[tuple[str, str | None], ...], name: str, value: str | None
) -> tuple[tuple[str, str | None], ...]:
    """``args`` with ``name`` set to ``value`` (replacing an earlier value)."""
    check_str("arg", name)
    text = None if value is None else str(value)
    return (*((n, v) for n, v in args if n != name), (name, text))
