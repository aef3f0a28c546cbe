"""Ensemble key prefixing (SSKEYOUT/SSKEYIN) on every topology."""

from __future__ import annotations

import numpy as np
import pytest

from insitu.client import Client, Dataset
from insitu.client.errors import RedisRuntimeError

from .conftest import Store


@pytest.fixture
def member(store: Store, client: Client, monkeypatch: pytest.MonkeyPatch) -> Client:
    """A client as ensemble member ``sim_0`` that may read ``sim_1`` and ``sim_0``."""
    monkeypatch.setenv("SSKEYOUT", "sim_0")
    monkeypatch.setenv("SSKEYIN", "sim_1,sim_0")
    return store.client()


def test_writes_use_sskeyout_reads_use_the_data_source(member: Client, client: Client) -> None:
    member.put_tensor("t", np.ones(2))
    assert client.key_exists("sim_0.t")
    assert not client.key_exists("t")
    assert not member.tensor_exists("t")  # reads go to sim_1 by default
    client.put_tensor("sim_1.t", np.zeros(2))
    np.testing.assert_array_equal(member.get_tensor("t"), np.zeros(2))
    member.set_data_source("sim_0")
    np.testing.assert_array_equal(member.get_tensor("t"), np.ones(2))
    with pytest.raises(RedisRuntimeError, match="sim_9"):
        member.set_data_source("sim_9")


def test_prefix_switches(member: Client, client: Client) -> None:
    member.use_tensor_ensemble_prefix(False)
    member.put_tensor("plain", np.ones(1))
    assert client.key_exists("plain")
    dataset = Dataset("d")
    dataset.add_meta_string("k", "v")
    member.put_dataset(dataset)
    assert client.key_exists("sim_0.{d}.meta")
    member.use_dataset_ensemble_prefix(False)
    member.put_dataset(dataset)
    assert client.key_exists("{d}.meta")
    with pytest.raises(TypeError):
        member.use_list_ensemble_prefix(1)  # type: ignore[arg-type]
    member.use_model_ensemble_prefix(True)


def test_lists_are_prefixed_and_hold_full_dataset_keys(member: Client, client: Client) -> None:
    dataset = Dataset("d")
    dataset.add_tensor("x", np.arange(3))
    member.put_dataset(dataset)
    member.append_to_list("results", dataset)
    assert client.key_exists("sim_0.results")
    assert client.get_list_length("sim_0.results") == 1
    # an unprefixed reader follows the entry to the prefixed dataset key
    (got,) = client.get_datasets_from_list("sim_0.results")
    assert got.get_name() == "d"
    np.testing.assert_array_equal(got.get_tensor("x"), np.arange(3))
    member.set_data_source("sim_0")
    assert member.get_list_length("results") == 1
    member.use_list_ensemble_prefix(False)
    assert member.get_list_length("results") == 0


def test_key_exists_and_poll_key_are_never_prefixed(member: Client, client: Client) -> None:
    client.put_tensor("raw", np.ones(1))
    assert member.key_exists("raw")
    assert member.poll_key("raw", 1, 1)


def test_reads_of_one_name_follow_every_prefix_switch(member: Client, client: Client) -> None:
    """A Client keeps each name's read command; every switch of the prefixes is seen."""
    for key, value in (("t", 0.0), ("sim_0.t", 1.0), ("sim_1.t", 2.0)):
        client.put_tensor(key, np.full(2, value))
    for _ in range(2):  # twice each: the second read takes the kept command
        assert member.get_tensor("t")[0] == 2.0
        assert member.get_bytes("t") == client.get_bytes("sim_1.t")
    member.set_data_source("sim_0")
    assert member.get_tensor("t")[0] == 1.0
    member.use_tensor_ensemble_prefix(False)
    assert member.get_tensor("t")[0] == 0.0
    out = np.empty(2)
    member.unpack_tensor("t", out)
    assert out[0] == 0.0
    member.use_tensor_ensemble_prefix(True)
    assert member.get_tensor("t")[0] == 1.0
