"""Server options applied live (CONFIG SET on every shard) and kept for the next start."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_harness import ShardRunner, free_port_block

from insitu.errors import InvalidServerOptionError
from insitu.store import Orchestrator
from insitu.store.shard_client import config_get, shard_endpoints

EXPECTED = {
    "maxmemory": str(3 * 1024**3),
    "maxmemory-policy": "allkeys-lru",
    "maxclients": "1000",
    "proto-max-bulk-len": str(2 * 1024 * 1024),
    "save": "900 1",
    "hz": "25",
}


def apply_all(orc: Orchestrator) -> None:
    orc.set_max_memory("3gb")
    orc.set_eviction_strategy("allkeys-lru")
    orc.set_max_clients(1000)
    orc.set_max_message_size(2 * 1024 * 1024)
    orc.enable_checkpoints(900)
    if orc.is_active():
        orc.set_db_conf("hz", "25")  # SmartSim: only on a running store


def shard_values(orc: Orchestrator) -> list[dict[str, str | None]]:
    return [
        {key: config_get(shard, key) for key in EXPECTED}
        for shard in shard_endpoints(orc.get_address(), orc.password)
    ]


def test_setters_apply_live_on_every_shard_and_survive_restart(
    runner: ShardRunner, server: str, tmp_path: Path
) -> None:
    port = free_port_block(3)
    orc = Orchestrator(port=port, db_nodes=3, server_binary=server)
    procs = runner.start(orc, tmp_path / "orc")
    apply_all(orc)
    assert shard_values(orc) == [EXPECTED] * 3

    runner.stop(orc, procs)
    runner.start(orc, tmp_path / "orc")  # a fresh start reads the remembered options
    assert shard_values(orc) == [EXPECTED] * 3


def test_rejected_value_is_not_remembered(
    runner: ShardRunner, bundled: str, tmp_path: Path
) -> None:
    port = free_port_block(1)
    orc = Orchestrator(port=port, server_binary=bundled)
    runner.start(orc, tmp_path / "orc")
    with pytest.raises(InvalidServerOptionError) as info:
        orc.set_db_conf("maxmemory", "plenty")
    assert info.value.key == "maxmemory"
    with pytest.raises(InvalidServerOptionError):
        orc.set_db_conf("no-such-option", "1")
    with pytest.raises(InvalidServerOptionError):
        orc.set_db_conf("port", "1")  # insitu owns the port
    assert "maxmemory" not in orc.server_options
    assert "no-such-option" not in orc.server_options


def test_options_set_before_start_are_in_effect(
    runner: ShardRunner, bundled: str, tmp_path: Path
) -> None:
    port = free_port_block(1)
    orc = Orchestrator(port=port, server_binary=bundled, maxmemory_policy="volatile-ttl", hz="25")
    apply_all(orc)
    runner.start(orc, tmp_path / "orc")
    (values,) = shard_values(orc)
    assert values == EXPECTED  # the setter's policy replaced the constructor's
    assert (tmp_path / "orc" / "orchestrator_0" / "orchestrator_0.conf").read_text().count(
        "maxmemory-policy"
    ) == 1
