"""Constructing clients (environment, address form, passwords, dead addresses), lifecycle,
admin commands and logging."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from insitu.client import Client, ConfigOptions, LLDebug, LLInfo, LLQuiet
from insitu.client.errors import (
    RedisConnectionError,
    RedisInvalidUseError,
    RedisReplyError,
    RedisRuntimeError,
)
from insitu.store.readiness import find_free_port_block

from .conftest import Store


def _env_for(store: Store, monkeypatch: pytest.MonkeyPatch, suffix: str = "") -> None:
    for name, value in store.orchestrator.connection_env().items():
        base = name.removesuffix("_" + store.orchestrator.db_identifier)
        monkeypatch.setenv(base + suffix, value)


def test_default_constructor_reads_the_environment(
    store: Store, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env_for(store, monkeypatch)
    with Client() as from_env:
        from_env.put_tensor("t", np.arange(3))
    np.testing.assert_array_equal(client.get_tensor("t"), np.arange(3))
    with Client(None, logger_name="app") as named:
        assert named.tensor_exists("t")


def test_config_options_pick_a_store_by_identifier(
    store: Store, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env_for(store, monkeypatch, suffix="_my-db.1")
    options = ConfigOptions.create_from_environment("my-db.1")
    assert options.is_configured("SSDB")
    with Client(options, logger_name="Model: logger") as picked:
        picked.put_tensor("t", np.ones(1))
    assert client.tensor_exists("t")
    with pytest.raises(RedisConnectionError, match="SSDB_other"):
        Client(ConfigOptions.create_from_environment("other"))


def test_password_sources(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    password = store.orchestrator.password
    with store.client(password=password) as explicit:
        explicit.key_exists("x")
    monkeypatch.setenv("SSDB", store.address)
    monkeypatch.setenv("SR_DB_TYPE", "Clustered" if store.cluster else "Standalone")
    monkeypatch.setenv("SSDB_PASSWORD", "wrong")
    with pytest.raises(RedisConnectionError, match="refused the password"):
        Client()
    options = ConfigOptions.create_from_environment("")
    options.override_string_option("SSDB_PASSWORD", password)
    with Client(options) as overridden:
        overridden.key_exists("x")


def test_dead_addresses_fail_within_the_connection_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SR_CONN_TIMEOUT", "1")
    port = find_free_port_block(1)
    for cluster, address in (
        (False, f"127.0.0.1:{port}"),
        (True, f"127.0.0.1:{port}"),
        (False, f"unix://{tmp_path}/none.sock"),
    ):
        with pytest.raises(RedisConnectionError, match="SR_CONN_TIMEOUT") as info:
            Client(cluster, address)
        assert info.value.transient


def test_no_address_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RedisConnectionError, match=r"\$SSDB not set"):
        Client(cluster=False)
    with pytest.raises(RedisConnectionError, match=r"\$SSDB not set"):
        Client()


def test_wrong_topology_is_explained(stores: dict[str, Store]) -> None:
    standalone, cluster = stores["tcp"], stores["cluster"]
    with pytest.raises(RedisConnectionError, match="cluster=False"):
        Client(True, standalone.address)
    wrong = Client(False, cluster.address)
    with wrong, pytest.raises(RedisInvalidUseError, match="cluster=True"):
        for i in range(50):  # some key is bound to live on another shard
            wrong.put_tensor(f"k{i}", np.ones(1))


def test_constructor_dispatch_and_type_errors() -> None:
    with pytest.raises(TypeError, match="argument 0"):
        Client("127.0.0.1:6379")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="unexpected keyword argument 'db'"):
        Client(True, db=1)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        Client(cluster=True, address=6379)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        Client(cluster="yes")  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        Client(None, logger_name=3)  # type: ignore[call-overload]
    with pytest.raises(RedisRuntimeError, match="factory"):
        Client(ConfigOptions())


def test_close_and_context_manager(store: Store) -> None:
    with store.client() as c:
        c.put_tensor("t", np.ones(1))
    with pytest.raises(RedisInvalidUseError, match="closed"):
        c.get_tensor("t")
    c.close()  # idempotent
    assert "closed" in str(c)


def test_admin_commands(client: Client, store: Store) -> None:
    client.put_tensor("t", np.ones(1))
    (info, *_) = client.get_db_node_info(store.addresses[:1])
    assert "Server" in info and "redis_version" in info["Server"]
    assert len(client.get_db_node_info(store.addresses)) == len(store.addresses)
    client.config_set("maxmemory-policy", "allkeys-lru", store.address)
    assert client.config_get("maxmemory-pol*", store.address) == {"maxmemory-policy": "allkeys-lru"}
    client.config_set("maxmemory-policy", "noeviction", store.address)
    assert client.config_get("no-such-option", store.address) == {}
    with pytest.raises(RedisReplyError):
        client.config_set("no-such-option", "1", store.address)
    client.save(store.addresses)
    client.flush_db(store.addresses)
    assert not client.key_exists("t")
    if store.cluster:
        (cluster_info, *_) = client.get_db_cluster_info(store.addresses)
        assert cluster_info["cluster_state"] == "ok"
    else:
        with pytest.raises(RedisRuntimeError, match="non-cluster"):
            client.get_db_cluster_info(store.addresses)
    with pytest.raises(RedisInvalidUseError, match="not a valid database node address"):
        client.flush_db(["127.0.0.1:1"])
    with pytest.raises(TypeError):
        client.flush_db(store.address)  # type: ignore[arg-type]


def test_client_logging(
    store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.client(logger_name="Model: single shard logger") as c:
        c.log_data(LLInfo, "The tensor is: [1 2 3 4]")
        c.log_data(LLDebug, "not shown at INFO")
        c.log_warning(LLInfo, "careful")
        c.log_error(LLQuiet, "broken")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Model: single shard logger@")
    assert lines[0].endswith(":The tensor is: [1 2 3 4]")
    assert lines[1].endswith(":WARNING: careful") and lines[2].endswith(":ERROR: broken")
    monkeypatch.setenv("SR_LOG_LEVEL", "chatty")
    with pytest.raises(RedisRuntimeError, match="chatty"):
        store.client()
