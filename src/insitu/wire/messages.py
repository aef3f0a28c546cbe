"""THE worker contract: run requests (client → worker) and replies (worker → client).

Pure format/parse pairs; ``docs/wire-format.md`` ("Inference") documents the same rules for
clients in other languages. Every key named here comes from :mod:`insitu.wire.keys`.

A **request** is one entry of a shard's request stream (``XADD``), with these fields (all
UTF-8 text)::

    v         "1"
    id        request id, unique (the Python client: a random per-process prefix and a
              hexadecimal count); names the reply list
    op        "run_model" | "run_script" | "load" (check that a stored model loads)
    key       the model or script key (prefixes already applied)
    fn        the script function for run_script, "" otherwise
    inputs    JSON array of input tensor keys (prefixes applied)
    outputs   JSON array of output tensor keys (prefixes applied)
    reply     the list key the worker pushes the reply onto
    deadline  Unix time in ms after which the caller no longer waits (0: never)
    device    the device the caller routed the request to ("" = the model's own)

and, when the request was queued by :data:`QUEUE_SCRIPT` (bytes, not text, optional)::

    header    the model's stored ``header`` field, read when the request was queued
    value:<i> the value of input ``i`` (only strings, while the inlined total fits
              the script's budget)

A worker uses what was inlined and fetches the rest: on a standalone store a small request
then costs the worker no round trip before it runs.

A **reply** is one JSON object pushed (``LPUSH``, then a short ``PEXPIRE``) onto ``reply``::

    {"v": 1, "id": "...", "ok": true}
    {"v": 1, "id": "...", "ok": false, "code": "<code>", "message": "...", "backend": "..."}

``code`` is one of :data:`ERROR_CODES`; :func:`error_for_reply` turns a failed reply into
the matching :mod:`insitu.errors` class, :func:`reply_for_error` does the reverse.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

from insitu.errors import (
    DeviceUnavailableError,
    InferenceError,
    InferenceInputError,
    InferenceTimeoutError,
    InsituError,
    MissingDependencyError,
    ModelLoadError,
    RedisKeyError,
    ScriptFunctionError,
    WireFormatError,
    WorkerLostError,
)

VERSION = 1
_VERSION_TEXT = str(VERSION)
RUN_MODEL, RUN_SCRIPT, LOAD = "run_model", "run_script", "load"
OPS = (RUN_MODEL, RUN_SCRIPT, LOAD)

# code -> error class. Codes are part of the wire format: never rename one.
ERROR_CODES: dict[str, type[InsituError]] = {
    "run": InferenceError,
    "load": ModelLoadError,
    "input": InferenceInputError,
    "function": ScriptFunctionError,
    "device": DeviceUnavailableError,
    "key": RedisKeyError,
    "timeout": InferenceTimeoutError,
    "lost": WorkerLostError,
    "dependency": MissingDependencyError,
}
_CODE_OF: dict[type[BaseException], str] = {
    InferenceError: "run",
    ModelLoadError: "load",
    InferenceInputError: "input",
    ScriptFunctionError: "function",
    DeviceUnavailableError: "device",
    RedisKeyError: "key",
    InferenceTimeoutError: "timeout",
    WorkerLostError: "lost",
    MissingDependencyError: "dependency",
}


QUEUE_SCRIPT = """
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
local header = redis.pcall('HGET', KEYS[2], 'header')
if type(header) == 'string' then
  fields[#fields + 1] = 'header'
  fields[#fields + 1] = header
end
local budget = tonumber(ARGV[1])
for i = 3, #KEYS do
  local size = redis.pcall('STRLEN', KEYS[i])
  if type(size) == 'number' and size > 0 and size <= budget then
    budget = budget - size
    fields[#fields + 1] = 'value:' .. (i - 3)
    fields[#fields + 1] = redis.call('GET', KEYS[i])
  end
end
return redis.call('XADD', KEYS[1], '*', unpack(fields))
"""
"""Queues a request with its model header and small inputs inlined (``EVAL``; KEYS: the
queue, the model key, the input keys; ARGV: the inline budget in bytes, then the request
fields as name/value pairs); returns the entry id. Only for keys on one server: a
standalone store, or keys of one cluster slot."""
INLINE_BUDGET = 64 * 1024
"""Bytes of input values a client inlines per request at most (bigger inputs are fetched)."""


@dataclass(frozen=True)
class RunRequest:
    """One request to a worker (see the module docs for each field)."""

    request_id: str
    op: str
    key: str
    reply_key: str
    function: str = ""
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    deadline_ms: int = 0
    device: str = ""
    header: bytes | None = None  # inlined: the model's header when queued (None: fetch it)
    values: tuple[bytes | None, ...] = ()  # inlined input values (None or absent: fetch)

    def inlined(self, index: int) -> bytes | None:
        """The inlined value of input ``index``, None if the worker must fetch it."""
        return self.values[index] if index < len(self.values) else None

    def expired(self, now_ms: int | None = None) -> bool:
        """True once the caller has stopped waiting for the reply."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return self.deadline_ms > 0 and now > self.deadline_ms


@dataclass(frozen=True)
class RunReply:
    """A worker's answer: ``ok``, or the failure's ``code``, ``message`` and the backend's
    own ``backend_message``."""

    request_id: str
    ok: bool
    code: str = ""
    message: str = ""
    backend_message: str = ""


def format_request(request: RunRequest) -> dict[str, str]:
    """The stream entry fields of ``request``."""
    return {
        "v": _VERSION_TEXT,
        "id": request.request_id,
        "op": request.op,
        "key": request.key,
        "fn": request.function,
        "inputs": _key_list_text(request.inputs),
        "outputs": _key_list_text(request.outputs),
        "reply": request.reply_key,
        "deadline": str(request.deadline_ms),
        "device": request.device,
    }


def parse_request(fields: Mapping[bytes, bytes] | Mapping[str, str], where: str = "") -> RunRequest:
    """The request in stream entry ``fields`` (inlined values stay bytes); WireFormatError
    naming ``where`` if any field is missing or malformed."""
    raw: Mapping[bytes, bytes | str] = (
        fields  # type: ignore[assignment]
        if not fields or isinstance(next(iter(fields)), bytes)
        else {_bytes(k): v for k, v in fields.items()}
    )

    def text(name: bytes, default: str | None = None) -> str:
        value = raw.get(name, default)
        if value is None:
            raise KeyError(name.decode())
        return _text(value)

    try:
        if text(b"v") != _VERSION_TEXT:
            raise ValueError(f"unsupported version {text(b'v')!r}")
        op = text(b"op")
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}")
        inputs = _key_list(text(b"inputs"))
        header = raw.get(b"header")
        return RunRequest(
            request_id=_required(text(b"id"), "id"),
            op=op,
            key=_required(text(b"key"), "key"),
            reply_key=_required(text(b"reply"), "reply"),
            function=text(b"fn", ""),
            inputs=inputs,
            outputs=_key_list(text(b"outputs")),
            deadline_ms=int(text(b"deadline", "0") or 0),
            device=text(b"device", ""),
            header=None if header is None else _bytes(header),
            values=_inlined_values(raw, len(inputs)),
        )
    except (KeyError, ValueError, TypeError) as err:
        raise WireFormatError(where, f"not an inference request: {err}") from None


def _inlined_values(raw: Mapping[bytes, bytes | str], count: int) -> tuple[bytes | None, ...]:
    names = _VALUE_FIELDS if count <= len(_VALUE_FIELDS) else _value_fields(count)
    values = [raw.get(names[i]) for i in range(count)]
    if values.count(None) == count:
        return ()
    return tuple(None if v is None else _bytes(v) for v in values)


def _value_fields(count: int) -> tuple[bytes, ...]:
    return tuple(b"value:%d" % i for i in range(count))


_VALUE_FIELDS = _value_fields(16)


def ok_reply(request_id: str) -> bytes:
    """The exact bytes of the successful reply to ``request_id`` (:func:`format_reply`
    writes them), so that a caller can recognise one without parsing."""
    quoted = (
        b'"%s"' % request_id.encode()
        if request_id.isascii() and request_id.isalnum()  # nothing to escape
        else json.dumps(request_id).encode()
    )
    return b'{"v":%d,"id":%s,"ok":true}' % (VERSION, quoted)


def format_reply(reply: RunReply) -> bytes:
    """The JSON document pushed onto a request's reply list."""
    if reply.ok:
        return ok_reply(reply.request_id)
    body: dict[str, object] = {"v": VERSION, "id": reply.request_id, "ok": reply.ok}
    if not reply.ok:
        body.update(code=reply.code, message=reply.message, backend=reply.backend_message)
    return json.dumps(body, separators=(",", ":")).encode()


def parse_reply(raw: bytes | str, where: str = "") -> RunReply:
    """The reply in ``raw``; WireFormatError naming ``where`` if it is not one."""
    try:
        body = json.loads(raw)
        if not isinstance(body, dict) or body.get("v") != VERSION:
            raise ValueError("not a version-1 reply object")
        ok = body["ok"]
        if not isinstance(ok, bool):
            raise ValueError("'ok' is not a boolean")
        return RunReply(
            request_id=str(body["id"]),
            ok=ok,
            code="" if ok else str(body["code"]),
            message="" if ok else str(body.get("message", "")),
            backend_message="" if ok else str(body.get("backend", "")),
        )
    except (KeyError, ValueError, TypeError) as err:
        raise WireFormatError(where, f"not an inference reply: {err}") from None


def reply_for_error(request_id: str, error: BaseException) -> RunReply:
    """The failed reply that reports ``error`` (an InsituError keeps its class through
    :func:`error_for_reply`; anything else is reported as a run failure)."""
    code = next((c for cls, c in _CODE_OF.items() if type(error) is cls), None)
    if code is None:
        code = next((c for cls, c in _CODE_OF.items() if isinstance(error, cls)), "run")
    if isinstance(error, MissingDependencyError):
        # The two fields rebuild the same error on the client (see error_for_reply).
        return RunReply(request_id, False, code, error.what, error.install_hint)
    backend = error.backend_message if isinstance(error, InferenceError) else ""
    message = str(error) if isinstance(error, InsituError) else f"{type(error).__name__}: {error}"
    return RunReply(request_id, False, code, message, backend)


def error_for_reply(reply: RunReply, key: str) -> InsituError:
    """The error a client raises for the failed ``reply`` to a request about ``key``."""
    cls = ERROR_CODES.get(reply.code, InferenceError)
    if cls is RedisKeyError:
        return RedisKeyError(key, reply.message)
    if cls is MissingDependencyError:
        return MissingDependencyError(reply.message, reply.backend_message)
    if issubclass(cls, InferenceError):
        return cls(reply.message, key, reply.code, reply.backend_message)
    return InferenceError(reply.message, key, reply.code, reply.backend_message)


def _required(value: str, name: str) -> str:
    if not value:
        raise ValueError(f"field {name!r} is empty")
    return value


@functools.lru_cache(maxsize=1024)  # callers repeat the same few key lists
def _key_list_text(keys: tuple[str, ...]) -> str:
    return json.dumps(list(keys))


@functools.lru_cache(maxsize=1024)
def _key_list(raw: str) -> tuple[str, ...]:
    value = json.loads(raw)
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ValueError("expected a JSON array of strings")
    return tuple(value)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


__all__ = [
    "ERROR_CODES",
    "INLINE_BUDGET",
    "QUEUE_SCRIPT",
    "LOAD",
    "OPS",
    "RUN_MODEL",
    "RUN_SCRIPT",
    "RunReply",
    "RunRequest",
    "error_for_reply",
    "format_reply",
    "format_request",
    "ok_reply",
    "parse_reply",
    "parse_request",
    "reply_for_error",
]
