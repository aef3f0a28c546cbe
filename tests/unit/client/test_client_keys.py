"""THE key schema: SmartRedis's prefixing rules, and dataset keys that parse back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot

from insitu.errors import RedisParameterError, RedisRuntimeError
from insitu.wire import keys
from insitu.wire.env import format_key_prefix_env, parse_key_prefix_env
from insitu.wire.keys import KeyPrefixes, Kind

NONE = KeyPrefixes()
MEMBER = KeyPrefixes.from_entities("sim_0", ("sim_1", "sim_0"))


def test_no_prefix_without_sskeyout_or_sskeyin() -> None:
    assert keys.tensor_key(NONE, "t", read=True) == "t"
    assert keys.dataset_key(NONE, "d", read=False) == "{d}"
    assert keys.list_key(NONE, "l", read=True) == "l"


def test_writes_use_sskeyout_reads_use_the_first_sskeyin() -> None:
    assert keys.tensor_key(MEMBER, "t", read=False) == "sim_0.t"
    assert keys.tensor_key(MEMBER, "t", read=True) == "sim_1.t"
    assert keys.dataset_key(MEMBER, "d", read=False) == "sim_0.{d}"
    assert keys.list_key(MEMBER, "l", read=True) == "sim_1.l"
    assert keys.model_key(MEMBER, "m", read=False) == "m"  # models: off by default


def test_data_source_and_switches() -> None:
    other = MEMBER.with_data_source("sim_0")
    assert keys.tensor_key(other, "t", read=True) == "sim_0.t"
    with pytest.raises(RedisRuntimeError, match="sim_7"):
        MEMBER.with_data_source("sim_7")
    with pytest.raises(RedisRuntimeError):
        NONE.with_data_source("")
    off = MEMBER.using(Kind.TENSOR, False)
    assert keys.tensor_key(off, "t", read=False) == "t"
    assert keys.dataset_key(off, "d", read=False) == "sim_0.{d}"
    models = MEMBER.using(Kind.MODEL, True)
    assert keys.model_key(models, "m", read=True) == "sim_1.m"


def test_prefixes_come_from_the_env_contract() -> None:
    env = format_key_prefix_env("a", ["b", "c"])
    assert KeyPrefixes.from_entities(*parse_key_prefix_env(env)) == KeyPrefixes(
        "a", ("b", "c"), "b"
    )
    with pytest.raises(RedisParameterError, match="must not contain"):
        KeyPrefixes.from_entities("x{y}", ())


@given(st.text(max_size=20), st.sampled_from(["", "sim_0", "ens.member_3"]))
def test_dataset_key_round_trip(name: str, prefix: str) -> None:
    prefixes = KeyPrefixes.from_entities(prefix or None, ())
    key = keys.dataset_key(prefixes, name, read=False)
    assert keys.dataset_name(key) == name


def test_dataset_keys_carry_a_hash_tag() -> None:
    key = keys.dataset_key(MEMBER, "ds", read=False)
    assert keys.hash_tag(key) == "ds"
    assert key_slot(key.encode()) == key_slot(b"ds") == key_slot(b"{ds}.anything")
    assert keys.hash_tag("plain") == "plain"
    assert keys.hash_tag("a{}b") == "a{}b"  # an empty tag does not count
    with pytest.raises(RedisRuntimeError, match="not a dataset key"):
        keys.dataset_name("no-braces")
