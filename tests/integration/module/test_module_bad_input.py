"""Bad input through the store module, on Valkey and Debian's redis-server: every malformed
AI.* command gets RedisAI's error reply (clients match on these texts), nothing is written,
and the server keeps serving; then a fuzz of the module's argument parsers over the wire.
(Workers that die mid-request and callers that disconnect while blocked:
tests/integration/inference/test_inference_worker_faults.py.)"""

from __future__ import annotations

import contextlib
import struct

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FOUR = struct.pack("<2f", 1.0, 2.0)

BAD = [
    (("AI.TENSORSET", "t", "FLAOT", 2, "BLOB", FOUR), "invalid data type"),
    (("AI.TENSORSET", "t", "FLOAT", 3, "BLOB", FOUR), "data length does not match tensor shape"),
    (("AI.TENSORSET", "t", "FLOAT", 2, "BLOB", FOUR + b"x"), "data length does not match"),
    (("AI.TENSORSET", "t", "FLOAT", -2, "BLOB", FOUR), "invalid or negative value found"),
    (("AI.TENSORSET", "t", "FLOAT", "two", "BLOB", FOUR), "invalid or negative value"),
    (("AI.TENSORSET", "t", "FLOAT", 2, "VALUES", 1), "wrong number of values"),
    (("AI.TENSORSET", "t", "FLOAT", 2, "VALUES", 1, "abc"), "invalid value"),
    (("AI.TENSORSET", "t", "INT8", 1, "VALUES", 300), "invalid value"),
    (("AI.TENSORSET", "t", "FLOAT", 2**62, 2**62, "BLOB", b"1"), "tensor shape is too large"),
    (("AI.TENSORSET", "t"), "wrong number of arguments"),
    (("AI.TENSORGET", "missing", "META"), "tensor key is empty or in a different shard"),
    (("AI.TENSORGET", "plain", "META"), "WRONGTYPE"),
    (("AI.TENSORGET", "t0", "WHAT"), "unsupported data format"),
    (("AI.MODELEXECUTE", "missing", "INPUTS", 1, "t0", "OUTPUTS", 1, "o"), "model key is empty"),
    (("AI.MODELEXECUTE", "plain", "INPUTS", 1, "t0", "OUTPUTS", 1, "o"), "WRONGTYPE"),
    (("AI.MODELEXECUTE", "m", "INPUTS", 2, "t0", "OUTPUTS", 1, "o"), "OUTPUTS not specified"),
    (("AI.MODELEXECUTE", "m", "INPUTS", 1, "t0", "OUTPUTS", 1, "o", "TIMEOUT", -1),
     "Invalid value for TIMEOUT"),
    (("AI.MODELSTORE", "m2", "NOTABACKEND", "CPU", "BLOB", b"x"), "unsupported backend"),
    (("AI.MODELSTORE", "m2", "ONNX", "TPU", "BLOB", b"x"), "Invalid DEVICE"),
    (("AI.MODELSTORE", "m2", "ONNX", "CPU", "BATCHSIZE", -3, "BLOB", b"x"),
     "Invalid argument for BATCHSIZE"),
    (("AI.MODELGET", "missing", "META"), "model key is empty"),
    (("AI.SCRIPTEXECUTE", "missing", "f", "KEYS", 1, "t0", "INPUTS", 1, "t0", "OUTPUTS", 1, "o"),
     "script key is empty"),
    (("AI.SCRIPTRUN", "missing", "f", "INPUTS", "t0", "OUTPUTS", "o"), "script key is empty"),
    (("AI.CONFIG", "MODEL_CHUNK_SIZE", 0), "invalid chunk size"),
    (("AI.CONFIG", "BOGUS"), "unsupported subcommand"),
]  # fmt: skip


def _user_keys(conn: redis.Redis) -> list[bytes]:
    """The keys a command could have written: insitu's own (a worker's queue, created when
    it starts serving, at any moment) are left out."""
    return sorted(k for k in conn.scan_iter() if not k.startswith(b"__insitu__"))


def _prepare(conn: redis.Redis) -> None:
    conn.set("plain", "x")
    conn.execute_command("AI.TENSORSET", "t0", "FLOAT", 2, "BLOB", FOUR)


@pytest.mark.parametrize(("command", "error"), BAD, ids=[f"{i}" for i in range(len(BAD))])
def test_bad_commands_get_redisai_errors(
    conn: redis.Redis, command: tuple[object, ...], error: str
) -> None:
    _prepare(conn)
    keys_before = _user_keys(conn)
    with pytest.raises(redis.ResponseError) as info:
        conn.execute_command(*command)
    assert error in str(info.value)
    assert _user_keys(conn) == keys_before  # nothing half-written
    assert conn.ping()


WORDS = st.sampled_from(
    ["INPUTS", "OUTPUTS", "KEYS", "ARGS", "TIMEOUT", "BLOB", "VALUES", "META", "SOURCE",
     "ENTRY_POINTS", "TAG", "BATCHSIZE", "MINBATCHSIZE", "MINBATCHTIMEOUT", "FLOAT", "DOUBLE",
     "INT8", "UINT64", "BOOL", "HALF", "ONNX", "TORCH", "TF", "CPU", "GPU:0", "GET",
     "MODEL_CHUNK_SIZE", "RESETSTAT", "t0", "plain", "m", "s", "o"]
)  # fmt: skip
ARGS = st.one_of(
    WORDS,
    st.integers(-(2**64), 2**64).map(str),
    st.binary(max_size=40),
    st.text(max_size=12),
)
# Commands that cannot wait: nothing here runs a model (no model is stored), and the
# workers' own channel (INSITU.WORKER.NEXT would make this connection a worker) is left out.
COMMANDS = st.sampled_from(
    ["AI.TENSORSET", "AI.TENSORGET", "AI.MODELEXECUTE", "AI.MODELRUN", "AI.SCRIPTEXECUTE",
     "AI.SCRIPTRUN", "AI.MODELGET", "AI.SCRIPTGET", "AI.MODELDEL", "AI.SCRIPTDEL", "AI.INFO",
     "AI.CONFIG", "INSITU.WORKER.DONE", "INSITU.STATUS"]
)  # fmt: skip


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=COMMANDS, args=st.lists(ARGS, max_size=12))
def test_fuzzed_commands_get_a_reply_and_the_server_keeps_serving(
    conn: redis.Redis, command: str, args: list[object]
) -> None:
    _prepare(conn)
    with contextlib.suppress(redis.ResponseError):
        conn.execute_command(command, *args)
    assert conn.ping()
    conn.execute_command("AI.TENSORSET", "probe", "INT64", 1, "VALUES", 7)
    assert conn.execute_command("AI.TENSORGET", "probe", "VALUES") == [7]
