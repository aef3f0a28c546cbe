"""THE tensor codec: how one numpy array becomes one store value, and back.

Wire format, version 1 (all integers little-endian; see ``docs/wire-format.md``)::

    offset  size     field
    0       4        magic  b"ISTN"
    4       1        version (1)
    5       1        dtype code (see DTYPES)
    6       1        order: 0 = C (row-major), 1 = Fortran (column-major)
    7       1        ndim (0..64)
    8       8*ndim   dims, uint64
    8+8*ndim         data: prod(dims) * itemsize bytes, little-endian elements, in `order`

The header is a multiple of 8 bytes long, so the data is 8-byte aligned in the value.
Encoding never copies a C- or Fortran-contiguous little-endian array (the data is a
``memoryview`` of the caller's memory); decoding never copies (the array is a view of the
buffer it was decoded from, writable if that buffer is). Anything that does not follow
the format exactly raises :class:`~insitu.errors.WireFormatError` naming the key.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from math import prod
from operator import mul

import numpy as np

from insitu.errors import ParameterTypeError, WireFormatError

MAGIC = b"ISTN"
VERSION = 1
FIXED_HEADER = 8
MAX_NDIM = 64
C_ORDER, F_ORDER = 0, 1

# code -> (wire name, numpy dtype). Codes are part of the wire format: never renumber.
DTYPES: dict[int, tuple[str, np.dtype[np.generic]]] = {
    1: ("DOUBLE", np.dtype("<f8")),
    2: ("FLOAT", np.dtype("<f4")),
    3: ("HALF", np.dtype("<f2")),
    4: ("INT8", np.dtype("i1")),
    5: ("INT16", np.dtype("<i2")),
    6: ("INT32", np.dtype("<i4")),
    7: ("INT64", np.dtype("<i8")),
    8: ("UINT8", np.dtype("u1")),
    9: ("UINT16", np.dtype("<u2")),
    10: ("UINT32", np.dtype("<u4")),
    11: ("UINT64", np.dtype("<u8")),
    12: ("BOOL", np.dtype("?")),
}
_CODE_OF = {dtype: code for code, (_, dtype) in DTYPES.items()}
_FIXED = struct.Struct("<4sBBBB")


@dataclass(frozen=True)
class TensorHeader:
    """What a value's header says: element type, shape and memory order."""

    dtype: np.dtype[np.generic]
    shape: tuple[int, ...]
    fortran: bool = False

    @property
    def size(self) -> int:
        """Header length in bytes (where the data starts)."""
        return FIXED_HEADER + 8 * len(self.shape)

    @property
    def data_nbytes(self) -> int:
        """Length of the data section in bytes."""
        return prod(self.shape) * self.dtype.itemsize

    @property
    def type_name(self) -> str:
        """The wire name of the element type (``DOUBLE``, ``INT64`` ...)."""
        return DTYPES[_CODE_OF[self.dtype]][0]


@dataclass(frozen=True)
class EncodedTensor:
    """A tensor ready to send: ``header`` then ``data`` (the caller's memory, not a copy)."""

    header: bytes
    data: memoryview

    @property
    def nbytes(self) -> int:
        """Length of the whole value."""
        return len(self.header) + self.data.nbytes

    def parts(self) -> tuple[bytes | memoryview, ...]:
        """The buffers whose concatenation is the value."""
        return (self.header, self.data) if self.data.nbytes else (self.header,)

    def to_bytes(self) -> bytes:
        """The value as one ``bytes`` object (a copy; for small values and tests)."""
        return self.header + self.data.tobytes()


def wire_dtype(array: np.ndarray) -> np.dtype[np.generic]:
    """The wire dtype for ``array``'s elements; TypeError (ParameterTypeError) if none."""
    dtype = array.dtype
    if dtype.kind in "fiub" and dtype.newbyteorder("<") in _CODE_OF:
        return dtype.newbyteorder("<") if dtype.itemsize > 1 else dtype
    names = ", ".join(str(d) for _, d in DTYPES.values())
    raise ParameterTypeError(f"Incompatible tensor type provided {dtype}: data must hold {names}")


def tensor_type(dtype: np.dtype[np.generic]) -> type[np.generic]:
    """The numpy scalar type of a wire dtype (``np.float64`` for DOUBLE ...)."""
    return dtype.type


@functools.lru_cache(maxsize=256)  # a caller sends the same few shapes over and over
def encode_header(dtype: np.dtype[np.generic], shape: tuple[int, ...], fortran: bool) -> bytes:
    """The header bytes for a tensor of ``dtype`` and ``shape`` stored in that order."""
    if len(shape) > MAX_NDIM:
        raise ParameterTypeError(f"a tensor has at most {MAX_NDIM} dimensions, not {len(shape)}")
    order = F_ORDER if fortran else C_ORDER
    fixed = _FIXED.pack(MAGIC, VERSION, _CODE_OF[dtype], order, len(shape))
    return fixed + struct.pack(f"<{len(shape)}Q", *shape)


def encode_tensor(array: np.ndarray) -> EncodedTensor:
    """Encode ``array`` (any shape, any memory layout). Copies only when it must:
    non-contiguous input, or big-endian elements."""
    dtype = wire_dtype(array)
    if array.dtype != dtype:
        array = array.astype(dtype)
    fortran = not array.flags.c_contiguous and array.flags.f_contiguous
    if not (array.flags.c_contiguous or fortran):
        array = np.ascontiguousarray(array)
    return EncodedTensor(encode_header(dtype, array.shape, fortran), raw_bytes(array, fortran))


def raw_bytes(array: np.ndarray, fortran: bool = False) -> memoryview:
    """A byte view of a contiguous ``array``'s memory, in memory order (no copy)."""
    if array.size == 0:
        return memoryview(b"")
    flat = array.reshape(-1, order="F" if fortran else "C")
    return flat.data.cast("B")


