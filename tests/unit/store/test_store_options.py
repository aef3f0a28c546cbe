"""Validation of server options (pure)."""

from __future__ import annotations

import pytest

from insitu._checks import check_int
from insitu.errors import InvalidServerOptionError, ParameterTypeError
from insitu.store import options


def test_keys_are_canonicalised() -> None:
    assert options.normalize_option("maxmemory_policy", "allkeys-lru") == (
        "maxmemory-policy",
        "allkeys-lru",
    )
    assert options.normalize_option("MaxClients", 10) == ("maxclients", "10")
    assert options.normalize_option("appendonly", True) == ("appendonly", "yes")
    assert options.normalize_option("appendonly", False) == ("appendonly", "no")


@pytest.mark.parametrize("key", ["port", "bind", "requirepass", "protected_mode", "dir", "include"])
def test_reserved_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidServerOptionError) as info:
        options.normalize_option(key, "x")
    assert info.value.key == key
    assert key in str(info.value)


@pytest.mark.parametrize("key", ["", "9lives", "a b", "max memory", "x;y", "key\nport"])
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidServerOptionError):
        options.normalize_option(key, "1")


@pytest.mark.parametrize("value", ["1\nrequirepass x", "a\rb", "nul\x00"])
def test_values_with_control_characters_are_refused(value: str) -> None:
    with pytest.raises(InvalidServerOptionError) as info:
        options.normalize_option("maxmemory", value)
    assert info.value.key == "maxmemory"


def test_value_types() -> None:
    with pytest.raises(ParameterTypeError):
        options.normalize_option("maxmemory", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        options.normalize_kwargs({"maxmemory": {"a": 1}})
    assert options.normalize_kwargs({"hz": 20, "maxmemory_policy": "noeviction"}) == {
        "hz": "20",
        "maxmemory-policy": "noeviction",
    }


def test_memory() -> None:
    assert options.memory_option("3GB") == ("maxmemory", "3gb")
    assert options.memory_option(1024) == ("maxmemory", "1024")
    assert options.memory_option("0") == ("maxmemory", "0")
    for bad in ("3 gb", "lots", "-1", "1tb"):
        with pytest.raises(InvalidServerOptionError):
            options.memory_option(bad)


def test_eviction() -> None:
    for policy in options.EVICTION_POLICIES:
        assert options.eviction_option(policy) == ("maxmemory-policy", policy)
    with pytest.raises(InvalidServerOptionError, match="allkeys-lru"):
        options.eviction_option("lru")


def test_numbers() -> None:
    assert options.max_clients_option(50_000) == ("maxclients", "50000")
    assert options.max_message_size_option(1 << 30) == ("proto-max-bulk-len", str(1 << 30))
    assert options.checkpoint_option(900) == ("save", "900 1")
    with pytest.raises(InvalidServerOptionError):
        options.max_clients_option(0)
    with pytest.raises(InvalidServerOptionError):
        options.max_message_size_option(1000)
    with pytest.raises(InvalidServerOptionError):
        options.checkpoint_option(0)
    with pytest.raises(TypeError):
        options.max_clients_option("10")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        options.checkpoint_option(True)


def test_require_int_rejects_bool() -> None:
    assert check_int("n", 3, minimum=None) == 3
    with pytest.raises(ParameterTypeError):
        check_int("n", True, minimum=None)
    with pytest.raises(ParameterTypeError):
        check_int("n", 3.0, minimum=None)
