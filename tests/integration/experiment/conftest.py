"""Fixtures for Experiment tests: a fresh experiment directory and free store ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from insitu import Experiment
from insitu.store.readiness import find_free_port_block


def free_port_base(count: int = 1) -> int:
    """A base port with ``count`` free ports and their cluster-bus ports (+10000)."""
    return find_free_port_block(count)


@pytest.fixture
def exp(tmp_path: Path) -> Iterator[Experiment]:
    experiment = Experiment("exp", exp_path=str(tmp_path), launcher="local")
    yield experiment
    experiment.stop_all()
