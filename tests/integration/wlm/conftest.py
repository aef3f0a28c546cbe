"""PBS Pro/PALS and LSF through their behavioural simulators (tests/fakes/pbssim.py,
lsfsim.py): every test runs once per scheduler."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.simulators import Simulator, installed


@pytest.fixture(params=["pbs", "lsf", "sge"])
def sim(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Simulator]:
    """One simulated scheduler, its commands first on PATH."""
    with installed(request.param, tmp_path, monkeypatch) as simulator:
        yield simulator


@pytest.fixture
def node_interface() -> Iterator[str]:
    """A network interface of this machine that is not loopback, for stores whose shards
    bind a node's interface while every simulated node is this machine: a bridge with no ports and
    one address from the benchmarking range 198.18.0.0/15 (RFC 2544), removed afterwards
    (root only)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to add a dummy interface (run the suite as root)")
    name = f"isdm{secrets.token_hex(3)}"
    address = f"198.19.255.{secrets.randbelow(250) + 2}/32"
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", address, "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)
