"""The stored form of models and scripts: header and chunks round-trip."""

from __future__ import annotations

import pytest

from insitu.errors import WireFormatError
from insitu.wire import model_record
from insitu.wire.batching import ModelBatching
from insitu.wire.model_record import ModelHeader


def _fields(header_json: bytes, chunks: list[memoryview]) -> dict[bytes, bytes]:
    fields = {b"header": header_json}
    fields.update({model_record.chunk_field(i).encode(): bytes(c) for i, c in enumerate(chunks)})
    return fields


@pytest.mark.parametrize("size", [0, 10, model_record.CHUNK_SIZE, 2 * model_record.CHUNK_SIZE + 5])
def test_record_round_trips(size: int) -> None:
    blob = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    header = ModelHeader(
        "model", "ONNX", "GPU:1", ModelBatching(8, 2, 50), "v1", ("a",), ("b", "c")
    )
    final, header_json, chunks = model_record.format_record(header, blob)
    assert final.size == size and final.chunks == max(1, -(-size // model_record.CHUNK_SIZE))
    assert all(len(c) <= model_record.CHUNK_SIZE for c in chunks)
    back, data = model_record.assemble(_fields(header_json, chunks), "k")
    assert back == final and data == blob
    assert back.batch == ModelBatching(8, 2, 50) and back.type_name == "MODEL"


def test_every_write_gets_a_new_version() -> None:
    header = ModelHeader("script", "TORCH", "CPU")
    first = model_record.format_record(header, b"def f(x):\n    return x\n")[0]
    second = model_record.format_record(header, b"def f(x):\n    return x\n")[0]
    assert first.version and first.version != second.version


def test_missing_chunk_is_refused() -> None:
    _, header_json, chunks = model_record.format_record(
        ModelHeader("model", "ONNX", "CPU"), b"y" * (model_record.CHUNK_SIZE + 1)
    )
    fields = _fields(header_json, chunks)
    del fields[b"chunk:1"]
    with pytest.raises(WireFormatError, match="chunk:1"):
        model_record.assemble(fields, "k")


@pytest.mark.parametrize(
    "raw", [b"", b"{}", b'{"format": "other"}', b'{"format": "insitu-model/1", "kind": "x"}']
)
def test_bad_header_is_refused(raw: bytes) -> None:
    with pytest.raises(WireFormatError, match="not an insitu model"):
        model_record.parse_header(raw, "k")


def test_record_without_header_is_refused() -> None:
    with pytest.raises(WireFormatError, match="no header"):
        model_record.assemble({b"chunk:0": b"x"}, "k")
