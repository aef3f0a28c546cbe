"""A real multi-host Slurm cluster on one machine: one ``slurmctld`` host and one ``slurmd`` per
compute host, each in its own network + UTS namespaces (see :mod:`tests.cluster.netns`).

Debian's ``slurm-wlm`` (22.05) and ``munge``: one ``munged`` whose socket is a file, shared by
every namespace (the filesystem is shared, as an HPC parallel file system is); no
``slurmdbd`` (so no ``sacct``). The cluster's files (config, key, logs, spool, state) live in
one directory, and ``cluster.json`` there records every PID, link and address, so that
:func:`down` can tear it all down by PID, also from another process (``python -m tests.cluster
down``) or after the process that made it died.

Clients (``srun``, ``squeue`` …) find the cluster through ``SLURM_CONF`` (:meth:`Cluster.env`).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.cluster import netns

DEFAULT_DIR = Path("/tmp/insitu-cluster")
"""Where ``python -m tests.cluster up`` keeps a cluster started by hand."""

CPUS_PER_NODE = 8
"""CPUs each compute host declares (more than the machine has: steps overlap on cores)."""

REQUIRED = ("slurmctld", "slurmd", "srun", "sbatch", "squeue", "scontrol", "sinfo", "munged")

LOCK = Path("/tmp/insitu-cluster.lock")
"""Serialises subnet choice and bridge creation between concurrent test sessions."""

START_TIMEOUT = 90.0


@dataclass
class Cluster:
    """A running (or half-started) test cluster, as recorded in ``cluster.json``."""

    directory: str
    bridge: str
    subnet: str
    gateway: str = ""
    owner: int = 0
    munged: int = 0
    controller: dict[str, object] = field(default_factory=dict)
    nodes: list[dict[str, object]] = field(default_factory=list)
    daemons: list[int] = field(default_factory=list)
    veths: list[str] = field(default_factory=list)
    slurmd_timeout: int = 30

    @property
    def path(self) -> Path:
        return Path(self.directory)

    @property
    def conf(self) -> Path:
        return self.path / "slurm.conf"

    @property
    def node_names(self) -> list[str]:
        return [str(n["name"]) for n in self.nodes]

    @property
    def node_addresses(self) -> dict[str, str]:
        return {str(n["name"]): str(n["address"]) for n in self.nodes}

    def hosts(self) -> list[netns.Host]:
        """The compute hosts."""
        return [netns.Host(str(n["name"]), str(n["address"]), int(str(n["holder"])))
                for n in self.nodes]  # fmt: skip

    def env(self) -> dict[str, str]:
        """Variables a client of this cluster needs."""
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *argv: str, timeout: float = 30.0, check: bool = True) -> str:
        """Run a Slurm client command against this cluster; its stdout."""
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, **self.env()},
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
        return proc.stdout

    def save(self) -> None:
        tmp = self.path / "cluster.json.part"
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(self.path / "cluster.json")

    @classmethod
    def load(cls, directory: Path) -> Cluster:
        return cls(**json.loads((directory / "cluster.json").read_text()))


def missing_tools() -> list[str]:
    """Slurm/munge programs not installed here."""
    return [t for t in REQUIRED if shutil.which(t) is None]


def why_unavailable() -> str | None:
    """One line saying why a cluster cannot start here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces); run make test as root"
    missing = missing_tools()
    if missing:
        return (
            f"needs {', '.join(missing)}: run `bash .ci/debian-packages` as root "
            "(installs slurm-wlm and munge)"
        )
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return "needs util-linux unshare/nsenter"
    return None


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def render_conf(cluster: Cluster, munge_socket: Path) -> str:
    """``slurm.conf`` for ``cluster`` (one partition holding every node)."""
    d = cluster.path
    ctl = cluster.controller
    lines = [
        f"ClusterName={cluster.bridge}",
        f"SlurmctldHost={ctl['name']}({ctl['address']})",
        "SlurmctldPort=6817",
        "SlurmdPort=6818",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={munge_socket}",
        "SlurmUser=root",
        "SlurmdUser=root",
        f"StateSaveLocation={d / 'state'}",
        f"SlurmdSpoolDir={d / 'spool' / '%n'}",
        # Node-local scratch (PMIx puts per-step directories there, named alike on all nodes).
        f"TmpFS={d / 'tmpfs' / '%n'}",
        f"SlurmctldPidFile={d / 'slurmctld.pid'}",
        f"SlurmdPidFile={d / 'slurmd.%n.pid'}",
        f"SlurmctldLogFile={d / 'slurmctld.log'}",
        f"SlurmdLogFile={d / 'slurmd.%n.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "SlurmdParameters=config_overrides",
        "MpiDefault=none",
        "ReturnToService=2",
        "SchedulerType=sched/backfill",
        "SchedulerParameters=defer_batch",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "SwitchType=switch/none",
        "InactiveLimit=0",
        "KillWait=5",
        "MinJobAge=60",
        "MessageTimeout=20",
        f"SlurmdTimeout={cluster.slurmd_timeout}",
        "SlurmctldTimeout=30",
        "UnkillableStepTimeout=30",
    ]
    for node in cluster.nodes:
        lines.append(
            f"NodeName={node['name']} NodeAddr={node['address']} CPUs={CPUS_PER_NODE} "
            "RealMemory=4000 State=UNKNOWN"
        )
    lines.append("PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP")
    return "\n".join(lines) + "\n"


