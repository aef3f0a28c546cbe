"""THE dataset layout, shared with SmartRedis 0.6: a dataset stored under the key ``D``
(``[<prefix>.]{<name>}``, see :mod:`insitu.wire.keys`) is several store keys, all in the
slot of its hash tag (see ``docs/wire-format.md``)::

    D.meta      a hash: one field per metadata field, the reserved field ".tensor_names"
                (a STRING field listing the tensors, absent when there are none) and the
                acknowledgement ".COMPLETE" = "1", written last
    D.<tensor>  one tensor value per tensor (:mod:`insitu.wire.tensors`)

A metadata field's value is a 1-byte type id (DOUBLE 1, FLOAT 2, INT32 3, INT64 4,
UINT32 5, UINT64 6, STRING 7) then the scalars, little-endian, back to back; or, for
STRING, per string a uint64 length then its bytes (UTF-8). This module is pure: it turns
:class:`DatasetContents` into the hash fields and tensor values to write
(:func:`encode_dataset`), and what was read back into contents (:func:`decode_dataset`),
raising :class:`~insitu.errors.WireFormatError` for anything malformed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from insitu.errors import InvalidArgumentError, WireFormatError
from insitu.wire.tensors import EncodedTensor, decode_tensor, encode_tensor

STRING = "STRING"
META_DTYPES: dict[np.dtype[np.generic], str] = {
    np.dtype("<f8"): "DOUBLE",
    np.dtype("<f4"): "FLOAT",
    np.dtype("<i4"): "INT32",
    np.dtype("<i8"): "INT64",
    np.dtype("<u4"): "UINT32",
    np.dtype("<u8"): "UINT64",
}
_META_TYPES: dict[str, np.dtype[np.generic]] = {name: d for d, name in META_DTYPES.items()}
TYPE_IDS = {"DOUBLE": 1, "FLOAT": 2, "INT32": 3, "INT64": 4, "UINT32": 5, "UINT64": 6, STRING: 7}
_TYPE_NAMES = {code: name for name, code in TYPE_IDS.items()}
META_SUFFIX = ".meta"
COMPLETE_FIELD = ".COMPLETE"
TENSOR_NAMES_FIELD = ".tensor_names"
RESERVED_FIELDS = (COMPLETE_FIELD, TENSOR_NAMES_FIELD)
_LENGTH = struct.Struct("<Q")
# The old layout (one value per dataset, magic "ISDS"): recognised only to refuse it.
OLD_MAGIC = b"ISDS"


def meta_key(dataset_key: str) -> str:
    """The hash of the dataset stored under ``dataset_key``."""
    return dataset_key + META_SUFFIX


def tensor_key(dataset_key: str, name: str) -> str:
    """The key of the tensor ``name`` of the dataset stored under ``dataset_key``."""
    return f"{dataset_key}.{name}"


@dataclass(frozen=True)
class MetaField:
    """One metadata field: ``strings`` for a STRING field, else ``scalars`` (1-D array)."""

    name: str
    scalars: np.ndarray | None = None
    strings: tuple[str, ...] = ()

    @property
    def type_name(self) -> str:
        """``STRING`` or the scalar type's wire name."""
        return STRING if self.scalars is None else META_DTYPES[self.scalars.dtype]


