"""THE stored form of a model or script: one Redis hash under the model key (pure).

Fields (documented in ``docs/wire-format.md``, "Inference")::

    header     JSON: {"format": "insitu-model/1", "kind": "model"|"script", "backend",
                "device", "batch_size", "min_batch_size", "min_batch_timeout", "tag",
                "inputs", "outputs", "version", "size", "chunks"}
    chunk:<i>  bytes i*CHUNK .. (i+1)*CHUNK of the serialized model (or UTF-8 script source)

Writers replace the whole hash in one ``MULTI``/``EXEC`` (``DEL`` then ``HSET``\\s), so a
reader (``HGETALL``) sees the old record or the new one, never a mix; ``version`` (random,
new on every write) tells a worker whether its cached session is still current (one
``HGET <key> header``). Chunks keep each value below the server's bulk-length limit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from insitu.errors import WireFormatError
from insitu.wire.batching import ModelBatching

FORMAT = "insitu-model/1"
HEADER = "header"
CHUNK_SIZE = 1024 * 1024  # every server accepts 1 MiB values (the smallest limit allowed)
MODEL, SCRIPT = "model", "script"


@dataclass(frozen=True)
class ModelHeader:
    """What a stored model or script is and how to run it."""

    kind: str
    backend: str
    device: str
    batch: ModelBatching = field(default_factory=ModelBatching)
    tag: str = ""
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    version: str = ""
    size: int = 0
    chunks: int = 0

    @property
    def type_name(self) -> str:
        """``MODEL`` or ``SCRIPT`` (as AI.INFO reports it)."""
        return self.kind.upper()


def chunk_field(index: int) -> str:
    """The hash field of chunk ``index``."""
    return f"chunk:{index}"


def format_record(
    header: ModelHeader, blob: bytes | memoryview, chunk_size: int = CHUNK_SIZE
) -> tuple[ModelHeader, bytes, list[memoryview]]:
    """The header (with a fresh ``version``, ``size`` and ``chunks``), its JSON, and the
    chunks of ``blob`` (``chunk_size`` bytes each, the last one shorter) to store beside it
    (views of ``blob``, no copy)."""
    view = memoryview(blob).cast("B")
    step = max(1, chunk_size)
    pieces = [view[i : i + step] for i in range(0, len(view), step)] or [view]
    final = replace(header, version=uuid.uuid4().hex, size=len(view), chunks=len(pieces))
    return final, format_header(final), pieces


def format_header(header: ModelHeader) -> bytes:
    """The JSON of ``header``."""
    body = {
        "format": FORMAT,
        "kind": header.kind,
        "backend": header.backend,
        "device": header.device,
        "batch_size": header.batch.batch_size,
        "min_batch_size": header.batch.min_batch_size,
        "min_batch_timeout": header.batch.min_batch_timeout,
        "tag": header.tag,
        "inputs": list(header.inputs),
        "outputs": list(header.outputs),
        "version": header.version,
        "size": header.size,
        "chunks": header.chunks,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def parse_header(raw: bytes | str, key: str) -> ModelHeader:
    """The header stored at ``key``; WireFormatError if ``raw`` is not one."""
    try:
        body = json.loads(raw)
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT!r}")
        if body["kind"] not in (MODEL, SCRIPT):
            raise ValueError(f"unknown kind {body['kind']!r}")
        batch = ModelBatching(
            int(body["batch_size"]), int(body["min_batch_size"]), int(body["min_batch_timeout"])
        )
        return ModelHeader(
            kind=str(body["kind"]),
            backend=str(body["backend"]),
            device=str(body["device"]),
            batch=batch,
            tag=str(body["tag"]),
            inputs=tuple(str(x) for x in body["inputs"]),
            outputs=tuple(str(x) for x in body["outputs"]),
            version=str(body["version"]),
            size=int(body["size"]),
            chunks=int(body["chunks"]),
        )
    except (KeyError, ValueError, TypeError) as err:
        raise WireFormatError(key, f"not an insitu model or script: {err}") from None


def assemble(fields: Mapping[bytes, bytes], key: str) -> tuple[ModelHeader, bytes]:
    """Header and blob from a whole record (``HGETALL``); WireFormatError if incomplete."""
    raw = fields.get(HEADER.encode())
    if raw is None:
        raise WireFormatError(key, "not an insitu model or script: no header field")
    header = parse_header(raw, key)
    try:
        blob = b"".join(fields[chunk_field(i).encode()] for i in range(header.chunks))
    except KeyError as err:
        raise WireFormatError(key, f"model record is missing {err.args[0]!r}") from None
    if len(blob) != header.size:
        raise WireFormatError(key, f"model record holds {len(blob)} bytes, not {header.size}")
    return header, blob