def _spawn(argv: list[str], log: Path, env: Mapping[str, str] | None = None) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            env=None if env is None else dict(env),
        )  # fmt: skip
    netns.CHILDREN[proc.pid] = proc
    return proc.pid


def up(
    directory: Path, n_nodes: int = 3, timeout: float = START_TIMEOUT, slurmd_timeout: int = 30
) -> Cluster:
    """Start a cluster of ``n_nodes`` compute hosts in ``directory`` (made empty first) and
    wait until ``sinfo`` shows every node idle. ``slurmd_timeout``: seconds without an
    answer before the controller sets a node DOWN. On any failure everything started is
    torn down and the error propagates."""
    reason = why_unavailable()
    if reason:
        raise RuntimeError(reason)
    if (directory / "cluster.json").exists():
        down(directory)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for sub in ("state", "spool", "logs"):
        (directory / sub).mkdir()
    tag = secrets.token_hex(3)
    cluster = Cluster(
        str(directory), bridge=f"isbr{tag}", subnet="", owner=os.getpid(),
        slurmd_timeout=slurmd_timeout,
    )  # fmt: skip
    try:
        _start(cluster, n_nodes, timeout)
    except BaseException:
        down(directory)
        raise
    return cluster


def _start(cluster: Cluster, n_nodes: int, timeout: float) -> None:
    d = cluster.path
    logs = d / "logs"
    with _locked():
        subnet = netns.free_subnet()
        cluster.subnet = str(subnet)
        cluster.save()  # from here on, down() knows the bridge
        cluster.gateway = netns.make_bridge(cluster.bridge, subnet)
    hosts = list(subnet.hosts())
    names = ["slurmctl"] + [f"node{i + 1}" for i in range(n_nodes)]
    addresses = [str(hosts[1])] + [str(hosts[10 + i]) for i in range(n_nodes)]
    made: list[netns.Host] = []
    for name, address in zip(names, addresses, strict=True):
        holder = netns.start_holder(name, logs / f"holder-{name}.log")
        host = netns.Host(name, address, holder)
        entry: dict[str, object] = {"name": name, "address": address, "holder": holder}
        if name == "slurmctl":
            cluster.controller = entry
        else:
            cluster.nodes.append(entry)
        cluster.save()
        veth = f"isv{cluster.bridge[4:]}{len(made)}"
        netns.attach(host, cluster.bridge, veth, subnet.prefixlen)
        cluster.veths.append(veth)
        made.append(host)
        cluster.save()

    # munge: one daemon, its socket a file every namespace reaches.
    key = d / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    socket = d / "munge.socket"
    cluster.munged = _spawn(
        ["munged", "--foreground", "--force", f"--socket={socket}", f"--key-file={key}",
         f"--pid-file={d / 'munged.pid'}", f"--log-file={logs / 'munged.log'}",
         f"--seed-file={d / 'munged.seed'}"],
        logs / "munged.out",
    )  # fmt: skip
    cluster.save()
    _wait(socket.exists, 20, f"munged did not create its socket (see {logs})")

    cluster.conf.write_text(render_conf(cluster, socket))
    env = {**os.environ, "SLURM_CONF": str(cluster.conf)}
    ctl = made[0]
    cluster.daemons.append(
        _spawn(
            [*ctl.nsenter(), "slurmctld", "-D", "-i", "-f", str(cluster.conf)],
            logs / "slurmctld.out",
            env,
        )
    )
    cluster.save()
    for host in made[1:]:
        (d / "spool" / host.name).mkdir()
        (d / "tmpfs" / host.name).mkdir(parents=True)
        cluster.daemons.append(
            _spawn(
                [*host.nsenter(), "slurmd", "-D", "-N", host.name, "-f", str(cluster.conf)],
                logs / f"slurmd-{host.name}.out",
                env,
            )
        )
        cluster.save()
    _wait(lambda: _all_idle(cluster), timeout,
          f"nodes not idle within {timeout:g} s (see {d}/*.log)")  # fmt: skip