_MAX_INDEX = int(np.iinfo(np.intp).max)


def decode_header(buf: memoryview, key: str) -> TensorHeader:
    """Parse and check ``buf``'s header, and that ``buf`` has exactly the data it announces."""
    known = _known(buf)
    if known is not None:
        return known.header
    header = _checked_header(buf, key)
    if len(_KNOWN_HEADERS) < _KNOWN_HEADERS_MAX:
        _KNOWN_HEADERS[bytes(buf[: header.size])] = _Known(
            header, buf.nbytes, header.size, _strides(header)
        )
    return header


@dataclass(frozen=True, slots=True)
class _Known:
    """A header seen (and checked) before, and what decoding needs from it."""

    header: TensorHeader
    nbytes: int  # the whole value's length: a value with this header has no other
    offset: int  # where the data starts
    strides: tuple[int, ...] | None  # the array's strides; None: C order


_KNOWN_HEADERS: dict[bytes, _Known] = {}  # header bytes -> what they say
_KNOWN_HEADERS_MAX = 256


def _known(buf: memoryview) -> _Known | None:
    """``buf``'s header if it was seen before (it needs no second check: only the value's
    length can differ, and that is compared)."""
    if buf.nbytes >= FIXED_HEADER and buf.format == "B":
        known = _KNOWN_HEADERS.get(bytes(buf[: FIXED_HEADER + 8 * buf[7]]))
        if known is not None and known.nbytes == buf.nbytes:
            return known
    return None


def _checked_header(buf: memoryview, key: str) -> TensorHeader:
    if buf.nbytes < FIXED_HEADER:
        raise WireFormatError(key, f"{buf.nbytes} bytes is too short for a tensor")
    magic, version, code, order, ndim = _FIXED.unpack_from(buf, 0)
    if magic != MAGIC:
        raise WireFormatError(key, f"not an insitu tensor (magic {bytes(magic)!r})")
    if version != VERSION:
        raise WireFormatError(key, f"tensor format version {version} is not supported")
    if code not in DTYPES:
        raise WireFormatError(key, f"unknown dtype code {code}")
    if order not in (C_ORDER, F_ORDER) or ndim > MAX_NDIM:
        raise WireFormatError(key, f"bad order {order} or ndim {ndim}")
    if buf.nbytes < FIXED_HEADER + 8 * ndim:
        raise WireFormatError(key, "truncated tensor header")
    shape = struct.unpack_from(f"<{ndim}Q", buf, FIXED_HEADER)
    header = TensorHeader(DTYPES[code][1], tuple(shape), order == F_ORDER)
    if buf.nbytes != header.size + header.data_nbytes:
        raise WireFormatError(
            key,
            f"shape {header.shape} of {header.type_name} needs {header.data_nbytes} data "
            f"bytes, the value has {buf.nbytes - header.size}",
        )
    # numpy refuses shapes whose non-zero extents overflow its index type even when a zero
    # extent makes the array empty, so such a header can never describe a real array.
    if prod(max(dim, 1) for dim in shape) * header.dtype.itemsize > _MAX_INDEX:
        raise WireFormatError(key, f"shape {header.shape} is larger than any array can be")
    return header


def decode_tensor(buf: memoryview, key: str) -> np.ndarray:
    """The array stored in ``buf`` (a view of ``buf``: no copy)."""
    # A small read's hot path: a header seen before makes the array in one call.
    if buf.nbytes >= FIXED_HEADER and buf.format == "B":
        known = _KNOWN_HEADERS.get(bytes(buf[: FIXED_HEADER + 8 * buf[7]]))
        if known is not None and known.nbytes == buf.nbytes:
            header = known.header
            array: np.ndarray = np.ndarray(
                header.shape, header.dtype, buf, known.offset, known.strides
            )
            return array
    header = decode_header(buf, key)  # checks it, and remembers it for the next time
    flat = np.frombuffer(buf, dtype=header.dtype, count=prod(header.shape), offset=header.size)
    return flat.reshape(header.shape, order="F" if header.fortran else "C")


@dataclass(frozen=True, slots=True)
class ReplyGuess:
    """How an array like a given value sits in the reply to a ``GET`` of it: ``size``
    bytes beginning with ``prefix`` (the ``$<length>`` line and the header), received at
    ``pad`` of a buffer that ``make`` turns into the array (the
    :class:`~insitu.connection.resp_connection.ReplyGuess` the lean connection takes)."""

    prefix: bytes
    size: int
    pad: int
    make: Callable[[bytearray], np.ndarray]


def reply_guess(value: memoryview, key: str) -> ReplyGuess:
    """The guess that a ``GET`` of ``key`` is answered with ``value`` again, or another
    value with its header and length (a tensor rewritten in place, the common case): the
    array is made over the reply's buffer, its data aligned as numpy's own arrays are,
    before the reply arrives. WireFormatError if ``value`` is not a tensor."""
    header = decode_header(value, key)
    head = b"$%d\r\n" % value.nbytes
    start = len(head) + header.size  # where the data is in the reply
    pad = -start % _ALIGN
    make = functools.partial(
        np.ndarray, header.shape, header.dtype, offset=pad + start, strides=_strides(header)
    )
    prefix = head + bytes(value[: header.size])
    return ReplyGuess(prefix, len(head) + value.nbytes + 2, pad, make)


def _strides(header: TensorHeader) -> tuple[int, ...] | None:
    """The strides of ``header``'s array: None (numpy's default) for C order."""
    if not header.fortran:
        return None
    return tuple(accumulate(header.shape[:-1], mul, initial=header.dtype.itemsize))


_ALIGN = 16  # what malloc guarantees, and numpy's own arrays have
