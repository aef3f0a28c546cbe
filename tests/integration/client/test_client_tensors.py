"""Tensors, raw bytes and plain keys on every topology (standalone TCP, Unix socket, cluster)."""

from __future__ import annotations

import numpy as np
import pytest

from insitu.client import Client
from insitu.client.errors import (
    RedisKeyError,
    RedisReplyError,
    RedisRuntimeError,
    ValueTooLargeError,
    WireFormatError,
)

from .conftest import Store

DTYPES = ["float64", "float32", "float16", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "bool"]  # fmt: skip


def _sample(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    values = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) % 7
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_round_trips(client: Client, dtype: str) -> None:
    data = _sample(dtype, (3, 4))
    client.put_tensor("t", data)
    got = client.get_tensor("t")
    assert got.dtype == data.dtype and got.shape == (3, 4)
    np.testing.assert_array_equal(got, data)


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.arange(24.0).reshape(2, 3, 4),  # C order
        lambda: np.asfortranarray(np.arange(24.0).reshape(2, 3, 4)),  # Fortran order
        lambda: np.arange(48.0).reshape(4, 12)[::2, 1::3],  # strided view
        lambda: np.arange(24.0).reshape(2, 3, 4).transpose(1, 2, 0),  # permuted axes
        lambda: np.array(2.5),  # 0-d
        lambda: np.zeros((0, 5), dtype=np.int32),  # empty
        lambda: np.arange(10, dtype=">i4"),  # big-endian input
        lambda: np.ones((1,) * 12),  # many axes
    ],
)
def test_any_shape_and_layout_round_trips(client: Client, make: object) -> None:
    data = make()  # type: ignore[operator]
    client.put_tensor("t", data)
    got = client.get_tensor("t")
    assert got.shape == data.shape
    np.testing.assert_array_equal(got, data)
    got[...] = 0  # returned arrays are writable, as SmartRedis's are


def test_tensor_lives_under_its_name(client: Client) -> None:
    assert not client.key_exists("tensor_1")
    client.put_tensor("tensor_1", np.array([1, 2, 3, 4]))
    assert client.key_exists("tensor_1")
    assert client.tensor_exists("tensor_1")
    assert client.poll_key("tensor_1", 10, 3)
    assert client.poll_tensor("tensor_1", 10, 3)
    assert not client.poll_tensor("absent", 1, 2)
    assert not client.poll_key("absent", 1, 0)


def test_delete_copy_rename(client: Client) -> None:
    data = np.arange(6).reshape(2, 3)
    client.put_tensor("a", data)
    client.copy_tensor("a", "b")
    np.testing.assert_array_equal(client.get_tensor("b"), data)
    client.rename_tensor("b", "c")
    assert not client.tensor_exists("b")
    np.testing.assert_array_equal(client.get_tensor("c"), data)
    client.delete_tensor("c")
    assert not client.tensor_exists("c")
    client.delete_tensor("never-there")  # no error, as in SmartRedis


def test_unpack_tensor_into_given_array(client: Client) -> None:
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    client.put_tensor("t", data)
    out = np.empty((3, 4), dtype=np.float32)
    client.unpack_tensor("t", out)
    np.testing.assert_array_equal(out, data)
    fortran = np.empty((3, 4), dtype=np.float32, order="F")
    client.unpack_tensor("t", fortran)
    np.testing.assert_array_equal(fortran, data)
    with pytest.raises(RedisRuntimeError, match="type"):
        client.unpack_tensor("t", np.empty((3, 4), dtype=np.float64))
    with pytest.raises(RedisRuntimeError, match="dimensions"):
        client.unpack_tensor("t", np.empty((4, 3), dtype=np.float32))


def test_missing_keys_raise_key_errors_naming_the_key(client: Client) -> None:
    for call in (
        lambda: client.get_tensor("nothing"),
        lambda: client.unpack_tensor("nothing", np.empty(1)),
        lambda: client.copy_tensor("nothing", "x"),
        lambda: client.rename_tensor("nothing", "x"),
        lambda: client.get_bytes("nothing"),
    ):
        with pytest.raises(RedisKeyError, match="nothing") as info:
            call()
        assert info.value.key == "nothing"
        assert isinstance(info.value, RedisReplyError)


def test_bytes_round_trip_without_header(client: Client) -> None:
    blob = bytes(range(256)) * 5
    client.put_bytes("blob", blob)
    assert client.get_bytes("blob") == blob
    client.put_bytes("view", memoryview(bytearray(b"abc")))
    assert client.get_bytes("view") == b"abc"
    client.put_bytes("empty", b"")
    assert client.get_bytes("empty") == b""


