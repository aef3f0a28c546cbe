"""The Orchestrator: an authenticated Valkey/Redis feature store, SmartSim 0.8's API.

The Orchestrator describes and configures the store; it does not start processes. The
runtime drives it through four calls (names are part of the contract):

1. :meth:`Orchestrator.prepare` — write shard configs, check ports, return one
   :class:`~insitu.jobs.JobSpec` per shard for the launcher to start;
2. :meth:`Orchestrator.wait_ready` — after launch: wait for every shard, form the cluster,
   register the password for the driver's clients;
3. :meth:`Orchestrator.mark_stopped` — after the shard jobs are stopped;
4. :meth:`Orchestrator.connection_env` — the environment launched entities need.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from time import monotonic

from insitu._checks import check_any, check_bool, check_int, check_str, parse_walltime
from insitu._files import write_private
from insitu.connection.redis_clients import ping_error
from insitu.errors import (
    AllocationError,
    AlreadyRunningError,
    ClusterSetupError,
    CPUPinningError,
    InternalError,
    InvalidArgumentError,
    ParameterTypeError,
    StoreNotActiveError,
)
from insitu.hosts import LOOPBACK, available_cpus, interface_addresses
from insitu.jobs import JobSpec, Resources
from insitu.jobs.entity_types import EntityType
from insitu.launchers.registry import (
    batch_runs_on_other_hosts,
    check_spec,
    resolve_launcher_name,
    runs_on_other_hosts,
)
from insitu.log import get_logger
from insitu.store import credentials, options, tls_store, topology, workers
from insitu.store.acl import check_acl_mode, entity_rules, set_user, user_name
from insitu.store.cluster_setup import form_cluster
from insitu.store.launch_options import (
    ShardLaunch,
    check_batch_only,
    parse_hosts,
    resolve_run_command,
    server_kwargs,
    shard_launch,
    with_arg,
)
from insitu.store.live_config import LiveConfig
from insitu.store.plan import StorePlan
from insitu.store.readiness import ShardProbe, check_ports_free, wait_for_shards
from insitu.store.reconnect import remove_secret_files
from insitu.store.remote_shards import wait_for_addresses
from insitu.store.replicas import attach_replicas, check_replicas, cluster_serving
from insitu.store.server_binary import ServerBinary, find_server_binary
from insitu.store.server_config import (
    OWNER_SOCKET,
    PASSWORD,
    PASSWORDLESS_TCP,
    ShardConfig,
    render_shard_config,
)
from insitu.store.shard_client import PROBE_TIMEOUT, shard_endpoints
from insitu.store.smartsim_face import SmartSimFace
from insitu.store.store_module import module_args, module_path
from insitu.store.tls_config import TlsFiles
from insitu.store.unix_socket import check_socket_free, socket_mode, validate_socket_path
from insitu.wire.addresses import Address, parse_address
from insitu.wire.env import StoreConnection, password_var, user_var, validate_db_identifier
from insitu.wire.worker import WorkerThreads, worker_spin_us

logger = get_logger(__name__)


class Orchestrator(LiveConfig, SmartSimFace):
    """A feature store of ``db_nodes`` Valkey/Redis shards (1: standalone, >= 3: a cluster).

    Arguments mirror SmartSim 0.8. Differences: every store requires a generated password;
    ``**kwargs`` are extra server options (``maxmemory_policy="allkeys-lru"``), validated
    here. Launch options (``batch``, ``account``, ``time``, ``alloc``, ``hosts``,
    ``run_command``, and the keywords ``run_args``, ``batch_args``, ``queue``,
    ``gpus_per_shard``; ``cpus_per_shard`` is :meth:`set_cpus`) go into every shard's job
    spec, which the launcher checks when the Orchestrator is created and whenever a setter
    changes them: what it cannot honour raises :class:`~insitu.errors.UnsupportedOptionError`
    before anything starts (see :mod:`insitu.store.launch_options`);
    ``server_binary`` picks the server executable (see :mod:`insitu.store.server_binary`).
    ``unix_socket`` (an insitu extension, used for colocated stores) makes the single shard
    listen on that socket file instead of TCP, with ``socket_permissions`` (octal digits, as
    SmartSim's ``colocate_db_uds``); its address is then ``unix://<path>``.
    ``tls`` (insitu; None: the ``INSITU_TLS`` switch decides) makes a TCP store listen on
    TLS only, with a CA and certificates of its own, on a server binary built with TLS
    (:mod:`insitu.store.tls_store`; :class:`~insitu.errors.TlsNotSupportedError` if
    there is none).
    ``threads_per_queue``/``inter_op_threads``/``intra_op_threads`` are passed to the
    inference workers (kept as ``queue_threads``, ``inter_threads``, ``intra_threads``);
    ``threads_per_queue`` and ``intra_op_threads`` also size the store module's ONNX
    Runtime threads (its pool and each run's intra-op threads).
    ``inference_workers`` (insitu: workers per shard and device, default 1, 0 for none) and
    ``inference_devices`` (``"CPU"`` or ``["GPU:0", "GPU:1"]``: one worker pinned to each)
    shape the workers the runtime starts beside every shard (:mod:`insitu.store.workers`).
    ``name`` (an insitu extension, used for colocated stores) names the store and its shard
    jobs (``<name>_<i>``) when that must differ from ``db_identifier``; it defaults to it.
    ``replicas`` (insitu) gives each master of a cluster that many replicas, which take
    over when it dies (:mod:`insitu.store.replicas`); ``acl="per_entity"`` (insitu) gives
    every launched entity an ACL user of its own and turns the default user off
    (:mod:`insitu.store.acl`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        port: int = 6379,
        interface: str | list[str] = "lo",
        launcher: str = "local",
        run_command: str = "auto",
        db_nodes: int = 1,
        batch: bool = False,
        hosts: list[str] | str | None = None,
        account: str | None = None,
        time: str | None = None,
        alloc: str | None = None,
        single_cmd: bool = False,
        *,
        threads_per_queue: int | None = None,
        inter_op_threads: int | None = None,
        intra_op_threads: int | None = None,
        inference_workers: int = 1,
        inference_devices: str | Sequence[str] = "CPU",
        db_identifier: str = "orchestrator",
        server_binary: str | os.PathLike[str] | None = None,
        unix_socket: str | os.PathLike[str] | None = None,
        socket_permissions: int = 755,
        name: str | None = None,
        tls: bool | None = None,
        replicas: int = 0,
        acl: str | None = None,
        **kwargs: object,
    ) -> None:
        launcher_name = resolve_launcher_name(launcher)
        use_tls = tls_store.tls_requested(tls, os.environ, unix_socket=unix_socket is not None)
        launch = shard_launch(
            run_command=resolve_run_command(launcher_name, run_command), batch=batch,
            account=account, time=time, alloc=alloc, single_cmd=single_cmd, kwargs=kwargs,
        )  # fmt: skip
        n_shards = topology.validate_db_nodes(db_nodes)
        n_replicas = check_replicas(
            replicas, n_shards, multi_host=runs_on_other_hosts(launcher_name)
        )
        check_any("db_identifier", db_identifier, str)
        db_id = validate_db_identifier(db_identifier) or "orchestrator"
        interfaces = topology.normalize_interfaces(interface)
        if runs_on_other_hosts(launcher_name):
            # Resolved on each shard's host when it starts (insitu.store.shard_host): the
            # driver's host may well lack the compute nodes' interface.
            bind: tuple[str, ...] = (LOOPBACK,)
        else:
            bind = topology.bind_addresses(interfaces, interface_addresses())
        if hosts is not None:
            launch = replace(launch, hosts=parse_hosts(hosts))
        threads = WorkerThreads(
            _optional_positive("threads_per_queue", threads_per_queue),
            _optional_positive("inter_op_threads", inter_op_threads),
            _optional_positive("intra_op_threads", intra_op_threads),
        )
        layout = workers.WorkerLayout(
            workers.check_workers(inference_workers),
            workers.parse_devices(inference_devices),
            threads,
        )
        plan = StorePlan(
            name=db_id if name is None else _store_name(name),
            db_identifier=db_id,
            path=_store_path(path),
            topology=_layout(n_shards, port, bind, unix_socket, n_replicas),
            interfaces=interfaces,
            server_binary=find_server_binary(server_binary, tls=use_tls),
            launcher=launcher_name,
            workers=layout,
            options=options.normalize_kwargs(server_kwargs(kwargs)),
            socket_mode=socket_mode(socket_permissions),
            tls=use_tls,
        )
        self._adopt(plan)
        self._acl = check_acl_mode(acl)
        cpus_per_shard = kwargs.get("cpus_per_shard")
        if cpus_per_shard is not None:
            self.set_cpus(check_int("cpus_per_shard", cpus_per_shard, minimum=None))
        self._set_launch(launch)
        self.run_command = launch.run_command or ""

    @classmethod
    def from_plan(cls, plan: StorePlan) -> Orchestrator:
        """The store ``plan`` describes, taken as it is (insitu's own values, already
        checked: nothing is validated again)."""
        store = cls.__new__(cls)
        store._adopt(plan)
        store._launch = plan.launch
        store._place(plan.launch)
        store.run_command = plan.launch.run_command or ""
        return store

    def _adopt(self, plan: StorePlan) -> None:
        self.launcher = plan.launcher
        self._db_identifier = plan.db_identifier
        self._name = plan.name
        self._interfaces = plan.interfaces
        self._topology = plan.topology
        self._socket_mode = plan.socket_mode
        threads = plan.workers.threads
        self.queue_threads = threads.threads_per_queue
        self.inter_threads = threads.inter_op_threads
        self.intra_threads = threads.intra_op_threads
        self._workers = plan.workers.workers
        self._worker_devices = plan.workers.devices
        self._options = dict(plan.options)
        self._path = plan.path
        self._password = credentials.generate_password()
        self._cpus_per_shard = plan.cpus_per_shard
        self._cpu_pinning = plan.cpu_pinning
        self._worker_pinning: tuple[int, ...] | None = None
        self._passwordless = False
        self._acl = None
        self._entity_users: dict[str, list[str]] = {}  # ACL user -> rules (re-set at start)
        self._probes: tuple[ShardProbe, ...] = ()
        self._secrets_written = False  # this object wrote the shard configs (prepare)
        self._active = False
        self._server_binary = plan.server_binary
        self._launch = ShardLaunch()
        self._multi_host = runs_on_other_hosts(plan.launcher)
        self._remote = self._multi_host and plan.topology.unix_socket is None
        # Shards on other hosts bound to those hosts' loopback (a colocated store): only
        # their own host can reach them, so each says when it listens (shard_host).
        self._node_local = self._remote and all(i == "lo" for i in plan.interfaces)
        self._shard_nodes: tuple[str, ...] = ()
        self._local_topology = plan.topology
        self._tls = plan.tls
        self._authority: object | None = None  # a StoreAuthority, made at the first prepare()

    # ----------------------------------------------------------------- identity, layout
    @property
    def name(self) -> str:
        """The orchestrator's name: its ``db_identifier`` unless ``name`` was given."""
        return self._name

    @property
    def db_identifier(self) -> str:
        """Identifier that distinguishes this store in multi-store experiments."""
        return self._db_identifier

    @property
    def type(self) -> str:
        """Entity type name, as SmartSim shows it: ``"Orchestrator"``."""
        return "Orchestrator"

    @property
    def path(self) -> str:
        """Directory holding the shards' configs, data and logs."""
        return str(self._path)

    @path.setter
    def path(self, value: str | os.PathLike[str]) -> None:
        check_any("path", value, str, os.PathLike)
        self._path = Path(value)

    @property
    def num_shards(self) -> int:
        """Number of shards (masters; one server process each, plus its replicas)."""
        return self._topology.db_nodes

    @property
    def replicas(self) -> int:
        """Replicas of each shard (insitu; 0 unless ``replicas=`` asked for them)."""
        return self._topology.replicas

    @property
    def db_nodes(self) -> int:
        """Alias of :attr:`num_shards`, as in SmartSim."""
        return self._topology.db_nodes

    @property
    def batch(self) -> bool:
        """True when the shards are to run as a batch job (``batch=True``)."""
        return self._launch.batch

    @property
    def hosts(self) -> list[str]:
        """Addresses of the hosts the shards run on (clients connect there)."""
        return [self._topology.host]

    @property
    def ports(self) -> list[int]:
        """Client port of each shard, in shard order."""
        return list(self._topology.ports)

    @property
    def unix_socket(self) -> str | None:
        """Path of the Unix socket the store listens on, or ``None`` for a TCP store."""
        socket = self._topology.unix_socket
        return None if socket is None else str(socket)

    @property
    def shard_addresses(self) -> list[str]:
        """``"host:port"`` (or ``"unix://<path>"``) of every shard, in shard order, whether
        or not the store runs (:meth:`get_address` gives the same once it answers)."""
        return list(self._topology.addresses)

    @property
    def interfaces(self) -> tuple[str, ...]:
        """Network interfaces the shards listen on."""
        return self._interfaces

    @property
    def is_clustered(self) -> bool:
        """True when the shards form a Redis Cluster (``db_nodes >= 3``)."""
        return self._topology.clustered

    @property
    def password(self) -> str:
        """The store's generated password (read-only)."""
        return self._password

    @property
    def tls_ca(self) -> str | None:
        """insitu: the CA certificate a TLS store's clients verify it against (written
        when the store starts; kept after it stops), or None for a plain store."""
        if not self._tls:
            return None
        return str(tls_store.ca_file(self._path.resolve(), self._name))

    @property
    def server_binary(self) -> ServerBinary:
        """The server executable the shards run."""
        return self._server_binary

    @property
    def server_options(self) -> Mapping[str, str]:
        """User server options written into the next start's configs (a copy)."""
        return dict(self._options)

    @property
    def shard_names(self) -> list[str]:
        """Job names of the shards' server processes: ``<db_identifier>_<i>``, the masters
        first, then their replicas (:mod:`insitu.store.replicas`)."""
        return [f"{self._name}_{i}" for i in range(self._topology.nodes)]

    @property
    def worker_layout(self) -> workers.WorkerLayout:
        """The inference workers beside each shard: count, devices, threads."""
        threads = WorkerThreads(self.queue_threads, self.inter_threads, self.intra_threads)
        return workers.WorkerLayout(self._workers, self._worker_devices, threads)

    def __repr__(self) -> str:
        return (
            f"Orchestrator(db_identifier={self._db_identifier!r}, db_nodes={self.num_shards}, "
            f"ports={self.ports}, hosts={self.hosts}, server={self._server_binary.flavor} "
            f"{self._server_binary.version_string})"
        )

    # ----------------------------------------------------------------- state
    def get_address(self) -> list[str]:
        """``"host:port"`` of every shard. Raises :class:`StoreNotActiveError` if not running."""
        if not self.is_active():
            raise StoreNotActiveError(f"Database is not active: orchestrator {self._name!r}")
        return list(self._topology.addresses)

    def is_active(self) -> bool:
        """True iff every shard answers an authenticated PING now; with replicas, iff the
        nodes that answer see the whole cluster served (a dead master's replica took over)."""
        shards = shard_endpoints(
            self._topology.addresses, self._password, PROBE_TIMEOUT, self.tls_ca
        )
        if self.replicas:
            return cluster_serving(shards)
        return all(ping_error(shard) is None for shard in shards)

    # ----------------------------------------------------------------- launch options
    def set_cpus(self, num_cpus: int) -> None:
        """CPUs per shard; locally each shard is pinned to that many CPUs (round-robin)."""
        count = check_int("num_cpus", num_cpus, minimum=None)
        topology.cpu_sets(self.num_shards, count, available_cpus())  # validates the range
        self._cpus_per_shard = count

    def set_cpu_pinning(self, cpus: Sequence[int]) -> None:
        """Pin every shard to exactly ``cpus`` (locally with ``taskset``); ``[]`` turns
        pinning off. Takes precedence over the round-robin pinning of :meth:`set_cpus`.
        The inference workers share their shard's CPUs unless
        :meth:`set_worker_cpu_pinning` places them.

        Raises :class:`~insitu.errors.CPUPinningError` for CPUs this process may not use.
        """
        self._cpu_pinning = _usable_cpus(cpus)

    def set_worker_cpu_pinning(self, cpus: Sequence[int]) -> None:
        """insitu: pin the inference workers of every shard to exactly ``cpus`` instead
        of their shard's CPUs; ``[]`` undoes it. A worker on a CPU of its own runs models
        with warm caches, where one sharing a CPU with its server is switched out for the
        server around every request (see docs/benchmarks.md).

        Raises :class:`~insitu.errors.CPUPinningError` for CPUs this process may not use.
        """
        pins = _usable_cpus(cpus)
        self._worker_pinning = pins or None

    def allow_passwordless_clients(self, allowed: bool = True) -> None:
        """insitu: let clients that send no password — unmodified SmartRedis clients in C,
        C++, Fortran or Python, which cannot — in over TCP, as a restricted default user:
        data and ``AI.*`` commands only (no administration, configuration, module or
        scripting commands). Anyone who reaches the store's port is then such a client:
        see docs/porting.md for the risk. Logged as a warning when the store starts.

        Not needed on a store on a Unix socket with owner-only permissions
        (``socket_permissions=700``): there the socket's permissions authenticate, and
        clients need no password. insitu's own clients always send the password.
        """
        self._passwordless = check_bool("allowed", allowed)

    @property
    def access(self) -> str:
        """insitu: who gets in without the password: ``"password"`` (nobody),
        ``"owner-socket"`` (the owner, through its owner-only Unix socket) or
        ``"passwordless-tcp"`` (anyone, restricted; :meth:`allow_passwordless_clients`)."""
        if self._passwordless:
            return PASSWORDLESS_TCP
        socket = self._topology.unix_socket is not None and not any(self.ports)
        if socket and not self._socket_mode & 0o077:
            return OWNER_SOCKET
        return PASSWORD

    def set_walltime(self, walltime: str) -> None:
        """Time limit (``"HH:MM:SS"``) of the batch job; needs ``batch=True``."""
        self._set_launch(replace(self._launch, walltime=parse_walltime(walltime)))

    def set_hosts(self, host_list: list[str] | str) -> None:
        """Hosts to run on, one shard per host in turn (the launcher must reach them)."""
        self._set_launch(replace(self._launch, hosts=parse_hosts(host_list)))

    def set_run_arg(self, arg: str, value: str | None = None) -> None:
        """A run-command argument for every shard (the launcher must have a run command)."""
        run_args = with_arg(self._launch.run_args, arg, value)
        self._set_launch(replace(self._launch, run_args=run_args))

    def set_batch_arg(self, arg: str, value: str | None = None) -> None:
        """A scheduler option of the batch job; needs ``batch=True``."""
        batch_args = with_arg(self._launch.batch_args, arg, value)
        self._set_launch(replace(self._launch, batch_args=batch_args))

    # ----------------------------------------------------------------- runtime interface
    def prepare(self, path: str | os.PathLike[str] | None = None) -> list[JobSpec]:
        """Write every shard's config under ``path`` (default :attr:`path`) and return one
        ``JobSpec`` per shard, in shard order.

        Checks first that every port (and cluster bus port) is free: a taken port raises
        :class:`~insitu.errors.PortInUseError` and nothing is written. Raises
        :class:`~insitu.errors.AlreadyRunningError` while the store is running. Stale
        cluster node tables from an earlier run are removed (the cluster is formed anew).
        An invalid ``INSITU_WORKER_SPIN_US`` (read by the workers) raises
        :class:`~insitu.errors.InvalidArgumentError` here, before anything starts.
        """
        if self._active:
            raise AlreadyRunningError(f"orchestrator {self._name!r} is already running")
        if self.worker_layout.per_shard:
            worker_spin_us(os.environ)
        if path is not None:
            self.path = path
        self._topology = self._local_topology  # shards on other hosts report anew
        if not self._remote:  # other hosts' ports cannot be checked from here
            check_ports_free(self._topology.bind, self._topology.needed_ports())
        if self._topology.unix_socket is not None:
            check_socket_free(self._topology.unix_socket)
            self._topology.unix_socket.parent.mkdir(parents=True, exist_ok=True)
        directory = self._path.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        specs = self._shard_specs(directory, self._launch)
        self._secrets_written = True  # from here on, mark_stopped deletes what was written
        tls = self._issue_certificates(directory) if self._tls else None
        for index, name in enumerate(self.shard_names):
            self._write_shard_config(directory, index, name, tls)
            self._address_file(directory, name).unlink(missing_ok=True)
        self._probes = tuple(
            ShardProbe(name, address, directory / f"{name}.out", directory / f"{name}.err")
            for name, address in zip(self.shard_names, self._topology.addresses, strict=True)
        )
        return specs

    def wait_ready(self, is_running: Callable[[int], bool], timeout: float = 30.0) -> None:
        """Block until the launched shards serve authenticated requests (and, for
        ``db_nodes >= 3``, form a healthy cluster).

        ``is_running(i)`` reports whether shard ``i``'s process is alive. ``timeout`` covers
        the whole wait. Raises :class:`~insitu.errors.ShardStartError` (with log tails) or
        :class:`~insitu.errors.ClusterSetupError`; the caller must then stop the shard jobs
        and call :meth:`mark_stopped`.
        """
        if not self._probes:
            raise InternalError("Orchestrator.wait_ready() called before prepare()")
        deadline = monotonic() + timeout
        if self._remote:
            self._adopt_shard_hosts(is_running, deadline)
        if self._node_local:
            if self.is_clustered:
                raise ClusterSetupError(
                    f"orchestrator {self._name}: shards on other hosts' loopback cannot form "
                    "a cluster; name the hosts' network interface (interface=...)"
                )
            self._active = True
            logger.info("orchestrator %s ready on %s", self._name, ", ".join(self._shard_nodes))
            return
        wait_for_shards(self._probes, self._password, is_running, deadline, self.tls_ca)
        if self.is_clustered:
            nodes = shard_endpoints(self._topology.addresses, self._password, tls_ca=self.tls_ca)
            form_cluster(nodes[: self.num_shards], deadline)
            if self.replicas:
                attach_replicas(nodes[: self.num_shards], nodes[self.num_shards :], deadline)
        every = shard_endpoints(self._topology.addresses, self._password, tls_ca=self.tls_ca)
        for user, rules in self._entity_users.items():  # a restart: the users again
            set_user(every, user, rules)
        self._active = True
        logger.info("orchestrator %s ready at %s", self._name, ", ".join(self._topology.addresses))

    def _adopt_shard_hosts(self, is_running: Callable[[int], bool], deadline: float) -> None:
        """Wait until every shard on another host wrote where it listens, then take those
        addresses as the store's (each shard's first address on the interfaces)."""
        directory = self._path.resolve()
        files = [self._address_file(directory, name) for name in self.shard_names]
        found = wait_for_addresses(self._probes, files, is_running, deadline)
        self._shard_nodes = tuple(host for host, _ in found)
        self._topology = replace(self._topology, shard_hosts=tuple(a[0] for _, a in found))
        self._probes = tuple(
            replace(probe, address=address)
            for probe, address in zip(self._probes, self._topology.addresses, strict=True)
        )
        logger.info(
            "orchestrator %s shards on %s", self._name, ", ".join(host for host, _ in found)
        )

    @staticmethod
    def _address_file(directory: Path, name: str) -> Path:
        return directory / name / f"{name}.address"

    def worker_specs(self) -> list[JobSpec]:
        """One JobSpec per inference worker of every shard (none with
        ``inference_workers=0``), for the runtime to start once :meth:`wait_ready` returned;
        call after :meth:`prepare`."""
        directory = self._path.resolve()
        shards = [
            workers.ShardFacts(name, address, directory / name, self._worker_pinning or pins)
            for name, address, pins in zip(
                self.shard_names, self._topology.addresses, self._pinning(), strict=True
            )
        ]
        specs = workers.worker_specs(
            shards, self.worker_layout, self._password, self._db_identifier, self.tls_ca
        )
        batch = self._launch.batch_spec(self.num_shards)
        if not self._multi_host:  # in the shards' batch job when there is one
            group = None if batch is None else self._name
            return [replace(spec, batch=batch, batch_group=group) for spec in specs]
        # Beside their shard: shard i is on node i of the allocation (see _shard_specs),
        # in the shards' batch job when there is one.
        per_shard = max(1, len(specs) // max(1, self.num_shards))
        return [
            replace(
                spec,
                resources=replace(spec.resources, node_index=i // per_shard),
                allocation=self._launch.allocation,
                batch=batch,
                batch_group=None if batch is None else self._name,
            )
            for i, spec in enumerate(specs)
        ]

    @property
    def shard_nodes(self) -> tuple[str, ...]:
        """Host names the shards run on, once ready, when they run on other hosts than
        the driver's (empty otherwise)."""
        return self._shard_nodes

    def place_beside(self, spec: JobSpec) -> JobSpec:
        """``spec`` placed on the host of this store's first shard when the launcher runs
        jobs on other hosts than the driver's: a colocated application must run beside its
        store, which listens on that host's loopback or Unix socket. Unchanged when the
        job names its hosts or node itself, or when everything runs on this host."""
        res = spec.resources
        if not self._multi_host or res.hosts or res.node_index is not None:
            return spec
        if self._shard_nodes:
            return replace(spec, resources=replace(res, hosts=(self._shard_nodes[0],)))
        return replace(spec, resources=replace(res, node_index=0))  # shard 0's node

    def mark_stopped(self) -> None:
        """Record that the shards are stopped, and delete the files that hold the store's
        password (each shard's config, the reconnect password file; the checkpoint, which
        holds none, stays and reads as stale) if this object wrote them: a store that could
        not even prepare (a port taken by another run at the same path) deletes nothing.
        Idempotent."""
        self._active = False
        if self._secrets_written:
            remove_secret_files(self._path.resolve(), self._name, self.shard_names)
            self._secrets_written = False

    def connection_env(self) -> dict[str, str]:
        """Environment a launched entity needs to reach this store (``SSDB`` …)."""
        connection = StoreConnection(
            self._db_identifier, self._topology.addresses, self.is_clustered, self._password,
            self.tls_ca or "",
        )  # fmt: skip
        return connection.to_env()

    @property
    def acl(self) -> str | None:
        """``"per_entity"`` when launched entities get ACL users of their own, else None."""
        return self._acl

    def entity_env(self, entity: str, key_out: str | None) -> dict[str, str]:
        """With ``acl="per_entity"``: create the ACL user of ``entity`` (writing under
        ``key_out``, None: no prefix) on every server now, and return the variables that
        make its client use it (``SSDB_USER``, ``SSDB_PASSWORD``); ``{}`` otherwise."""
        if self._acl is None:
            return {}
        user, secret = user_name(entity), credentials.generate_password()
        rules = entity_rules(secret, key_out)
        endpoints = shard_endpoints(self._topology.addresses, self._password, tls_ca=self.tls_ca)
        set_user(endpoints, user, rules)
        self._entity_users[user] = rules
        return {user_var(self._db_identifier): user, password_var(self._db_identifier): secret}

    def remove_stale_files(self) -> None:
        """Delete cluster node tables left by earlier runs (SmartSim's method)."""
        for name in self.shard_names:
            (self._path / name / f"nodes-{name}.conf").unlink(missing_ok=True)

    # ----------------------------------------------------------------- helpers
    def _set_launch(self, launch: ShardLaunch) -> None:
        """Adopt ``launch`` once the launcher accepts every shard's job spec with it
        (``UnsupportedOptionError`` otherwise, and nothing changes)."""
        launch = check_batch_only(launch)
        before = (self._multi_host, self._remote, self._node_local)
        self._place(launch)
        try:
            for spec in self._shard_specs(self._path.resolve(), launch):
                try:
                    check_spec(self.launcher, spec)
                except AllocationError:
                    # Where the shards will run (an allocation) is a fact of the start, not
                    # of the options: SmartSim builds a Slurm Orchestrator anywhere, and the
                    # launch checks the allocation again before anything starts.
                    continue
        except BaseException:
            self._multi_host, self._remote, self._node_local = before
            raise
        self._launch = launch

    def _place(self, launch: ShardLaunch) -> None:
        """Whether the shards run on other hosts than the driver's: on a multi-host
        launcher, and in a batch job whose members its launcher places on the job's nodes
        (PBS, LSF: ``batch_runs_on_other_hosts``)."""
        spread = batch_runs_on_other_hosts if launch.batch else runs_on_other_hosts
        self._multi_host = spread(self.launcher)
        self._remote = self._multi_host and self._local_topology.unix_socket is None
        self._node_local = self._remote and all(i == "lo" for i in self._interfaces)

    def _shard_specs(self, directory: Path, launch: ShardLaunch) -> list[JobSpec]:
        """One JobSpec per shard, in shard order, its config under ``directory`` (pure)."""
        pins = self._pinning()
        specs = []
        for index, name in enumerate(self.shard_names):
            config_path = directory / name / f"{name}.conf"
            resources = Resources(cpus_per_task=self._cpus_per_shard, cpu_pinning=pins[index])
            exe = self._server_binary.path
            args_t: tuple[str, ...] = (str(config_path),)
            if self._remote:
                # One shard per node of the allocation, started through shard_host there.
                resources = Resources(cpus_per_task=self._cpus_per_shard, node_index=index)
                exe, args_t = sys.executable, self._shard_host_args(directory, name, config_path)
            elif self._multi_host:  # a Unix socket: shard i on node i, no interface
                resources = Resources(cpus_per_task=self._cpus_per_shard, node_index=index)
            spec = JobSpec(
                name=name, exe=exe, args=args_t,
                cwd=directory, out_path=directory / f"{name}.out",
                err_path=directory / f"{name}.err", resources=resources,
                entity_type=EntityType.DB_NODE,
            )  # fmt: skip
            spec = launch.apply(spec, index, self._topology.nodes)
            if spec.batch is not None:  # batch=True: one batch job holds every shard
                spec = replace(spec, batch_group=self._name)
            specs.append(spec)
        return specs

    def _shard_host_args(self, directory: Path, name: str, config: Path) -> tuple[str, ...]:
        """Arguments of ``python -m insitu.store.shard_host`` for one shard."""
        interfaces = [token for i in self._interfaces for token in ("--interface", i)]
        if self._node_local:
            port = self._topology.ports[self.shard_names.index(name)]
            interfaces += ["--wait-listening", str(port)]
        return (
            "-m", "insitu.store.shard_host", *interfaces,
            "--address-file", str(self._address_file(directory, name)),
            "--", self._server_binary.path, str(config),
        )  # fmt: skip

    def _issue_certificates(self, directory: Path) -> TlsFiles:
        """A fresh server certificate and key for this start, from the store's CA (made
        once per Orchestrator: clients holding its certificate keep working)."""
        from insitu.store.tls_certs import StoreAuthority  # cryptography: TLS stores only

        if not isinstance(self._authority, StoreAuthority):
            self._authority = StoreAuthority(self._name)
        hosts = tls_store.certificate_hosts(self._topology.bind)
        return self._authority.issue(tls_store.tls_dir(directory, self._name), hosts)

    def _write_shard_config(
        self, directory: Path, index: int, name: str, tls: TlsFiles | None = None
    ) -> Path:
        shard_dir = directory / name
        shard_dir.mkdir(exist_ok=True)
        cfg = ShardConfig(
            name=name,
            port=self.ports[index],
            bind=self._topology.bind,
            password=self._password,
            shard_dir=shard_dir,
            cluster=self.is_clustered,
            unix_socket=self._topology.unix_socket,
            unix_socket_perm=self._socket_mode,
            options=tuple(self._options.items()),
            module=module_path(),
            module_args=module_args(self.intra_threads, self.queue_threads),
            access=self.access,
            tls=tls,
            default_user_off=self._acl is not None,
        )
        if self.access == PASSWORDLESS_TCP and index == 0:
            logger.warning(
                "store %s lets clients without a password in over TCP (restricted to data "
                "and AI.* commands): anyone who reaches %s can read and write its data",
                self._name,
                ", ".join(self._topology.addresses),
            )
        (shard_dir / cfg.cluster_config_file).unlink(missing_ok=True)
        config_path = shard_dir / f"{name}.conf"
        write_private(config_path, render_shard_config(cfg))
        return config_path

    def _pinning(self) -> Sequence[tuple[int, ...]]:
        if self._cpu_pinning is not None:
            return [self._cpu_pinning] * self._topology.nodes
        if self._cpus_per_shard is None:
            return [()] * self._topology.nodes
        return topology.cpu_sets(self._topology.nodes, self._cpus_per_shard, available_cpus())

    def client_addresses(self) -> list[Address]:
        """Every address a client on this host may use to reach the store: each shard on
        each interface it binds (the driver's password registry holds them all)."""
        if self._topology.unix_socket is not None or self._topology.shard_hosts:
            return [parse_address(a) for a in self._topology.addresses]
        return [
            Address(host, port) for port in self._topology.ports for host in self._topology.bind
        ]


def _usable_cpus(cpus: Sequence[int]) -> tuple[int, ...]:
    """``cpus`` sorted, without repeats; CPUPinningError for any this process may not use."""
    check_any("cpus", cpus, list, tuple)
    pins = tuple(sorted({check_int("cpu", cpu, minimum=0) for cpu in cpus}))
    usable = available_cpus()
    missing = [cpu for cpu in pins if cpu not in usable]
    if missing:
        raise CPUPinningError(
            f"CPUs {missing} are not available to this process (usable: {usable})",
            missing,
            usable,
        )
    return pins


def _layout(
    n_shards: int, port: int, bind: tuple[str, ...], unix_socket: object | None, replicas: int
) -> topology.Topology:
    """Shards (and their replicas) on TCP ports ``port..``, or one shard on a Unix socket
    (TCP off: port 0)."""
    if unix_socket is None:
        ports = topology.shard_ports(port, n_shards * (1 + replicas))
        return topology.Topology(n_shards, ports, bind, replicas=replicas)
    if n_shards != 1:
        raise InvalidArgumentError("a store on a unix socket has exactly one shard (db_nodes=1)")
    return topology.Topology(1, (0,), bind, validate_socket_path(unix_socket))


def _optional_positive(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    number = check_int(name, value, minimum=None)
    if number < 1:
        raise InvalidArgumentError(f"{name} must be a positive integer, got {number}")
    return number


def _store_path(path: object) -> Path:
    """The store's directory. SmartSim takes ``str(path)`` of whatever is given, so an
    Orchestrator built as ``Orchestrator(6379, ...)`` (the port given first, where SmartSim
    expects ``path``) works there with a directory named ``6379``; the same here, with a
    warning, since the port was almost certainly meant."""
    if path is None:
        return Path.cwd()
    if isinstance(path, int) and not isinstance(path, bool):
        logger.warning(
            "Orchestrator path=%d is a number: its first argument is path, not port "
            "(pass port=%d); using the directory %r as SmartSim does",
            path, path, str(path),
        )  # fmt: skip
        return Path(str(path))
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterTypeError(f"path must be a str or path, not {type(path).__name__}")
    return Path(path)


def _store_name(name: object) -> str:
    return validate_db_identifier(check_str("name", name))
