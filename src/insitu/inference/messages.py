"""THE worker contract: run requests (client → worker) and replies (worker → client).

Pure format/parse pairs; ``docs/wire-format.md`` ("Inference") documents the same rules for
clients in other languages. Every key named here comes from :mod:`insitu.client.keys`.

A **request** is one entry of a shard's request stream (``XADD``), with these fields (all
UTF-8 text)::

    v         "1"
    id        request id (unique, e.g. 32 hex digits); names the reply list
    op        "run_model" | "run_script" | "load" (check that a stored model loads)
    key       the model or script key (prefixes already applied)
    fn        the script function for run_script, "" otherwise
    inputs    JSON array of input tensor keys (prefixes applied)
    outputs   JSON array of output tensor keys (prefixes applied)
    reply     the list key the worker pushes the reply onto
    deadline  Unix time in ms after which the caller no longer waits (0: never)
    device    the device the caller routed the request to ("" = the model's own)

A **reply** is one JSON object pushed (``LPUSH``, then a short ``PEXPIRE``) onto ``reply``::

    {"v": 1, "id": "...", "ok": true}
    {"v": 1, "id": "...", "ok": false, "code": "<code>", "message": "...", "backend": "..."}

``code`` is one of :data:`ERROR_CODES`; :func:`error_for_reply` turns a failed reply into
the matching :mod:`insitu.errors` class, :func:`reply_for_error` does the reverse.
"""

from __future__ import annotations

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
        "v": str(VERSION),
        "id": request.request_id,
        "op": request.op,
        "key": request.key,
        "fn": request.function,
        "inputs": json.dumps(list(request.inputs)),
        "outputs": json.dumps(list(request.outputs)),
        "reply": request.reply_key,
        "deadline": str(request.deadline_ms),
        "device": request.device,
    }


def parse_request(fields: Mapping[bytes, bytes] | Mapping[str, str], where: str = "") -> RunRequest:
    """The request in stream entry ``fields``; WireFormatError naming ``where`` if any field
    is missing or malformed."""
    text = {_text(k): _text(v) for k, v in fields.items()}
    try:
        if text["v"] != str(VERSION):
            raise ValueError(f"unsupported version {text['v']!r}")
        if text["op"] not in OPS:
            raise ValueError(f"unknown op {text['op']!r}")
        return RunRequest(
            request_id=_required(text, "id"),
            op=text["op"],
            key=_required(text, "key"),
            reply_key=_required(text, "reply"),
            function=text.get("fn", ""),
            inputs=_key_list(text["inputs"]),
            outputs=_key_list(text["outputs"]),
            deadline_ms=int(text.get("deadline", "0") or 0),
            device=text.get("device", ""),
        )
    except (KeyError, ValueError, TypeError) as err:
        raise WireFormatError(where, f"not an inference request: {err}") from None


def format_reply(reply: RunReply) -> bytes:
    """The JSON document pushed onto a request's reply list."""
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


def _required(text: Mapping[str, str], name: str) -> str:
    value = text[name]
    if not value:
        raise ValueError(f"field {name!r} is empty")
    return value


def _key_list(raw: str) -> tuple[str, ...]:
    value = json.loads(raw)
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ValueError("expected a JSON array of strings")
    return tuple(value)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


__all__ = [
    "ERROR_CODES",
    "LOAD",
    "OPS",
    "RUN_MODEL",
    "RUN_SCRIPT",
    "RunReply",
    "RunRequest",
    "error_for_reply",
    "format_reply",
    "format_request",
    "parse_reply",
    "parse_request",
    "reply_for_error",
]
