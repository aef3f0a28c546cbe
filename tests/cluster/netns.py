"""Test hosts as network + UTS namespaces on one bridge (root only).

Each host is a *holder* process (``unshare --net --uts`` running ``sleep``) whose namespaces
every process of that host joins through ``nsenter --target <holder>``; a host exists exactly
as long as some process is in its namespaces, so tearing one down is killing, by PID, every
process whose network namespace is the holder's. Each host has a veth end named
:data:`HOST_IFACE` (like a Cray high-speed network interface, and absent from the driver's
namespace, so a store that resolves its interface on the driver's host fails visibly) with an
address in ``198.18.0.0/15`` (RFC 2544's benchmarking range, never another one); the other end
hangs on a bridge in the driver's namespace, which has the subnet's ``.1``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_RANGE = ipaddress.ip_network("198.18.0.0/15")
"""The only addresses test hosts ever get."""

HOST_IFACE = "hsn0"
"""The name of every test host's network interface."""

CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
"""Processes this process started for test hosts, by PID (kept to be waited for)."""


def sh(*argv: str, check: bool = True, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run a system tool (``ip``, ``nsenter`` …) and wait for it, bounded."""
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, timeout=timeout)


@dataclass(frozen=True)
class Host:
    """One test host: its name, address and holder process."""

    name: str
    address: str
    holder: int

    def nsenter(self) -> list[str]:
        """The argv prefix that runs a command on this host."""
        return ["nsenter", f"--target={self.holder}", "--net", "--uts", "--"]


def used_subnets() -> set[ipaddress.IPv4Network]:
    """The /24s of 198.18.0.0/15 that some interface of the driver's namespace already uses."""
    out = sh("ip", "-o", "-4", "addr", "show").stdout
    used = set()
    for line in out.splitlines():
        words = line.split()
        if "inet" in words:
            iface = ipaddress.ip_interface(words[words.index("inet") + 1])
            if iface.ip in BENCH_RANGE:
                used.add(ipaddress.ip_network(f"{iface.ip}/24", strict=False))
    return used


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 of the benchmarking range that no interface here uses (call under a lock)."""
    used = used_subnets()
    for subnet in BENCH_RANGE.subnets(new_prefix=24):
        if subnet.network_address.packed[2] != 0 and subnet not in used:
            return subnet
    raise RuntimeError("every /24 of 198.18.0.0/15 is in use")


def make_bridge(name: str, subnet: ipaddress.IPv4Network) -> str:
    """Create bridge ``name`` with the subnet's first address; returns that address."""
    address = str(next(subnet.hosts()))
    sh("ip", "link", "add", name, "type", "bridge")
    sh("ip", "addr", "add", f"{address}/{subnet.prefixlen}", "dev", name)
    sh("ip", "link", "set", name, "up")
    return address


def start_holder(hostname: str, log: Path) -> int:
    """A process in new network and UTS namespaces with ``hostname``; returns its PID."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            ["unshare", "--net", "--uts", "--", "sh", "-c",
             f"hostname {hostname} && ip link set lo up && exec sleep infinity"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip
    CHILDREN[proc.pid] = proc
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{proc.pid}/exe").endswith("sleep"):
                return proc.pid
        if proc.poll() is not None:
            raise RuntimeError(f"namespace holder for {hostname} exited: see {log}")
        time.sleep(0.02)
    raise RuntimeError(f"namespace holder for {hostname} did not start within 10 s")


def attach(host: Host, bridge: str, veth: str, prefixlen: int) -> None:
    """Give ``host`` its interface on ``bridge`` and its address."""
    sh("ip", "link", "add", veth, "type", "veth", "peer", "name", HOST_IFACE,
       "netns", str(host.holder))  # fmt: skip
    sh("ip", "link", "set", veth, "master", bridge, "up")
    inside = host.nsenter()
    sh(*inside, "ip", "addr", "add", f"{host.address}/{prefixlen}", "dev", HOST_IFACE)
    sh(*inside, "ip", "link", "set", HOST_IFACE, "up")


def net_ns(pid: int) -> str | None:
    """The network namespace of ``pid`` (``net:[inode]``), or None if it is gone."""
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def pids_in(namespaces: Iterable[str]) -> list[int]:
    """Every process whose network namespace is one of ``namespaces``."""
    wanted = set(namespaces)
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and net_ns(int(entry)) in wanted:
            found.append(int(entry))
    return found


def kill_hosts(holders: Sequence[int], deadline: float = 15.0) -> list[int]:
    """Kill every process in the holders' namespaces (holders last); returns the PIDs of any
    still alive after ``deadline`` seconds (none, normally)."""
    namespaces = {ns for ns in map(net_ns, holders) if ns is not None}
    if not namespaces:
        return []
    me = net_ns(os.getpid())
    namespaces.discard(me)  # never the driver's own namespace
    end = time.monotonic() + deadline
    while True:
        pids = pids_in(namespaces)
        if not pids:
            return []
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() >= end:
            return pids
        time.sleep(0.05)


def delete_link(name: str) -> None:
    """Delete a link of the driver's namespace if it exists."""
    sh("ip", "link", "del", name, check=False)


def link_exists(name: str) -> bool:
    return sh("ip", "link", "show", name, check=False).returncode == 0
