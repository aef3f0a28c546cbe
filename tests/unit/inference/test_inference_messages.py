"""The worker contract: requests and replies round-trip; malformed ones are refused."""

from __future__ import annotations

import pytest

from insitu.errors import (
    DeviceUnavailableError,
    InferenceError,
    InferenceInputError,
    InferenceTimeoutError,
    MissingDependencyError,
    ModelLoadError,
    RedisKeyError,
    ScriptFunctionError,
    WireFormatError,
    WorkerLostError,
)
from insitu.wire import messages
from insitu.wire.messages import RunReply, RunRequest


def test_request_round_trips_through_stream_fields() -> None:
    request = RunRequest(
        "ab12", messages.RUN_SCRIPT, "pre.script", "__insitu__:{q1}:reply:ab12",
        "fn", ("in.{a}", "in b"), ("out,1",), 1234567, "GPU:1",
    )  # fmt: skip
    fields = messages.format_request(request)
    assert all(isinstance(v, str) for v in fields.values())
    encoded = {k.encode(): v.encode() for k, v in fields.items()}
    assert messages.parse_request(encoded) == request
    assert messages.parse_request(fields) == request


@pytest.mark.parametrize(
    ("field", "value"),
    [("v", "2"), ("op", "run_everything"), ("inputs", "{}"), ("inputs", "[1]"), ("id", "")],
)
def test_malformed_request_is_a_wire_format_error(field: str, value: str) -> None:
    fields = messages.format_request(RunRequest("id", messages.RUN_MODEL, "m", "r"))
    fields[field] = value
    with pytest.raises(WireFormatError, match="not an inference request"):
        messages.parse_request(fields, "stream 1-0")


def test_missing_request_field_is_a_wire_format_error() -> None:
    fields = messages.format_request(RunRequest("id", messages.RUN_MODEL, "m", "r"))
    del fields["reply"]
    with pytest.raises(WireFormatError):
        messages.parse_request(fields)


def test_inlined_header_and_values_stay_bytes() -> None:
    request = RunRequest("id", messages.RUN_MODEL, "m", "r", inputs=("a", "b", "c"))
    fields: dict[bytes, bytes] = {
        k.encode(): v.encode() for k, v in messages.format_request(request).items()
    }
    fields[b"header"] = b'{"not": "parsed here"}'
    fields[b"value:0"] = b"\xff\x00 binary"
    fields[b"value:2"] = b"\x01"
    parsed = messages.parse_request(fields)
    assert parsed.header == b'{"not": "parsed here"}'
    assert parsed.values == (b"\xff\x00 binary", None, b"\x01")
    assert [parsed.inlined(i) for i in range(4)] == [b"\xff\x00 binary", None, b"\x01", None]


def test_request_without_inlined_fields_fetches_everything() -> None:
    request = messages.parse_request(
        messages.format_request(RunRequest("id", messages.RUN_MODEL, "m", "r", inputs=("a",)))
    )
    assert request.header is None and request.values == () and request.inlined(0) is None


def test_ok_reply_is_what_format_reply_writes() -> None:
    for request_id in ("ab12", 'quote"d'):
        raw = messages.format_reply(RunReply(request_id, True))
        assert raw == messages.ok_reply(request_id)
        assert messages.parse_reply(raw) == RunReply(request_id, True)
    failed = messages.format_reply(RunReply("ab12", False, "run", "boom"))
    assert failed != messages.ok_reply("ab12")


def test_request_expiry() -> None:
    assert not RunRequest("i", messages.LOAD, "m", "r", deadline_ms=0).expired(10**15)
    assert RunRequest("i", messages.LOAD, "m", "r", deadline_ms=5).expired(6)
    assert not RunRequest("i", messages.LOAD, "m", "r", deadline_ms=5).expired(5)


@pytest.mark.parametrize(
    "reply",
    [RunReply("x", True), RunReply("y", False, "input", "bad shape", "ORT: [2] vs [3]")],
)
def test_reply_round_trips(reply: RunReply) -> None:
    assert messages.parse_reply(messages.format_reply(reply)) == reply


@pytest.mark.parametrize("raw", [b"", b"[]", b'{"v": 2, "id": "a", "ok": true}', b'{"v": 1}'])
def test_malformed_reply_is_a_wire_format_error(raw: bytes) -> None:
    with pytest.raises(WireFormatError, match="not an inference reply"):
        messages.parse_reply(raw, "reply-key")


@pytest.mark.parametrize(
    "error",
    [
        InferenceError("boom", "k", "run", "backend says"),
        ModelLoadError("corrupt", "k", "load", "protobuf"),
        InferenceInputError("shape", "k", "input", "[2,3] vs [2,4]"),
        ScriptFunctionError("no fn", "k", "function"),
        DeviceUnavailableError("no GPU", "k", "device"),
        InferenceTimeoutError("late", "k", "timeout"),
        WorkerLostError("died", "k", "lost"),
    ],
)
def test_errors_keep_their_class_and_messages(error: InferenceError) -> None:
    reply = messages.parse_reply(messages.format_reply(messages.reply_for_error("r", error)))
    back = messages.error_for_reply(reply, "k")
    assert type(back) is type(error)
    assert isinstance(back, InferenceError)
    assert str(back) == str(error)
    assert back.backend_message == error.backend_message
    assert back.key == "k"


def test_key_and_dependency_errors_round_trip() -> None:
    missing = messages.error_for_reply(messages.reply_for_error("r", RedisKeyError("in")), "m")
    assert isinstance(missing, RedisKeyError)
    dep = MissingDependencyError("the TF backend (tensorflow)", "pip install 'insitu[tf]'")
    back = messages.error_for_reply(messages.reply_for_error("r", dep), "m")
    assert isinstance(back, MissingDependencyError)
    assert str(back) == str(dep)


def test_unexpected_exception_is_reported_as_a_run_failure() -> None:
    reply = messages.reply_for_error("r", ZeroDivisionError("division by zero"))
    back = messages.error_for_reply(reply, "m")
    assert type(back) is InferenceError
    assert "ZeroDivisionError" in str(back)
