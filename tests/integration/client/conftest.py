"""Real stores for the client suite: one standalone store over TCP, one over a Unix socket
and one 3-shard cluster, started once for the package (their start-up dominates otherwise) and
emptied with ``flush_db`` before every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from insitu.client import Client
from tests.topologies import TOPOLOGIES, Store, three_stores

_CLIENT_VARS = ("SSKEYIN", "SSKEYOUT", "SR_LOG_LEVEL", "SR_LOG_FILE")


@pytest.fixture(scope="package")
def stores() -> Iterator[dict[str, Store]]:
    """The three stores, started in one Experiment and stopped after this package (their
    inference workers must not outlive the suite)."""
    with three_stores("c") as stores:
        yield stores


@pytest.fixture(autouse=True)
def clean_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees prefixing or logging variables it did not set itself; failures of a
    dead shard surface within a second instead of SmartRedis's 100 s default."""
    for name in list(os.environ):
        if name.startswith(("SSDB", "SR_DB_TYPE")) or name in _CLIENT_VARS:
            monkeypatch.delenv(name)
    monkeypatch.setenv("SR_CONN_TIMEOUT", "2")
    monkeypatch.setenv("SR_CONN_INTERVAL", "50")
    monkeypatch.setenv("SR_CMD_TIMEOUT", "2")
    monkeypatch.setenv("SR_CMD_INTERVAL", "50")


@pytest.fixture(params=TOPOLOGIES)
def store(request: pytest.FixtureRequest, stores: dict[str, Store]) -> Store:
    """Each topology in turn."""
    return stores[request.param]


@pytest.fixture
def client(store: Store) -> Iterator[Client]:
    """A driver-side client of ``store`` (password from the Experiment), on an empty store."""
    with store.client() as c:
        c.flush_db(store.addresses)
        yield c
