"""INSITU_WAIT_REPLICAS / INSITU_WAIT_TIMEOUT_MS (parsing, the WAIT command, its check)
and the ACL user a client authenticates as (SSDB_USER, the driver's registry)."""

from __future__ import annotations

import pytest

from insitu.client import credentials
from insitu.client.config_options import ConfigOptions
from insitu.client.connect import resolve_settings
from insitu.client.durability import NO_WAIT, Durability, durability_from_env
from insitu.errors import RedisParameterError, RedisTimeoutError, ReplicationTimeoutError


def test_off_unless_asked_for() -> None:
    assert durability_from_env({}) == NO_WAIT
    assert not NO_WAIT.enabled
    wanted = durability_from_env({"INSITU_WAIT_REPLICAS": "2", "INSITU_WAIT_TIMEOUT_MS": "250"})
    assert wanted == Durability(2, 250)
    assert wanted.wait_command() == ("WAIT", 2, 250)


@pytest.mark.parametrize(
    "env",
    [{"INSITU_WAIT_REPLICAS": "-1"}, {"INSITU_WAIT_REPLICAS": "one"},
     {"INSITU_WAIT_TIMEOUT_MS": "0"}],
)  # fmt: skip
def test_bad_values_name_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(RedisParameterError, match=next(iter(env))):
        durability_from_env(env)


def test_the_wait_ends_before_the_read_timeout() -> None:
    assert Durability(1, 5000).bounded(500).timeout_ms == 500
    assert Durability(1, 200).bounded(500).timeout_ms == 200
    assert Durability(1, 200).bounded(0).timeout_ms == 1


def test_too_few_replicas_is_a_typed_timeout() -> None:
    Durability(1).check(1, "k", "h:1")
    Durability(1).check(2, "k", "h:1")
    with pytest.raises(ReplicationTimeoutError) as caught:
        Durability(2).check(1, "k", "h:1")
    assert isinstance(caught.value, RedisTimeoutError)
    assert (caught.value.key, caught.value.confirmed, caught.value.requested) == ("k", 1, 2)
    assert "h:1" in str(caught.value)


def test_entities_and_the_driver_pick_their_acl_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSDB_x", "127.0.0.1:7300")
    monkeypatch.setenv("SSDB_PASSWORD_x", "entity-secret")
    monkeypatch.setenv("SSDB_USER_x", "entity-sim")
    entity = resolve_settings(ConfigOptions.create_from_environment("x"))
    assert entity.credentials.username == "entity-sim"
    assert entity.durability == NO_WAIT
    credentials.register(["127.0.0.1:7301"], "store-secret", username="insitu")
    credentials.register(["127.0.0.1:7302"], "other-secret")
    try:
        options = ConfigOptions.create_from_environment("")
        driver = resolve_settings(options, address="127.0.0.1:7301", cluster=False)
        assert (driver.credentials.username, driver.credentials.password) == (
            "insitu", "store-secret",
        )  # fmt: skip
        explicit = resolve_settings(
            options, address="127.0.0.1:7301", cluster=False, password="store-secret"
        )
        assert explicit.credentials.username == "insitu"
        default = resolve_settings(options, address="127.0.0.1:7302", cluster=False)
        assert default.credentials.username is None
    finally:
        credentials.unregister(["127.0.0.1:7301", "127.0.0.1:7302"])
    assert credentials.lookup_user("127.0.0.1:7301") is None
