"""Real stores for the inference suite — standalone over TCP, standalone over a Unix socket
and a 3-shard cluster — each with the inference workers its Orchestrator starts beside every
shard. Started once for the package; every test starts on an emptied store whose workers are
serving again."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from insitu.client import Client
from tests.topologies import TOPOLOGIES, Store, three_stores

_CLIENT_VARS = ("SSKEYIN", "SSKEYOUT", "SR_LOG_LEVEL", "SR_LOG_FILE", "SR_MODEL_TIMEOUT")


@pytest.fixture(scope="package")
def stores() -> Iterator[dict[str, Store]]:
    """The three stores, started in one Experiment and stopped after this package's tests
    (so that their workers do not outlive the suite)."""
    with three_stores("i") as stores:
        yield stores


@pytest.fixture(autouse=True)
def clean_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees prefixing variables it did not set; a dead shard fails fast."""
    for name in list(os.environ):
        if name.startswith(("SSDB", "SR_DB_TYPE")) or name in _CLIENT_VARS:
            monkeypatch.delenv(name)
    monkeypatch.setenv("SR_CONN_TIMEOUT", "5")
    monkeypatch.setenv("SR_CMD_TIMEOUT", "5")
    monkeypatch.setenv("SR_CMD_INTERVAL", "50")
    monkeypatch.setenv("SR_MODEL_TIMEOUT", "60000")


@pytest.fixture(params=TOPOLOGIES)
def store(request: pytest.FixtureRequest, stores: dict[str, Store]) -> Store:
    """Each topology in turn."""
    return stores[request.param]


@pytest.fixture
def client(store: Store) -> Iterator[Client]:
    """A driver-side client of ``store`` on an emptied store served by its workers."""
    with store.client() as c:
        c.flush_db(store.addresses)
        store.wait_for_workers()
        yield c
