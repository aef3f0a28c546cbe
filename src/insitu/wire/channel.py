"""THE store module's worker channel: how an inference worker takes run requests from the
store module of its shard and hands back their results (pure format/parse pairs; the
module's side is ``store/module/dispatch.c``; ``docs/wire-format.md`` documents both).

A worker sends, on its own connection to its shard::

    INSITU.WORKER.NEXT <max> <block ms> <device>

and gets an array of at most ``max`` requests, waiting up to ``block ms`` (0: until there
is one) while there is none (an empty array then). Each request is an array::

    [id (integer), op ("run_model" | "run_script" | "load"), model key, script function
     ("" unless run_script), the model's stored header, [input keys], [input values],
     [output keys], deadline (Unix ms, 0: none), attempt (1, or 2 when run again after
     the worker holding it died)]

Input values are the inputs' stored tensor values, read when the request was made. The
worker answers each request it was given, exactly once::

    INSITU.WORKER.DONE <id> OK <calls> <duration us> <samples> <value> ...  (one per output)
    INSITU.WORKER.DONE <id> ERR <code> <message> [<backend message>]

(``code`` as in :data:`insitu.wire.messages.ERROR_CODES`; the backend message is the
framework's own words, or for ``dependency`` how to install what is missing). The module
stores the outputs, counts the statistics and answers the caller: ``OK``, or the error
text ``ERR [<code>] <message>`` followed by `` [backend] <backend message>`` when there is
one (:func:`parse_error_text`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from insitu.errors import WireFormatError

NEXT = "INSITU.WORKER.NEXT"
DONE = "INSITU.WORKER.DONE"
OPS = ("run_model", "run_script", "load")
BACKEND_MARK = " [backend] "
_ERROR_RE = re.compile(r"^(?:ERR )?\[([a-z]+)\] (.*)$", re.DOTALL)


@dataclass(frozen=True)
class ChannelRequest:
    """One request as the module hands it to a worker (see the module docs)."""

    request_id: int
    op: str
    key: bytes
    function: str
    header: bytes
    inputs: tuple[bytes, ...]
    values: tuple[bytes, ...]
    outputs: tuple[bytes, ...]
    deadline_ms: int = 0
    attempt: int = 1

    @property
    def name(self) -> str:
        """The model key as text (for messages and caches)."""
        return self.key.decode("utf-8", "surrogateescape")

    def expired(self, now_ms: int | None = None) -> bool:
        """True once the caller has stopped waiting."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return self.deadline_ms > 0 and now > self.deadline_ms


def next_command(limit: int, block_ms: int, device: str) -> tuple[str, int, int, str]:
    """The command that takes up to ``limit`` requests for ``device``."""
    return (NEXT, limit, block_ms, device)


def done_ok(
    request_id: int, calls: int, duration_us: int, samples: int, values: Sequence[bytes]
) -> tuple[str | int | bytes, ...]:
    """The answer to a request that ran: its output values, in output order."""
    return (DONE, request_id, "OK", calls, duration_us, samples, *values)


def done_error(
    request_id: int, code: str, message: str, backend: str = ""
) -> tuple[str | int, ...]:
    """The answer to a request that failed with ``code``."""
    return (DONE, request_id, "ERR", code, _line(message), _line(backend))


def _line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def parse_requests(reply: object) -> list[ChannelRequest]:
    """The requests in a ``NEXT`` reply; WireFormatError if it is not one."""
    if not isinstance(reply, list):
        raise WireFormatError(NEXT, f"expected an array of requests, got {type(reply).__name__}")
    return [_request(item) for item in reply]


def _request(item: object) -> ChannelRequest:
    try:
        if not isinstance(item, list) or len(item) != 10:
            raise ValueError("a request is an array of 10")
        rid, op, key, fn, header, inputs, values, outputs, deadline, attempt = item
        op_text = _text(op)
        if op_text not in OPS:
            raise ValueError(f"unknown op {op_text!r}")
        ins, vals, outs = _blobs(inputs), _blobs(values), _blobs(outputs)
        if len(vals) != len(ins):
            raise ValueError("one value per input is expected")
        return ChannelRequest(
            request_id=_int(rid),
            op=op_text,
            key=_blob(key),
            function=_text(fn),
            header=_blob(header),
            inputs=ins,
            values=vals,
            outputs=outs,
            deadline_ms=_int(deadline),
            attempt=_int(attempt),
        )
    except (ValueError, TypeError, UnicodeDecodeError) as err:
        raise WireFormatError(NEXT, f"not a run request: {err}") from None


def parse_error_text(text: str) -> tuple[str, str, str] | None:
    """``(code, message, backend message)`` of the module's answer to a failed request
    (with or without its ``ERR`` word), None if ``text`` is another error (a malformed
    command ...)."""
    match = _ERROR_RE.match(text)
    if match is None:
        return None
    message, _, backend = match.group(2).partition(BACKEND_MARK)
    return match.group(1), message, backend


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _blob(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"expected a bulk string, got {type(value).__name__}")
    return value


def _text(value: object) -> str:
    return _blob(value).decode("utf-8")


def _blobs(value: object) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected an array, got {type(value).__name__}")
    return tuple(_blob(v) for v in value)
