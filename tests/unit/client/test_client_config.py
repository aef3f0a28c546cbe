"""ConfigOptions, timeouts, connection settings and addresses (no store involved)."""

from __future__ import annotations

import pytest

from insitu.client import ConfigOptions, credentials
from insitu.client.config_options import Timeouts
from insitu.client.connect import resolve_settings
from insitu.errors import (
    ParameterTypeError,
    RedisConnectionError,
    RedisKeyError,
    RedisParameterError,
    RedisRuntimeError,
)
from insitu.wire.addresses import Address, parse_address, parse_address_list


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSDB", "SR_DB_TYPE", "SSDB_PASSWORD", "SSDB_TLS_CA", "SR_CONN_TIMEOUT",
                 "SR_CMD_TIMEOUT", "SR_CONN_INTERVAL", "SR_CMD_INTERVAL",
                 "SR_THREAD_COUNT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_options_read_suffixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_OPT_db1", "42")
    monkeypatch.setenv("NAME_db1", "value")
    options = ConfigOptions.create_from_environment("db1")
    assert options.get_integer_option("MY_OPT") == 42
    assert options.get_string_option("NAME") == "value"
    assert options.is_configured("MY_OPT") and not options.is_configured("OTHER")
    options.override_integer_option("MY_OPT", 7)
    options.override_string_option("NEW", "x")
    assert options.get_integer_option("MY_OPT") == 7 and options.get_string_option("NEW") == "x"
    assert ConfigOptions.create_from_environment("db1").get_integer_option("MY_OPT") == 42
    with pytest.raises(RedisKeyError, match="OTHER_db1"):
        options.get_string_option("OTHER")
    with pytest.raises(RedisParameterError, match="integer"):
        options.get_integer_option("NAME")
    default = ConfigOptions.create_from_environment("orchestrator")
    assert default.env_name("SSDB") == "SSDB"


