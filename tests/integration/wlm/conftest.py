"""PBS Pro/PALS and LSF through their behavioural simulators (tests/fakes/pbssim.py,
lsfsim.py): every test runs once per scheduler."""

from __future__ import annotations

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