def kill_node(cluster: Cluster, name: str) -> list[int]:
    """Make compute host ``name`` die: SIGKILL every process in its namespaces (its
    ``slurmd``, step daemons and tasks) but the namespace holder; returns their PIDs."""
    host = next(h for h in cluster.hosts() if h.name == name)
    namespace = netns.net_ns(host.holder)
    victims = [p for p in netns.pids_in([namespace] if namespace else []) if p != host.holder]
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in victims:
        _reap(pid)
    cluster.daemons = [p for p in cluster.daemons if p not in victims]
    cluster.save()
    return victims


def restart_node(cluster: Cluster, name: str, timeout: float = START_TIMEOUT) -> None:
    """Start ``slurmd`` of host ``name`` again and wait until every node is idle (the
    controller returns a DOWN node to service when it registers: ReturnToService=2)."""
    host = next(h for h in cluster.hosts() if h.name == name)
    env = {**os.environ, "SLURM_CONF": str(cluster.conf)}
    cluster.daemons.append(
        _spawn(
            [*host.nsenter(), "slurmd", "-D", "-N", name, "-f", str(cluster.conf)],
            cluster.path / "logs" / f"slurmd-{name}.out",
            env,
        )
    )
    cluster.save()
    _wait(lambda: _all_idle(cluster), timeout, f"{name} not idle again within {timeout:g} s")


def _all_idle(cluster: Cluster) -> bool:
    for pid in cluster.daemons:
        if not _alive(pid):
            raise RuntimeError(f"a Slurm daemon (pid {pid}) exited: see {cluster.path}/*.log")
    try:
        out = cluster.run("sinfo", "-h", "-N", "-o", "%N %T", timeout=10, check=False)
    except subprocess.TimeoutExpired:
        return False
    states = dict(line.split() for line in out.splitlines() if line.strip())
    return sorted(states) == sorted(cluster.node_names) and all(
        s == "idle" for s in states.values()
    )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait(ready: object, timeout: float, message: str) -> None:
    assert callable(ready)
    deadline = time.monotonic() + timeout
    delay = 0.05
    while not ready():
        if time.monotonic() >= deadline:
            raise RuntimeError(message)
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def down(directory: Path) -> list[str]:
    """Tear the cluster recorded in ``directory`` down by PID: every process in its hosts'
    namespaces (daemons, steps, jobs, holders), munged, the veths and the bridge. Safe to call
    on a half-started or already stopped cluster; returns what could not be removed."""
    try:
        cluster = Cluster.load(directory)
    except (OSError, ValueError):
        return []
    problems: list[str] = []
    holders = [int(str(n["holder"])) for n in [cluster.controller, *cluster.nodes] if n]
    for pid in cluster.daemons:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    left = netns.kill_hosts(holders)
    if left:
        problems.append(f"processes still alive: {left}")
    if cluster.munged:
        with contextlib.suppress(ProcessLookupError):
            os.kill(cluster.munged, signal.SIGTERM)
        _reap(cluster.munged)
    for pid in cluster.daemons + holders:
        _reap(pid)
    for veth in cluster.veths:
        netns.delete_link(veth)
    netns.delete_link(cluster.bridge)
    if netns.link_exists(cluster.bridge):
        problems.append(f"bridge {cluster.bridge} still exists")
    (directory / "cluster.json").rename(directory / "cluster.down.json")
    return problems


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our child (no zombie left behind); bounded."""
    proc = netns.CHILDREN.pop(pid, None)
    if proc is not None:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def status(directory: Path) -> str:
    """A human summary: nodes and their states, or why there is no cluster."""
    try:
        cluster = Cluster.load(directory)
    except (OSError, ValueError):
        return f"no cluster recorded in {directory}"
    out = cluster.run("sinfo", "-N", "-o", "%N %T %c %o", timeout=10, check=False)
    return (
        f"cluster {cluster.bridge} in {directory} (subnet {cluster.subnet}, "
        f"driver at {cluster.gateway})\nexport SLURM_CONF={cluster.conf}\n{out}"
    )


def reap_stale(base: Path = Path("/tmp")) -> None:
    """Tear down test clusters whose owning test session has died (left by a killed run)."""
    for record in base.glob("insitu-cluster-*/cluster.json"):
        with contextlib.suppress(OSError, ValueError):
            owner = int(json.loads(record.read_text()).get("owner", 0))
            if owner and not _alive(owner):
                down(record.parent)


def subnet_of(cluster: Cluster) -> ipaddress.IPv4Network:
    return ipaddress.ip_network(cluster.subnet)
