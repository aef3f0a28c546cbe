"""INSITU_WAIT_REPLICAS / INSITU_WAIT_TIMEOUT_MS: parsing, the WAIT command, its check."""

from __future__ import annotations

import pytest

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
