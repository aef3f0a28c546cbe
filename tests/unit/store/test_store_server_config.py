"""Rendering of shard configuration files (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu.errors import InvalidArgumentError, InvalidServerOptionError
from insitu.store.server_config import ShardConfig, quote_arg, render_shard_config, render_value

PASSWORD = "A" * 20 + "_-b9"


def lines_of(cfg: ShardConfig) -> list[str]:
    return render_shard_config(cfg).splitlines()


def directive(lines: list[str], key: str) -> list[str]:
    return [line for line in lines if line.split(" ", 1)[0] == key]


def make(**changes: object) -> ShardConfig:
    base: dict[str, object] = {
        "name": "orchestrator_0",
        "port": 6379,
        "bind": ("127.0.0.1",),
        "password": PASSWORD,
        "shard_dir": Path("/tmp/exp/orchestrator_0"),
    }
    base.update(changes)
    return ShardConfig(**base)  # type: ignore[arg-type]


def test_standalone_defaults_are_secure_and_ephemeral() -> None:
    lines = lines_of(make())
    assert "bind 127.0.0.1" in lines
    assert "port 6379" in lines
    assert "protected-mode yes" in lines
    assert f"requirepass {PASSWORD}" in lines
    assert f"masterauth {PASSWORD}" in lines
    assert 'save ""' in lines
    assert "appendonly no" in lines
    assert "daemonize no" in lines
    assert 'logfile ""' in lines
    assert "dir /tmp/exp/orchestrator_0" in lines
    assert "dbfilename orchestrator_0.rdb" in lines
    assert not directive(lines, "cluster-enabled")


def test_cluster_mode_adds_cluster_directives() -> None:
    lines = lines_of(make(cluster=True, cluster_node_timeout_ms=7000))
    assert "cluster-enabled yes" in lines
    assert "cluster-config-file nodes-orchestrator_0.conf" in lines
    assert "cluster-node-timeout 7000" in lines


def test_user_options_replace_defaults_and_are_written_once() -> None:
    cfg = make(options=(("save", "900 1"), ("maxmemory", "3gb"), ("maxmemory", "1gb")))
    lines = lines_of(cfg)
    assert directive(lines, "save") == ["save 900 1"]
    assert directive(lines, "maxmemory") == ["maxmemory 1gb"]


def test_several_bind_addresses_and_unix_socket() -> None:
    cfg = make(bind=("127.0.0.1", "192.0.2.2"), unix_socket=Path("/tmp/s dir/redis.sock"))
    lines = lines_of(cfg)
    assert "bind 127.0.0.1 192.0.2.2" in lines
    assert 'unixsocket "/tmp/s dir/redis.sock"' in lines
    assert "unixsocketperm 700" in lines


def test_paths_with_spaces_and_quotes_are_quoted() -> None:
    lines = lines_of(make(shard_dir=Path('/tmp/my "exp"/shard 0')))
    assert 'dir "/tmp/my \\"exp\\"/shard 0"' in lines


def test_reserved_option_in_config_is_refused() -> None:
    with pytest.raises(InvalidServerOptionError) as info:
        render_shard_config(make(options=(("requirepass", "x"),)))
    assert info.value.key == "requirepass"


@pytest.mark.parametrize(
    "changes",
    [
        {"port": 0},
        {"port": 70000},
        {"bind": ()},
        {"password": "short"},
        {"password": "has space in it, really long"},
        {"name": "bad name"},
    ],
)
def test_invalid_configs_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        render_shard_config(make(**changes))


def test_quote_arg() -> None:
    assert quote_arg("allkeys-lru") == "allkeys-lru"
    assert quote_arg("") == '""'
    assert quote_arg("a b") == '"a b"'
    assert quote_arg('a"b\\c') == '"a\\"b\\\\c"'
    with pytest.raises(InvalidArgumentError):
        quote_arg("a\nb")


def test_render_value_splits_arguments() -> None:
    assert render_value("900 1") == "900 1"
    assert render_value("  ") == '""'
    assert render_value("3600 1 300 100") == "3600 1 300 100"


def test_every_store_defines_its_own_user_with_the_password() -> None:
    lines = lines_of(make())
    assert f"user insitu on >{PASSWORD} ~* &* +@all" in lines
    assert "masteruser insitu" in lines


def test_owner_socket_lets_the_default_user_in_without_a_password() -> None:
    cfg = make(
        port=0, unix_socket=Path("/tmp/s.sock"), unix_socket_perm=0o700, access="owner-socket"
    )
    lines = lines_of(cfg)
    assert "user default on nopass ~* &* +@all" in lines
    assert not directive(lines, "requirepass")


def test_owner_socket_access_needs_an_owner_only_socket_and_no_port() -> None:
    for changes in (
        {"access": "owner-socket"},  # TCP
        {"access": "owner-socket", "port": 0, "unix_socket": Path("/s"), "unix_socket_perm": 0o770},
        {"access": "owner-socket", "unix_socket": Path("/s"), "unix_socket_perm": 0o700},
    ):
        with pytest.raises(InvalidArgumentError, match="owner-only Unix socket"):
            render_shard_config(make(**changes))
    with pytest.raises(InvalidArgumentError, match="unknown access mode"):
        render_shard_config(make(access="open"))


def test_passwordless_tcp_restricts_the_default_user() -> None:
    lines = lines_of(make(access="passwordless-tcp"))
    (default,) = [line for line in lines if line.startswith("user default ")]
    assert "nopass" in default
    for rule in ("-@admin", "-@dangerous", "-@scripting", "-insitu.worker.next"):
        assert rule in default.split()
    assert not directive(lines, "requirepass")


def test_the_module_line_carries_its_arguments_quoted() -> None:
    cfg = make(module=Path("/opt/m y/insitu_ai.so"), module_args=("ONNXRUNTIME", "/lib/o rt.so"))
    assert directive(lines_of(cfg), "loadmodule") == [
        'loadmodule "/opt/m y/insitu_ai.so" ONNXRUNTIME "/lib/o rt.so"'
    ]