def test_misuse_of_config_options() -> None:
    with pytest.raises(RedisRuntimeError, match="factory"):
        ConfigOptions().get_string_option("SSDB")
    with pytest.raises(TypeError):
        ConfigOptions.create_from_environment(5)  # type: ignore[arg-type]
    options = ConfigOptions.create_from_environment("")
    with pytest.raises(ParameterTypeError):
        options.override_integer_option("X", "1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ConfigOptions.create_from_environment("bad id!")


def test_timeouts_follow_smartredis(monkeypatch: pytest.MonkeyPatch) -> None:
    options = ConfigOptions.create_from_environment("s")
    assert options.timeouts() == Timeouts(100.0, 1.0, 100.0, 1.0, 4)
    monkeypatch.setenv("SR_CONN_TIMEOUT", "3")  # bare: every store
    monkeypatch.setenv("SR_CMD_TIMEOUT_s", "5")  # suffixed wins for store "s"
    monkeypatch.setenv("SR_CMD_TIMEOUT", "9")
    monkeypatch.setenv("SR_CMD_INTERVAL", "250")
    assert options.timeouts() == Timeouts(3.0, 1.0, 5.0, 0.25, 4)
    for bad in ("0", "-1", "x", "2147484"):
        monkeypatch.setenv("SR_CONN_TIMEOUT", bad)
        with pytest.raises(RedisParameterError, match="SR_CONN_TIMEOUT"):
            options.timeouts()


def test_reply_spin_is_microseconds_and_may_be_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    options = ConfigOptions.create_from_environment("")
    assert options.timeouts().reply_spin == 0.0  # no polling unless asked for
    monkeypatch.setenv("INSITU_REPLY_SPIN_US", "0")
    assert options.timeouts().reply_spin == 0.0
    monkeypatch.setenv("INSITU_REPLY_SPIN_US", "250")
    assert options.timeouts().reply_spin == 0.00025
    for bad in ("-1", "x", "10000001"):
        monkeypatch.setenv("INSITU_REPLY_SPIN_US", bad)
        with pytest.raises(RedisParameterError, match="INSITU_REPLY_SPIN_US"):
            options.timeouts()


def test_settings_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSDB_x", "127.0.0.1:7000,127.0.0.1:7001")
    monkeypatch.setenv("SR_DB_TYPE_x", "clustered")
    monkeypatch.setenv("SSDB_PASSWORD_x", "secret")
    settings = resolve_settings(ConfigOptions.create_from_environment("x"))
    assert settings.clustered and settings.credentials.password == "secret"
    assert settings.addresses == (Address("127.0.0.1", 7000), Address("127.0.0.1", 7001))
    assert "secret" not in settings.describe()
    monkeypatch.setenv("SSDB", "localhost:7100")  # no SR_DB_TYPE: standalone
    plain = resolve_settings(ConfigOptions.create_from_environment(""))
    assert not plain.clustered and plain.credentials.password is None
    monkeypatch.setenv("SR_DB_TYPE", "Sharded")
    with pytest.raises(RedisConnectionError, match="SR_DB_TYPE"):
        resolve_settings(ConfigOptions.create_from_environment(""))
    with pytest.raises(RedisParameterError, match="Unix socket"):
        resolve_settings(
            ConfigOptions.create_from_environment(""), address="unix:///tmp/s", cluster=True
        )


def test_driver_finds_registered_passwords() -> None:
    credentials.register(["127.0.0.1:7200"], "from-registry")
    try:
        options = ConfigOptions.create_from_environment("")
        found = resolve_settings(options, address="localhost:7200", cluster=False)
        assert found.credentials.password == "from-registry"
        given = resolve_settings(options, address="127.0.0.1:7200", cluster=False, password="p")
        assert given.credentials.password == "p"
    finally:
        credentials.unregister(["127.0.0.1:7200"])


def test_tls_comes_from_the_argument_the_environment_or_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = ConfigOptions.create_from_environment("")
    plain = resolve_settings(options, address="127.0.0.1:7300", cluster=False)
    assert plain.tls is None and plain.endpoint().tls is None
    credentials.register(["127.0.0.1:7300"], "pw", "/reg/ca.crt")
    try:
        found = resolve_settings(options, address="localhost:7300", cluster=False)
        assert found.tls is not None and found.tls.ca_file == "/reg/ca.crt"
        assert found.endpoint().tls == found.tls and "TLS" in found.describe()
        given = resolve_settings(options, address="127.0.0.1:7300", cluster=False, tls_ca="/a")
        assert given.tls is not None and given.tls.ca_file == "/a"
    finally:
        credentials.unregister(["127.0.0.1:7300"])
    assert credentials.lookup_tls_ca("127.0.0.1:7300") is None
    monkeypatch.setenv("SSDB_TLS_CA_y", "/env/ca.crt")
    monkeypatch.setenv("SSDB_y", "127.0.0.1:7301")
    from_env = resolve_settings(ConfigOptions.create_from_environment("y"))
    assert from_env.tls is not None and from_env.tls.ca_file == "/env/ca.crt"
    socket_options = ConfigOptions.create_from_environment("y")
    on_socket = resolve_settings(socket_options, address="unix:///tmp/s.sock", cluster=False)
    assert on_socket.tls is None  # a socket store is never TLS
    with pytest.raises(RedisParameterError, match="TLS is for TCP"):
        resolve_settings(options, address="unix:///tmp/s.sock", cluster=False, tls_ca="/a")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:6379", Address("127.0.0.1", 6379)),
        ("tcp://host:1", Address("host", 1)),
        ("[::1]:6379", Address("::1", 6379)),
        ("unix:///tmp/redis.sock", Address(path="/tmp/redis.sock")),
    ],
)
def test_addresses(text: str, expected: Address) -> None:
    assert parse_address(text) == expected
    assert parse_address(str(expected)) == expected


@pytest.mark.parametrize("text", ["", "host", "host:", ":1", "h:99999", "unix://rel", "h:x"])
def test_bad_addresses(text: str) -> None:
    with pytest.raises(RedisParameterError):
        parse_address(text)


def test_address_lists_and_endpoints() -> None:
    assert len(parse_address_list("a:1, b:2,")) == 2
    with pytest.raises(RedisParameterError):
        parse_address_list(" , ")
    assert Address("localhost", 1).same_endpoint(Address("127.0.0.1", 1))
