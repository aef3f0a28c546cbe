"""Host facts: this machine's names, addresses and usable CPUs, read in one place."""

from __future__ import annotations

import os
import socket

import pytest

from insitu import hosts
from insitu.errors import UnsupportedOptionError
from insitu.jobs import JobSpec, Resources
from insitu.launchers.local import validate_local


def test_real_interfaces_include_loopback() -> None:
    table = hosts.interface_addresses()
    assert "127.0.0.1" in table.get("lo", ())


def test_local_hosts() -> None:
    local = frozenset({"localhost", "vm", "192.0.2.2"})
    for host in ("localhost", "127.0.0.5", "VM", "::1", " vm ", "192.0.2.2"):
        assert hosts.is_local_host(host, local), host
    for host in ("nid00042", "192.0.2.3", "127.evil.example", "vm.example.org"):
        assert not hosts.is_local_host(host, local), host
    assert "localhost" in hosts.local_names()


def test_every_name_of_this_machine_is_local() -> None:
    names = hosts.local_names()
    hostname, fqdn = socket.gethostname(), socket.getfqdn()
    for name in (hostname, fqdn, hostname.split(".")[0], hostname.upper(), "LOCALHOST"):
        assert hosts.is_local_host(name, names), name
    for addresses in hosts.interface_addresses().values():
        for address in addresses:
            assert hosts.is_local_host(address, names), address


def test_usable_cpus_are_the_affinity_mask() -> None:
    assert hosts.available_cpus() == sorted(os.sched_getaffinity(0))


def test_the_launcher_and_the_store_agree_on_this_host() -> None:
    # Both used to keep their own list: an address of this machine was a local host for
    # the store but not for the local launcher, and upper-case names the other way round.
    addresses = [a for table in hosts.interface_addresses().values() for a in table]
    for host in [*addresses, socket.gethostname().upper()]:
        validate_local(JobSpec("j", "/bin/true", resources=Resources(hosts=(host,))))
    with pytest.raises(UnsupportedOptionError, match="nid00042"):
        validate_local(JobSpec("j", "/bin/true", resources=Resources(hosts=("nid00042",))))


def test_the_local_launcher_counts_usable_cpus_only() -> None:
    usable = hosts.available_cpus()
    validate_local(JobSpec("j", "/bin/true", resources=Resources(cpus_per_task=len(usable))))
    with pytest.raises(UnsupportedOptionError, match="cpus_per_task"):
        validate_local(
            JobSpec("j", "/bin/true", resources=Resources(cpus_per_task=len(usable) + 1))
        )
    outside = max(usable) + 1
    with pytest.raises(UnsupportedOptionError, match="cpu pinning"):
        validate_local(JobSpec("j", "/bin/true", resources=Resources(cpu_pinning=(outside,))))
