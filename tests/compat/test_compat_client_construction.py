"""How a SmartRedis 0.6.1 Client is built and described, as its own suite checks it: the
address form exports the address as ``$SSDB``, the two construction paths keep their
SmartRedis names, ``str`` and ``repr`` differ, and ``get_ai_info`` of a key holding no
model raises the ``RedisRuntimeError`` SmartRedis raises."""

from __future__ import annotations

import os

import numpy as np
import pytest

from insitu.client import Client
from insitu.errors import NoRunInfoError, RedisKeyError, RedisRuntimeError
from tests.topologies import Store

pytestmark = [pytest.mark.requires_redis, pytest.mark.usefixtures("clean_client_env")]


def test_the_address_form_exports_the_address_as_ssdb(compat_stores: dict[str, Store]) -> None:
    store = compat_stores["standalone"]
    assert "SSDB" not in os.environ
    with Client(False, address=store.address, logger_name="exporter") as first:
        first.put_tensor("shared", np.arange(3))
    # SmartRedis writes the address into this process's environment; a later client
    # built from the environment (no address given) reaches the same store.
    assert os.environ["SSDB"] == store.address
    with Client(None, logger_name="reader") as second:
        assert second.tensor_exists("shared")
        second.delete_tensor("shared")


def test_the_address_form_without_an_address_leaves_ssdb_alone(
    compat_stores: dict[str, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = compat_stores["standalone"]
    monkeypatch.setenv("SSDB", store.address)
    with Client(False, logger_name="env-only") as client:
        assert client.key_exists("no-such-key") is False
    assert os.environ["SSDB"] == store.address


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((False,), {}, "address"),
        ((), {"cluster": False, "logger_name": "n"}, "address"),
        ((None,), {}, "standard"),
        ((), {"logger_name": "n"}, "standard"),
        ((None, "n"), {}, "standard"),
    ],
)
def test_the_two_construction_paths_keep_their_smartredis_names(
    compat_stores: dict[str, Store],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[object, ...],
    kwargs: dict[str, object],
    expected: str,
) -> None:
    monkeypatch.setenv("SSDB", compat_stores["standalone"].address)
    calls: list[str] = []
    address_path = Client._Client__address_construction  # type: ignore[attr-defined]
    standard_path = Client._Client__standard_construction  # type: ignore[attr-defined]

    def counting_address(self: Client, *a: object, **kw: object) -> object:
        calls.append("address")
        return address_path(self, *a, **kw)

    def counting_standard(*a: object, **kw: object) -> object:
        calls.append("standard")
        return standard_path(*a, **kw)

    monkeypatch.setattr(Client, "_Client__address_construction", counting_address)
    monkeypatch.setattr(Client, "_Client__standard_construction", staticmethod(counting_standard))
    Client(*args, **kwargs).close()
    assert calls == [expected]


def test_str_describes_the_client_and_repr_identifies_it(compat_stores: dict[str, Store]) -> None:
    store = compat_stores["standalone"]
    with store.client(logger_name="described") as client:
        text, ident = str(client), repr(client)
    assert text != ident
    assert "described" in text and store.address in text
    assert ident.startswith("<") and "described" in ident


def test_ai_info_of_a_key_without_a_model_is_a_runtime_error(
    compat_stores: dict[str, Store],
) -> None:
    store = compat_stores["standalone"]
    with store.client() as client, pytest.raises(RedisRuntimeError) as caught:
        client.get_ai_info([store.address], "never-stored")
    assert isinstance(caught.value, NoRunInfoError)
    assert isinstance(caught.value, RedisKeyError)
    assert caught.value.key == "never-stored"
    assert "never-stored" in str(caught.value)


def test_an_address_given_with_a_password_is_not_exported(compat_stores: dict[str, Store]) -> None:
    store = compat_stores["standalone"]
    password = store.orchestrator.password
    with Client(False, address=store.address, password=password) as client:
        assert client.key_exists("no-such-key") is False
    assert "SSDB" not in os.environ


@pytest.mark.parametrize(
    "call",
    [
        lambda co: co.get_integer_option(42),
        lambda co: co.get_string_option(42),
        lambda co: co.is_configured(42),
        lambda co: co.override_integer_option(42, "x"),
        lambda co: co.override_string_option("k", 42),
    ],
)
def test_a_config_options_not_from_a_factory_is_refused_before_its_arguments(call: object) -> None:
    from insitu.client import ConfigOptions

    with pytest.raises(RedisRuntimeError, match="factory"):
        call(ConfigOptions())  # type: ignore[operator]
    made = ConfigOptions.create_from_environment("")
    with pytest.raises(TypeError):
        call(made)  # type: ignore[operator]
