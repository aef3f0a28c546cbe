"""The dataset layout shared with SmartRedis (a ``.meta`` hash plus a tensor value per
tensor): round trips, the bytes SmartRedis writes, and fuzzed field values."""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from insitu.errors import InvalidArgumentError, WireFormatError
from insitu.wire.datasets import (
    COMPLETE_FIELD,
    META_DTYPES,
    TENSOR_NAMES_FIELD,
    DatasetContents,
    MetaField,
    decode_dataset,
    decode_field,
    encode_dataset,
    meta_key,
    tensor_key,
)
from insitu.wire.tensors import DTYPES

NAMES = st.text(min_size=0, max_size=8).filter(lambda n: not n.startswith("."))


def _round_trip(contents: DatasetContents) -> DatasetContents:
    write = encode_dataset(contents)
    meta = {**dict(write.fields), COMPLETE_FIELD: b"1"}
    tensors = [memoryview(bytearray(t.to_bytes())) for _, t in write.tensors]
    return decode_dataset(meta, tensors, "{d}")


@st.composite
def contents(draw: st.DrawFn) -> DatasetContents:
    tensor_names = draw(st.lists(NAMES, unique=True, max_size=4))
    dtypes = st.sampled_from([d for _, d in DTYPES.values()])
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0)
    tensors = tuple((n, draw(hnp.arrays(dtypes, shapes))) for n in tensor_names)
    fields = []
    for name in draw(st.lists(NAMES, unique=True, max_size=4)):
        if draw(st.booleans()):
            fields.append(MetaField(name, strings=tuple(draw(st.lists(st.text(), max_size=3)))))
        else:
            dtype = draw(st.sampled_from(list(META_DTYPES)))
            fields.append(MetaField(name, scalars=draw(hnp.arrays(dtype, st.integers(1, 4)))))
    return DatasetContents(tensors, tuple(fields))


@given(contents())
def test_round_trip(original: DatasetContents) -> None:
    got = _round_trip(original)
    assert [n for n, _ in got.tensors] == [n for n, _ in original.tensors]
    for (_, a), (_, b) in zip(got.tensors, original.tensors, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert [f.name for f in got.metadata] == [f.name for f in original.metadata]
    for mine, theirs in zip(got.metadata, original.metadata, strict=True):
        assert mine.type_name == theirs.type_name and mine.strings == theirs.strings
        if theirs.scalars is not None:
            np.testing.assert_array_equal(mine.scalars, theirs.scalars)


def test_fields_are_the_bytes_smartredis_writes() -> None:
    """Values captured from SmartRedis 0.6.1's put_dataset."""
    write = encode_dataset(
        DatasetContents(
            (("a", np.arange(3, dtype=np.int16)),),
            (
                MetaField("f64", scalars=np.array([1.5])),
                MetaField("f32", scalars=np.array([2.5], np.float32)),
                MetaField("i32", scalars=np.array([-3], np.int32)),
                MetaField("u64", scalars=np.array([6], np.uint64)),
                MetaField("s", strings=("hello", "w")),
            ),
        )
    )
    assert dict(write.fields) == {
        "f64": b"\x01\x00\x00\x00\x00\x00\x00\xf8?",
        "f32": b"\x02\x00\x00 @",
        "i32": b"\x03\xfd\xff\xff\xff",
        "u64": b"\x06\x06\x00\x00\x00\x00\x00\x00\x00",
        "s": b"\x07\x05\x00\x00\x00\x00\x00\x00\x00hello\x01\x00\x00\x00\x00\x00\x00\x00w",
        TENSOR_NAMES_FIELD: b"\x07\x01\x00\x00\x00\x00\x00\x00\x00a",
    }
    assert [n for n, _ in write.tensors] == ["a"]
    assert meta_key("p.{ds}") == "p.{ds}.meta" and tensor_key("p.{ds}", "a") == "p.{ds}.a"


def test_metadata_only_datasets_list_no_tensors() -> None:
    write = encode_dataset(DatasetContents((), (MetaField("x", strings=("y",)),)))
    assert [n for n, _ in write.fields] == ["x"] and not write.tensors


@pytest.mark.parametrize("name", [COMPLETE_FIELD, TENSOR_NAMES_FIELD])
def test_reserved_field_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgumentError, match="reserved"):
        encode_dataset(DatasetContents((), (MetaField(name, strings=("x",)),)))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"", "empty"),
        (b"\x09abc", "unknown type id 9"),
        (b"\x01\x00\x00", "whole number of DOUBLE"),
        (b"\x07\x05" + bytes(7) + b"hi", "truncated"),
        (b"\x07\x01", "truncated"),
        (b"\x07" + struct.pack("<Q", 1) + b"\xff", "not UTF-8"),
    ],
)
def test_invalid_fields_raise_wire_format_errors(value: bytes, message: str) -> None:
    with pytest.raises(WireFormatError, match=message):
        decode_field("m", value, "{d}")


def test_missing_or_extra_tensors_are_wire_format_errors() -> None:
    write = encode_dataset(DatasetContents((("t", np.ones(2)),)))
    meta = dict(write.fields)
    with pytest.raises(WireFormatError, match="tensor 't' is missing"):
        decode_dataset(meta, [None], "{d}")
    with pytest.raises(WireFormatError, match="0 tensor values for 1 names"):
        decode_dataset(meta, [], "{d}")
    duplicate = {TENSOR_NAMES_FIELD: b"\x07" + 2 * (struct.pack("<Q", 1) + b"t")}
    with pytest.raises(WireFormatError, match="duplicate"):
        decode_dataset(duplicate, [None, None], "{d}")
    scalar_names = {TENSOR_NAMES_FIELD: b"\x01" + bytes(8)}
    with pytest.raises(WireFormatError, match="not a STRING field"):
        decode_dataset(scalar_names, [], "{d}")


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_fuzzed_field_values_decode_or_raise_wire_format_error(value: bytes) -> None:
    with contextlib.suppress(WireFormatError):
        decode_field("m", value, "k")
    with contextlib.suppress(WireFormatError):
        decode_dataset({TENSOR_NAMES_FIELD: value}, [], "k")
