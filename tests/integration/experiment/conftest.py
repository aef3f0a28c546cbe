"""Fixtures for Experiment tests: a fresh experiment directory and free store ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from insitu import Experiment

_next_base = [22000]


def free_port_base(count: int = 1) -> int:
    """A base port with ``count`` free ports and their cluster-bus ports (+10000)."""
    while _next_base[0] < 40000:
        base = _next_base[0]
        _next_base[0] += 11
        ports = [*range(base, base + count), *range(base + 10000, base + 10000 + count)]
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


@pytest.fixture
def exp(tmp_path: Path) -> Iterator[Experiment]:
    experiment = Experiment("exp", exp_path=str(tmp_path), launcher="local")
    yield experiment
    experiment.stop_all()
