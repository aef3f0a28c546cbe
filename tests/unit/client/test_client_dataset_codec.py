"""The dataset codec (one value per dataset): round trips, layout, and a fuzzed decoder."""

from __future__ import annotations

import contextlib
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from insitu.errors import WireFormatError
from insitu.wire.datasets import (
    META_DTYPES,
    DatasetContents,
    MetaField,
    decode_dataset,
    encode_dataset,
)
from insitu.wire.tensors import DTYPES, encode_tensor

NAMES = st.text(min_size=0, max_size=8)


def _value(contents: DatasetContents) -> bytes:
    return b"".join(bytes(part) for part in encode_dataset(contents))


def _decode(value: bytes) -> DatasetContents:
    return decode_dataset(memoryview(bytearray(value)), "{d}")


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
    got = _decode(_value(original))
    assert [n for n, _ in got.tensors] == [n for n, _ in original.tensors]
    for (_, a), (_, b) in zip(got.tensors, original.tensors, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert [f.name for f in got.metadata] == [f.name for f in original.metadata]
    for mine, theirs in zip(got.metadata, original.metadata, strict=True):
        assert mine.type_name == theirs.type_name and mine.strings == theirs.strings
        if theirs.scalars is not None:
            np.testing.assert_array_equal(mine.scalars, theirs.scalars)


def test_layout_matches_the_documentation() -> None:
    original = DatasetContents(
        (("t", np.arange(3.0)),),
        (MetaField("s", strings=("a",)), MetaField("n", scalars=np.array([7], "<i8"))),
    )
    value = _value(original)
    magic, version, length = struct.unpack_from("<4sB3xQ", value)
    assert (magic, version) == (b"ISDS", 1)
    manifest = json.loads(value[16 : 16 + length])
    area = 16 + length + (-(16 + length) % 8)
    tensor = manifest["tensors"][0]
    assert tensor["name"] == "t" and value[area + tensor["offset"] :][:4] == b"ISTN"
    assert manifest["metadata"][0] == {"name": "s", "type": "STRING", "values": ["a"]}
    assert manifest["metadata"][1]["type"] == "INT64"
    assert all(e["offset"] % 8 == 0 for e in manifest["tensors"] + manifest["metadata"][1:])


def _with_manifest(manifest: object, blob: bytes = b"") -> bytes:
    text = json.dumps(manifest).encode()
    head = struct.pack("<4sB3xQ", b"ISDS", 1, len(text)) + text
    return head + bytes(-len(head) % 8) + blob


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"ISDS", "too short"),
        (b"NOPE" + bytes(12), "not an insitu dataset"),
        (struct.pack("<4sB3xQ", b"ISDS", 9, 0), "version 9"),
        (struct.pack("<4sB3xQ", b"ISDS", 1, 999), "truncated"),
        (struct.pack("<4sB3xQ", b"ISDS", 1, 3) + b"{{{", "unreadable"),
        (_with_manifest([1]), "not a JSON object"),
        (_with_manifest({"tensors": 5}), "not a list"),
        (_with_manifest({"tensors": [{"name": 1}]}), "malformed"),
        (_with_manifest({"tensors": [{"name": "t", "offset": "0", "length": 1}]}), "integer"),
        (_with_manifest({"tensors": [{"name": "t", "offset": 0, "length": 99}]}), "outside"),
        (_with_manifest({"metadata": [{"name": "m", "type": "STRING", "values": [1]}]}), "strings"),
        (_with_manifest({"metadata": [{"name": "m", "type": "COMPLEX"}]}), "unknown type"),
    ],
)
def test_invalid_values_raise_wire_format_errors(value: bytes, message: str) -> None:
    with pytest.raises(WireFormatError, match=message):
        _decode(value)


def test_scalar_field_must_hold_a_one_dimensional_array_of_its_type() -> None:
    blob = encode_tensor(np.ones((2, 2))).to_bytes()
    where = {"offset": 0, "length": len(blob)}
    matrix = {"metadata": [{"name": "m", "type": "DOUBLE", **where}]}
    with pytest.raises(WireFormatError, match="does not hold DOUBLE scalars"):
        _decode(_with_manifest(matrix, blob))
    duplicate = {"tensors": [{"name": "t", **where}, {"name": "t", **where}]}
    with pytest.raises(WireFormatError, match="duplicate"):
        _decode(_with_manifest(duplicate, blob))


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_fuzzed_bytes_decode_or_raise_wire_format_error(value: bytes) -> None:
    with contextlib.suppress(WireFormatError):
        decode_dataset(memoryview(value), "k")


@settings(max_examples=150)
@given(contents(), st.data())
def test_corrupted_valid_values_never_crash(original: DatasetContents, data: st.DataObject) -> None:
    value = bytearray(_value(original))
    index = data.draw(st.integers(0, len(value) - 1))
    value[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(value)))
    for candidate in (value, value[:cut]):
        with contextlib.suppress(WireFormatError):
            decode_dataset(memoryview(candidate), "k")
