"""THE dataset codec: a whole dataset (tensors + metadata) as ONE store value.

One value means one key, so a dataset is written by one ``SET`` and read by one ``GET``:
readers see all of it or none of it. Version 1 (integers little-endian; see
``docs/wire-format.md``)::

    offset  size  field
    0       4     magic b"ISDS"
    4       1     version (1)
    5       3     zero
    8       8     manifest length J (uint64)
    16      J     manifest, UTF-8 JSON (below)
    ...           zero padding to a multiple of 8: the blob area starts here
    ...           blobs, each a tensor value (``tensors.py``), each at a multiple of 8

    manifest = {"tensors":  [{"name": str, "offset": int, "length": int}, ...],
                "metadata": [{"name": str, "type": "STRING", "values": [str, ...]}
                             | {"name": str, "type": <scalar type>, "offset": int,
                                "length": int}, ...]}

Offsets are relative to the start of the blob area. A scalar metadata field is a 1-D
tensor blob of type DOUBLE, FLOAT, INT32, INT64, UINT32 or UINT64. Lists keep insertion
order. Decoding is zero-copy (arrays view the buffer) and raises
:class:`~insitu.errors.WireFormatError` for anything malformed.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from insitu.errors import WireFormatError
from insitu.wire.tensors import EncodedTensor, decode_tensor, encode_tensor

MAGIC = b"ISDS"
VERSION = 1
_FIXED = struct.Struct("<4sB3xQ")
STRING = "STRING"
META_DTYPES = {
    np.dtype("<f8"): "DOUBLE",
    np.dtype("<f4"): "FLOAT",
    np.dtype("<i4"): "INT32",
    np.dtype("<i8"): "INT64",
    np.dtype("<u4"): "UINT32",
    np.dtype("<u8"): "UINT64",
}
_META_TYPES = {name: dtype for dtype, name in META_DTYPES.items()}


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


def _pad(n: int) -> int:
    return -n % 8


def encode_dataset(contents: DatasetContents) -> list[bytes | memoryview]:
    """The buffers whose concatenation is the value (tensor data is not copied)."""
    blobs: list[EncodedTensor] = []
    offset = 0
    entries: dict[str, list[dict[str, object]]] = {"tensors": [], "metadata": []}

    def place(array: np.ndarray) -> dict[str, object]:
        nonlocal offset
        blob = encode_tensor(array)
        blobs.append(blob)
        where: dict[str, object] = {"offset": offset, "length": blob.nbytes}
        offset += blob.nbytes + _pad(blob.nbytes)
        return where

    for name, array in contents.tensors:
        entries["tensors"].append({"name": name, **place(array)})
    for field in contents.metadata:
        if field.scalars is None:
            entries["metadata"].append(
                {"name": field.name, "type": STRING, "values": list(field.strings)}
            )
        else:
            entry = {"name": field.name, "type": field.type_name}
            entries["metadata"].append({**entry, **place(field.scalars)})
    manifest = json.dumps(entries, separators=(",", ":")).encode()
    parts: list[bytes | memoryview] = [_FIXED.pack(MAGIC, VERSION, len(manifest)), manifest]
    parts.append(bytes(_pad(_FIXED.size + len(manifest))))
    for blob in blobs:
        parts.extend(blob.parts())
        parts.append(bytes(_pad(blob.nbytes)))
    return [p for p in parts if len(p)]


def decode_dataset(buf: memoryview, key: str) -> DatasetContents:
    """The dataset stored in ``buf`` (arrays are views of ``buf``)."""
    manifest, area = _split(buf, key)
    tensors = tuple(_tensors(manifest, area, key))
    metadata = tuple(_metadata(manifest, area, key))
    names = [n for n, _ in tensors]
    fields = [f.name for f in metadata]
    if len(set(names)) != len(names) or len(set(fields)) != len(fields):
        raise WireFormatError(key, "duplicate tensor or metadata field names")
    return DatasetContents(tensors, metadata)


def _split(buf: memoryview, key: str) -> tuple[dict[str, object], memoryview]:
    if buf.nbytes < _FIXED.size:
        raise WireFormatError(key, f"{buf.nbytes} bytes is too short for a dataset")
    magic, version, length = _FIXED.unpack_from(buf, 0)
    if magic != MAGIC:
        raise WireFormatError(key, f"not an insitu dataset (magic {bytes(magic)!r})")
    if version != VERSION:
        raise WireFormatError(key, f"dataset format version {version} is not supported")
    end = _FIXED.size + length
    if end > buf.nbytes:
        raise WireFormatError(key, "truncated dataset manifest")
    try:
        manifest = json.loads(bytes(buf[_FIXED.size : end]).decode("utf-8"))
    except (ValueError, RecursionError) as err:
        raise WireFormatError(key, f"unreadable dataset manifest: {err}") from None
    if not isinstance(manifest, dict):
        raise WireFormatError(key, "the dataset manifest is not a JSON object")
    return manifest, buf[end + _pad(end) :]


def _entries(manifest: dict[str, object], section: str, key: str) -> Iterator[dict[str, object]]:
    items = manifest.get(section, [])
    if not isinstance(items, list):
        raise WireFormatError(key, f"manifest {section!r} is not a list")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise WireFormatError(key, f"malformed manifest entry in {section!r}")
        yield item


def _blob(item: dict[str, object], area: memoryview, key: str) -> np.ndarray:
    offset, length = item.get("offset"), item.get("length")
    if not (isinstance(offset, int) and isinstance(length, int)) or isinstance(offset, bool):
        raise WireFormatError(key, f"entry {item.get('name')!r} has no integer offset/length")
    if offset < 0 or length < 0 or offset + length > area.nbytes:
        raise WireFormatError(key, f"entry {item.get('name')!r} lies outside the value")
    return decode_tensor(area[offset : offset + length], key)


def _tensors(
    manifest: dict[str, object], area: memoryview, key: str
) -> Iterator[tuple[str, np.ndarray]]:
    for item in _entries(manifest, "tensors", key):
        yield str(item["name"]), _blob(item, area, key)


def _metadata(manifest: dict[str, object], area: memoryview, key: str) -> Iterator[MetaField]:
    for item in _entries(manifest, "metadata", key):
        name, kind = str(item["name"]), item.get("type")
        if kind == STRING:
            values = item.get("values")
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise WireFormatError(key, f"string field {name!r} holds non-strings")
            yield MetaField(name, strings=tuple(values))
            continue
        if kind not in _META_TYPES:
            raise WireFormatError(key, f"metadata field {name!r} has unknown type {kind!r}")
        scalars = _blob(item, area, key)
        if scalars.ndim != 1 or scalars.dtype != _META_TYPES[str(kind)]:
            raise WireFormatError(key, f"metadata field {name!r} does not hold {kind} scalars")
        yield MetaField(name, scalars=scalars)