@dataclass(frozen=True)
class DatasetContents:
    """What a dataset holds, in insertion order (the value that crosses the codec)."""

    tensors: tuple[tuple[str, np.ndarray], ...] = ()
    metadata: tuple[MetaField, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when there is neither a tensor nor a metadata field."""
        return not self.tensors and not self.metadata


@dataclass(frozen=True)
class DatasetWrite:
    """What :func:`encode_dataset` produces: the hash ``fields`` (``.tensor_names``
    included, the acknowledgement not: the writer sets it last) and the ``tensors``."""

    fields: tuple[tuple[str, bytes], ...]
    tensors: tuple[tuple[str, EncodedTensor], ...]


def encode_field(field: MetaField) -> bytes:
    """One metadata field's hash value."""
    if field.scalars is None:
        return _encode_strings(field.strings)
    data = np.ascontiguousarray(field.scalars, dtype=field.scalars.dtype.newbyteorder("<"))
    return bytes((TYPE_IDS[field.type_name],)) + data.tobytes()


def _encode_strings(strings: Sequence[str]) -> bytes:
    parts = [bytes((TYPE_IDS[STRING],))]
    for text in strings:
        raw = text.encode("utf-8")
        parts += [_LENGTH.pack(len(raw)), raw]
    return b"".join(parts)


def encode_dataset(contents: DatasetContents) -> DatasetWrite:
    """The hash fields and tensor values of ``contents`` (tensor data is not copied).
    InvalidArgumentError if a metadata field takes a reserved name."""
    fields = []
    for field in contents.metadata:
        if field.name in RESERVED_FIELDS:
            raise InvalidArgumentError(f"{field.name!r} is a reserved metadata field name")
        fields.append((field.name, encode_field(field)))
    if contents.tensors:
        fields.append((TENSOR_NAMES_FIELD, _encode_strings([n for n, _ in contents.tensors])))
    tensors = tuple((name, encode_tensor(array)) for name, array in contents.tensors)
    return DatasetWrite(tuple(fields), tensors)


def decode_field(name: str, raw: bytes | memoryview, key: str) -> MetaField:
    """The metadata field ``name`` from its hash value (``key``: named in errors)."""
    buf = memoryview(raw).cast("B")
    if buf.nbytes < 1 or buf[0] not in _TYPE_NAMES:
        kind = "empty" if buf.nbytes < 1 else f"of unknown type id {buf[0]}"
        raise WireFormatError(key, f"metadata field {name!r} is {kind}")
    type_name = _TYPE_NAMES[buf[0]]
    if type_name == STRING:
        return MetaField(name, strings=tuple(_strings(buf[1:], name, key)))
    dtype = _META_TYPES[type_name]
    if (buf.nbytes - 1) % dtype.itemsize:
        raise WireFormatError(key, f"metadata field {name!r} is not a whole number of {type_name}")
    return MetaField(name, scalars=np.frombuffer(buf[1:], dtype=dtype))


def _strings(buf: memoryview, name: str, key: str) -> Iterator[str]:
    at = 0
    while at < buf.nbytes:
        if at + _LENGTH.size > buf.nbytes:
            raise WireFormatError(key, f"string field {name!r} is truncated")
        (length,) = _LENGTH.unpack_from(buf, at)
        at += _LENGTH.size
        if length > buf.nbytes - at:
            raise WireFormatError(key, f"string field {name!r} is truncated")
        try:
            yield bytes(buf[at : at + length]).decode("utf-8")
        except UnicodeDecodeError:
            raise WireFormatError(key, f"string field {name!r} is not UTF-8") from None
        at += length


def tensor_names(meta: Mapping[str, bytes | memoryview], key: str) -> tuple[str, ...]:
    """The tensors a dataset's hash lists (none when it has no ``.tensor_names``)."""
    raw = meta.get(TENSOR_NAMES_FIELD)
    if raw is None:
        return ()
    field = decode_field(TENSOR_NAMES_FIELD, raw, key)
    if field.scalars is not None:
        raise WireFormatError(key, f"{TENSOR_NAMES_FIELD} is not a STRING field")
    if len(set(field.strings)) != len(field.strings):
        raise WireFormatError(key, "duplicate tensor names")
    return field.strings


def decode_dataset(
    meta: Mapping[str, bytes | memoryview], tensors: Sequence[memoryview | None], key: str
) -> DatasetContents:
    """The dataset whose hash is ``meta`` (field name to value, in the hash's order) and
    whose tensors, in :func:`tensor_names` order, are ``tensors`` (arrays view them).
    WireFormatError if a tensor is missing or anything is malformed."""
    names = tensor_names(meta, key)
    if len(names) != len(tensors):
        raise WireFormatError(key, f"{len(tensors)} tensor values for {len(names)} names")
    arrays = []
    for name, value in zip(names, tensors, strict=True):
        if value is None:
            raise WireFormatError(key, f"the dataset's tensor {name!r} is missing")
        arrays.append((name, decode_tensor(value, tensor_key(key, name))))
    fields = tuple(
        decode_field(name, raw, key) for name, raw in meta.items() if name not in RESERVED_FIELDS
    )
    return DatasetContents(tuple(arrays), fields)
