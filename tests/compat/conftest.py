"""Stores for the compat suite: one standalone store over TCP with its inference workers
and one 3-shard cluster without workers, started once for the package and emptied before
every test that uses them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from insitu import Experiment
from insitu.store.readiness import find_free_port_block
from tests.topologies import Store

_CLIENT_VARS = ("SSKEYIN", "SSKEYOUT", "SR_LOG_LEVEL", "SR_LOG_FILE", "SR_MODEL_TIMEOUT")


@pytest.fixture(scope="package")
def compat_stores() -> Iterator[dict[str, Store]]:
    """``standalone`` (TCP, one inference worker) and ``cluster`` (3 shards, no worker)."""
    root = Path(tempfile.mkdtemp(prefix="insitu-compat-"))
    exp = Experiment("compat-suite", exp_path=str(root), launcher="local")
    try:
        standalone = exp.create_database(port=find_free_port_block(1), db_identifier="cs")
        cluster = exp.create_database(
            port=find_free_port_block(3), db_nodes=3, db_identifier="cc", inference_workers=0
        )
        exp.start(standalone, cluster)
        yield {
            "standalone": Store("standalone", standalone, False),
            "cluster": Store("cluster", cluster, True),
        }
    finally:
        exp.stop_all()


@pytest.fixture
def clean_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No prefixing or logging variables from outside; a dead shard fails fast."""
    for name in list(os.environ):
        if name.startswith(("SSDB", "SR_DB_TYPE")) or name in _CLIENT_VARS:
            monkeypatch.delenv(name)
    monkeypatch.setenv("SR_CONN_TIMEOUT", "5")
    monkeypatch.setenv("SR_CMD_TIMEOUT", "5")
    monkeypatch.setenv("SR_CMD_INTERVAL", "50")
    monkeypatch.setenv("SR_MODEL_TIMEOUT", "60000")
