"""THE environment contract: format/parse round trip and SmartSim/SmartRedis naming."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insitu.errors import ConnectionEnvError, InvalidArgumentError
from insitu.wire import env as ce


def test_default_store_uses_bare_names() -> None:
    conn = ce.StoreConnection("orchestrator", ("127.0.0.1:6379",), False, "pw")
    assert conn.to_env() == {
        "SSDB": "127.0.0.1:6379",
        "SR_DB_TYPE": "Standalone",
        "SSDB_PASSWORD": "pw",
    }


def test_named_store_uses_suffixed_names() -> None:
    conn = ce.StoreConnection(
        "feat", ("10.0.0.1:7000", "10.0.0.1:7001", "10.0.0.1:7002"), True, "p"
    )
    assert conn.to_env() == {
        "SSDB_feat": "10.0.0.1:7000,10.0.0.1:7001,10.0.0.1:7002",
        "SR_DB_TYPE_feat": "Clustered",
        "SSDB_PASSWORD_feat": "p",
    }
    assert ce.address_var("") == "SSDB"
    assert ce.db_type_var("orchestrator") == "SR_DB_TYPE"
    assert ce.password_var("x") == "SSDB_PASSWORD_x"


def test_no_password_is_omitted_and_optional() -> None:
    conn = ce.StoreConnection("orchestrator", ("h:1",), False)
    assert "SSDB_PASSWORD" not in conn.to_env()
    assert ce.StoreConnection.from_env(conn.to_env()) == conn


def test_from_env_names_the_missing_variable() -> None:
    with pytest.raises(ConnectionEnvError) as info:
        ce.StoreConnection.from_env({"SR_DB_TYPE_db2": "Standalone"}, "db2")
    assert info.value.variable == "SSDB_db2"
    with pytest.raises(ConnectionEnvError) as info:
        ce.StoreConnection.from_env({"SSDB": "h:1"})
    assert info.value.variable == "SR_DB_TYPE"


def test_from_env_rejects_malformed_values() -> None:
    with pytest.raises(ConnectionEnvError) as info:
        ce.StoreConnection.from_env({"SSDB": "h:1", "SR_DB_TYPE": "Sharded"})
    assert info.value.variable == "SR_DB_TYPE"
    with pytest.raises(ConnectionEnvError) as info:
        ce.StoreConnection.from_env({"SSDB": "h:1,,h:2", "SR_DB_TYPE": "Clustered"})
    assert info.value.variable == "SSDB"
    with pytest.raises(ConnectionEnvError):
        ce.StoreConnection.from_env({"SSDB": "nohostport", "SR_DB_TYPE": "Standalone"})


def test_from_env_accepts_smartredis_forms() -> None:
    env = {"SSDB": "tcp://127.0.0.1:6379", "SR_DB_TYPE": "standalone"}
    assert ce.StoreConnection.from_env(env).addresses == ("tcp://127.0.0.1:6379",)
    env = {"SSDB": "unix:///tmp/redis.sock", "SR_DB_TYPE": "Standalone"}
    assert ce.StoreConnection.from_env(env).addresses == ("unix:///tmp/redis.sock",)
    env = {"SSDB": " a:1 , b:2 ", "SR_DB_TYPE": "Clustered"}
    assert ce.StoreConnection.from_env(env).addresses == ("a:1", "b:2")


def test_invalid_identifiers_and_values() -> None:
    with pytest.raises(InvalidArgumentError):
        ce.address_var("my db")
    with pytest.raises(InvalidArgumentError):
        ce.StoreConnection("orchestrator", (), False, "pw")
    with pytest.raises(InvalidArgumentError):
        ce.StoreConnection("orchestrator", ("h:1",), False, "a,b")


_ids = st.one_of(
    st.just("orchestrator"), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,12}", fullmatch=True)
)
_hosts = st.from_regex(r"[a-z0-9.-]{1,15}", fullmatch=True)
_addresses = st.lists(
    st.tuples(_hosts, st.integers(1, 65535)).map(lambda hp: f"{hp[0]}:{hp[1]}"),
    min_size=1,
    max_size=5,
).map(tuple)
_passwords = st.from_regex(r"[A-Za-z0-9_-]{0,43}", fullmatch=True)


@given(_ids, _addresses, st.booleans(), _passwords)
def test_round_trip(db_id: str, addresses: tuple[str, ...], clustered: bool, pw: str) -> None:
    conn = ce.StoreConnection(db_id, addresses, clustered, pw)
    env = conn.to_env()
    assert ce.StoreConnection.from_env(env, db_id) == conn
    # Other stores' variables do not interfere.
    noisy = {**env, "SSDB_other": "x:1", "SR_DB_TYPE_other": "Clustered"}
    assert ce.StoreConnection.from_env(noisy, db_id) == conn


def test_key_prefix_env() -> None:
    assert ce.format_key_prefix_env(None, []) == {}
    env = ce.format_key_prefix_env("model_1", ["model_2", "model_3"])
    assert env == {"SSKEYOUT": "model_1", "SSKEYIN": "model_2,model_3"}
    assert ce.parse_key_prefix_env(env) == ("model_1", ("model_2", "model_3"))
    assert ce.parse_key_prefix_env({}) == (None, ())
    with pytest.raises(InvalidArgumentError):
        ce.format_key_prefix_env("a,b", [])
    with pytest.raises(InvalidArgumentError):
        ce.format_key_prefix_env(None, ["ok", ""])


@given(
    st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_.-]{1,10}", fullmatch=True)),
    st.lists(st.from_regex(r"[A-Za-z0-9_.-]{1,10}", fullmatch=True), max_size=4),
)
def test_key_prefix_round_trip(key_out: str | None, keys_in: list[str]) -> None:
    env = ce.format_key_prefix_env(key_out, keys_in)
    assert ce.parse_key_prefix_env(env) == (key_out, tuple(keys_in))
