"""Facts about the host this process runs on: its names, its usable CPUs, its addresses.

The one module that reads them, so that every part of insitu agrees on what "this machine"
is: the local launcher (which hosts and CPUs a job may ask for), the store (which addresses
an interface has) and the Experiment's colocated-store planning (which CPUs to pin).
It sits below ``launchers``, ``store``, ``client`` and ``inference`` and imports nothing of
insitu, so any of them may use it.

:func:`is_local_host` is pure given the names to compare with; the other functions read the
system each time they are called (interfaces and affinity can change while a driver runs).
"""

from __future__ import annotations

import ipaddress
import os
import socket

import psutil

LOOPBACK = "127.0.0.1"
"""The address a store binds for the ``lo`` interface."""

_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def this_host() -> str:
    """The name of this machine, as job events and the launch record report it."""
    return socket.gethostname()


def interface_addresses() -> dict[str, tuple[str, ...]]:
    """This machine's network interfaces and their IPv4 addresses (reads the system)."""
    table: dict[str, tuple[str, ...]] = {}
    for name, snics in psutil.net_if_addrs().items():
        table[name] = tuple(s.address for s in snics if s.family == socket.AF_INET)
    return table


def local_names() -> frozenset[str]:
    """Every name and address designating this machine, lower case (reads the system).

    ``localhost``, the host name, the fully qualified name and the short forms of both,
    and every IPv4/IPv6 address of every interface (without an IPv6 zone suffix).
    """
    names = {"localhost", socket.gethostname(), socket.getfqdn()}
    names |= {name.split(".")[0] for name in names if not _is_address(name)}
    for snics in psutil.net_if_addrs().values():
        names.update(s.address.split("%")[0] for s in snics if s.family in _FAMILIES)
    return frozenset(name.lower() for name in names if name)


def is_local_host(host: str, local: frozenset[str] | None = None) -> bool:
    """Whether ``host`` designates this machine: a loopback address, or (case-insensitive)
    one of ``local`` (default: :func:`local_names`)."""
    name = host.strip()
    if _is_loopback(name):
        return True
    return name.lower() in (local_names() if local is None else local)


def available_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity mask), sorted.

    A job pinned to any other CPU would fail to start, and a count larger than this list
    cannot be honoured here, even where the machine has more CPUs.
    """
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
