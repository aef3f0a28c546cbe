"""Pure helpers of start-up: log tails, CLUSTER INFO parsing, address splitting."""

from __future__ import annotations

from pathlib import Path

from insitu.store.cluster_setup import cluster_ready, parse_cluster_info
from insitu.store.readiness import ShardProbe, log_tail, shard_log_tail
from insitu.wire.addresses import Address, parse_address

INFO_OK = (
    "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n"
    "cluster_slots_pfail:0\r\ncluster_known_nodes:3\r\ncluster_size:3\r\n"
)


def test_parse_cluster_info() -> None:
    info = parse_cluster_info(INFO_OK)
    assert info["cluster_state"] == "ok"
    assert info["cluster_known_nodes"] == "3"
    assert cluster_ready(info, 3)
    assert not cluster_ready(info, 4)
    assert not cluster_ready(parse_cluster_info(INFO_OK.replace("state:ok", "state:fail")), 3)
    partial = INFO_OK.replace("assigned:16384", "assigned:10923")
    assert not cluster_ready(parse_cluster_info(partial), 3)
    assert parse_cluster_info("") == {}


def test_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "shard.out"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    tail = log_tail(log, 20)
    assert tail.splitlines() == [f"line {i}" for i in range(80, 100)]
    assert log_tail(tmp_path / "missing.out") == ""
    assert log_tail(None) == ""


def test_shard_log_tail_labels_both_files(tmp_path: Path) -> None:
    out, err = tmp_path / "s.out", tmp_path / "s.err"
    out.write_text("started\n")
    err.write_text("*** FATAL CONFIG FILE ERROR ***\n")
    tail = shard_log_tail(ShardProbe("s", "127.0.0.1:1", out, err))
    assert "[out:" in tail and "started" in tail
    assert "[err:" in tail and "FATAL CONFIG" in tail
    assert shard_log_tail(ShardProbe("s", "127.0.0.1:1")) == ""


def test_shard_addresses_parse_as_addresses() -> None:
    assert parse_address("127.0.0.1:6379") == Address("127.0.0.1", 6379)
    assert parse_address("[::1]:7000") == Address("::1", 7000)
