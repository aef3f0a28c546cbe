"""The tensor codec: round trips (format/parse pair), zero-copy, and a fuzzed decoder."""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from insitu.errors import ParameterTypeError, WireFormatError
from insitu.wire.tensors import (
    DTYPES,
    MAGIC,
    decode_header,
    decode_tensor,
    encode_header,
    encode_tensor,
    reply_guess,
)

WIRE_DTYPES = [dtype for _, dtype in DTYPES.values()]


def _decode(value: bytes) -> np.ndarray:
    return decode_tensor(memoryview(bytearray(value)), "k")


@given(
    hnp.arrays(
        dtype=st.sampled_from(WIRE_DTYPES),
        shape=hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4),
    ),
    st.sampled_from(["C", "F", "strided"]),
)
def test_round_trip_any_dtype_shape_layout(array: np.ndarray, layout: str) -> None:
    if layout == "F":
        array = np.asfortranarray(array)
    elif layout == "strided" and array.ndim:
        array = np.repeat(array, 2, axis=0)[::2]
    value = encode_tensor(array).to_bytes()
    for _ in range(2):  # the second decode takes the remembered header's road
        got = _decode(value)
        assert got.dtype == array.dtype and got.shape == array.shape
        assert got.flags.writeable
        assert got.flags.f_contiguous if layout == "F" else got.flags.c_contiguous
        np.testing.assert_array_equal(got, array)


def test_a_remembered_header_with_the_wrong_length_is_still_refused() -> None:
    value = encode_tensor(np.asfortranarray(np.arange(24.0).reshape(2, 3, 4))).to_bytes()
    np.testing.assert_array_equal(_decode(value), np.arange(24.0).reshape(2, 3, 4))
    for wrong in (value[:-8], value + bytes(8)):
        with pytest.raises(WireFormatError, match="needs 192 data bytes"):
            _decode(wrong)


def test_header_layout_is_documented_one() -> None:
    value = encode_tensor(np.arange(6, dtype=np.int32).reshape(2, 3)).to_bytes()
    assert value[:4] == MAGIC
    assert struct.unpack_from("<BBBB", value, 4) == (1, 6, 0, 2)
    assert struct.unpack_from("<2Q", value, 8) == (2, 3)
    assert value[24:] == np.arange(6, dtype="<i4").tobytes()
    fortran = encode_tensor(np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    assert fortran.header[6] == 1
    assert len(encode_header(np.dtype("<f8"), (1, 2, 3), False)) % 8 == 0


def test_contiguous_input_is_not_copied_and_output_is_a_view() -> None:
    for array in (np.arange(1000.0), np.asfortranarray(np.ones((30, 40)))):
        encoded = encode_tensor(array)
        assert np.shares_memory(np.frombuffer(encoded.data, dtype=np.uint8), array)
    buf = memoryview(bytearray(encode_tensor(np.arange(10.0)).to_bytes()))
    out = decode_tensor(buf, "k")
    out[0] = 42.0
    assert np.frombuffer(buf, dtype=np.float64, offset=16)[0] == 42.0
    assert decode_tensor(memoryview(bytes(buf)), "k").flags.writeable is False


@pytest.mark.parametrize(
    "array",
    [np.array(["a"]), np.array([object()]), np.array([1 + 1j]), np.array(["2020"], "M8[D]")],
)
def test_unsupported_dtypes_are_type_errors(array: np.ndarray) -> None:
    with pytest.raises(ParameterTypeError, match="Incompatible tensor type"):
        encode_tensor(array)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"", "too short"),
        (b"XXXX\x01\x01\x00\x00", "not an insitu tensor"),
        (b"ISTN\x02\x01\x00\x00", "version 2"),
        (b"ISTN\x01\x63\x00\x00", "dtype code 99"),
        (b"ISTN\x01\x01\x05\x00", "bad order"),
        (b"ISTN\x01\x01\x00\x02" + bytes(8), "truncated"),
        (b"ISTN\x01\x01\x00\x01" + struct.pack("<Q", 3) + bytes(16), "needs 24 data bytes"),
        (b"ISTN\x01\x01\x00\x01" + struct.pack("<Q", 2**62) + bytes(8), "needs"),
    ],
)
def test_invalid_values_raise_wire_format_errors(value: bytes, message: str) -> None:
    with pytest.raises(WireFormatError, match=message) as info:
        _decode(value)
    assert info.value.key == "k"


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_fuzzed_bytes_decode_or_raise_wire_format_error(value: bytes) -> None:
    try:
        header = decode_header(memoryview(value), "k")
    except WireFormatError:
        return
    assert len(value) == header.size + header.data_nbytes


@settings(max_examples=200)
@given(st.data())
def test_corrupted_valid_values_never_crash(data: st.DataObject) -> None:
    array = data.draw(hnp.arrays(st.sampled_from(WIRE_DTYPES), hnp.array_shapes(max_dims=3)))
    value = bytearray(encode_tensor(array).to_bytes())
    index = data.draw(st.integers(0, len(value) - 1))
    value[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(value)))
    for candidate in (value, value[:cut]):
        with contextlib.suppress(WireFormatError):
            decode_tensor(memoryview(candidate), "k")


def test_empty_shape_with_impossible_extent_is_a_wire_format_error() -> None:
    # Found by the dataset fuzzer: a zero extent makes the data length 0, yet numpy cannot
    # build an array whose other extents overflow its index type.
    header = bytearray(encode_header(np.dtype("float64"), (0, 0), False))
    struct.pack_into("<Q", header, len(header) - 8, 2**62)
    with pytest.raises(WireFormatError, match="larger than any array"):
        decode_tensor(memoryview(bytes(header)), "k")


@given(
    hnp.arrays(
        dtype=st.sampled_from(WIRE_DTYPES),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
    ),
    st.booleans(),
)
def test_reply_guess_makes_the_array_over_the_reply_buffer(
    array: np.ndarray, fortran: bool
) -> None:
    """A reply laid out as reply_guess() says, received at its pad, is the array, aligned."""
    if fortran:
        array = np.asfortranarray(array)
    value = encode_tensor(array).to_bytes()
    guess = reply_guess(memoryview(bytearray(value)), "k")
    reply = b"$%d\r\n" % len(value) + value + b"\r\n"
    assert guess.size == len(reply) and reply.startswith(guess.prefix)
    buf = bytearray(guess.pad + guess.size)
    made = guess.make(buf)  # made before the reply arrives ...
    buf[guess.pad :] = reply  # ... which lands in the same buffer
    assert made.dtype == array.dtype and made.shape == array.shape
    assert made.flags.aligned and made.flags.writeable
    np.testing.assert_array_equal(made, array)


def test_reply_guess_needs_no_remembered_header() -> None:
    """More headers than the decoder remembers: the guess is made all the same."""
    for n in range(300):
        value = encode_tensor(np.zeros((1, n + 1), dtype=np.int8)).to_bytes()
        guess = reply_guess(memoryview(bytearray(value)), "k")
        assert guess.prefix.endswith(value[:24])
    with pytest.raises(WireFormatError, match="'k'"):
        reply_guess(memoryview(bytearray(b"not a tensor")), "k")