def test_reading_something_that_is_not_a_tensor_is_a_clear_error(client: Client) -> None:
    client.put_bytes("junk", b"not a tensor at all")
    with pytest.raises(WireFormatError, match="junk") as info:
        client.get_tensor("junk")
    assert info.value.key == "junk"
    client.append_to_list("a_list", _dataset("d"))
    with pytest.raises(RedisRuntimeError, match="a_list"):
        client.get_tensor("a_list")


def test_bad_types_raise_type_error(client: Client) -> None:
    for call in (
        lambda: client.put_tensor(5, np.zeros(1)),  # type: ignore[arg-type]
        lambda: client.put_tensor("t", [1, 2, 3]),  # type: ignore[arg-type]
        lambda: client.put_tensor("t", np.array(["a", "b"])),
        lambda: client.put_tensor("t", np.array([object()])),
        lambda: client.put_tensor("t", np.array([1 + 2j])),
        lambda: client.get_tensor(b"t"),  # type: ignore[arg-type]
        lambda: client.poll_tensor("t", "10", 3),  # type: ignore[arg-type]
        lambda: client.key_exists(None),  # type: ignore[arg-type]
        lambda: client.put_bytes("b", "text"),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError):
            call()


def test_oversized_value_is_refused_before_sending(client: Client, store: Store) -> None:
    for address in store.addresses:
        client.config_set("proto-max-bulk-len", str(1024 * 1024), address)
    try:
        with pytest.raises(ValueTooLargeError, match="big") as info:
            client.put_tensor("big", np.zeros(2 * 1024 * 1024 // 8))
        assert info.value.limit == 1024 * 1024
        assert isinstance(info.value, ValueError)
        client.put_tensor("small", np.ones(10))  # the connection was not dropped
        np.testing.assert_array_equal(client.get_tensor("small"), np.ones(10))
        from insitu.client import Dataset

        dataset = Dataset("ds_big")
        dataset.add_tensor("ok", np.ones(4))
        dataset.add_tensor("huge", np.zeros(2 * 1024 * 1024 // 8))
        with pytest.raises(ValueTooLargeError, match="huge") as info:
            client.put_dataset(dataset)  # a dataset's tensors too, before anything is sent
        assert info.value.limit == 1024 * 1024
        assert not client.dataset_exists("ds_big") and not client.key_exists("{ds_big}.ok")
    finally:
        for address in store.addresses:
            client.config_set("proto-max-bulk-len", str(512 * 1024 * 1024), address)


def test_large_tensor_round_trips(client: Client) -> None:
    data = np.random.default_rng(1).random((1024, 1024 + 7))  # ~8 MiB, odd size
    client.put_tensor("large", data)
    np.testing.assert_array_equal(client.get_tensor("large"), data)


def _dataset(name: str) -> object:
    from insitu.client import Dataset

    dataset = Dataset(name)
    dataset.add_tensor("x", np.ones(2))
    return dataset


def test_repeated_reads_follow_every_change_of_the_value(client: Client) -> None:
    """A Client reads a name it read before into an array made while the reply comes (as
    the last reply was): whatever the value became since, the array is the value now."""
    first = np.arange(6.0).reshape(2, 3)
    changes = [
        first,  # the same again: made as guessed
        first + 1,  # rewritten in place: same header and length
        np.asfortranarray(first * 2),  # same length and shape, another memory order
        first.reshape(3, 2),  # same length, another shape
        first.astype(np.int64),  # same length, another type
        np.arange(7.0),  # another length
        np.zeros((0, 3)),  # empty
        np.array(5.0),  # 0-d
    ]
    seen = []
    for value in changes:
        client.put_tensor("t", value)
        for _ in range(2):  # the second read takes the guess the first one left
            got = client.get_tensor("t")
            assert got.dtype == value.dtype and got.shape == value.shape
            np.testing.assert_array_equal(got, value)
            assert got.flags.writeable and got.flags.aligned
            assert got.flags.f_contiguous if value.flags.f_contiguous else got.flags.c_contiguous
            seen.append(got)
    seen[0][0, 0] = 99.0  # each array has memory of its own
    assert seen[1][0, 0] == 0.0 and client.get_tensor("t") == 5.0
    client.delete_tensor("t")
    with pytest.raises(RedisKeyError):
        client.get_tensor("t")
    client.put_tensor("t", first)
    client.get_tensor("t")
    client.put_bytes("t", b"not a tensor")
    with pytest.raises(WireFormatError):
        client.get_tensor("t")
    client.put_tensor("t", first)
    np.testing.assert_array_equal(client.get_tensor("t"), first)
    client.delete_tensor("t")
    client.append_to_list("t", _dataset("d"))
    with pytest.raises(RedisRuntimeError, match="'t'"):
        client.get_tensor("t")
