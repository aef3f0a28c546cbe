"""What an Orchestrator is, once every argument was checked: one frozen value (pure).

The public constructor of :class:`~insitu.store.orchestrator.Orchestrator` checks a user's
arguments and builds a :class:`StorePlan`; insitu's own code (the colocated stores of an
Experiment) builds the plan from values it has already checked and hands it to
:meth:`Orchestrator.from_plan`, so nothing is validated twice and no internal value has to
travel through the user-facing argument list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from insitu.store.launch_options import ShardLaunch
from insitu.store.server_binary import ServerBinary
from insitu.store.topology import Topology
from insitu.store.workers import WorkerLayout


@dataclass(frozen=True)
class StorePlan:
    """A store: ``name`` (and the shard jobs ``<name>_<i>``), its ``db_identifier`` (the
    suffix of the environment variables entities receive), the ``path`` of its files, the
    ``topology`` (shards, ports or socket, bind addresses) on ``interfaces``, the server
    executable, how the shards are launched, the inference ``workers`` beside each shard,
    server ``options`` for the config file, the socket's file mode, and CPU placement
    (``cpus_per_shard`` for round-robin pinning, or exact ``cpu_pinning``); ``tls``: the
    store listens on TLS only (:mod:`insitu.store.tls_store`)."""

    name: str
    db_identifier: str
    path: Path
    topology: Topology
    interfaces: tuple[str, ...]
    server_binary: ServerBinary
    launcher: str = "local"
    launch: ShardLaunch = field(default_factory=ShardLaunch)
    workers: WorkerLayout = field(default_factory=WorkerLayout)
    options: Mapping[str, str] = field(default_factory=dict)
    socket_mode: int = 0o755
    cpus_per_shard: int | None = None
    cpu_pinning: tuple[int, ...] | None = None
    tls: bool = False
