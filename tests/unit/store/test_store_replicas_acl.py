"""Pure parts of replicas and per-entity ACL users: node layout, option checks, the
rules of an entity user, the config of a store whose default user is off."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu.errors import CheckpointError, InvalidArgumentError, UnsupportedOptionError
from insitu.store.acl import ENTITY_COMMANDS, check_acl_mode, entity_rules, user_name
from insitu.store.replicas import check_replicas, master_of
from insitu.store.server_config import ShardConfig, render_shard_config
from insitu.store.topology import Topology, shard_ports
from insitu.wire.checkpoint import StoreCheckpoint, format_checkpoint, parse_checkpoint

SECRET = "s" * 24


def test_replica_nodes_follow_the_masters() -> None:
    layout = Topology(3, shard_ports(7000, 6), ("127.0.0.1",), replicas=1)
    assert layout.nodes == 6
    assert layout.addresses[3:] == ("127.0.0.1:7003", "127.0.0.1:7004", "127.0.0.1:7005")
    assert [master_of(i, 3) for i in range(9)] == [None, None, None, 0, 1, 2, 0, 1, 2]
    assert len(layout.needed_ports()) == 12  # client and bus port of each node


def test_replicas_need_a_cluster_on_this_host() -> None:
    assert check_replicas(0, 1, multi_host=True) == 0
    assert check_replicas(2, 3, multi_host=False) == 2
    with pytest.raises(InvalidArgumentError, match="db_nodes >= 3"):
        check_replicas(1, 1, multi_host=False)
    with pytest.raises(UnsupportedOptionError):
        check_replicas(1, 3, multi_host=True)
    with pytest.raises(InvalidArgumentError):
        check_replicas(-1, 3, multi_host=False)


def test_acl_mode_is_per_entity_or_off() -> None:
    assert check_acl_mode(None) is None
    assert check_acl_mode("per_entity") == "per_entity"
    with pytest.raises(InvalidArgumentError, match="per_entity"):
        check_acl_mode("on")


def test_a_prefixed_entity_writes_only_its_own_keys() -> None:
    rules = entity_rules(SECRET, "sim_0")
    assert rules[:4] == ["reset", "on", f">{SECRET}", "resetchannels"]
    assert "%R~*" in rules and "~*" not in rules
    assert "~sim_0.*" in rules and "~{*}.sim_0.*" in rules
    assert "-@all" in rules
    assert {"+set", "+get", "+ai.modelexecute", "+cluster|slots"} <= set(rules)
    assert not {"+config", "+flushdb", "+acl", "+insitu.worker.next"} & set(rules)
    assert all(
        not c.startswith(("flush", "config", "acl", "insitu.worker")) for c in ENTITY_COMMANDS
    )


def test_an_entity_without_prefix_may_write_every_key() -> None:
    assert "~*" in entity_rules(SECRET, None)
    assert user_name("ens_1") == "entity-ens_1"
    with pytest.raises(InvalidArgumentError):
        user_name("a b")
    with pytest.raises(InvalidArgumentError):
        entity_rules(SECRET, "a*b")


def test_a_per_entity_store_turns_the_default_user_off(tmp_path: Path) -> None:
    cfg = ShardConfig("s_0", 7000, ("127.0.0.1",), SECRET, tmp_path, default_user_off=True)
    text = render_shard_config(cfg)
    assert "user default off" in text
    assert "requirepass" not in text
    assert f"masterauth {SECRET}" in text


def test_checkpoints_keep_replicas_and_acl() -> None:
    addresses = tuple(f"127.0.0.1:{7000 + i}" for i in range(6))
    names = tuple(f"s_{i}" for i in range(6))
    kept = StoreCheckpoint(
        "s", "s", "/d", "local", addresses, names, True, "/d/pw", replicas=1, acl="per_entity"
    )
    assert parse_checkpoint(format_checkpoint(kept)) == kept
    older = format_checkpoint(kept).replace('"replicas": 1', '"x": 1').replace('"acl"', '"y"')
    assert parse_checkpoint(older).replicas == 0 and parse_checkpoint(older).acl == ""
    with pytest.raises(CheckpointError, match="replicas"):
        parse_checkpoint(format_checkpoint(kept).replace('"replicas": 1', '"replicas": 4'))
