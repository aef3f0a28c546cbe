"""The in-memory Dataset API (no store involved)."""

from __future__ import annotations

import numpy as np
import pytest

from insitu.client import Dataset, LLInfo
from insitu.errors import ParameterTypeError, RedisKeyError, RedisRuntimeError


def test_tensors_are_copied_and_described() -> None:
    data = np.arange(6, dtype=np.int16).reshape(2, 3)
    dataset = Dataset("d")
    dataset.add_tensor("x", data)
    data[0, 0] = 99
    assert dataset.get_tensor("x")[0, 0] == 0
    assert dataset.get_name() == "d"
    assert dataset.get_tensor_names() == ["x"]
    assert dataset.get_tensor_type("x") is np.int16
    assert dataset.get_tensor_dims("x") == [2, 3]
    assert "x (int16 [2, 3])" in str(dataset)
    with pytest.raises(RedisRuntimeError, match="already has"):
        dataset.add_tensor("x", data)
    with pytest.raises(RedisKeyError, match="y"):
        dataset.get_tensor("y")


def test_metadata_fields_keep_their_type() -> None:
    dataset = Dataset("d")
    dataset.add_meta_scalar("i", 1)
    dataset.add_meta_scalar("i", np.int64(2))
    dataset.add_meta_scalar("f32", np.float32(0.5))
    dataset.add_meta_scalar("u64", np.uint64(2**63))
    dataset.add_meta_string("s", "a")
    dataset.add_meta_string("s", "b")
    assert dataset.get_metadata_field_names() == ["i", "f32", "u64", "s"]
    scalars = dataset.get_meta_scalars("i")
    assert scalars.dtype == np.int64 and scalars.tolist() == [1, 2]
    assert dataset.get_meta_scalars("u64").tolist() == [2**63]
    assert dataset.get_meta_strings("s") == ["a", "b"]
    assert dataset.get_metadata_field_type("f32") is np.float32
    assert dataset.get_metadata_field_type("s") is str
    with pytest.raises(RedisRuntimeError, match="holds INT64"):
        dataset.add_meta_scalar("i", 1.5)
    with pytest.raises(RedisRuntimeError):
        dataset.add_meta_string("i", "x")
    with pytest.raises(RedisRuntimeError):
        dataset.add_meta_scalar("s", 1)
    with pytest.raises(RedisRuntimeError):
        dataset.get_meta_strings("i")
    with pytest.raises(RedisRuntimeError):
        dataset.get_meta_scalars("s")
    with pytest.raises(RedisKeyError, match="nope"):
        dataset.get_meta_scalars("nope")


@pytest.mark.parametrize("value", [[1, 2], True, np.int8(1), 1 + 2j, "3", np.array([])])
def test_meta_scalar_type_errors(value: object) -> None:
    with pytest.raises(ParameterTypeError):
        Dataset("d").add_meta_scalar("m", value)  # type: ignore[arg-type]


def test_argument_types() -> None:
    with pytest.raises(TypeError):
        Dataset(5)  # type: ignore[arg-type]
    dataset = Dataset("d")
    for call in (
        lambda: dataset.add_tensor("x", [1, 2]),  # type: ignore[arg-type]
        lambda: dataset.add_tensor("x", np.array(["s"])),
        lambda: dataset.add_meta_string("m", 5),  # type: ignore[arg-type]
        lambda: dataset.get_tensor(0),  # type: ignore[arg-type]
        lambda: dataset.log_data(2, "x"),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError):
            call()


def test_dataset_logs_under_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    Dataset("my_data").log_data(LLInfo, "hello")
    assert capsys.readouterr().out.startswith("my_data@")
