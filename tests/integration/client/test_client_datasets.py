"""Datasets and aggregation lists on every topology."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from insitu.client import Client, Dataset
from insitu.client.errors import (
    RedisKeyError,
    RedisParameterError,
    RedisRuntimeError,
    WireFormatError,
)


def _full_dataset(name: str = "ds") -> Dataset:
    dataset = Dataset(name)
    dataset.add_tensor("u", np.arange(12, dtype=np.uint16).reshape(3, 4))
    dataset.add_tensor("f", np.asfortranarray(np.linspace(0, 1, 6).reshape(2, 3)))
    dataset.add_meta_scalar("step", 3)
    dataset.add_meta_scalar("step", np.int64(4))
    dataset.add_meta_scalar("dt", 0.5)
    dataset.add_meta_scalar("u32", np.uint32(7))
    dataset.add_meta_string("note", "first")
    dataset.add_meta_string("note", "second")
    return dataset


def test_dataset_round_trip(client: Client) -> None:
    original = _full_dataset()
    client.put_dataset(original)
    got = client.get_dataset("ds")
    assert got.get_name() == "ds"
    assert got.get_tensor_names() == ["u", "f"]
    np.testing.assert_array_equal(got.get_tensor("u"), original.get_tensor("u"))
    np.testing.assert_array_equal(got.get_tensor("f"), original.get_tensor("f"))
    assert got.get_tensor_type("u") is np.uint16
    assert got.get_tensor_dims("f") == [2, 3]
    assert got.get_metadata_field_names() == ["step", "dt", "u32", "note"]
    np.testing.assert_array_equal(got.get_meta_scalars("step"), [3, 4])
    assert got.get_metadata_field_type("dt") is np.float64
    assert got.get_metadata_field_type("u32") is np.uint32
    assert got.get_metadata_field_type("note") is str
    assert got.get_meta_strings("note") == ["first", "second"]


def test_dataset_is_laid_out_as_smartredis_lays_it_out(client: Client) -> None:
    client.put_dataset(_full_dataset("sim"))
    assert client.key_exists("{sim}.meta")
    assert client.key_exists("{sim}.u") and client.key_exists("{sim}.f")
    np.testing.assert_array_equal(client.get_tensor("{sim}.u"), _full_dataset().get_tensor("u"))
    assert client.dataset_exists("sim")
    assert client.poll_dataset("sim", 10, 2)
    assert not client.dataset_exists("other")
    assert not client.poll_dataset("other", 1, 2)


def test_delete_copy_rename_dataset(client: Client) -> None:
    client.put_dataset(_full_dataset("a"))
    client.copy_dataset("a", "b")
    assert client.get_dataset("b").get_meta_strings("note") == ["first", "second"]
    client.rename_dataset("b", "c")
    assert not client.dataset_exists("b")
    assert client.get_dataset("c").get_name() == "c"
    client.delete_dataset("c")
    assert not client.dataset_exists("c")
    for call in (
        lambda: client.get_dataset("c"),
        lambda: client.delete_dataset("c"),
        lambda: client.copy_dataset("c", "d"),
        lambda: client.rename_dataset("c", "d"),
    ):
        with pytest.raises(RedisKeyError, match=r"\{c\}"):
            call()


def test_empty_dataset_is_refused(client: Client) -> None:
    with pytest.raises(RedisRuntimeError, match="does not contain any fields or tensors"):
        client.put_dataset(Dataset("empty"))
    assert not client.dataset_exists("empty")
    metadata_only = Dataset("meta")
    metadata_only.add_meta_string("k", "v")
    client.put_dataset(metadata_only)
    assert client.get_dataset("meta").get_meta_strings("k") == ["v"]


def test_old_layout_and_invalid_fields_are_clear_errors(client: Client) -> None:
    client.put_bytes("{old}", b"ISDS\x01\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00")
    with pytest.raises(WireFormatError, match=r"\{old\}.*old one-value layout"):
        client.get_dataset("old")
    assert not client.dataset_exists("old")
    client.append_to_list("old_list", Dataset("old"))  # a list written before, too
    with pytest.raises(WireFormatError, match="old one-value layout"):
        client.get_datasets_from_list("old_list")
    meta = Dataset("bad")
    meta.add_meta_string("k", "v")
    client.put_dataset(meta)
    client.put_bytes("{bad}.meta", b"not a hash")  # replaced by a string
    with pytest.raises(RedisRuntimeError, match="another kind of value"):
        client.get_dataset("bad")


def test_readers_see_whole_datasets_or_none(client: Client) -> None:
    """A writer replaces a dataset whose two tensors always hold the same version number;
    concurrent readers must never see a mix."""
    size = 64 * 1024
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        version = 0
        try:
            while not stop.is_set():
                version += 1
                dataset = Dataset("atomic")
                dataset.add_tensor("a", np.full(size, version))
                dataset.add_tensor("b", np.full(size, version))
                dataset.add_meta_scalar("v", version)
                client.put_dataset(dataset)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    writer = threading.Thread(target=write)
    writer.start()
    seen: set[int] = set()
    deadline = time.monotonic() + 30
    try:
        while len(seen) < 20 and time.monotonic() < deadline:
            if not client.dataset_exists("atomic"):
                continue
            got = client.get_dataset("atomic")
            version = int(got.get_meta_scalars("v")[0])
            assert (got.get_tensor("a") == version).all()
            assert (got.get_tensor("b") == version).all()
            seen.add(version)
    finally:
        stop.set()
        writer.join()
    assert not errors
    assert len(seen) >= 2


def test_aggregation_list(client: Client) -> None:
    for i in range(6):
        dataset = Dataset(f"d{i}")
        dataset.add_tensor("v", np.full(3, i))
        client.put_dataset(dataset)
        client.append_to_list("results", dataset)
    assert client.get_list_length("results") == 6
    names = [d.get_name() for d in client.get_datasets_from_list("results")]
    assert names == [f"d{i}" for i in range(6)]
    part = client.get_dataset_list_range("results", 1, 3)
    assert [int(d.get_tensor("v")[0]) for d in part] == [1, 2, 3]
    assert [d.get_name() for d in client.get_dataset_list_range("results", -2, -1)] == [
        "d4",
        "d5",
    ]
    assert client.get_dataset_list_range("results", 4, 100)[-1].get_name() == "d5"
    assert client.get_dataset_list_range("results", 3, 1) == []
    assert client.get_datasets_from_list("no-such-list") == []


def test_list_copy_rename_delete_and_polls(client: Client) -> None:
    for i in range(3):
        dataset = Dataset(f"e{i}")
        dataset.add_meta_scalar("i", i)
        client.put_dataset(dataset)
        client.append_to_list("src", dataset)
    client.copy_list("src", "dst")
    assert client.get_list_length("dst") == 3
    client.copy_list("src", "src")  # same name: nothing happens
    client.rename_list("dst", "moved")
    assert client.get_list_length("dst") == 0
    assert client.get_list_length("moved") == 3
    assert client.poll_list_length("moved", 3, 10, 3)
    assert client.poll_list_length_gte("moved", 2, 10, 3)
    assert client.poll_list_length_lte("moved", 3, 10, 3)
    assert not client.poll_list_length("moved", 4, 1, 2)
    assert not client.poll_list_length_lte("moved", 1, 1, 2)
    client.delete_list("moved")
    assert client.get_list_length("moved") == 0
    with pytest.raises(RedisKeyError, match="absent"):
        client.copy_list("absent", "x")
    with pytest.raises(RedisParameterError):
        client.poll_list_length("src", -1, 10, 3)
    with pytest.raises(ValueError):
        client.copy_list("", "x")


def test_list_entry_whose_dataset_was_deleted(client: Client) -> None:
    dataset = Dataset("gone")
    dataset.add_meta_string("k", "v")
    client.put_dataset(dataset)
    client.append_to_list("refs", dataset)
    client.delete_dataset("gone")
    with pytest.raises(RedisKeyError, match="gone"):
        client.get_datasets_from_list("refs")


def test_dataset_argument_types(client: Client) -> None:
    for call in (
        lambda: client.put_dataset("ds"),  # type: ignore[arg-type]
        lambda: client.append_to_list("l", "ds"),  # type: ignore[arg-type]
        lambda: client.get_dataset(1),  # type: ignore[arg-type]
        lambda: client.get_dataset_list_range("l", "0", 1),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError):
            call()
