"""The in-process fast path (issue 16, item 6): a Client that runs CPU models and scripts in
its own process, from a cached session, instead of asking the store's workers.

Opt-in: ``INSITU_INFERENCE_PATH=inprocess`` (read when the Client first runs a model), for
a caller beside a standalone store (colocated): the caller's CPU runs the model, no worker
hop, no server bookkeeping beyond plain ``GET``/``SET``. SmartRedis semantics hold: inputs
are read from the store and outputs written to it before the call returns, so any client
sees them; errors are the module path's (RedisKeyError for a missing model or input,
the backend's InferenceError leaves for a failed run).

A call takes one round trip when the Client already knows the model's header and the value
of every input (it read or wrote them in an earlier call of this path, or stored them with
``put_tensor``; values up to 64 KiB are remembered): it runs the model on the remembered
inputs, then sends one script (``EVALSHA``) that checks, atomically on the store, that the
model's header and every input are still those values and only then stores the outputs.
Any difference (another client wrote an input or replaced the model, a key was deleted, a
value was flushed from the store) stores nothing and the call takes the full path below:
the outputs a run stores always come from the inputs and model the store held at that
moment, so the result is the one a run on the store would give.

The full path, two round trips on the Client's lean request connection:

1. ``HGET <key> header`` and one ``GET`` per input, pipelined. The header holds the
   record's ``version`` (new on every write, :mod:`insitu.wire.model_record`): a header
   equal to the cached one means the cached session is current; any other means the
   model was replaced, and the record is fetched (``HGETALL``) and loaded again — model
   bytes cross the connection once per stored version.
2. one ``SET`` per output, pipelined; the call returns once they are acknowledged.

Records for a GPU device are not run here: those calls take the module path (the caller
has no claim on the store's GPUs). What differs from the module path: the store's
``AI.INFO`` statistics do not count in-process runs, and a model's ``batch_size`` does not
merge calls of different callers (each runs its own batch). ONNX sessions run on one
intra-op and one inter-op thread (the caller shares its CPUs with the simulation);
TorchScript and TensorFlow keep the process's own thread settings.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from insitu.client.request_channel import RequestChannel
from insitu.connection.resp import ServerReplyError
from insitu.connection.resp_connection import Arg
from insitu.errors import InferenceError, InferenceInputError, RedisKeyError
from insitu.inference.backends import BackendThreads
from insitu.inference.model_cache import Loaded, ModelCache
from insitu.wire import messages
from insitu.wire.devices import parse_device
from insitu.wire.model_record import HEADER, assemble, parse_header
from insitu.wire.tensors import EncodedTensor, decode_tensor, encode_tensor

# ONNX Runtime's default pools spin on every core; a caller shares its CPUs.
_ONE_THREAD = BackendThreads(inter_op=1, intra_op=1)
_OWN_THREADS = {"ONNX": _ONE_THREAD, "TFLITE": _ONE_THREAD}

# Values remembered for the one-round-trip path: small ones only (each is sent back to the
# store to be compared, so a big one would cost more than the read it saves), and a bounded
# number of them (least recently used dropped first).
_KNOWN_MAX_BYTES = 64 * 1024
_KNOWN_MAX_KEYS = 4096

# KEYS: the model, the inputs, the outputs. ARGV: the model's raw header, the number of
# inputs, the inputs' expected values, the outputs' values. 1 if the outputs were stored,
# 0 (nothing written) if the header or an input differs.
_CHECKED_SET = b"""
if redis.call('HGET', KEYS[1], 'header') ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[2])
for i = 1, n do
  if redis.call('GET', KEYS[1 + i]) ~= ARGV[2 + i] then return 0 end
end
for i = n + 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1])
end
return 1
"""
_CHECKED_SET_SHA = hashlib.sha1(_CHECKED_SET).hexdigest()  # the script's id, as the store names it


@dataclass(frozen=True)
class _Entry:
    """What the cache knows of one key: the raw header it saw, and the loaded session
    (None: the record is not for the CPU, so runs of it take the module path)."""

    raw_header: bytes
    loaded: Loaded | None


class LocalRunner:
    """Sessions of one Client, by model key (see the module docs). Thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._caches: dict[str, ModelCache] = {}
        self._known: OrderedDict[str, bytes] = OrderedDict()  # key -> value last seen
        self._lock = threading.Lock()

    def wrote(self, key: str, tensor: EncodedTensor) -> None:
        """This Client just stored ``tensor`` under ``key``."""
        if tensor.nbytes <= _KNOWN_MAX_BYTES:
            self.remember(key, tensor.to_bytes())
        else:
            with self._lock:
                self._known.pop(key, None)

    def remember(self, key: str, value: bytes) -> None:
        """``value`` was just read from or written to ``key`` by this Client."""
        with self._lock:
            if len(value) > _KNOWN_MAX_BYTES:
                self._known.pop(key, None)
                return
            self._known[key] = value
            self._known.move_to_end(key)
            while len(self._known) > _KNOWN_MAX_KEYS:
                self._known.popitem(last=False)

    def run(
        self,
        channel: RequestChannel,
        op: str,
        key: str,
        function: str,
        inputs: Sequence[str],
        outputs: Sequence[str],
    ) -> bool:
        """Run ``key`` here on ``inputs``, storing ``outputs``; False (nothing done) if the
        record is not for the CPU. Raises the module path's typed errors."""
        if self._checked_run(channel, op, key, function, inputs, outputs):
            return True
        reads: list[Sequence[Arg]] = [("HGET", key, HEADER), *(("GET", n) for n in inputs)]
        replies = channel.pipeline(key, reads, raise_on_error=False)
        entry = self._entry(channel, key, replies[0])
        if entry.loaded is None:
            return False
        header = entry.loaded.header
        wanted = "model" if op == messages.RUN_MODEL else "script"
        if header.kind != wanted:
            raise InferenceError(f"{key!r} holds a {header.kind}, not a {wanted}", key, "run")
        arrays = [_input(name, value) for name, value in zip(inputs, replies[1:], strict=True)]
        values = _encoded(key, entry.loaded.require().run(arrays, function), outputs)
        channel.pipeline(key, [("SET", n, v) for n, v in zip(outputs, values, strict=True)])
        for name, value in zip((*inputs, *outputs), (*replies[1:], *values), strict=True):
            if isinstance(value, bytes):  # always (checked by _input)
                self.remember(name, value)
        return True

    def _checked_run(
        self,
        channel: RequestChannel,
        op: str,
        key: str,
        function: str,
        inputs: Sequence[str],
        outputs: Sequence[str],
    ) -> bool:
        """The one-round-trip path (see the module docs): True if the outputs are stored;
        False, with nothing stored, when something it remembers is missing or stale."""
        with self._lock:
            entry = self._entries.get(key)
            known = [self._known.get(name) for name in inputs]
        if entry is None or entry.loaded is None or any(v is None for v in known):
            return False
        wanted = "model" if op == messages.RUN_MODEL else "script"
        if entry.loaded.header.kind != wanted:
            return False
        values = [v for v in known if v is not None]
        try:
            pairs = zip(inputs, values, strict=True)
            arrays = [decode_tensor(memoryview(bytearray(v)), n) for n, v in pairs]
            results = _encoded(key, entry.loaded.require().run(arrays, function), outputs)
        except InferenceError:  # maybe from a stale input: the full path says for sure
            return False
        script: list[Arg] = [
            _CHECKED_SET_SHA,
            1 + len(inputs) + len(outputs),
            key,
            *inputs,
            *outputs,
            entry.raw_header,
            len(inputs),
            *values,
            *results,
        ]
        reply = channel.pipeline(key, [("EVALSHA", *script)], raise_on_error=False)[0]
        if isinstance(reply, ServerReplyError) and str(reply).startswith("NOSCRIPT"):
            reply = channel.pipeline(key, [("EVAL", _CHECKED_SET, *script[1:])],
                                     raise_on_error=False)[0]  # fmt: skip
        if reply != 1:
            return False  # stale (0), or an error the full path reports in its own words
        for name, value in zip(outputs, results, strict=True):
            self.remember(name, value)
        return True

    def _entry(self, channel: RequestChannel, key: str, raw: object) -> _Entry:
        """The cache entry of ``key`` whose stored header is ``raw`` (loaded on a miss)."""
        if isinstance(raw, ServerReplyError):
            raise InferenceError(f"{key!r} is not a model or script: {raw}", key, "run")
        if raw is None:
            raise RedisKeyError(key, f"no model or script stored under {key!r}")
        if not isinstance(raw, bytes):
            raise InferenceError(f"unexpected header of {key!r}: {raw!r}", key, "run")
        found = self._entries.get(key)
        if found is not None and found.raw_header == raw:
            return found
        if parse_device(parse_header(raw, key).device).is_gpu:
            entry = _Entry(raw, None)
        else:
            entry = self._load(channel, key)
        with self._lock:
            self._entries[key] = entry
        return entry

    def _load(self, channel: RequestChannel, key: str) -> _Entry:
        """Fetch the whole record of ``key`` and load it (errors cached per version)."""
        reply = channel.pipeline(key, [("HGETALL", key)])[0]
        if not isinstance(reply, list) or not reply:
            raise RedisKeyError(key, f"no model or script stored under {key!r}")
        fields = {bytes(reply[i]): bytes(reply[i + 1]) for i in range(0, len(reply), 2)}
        header, blob = assemble(fields, key)
        if parse_device(header.device).is_gpu:  # replaced by a GPU record meanwhile
            return _Entry(fields[HEADER.encode()], None)
        with self._lock:
            cache = self._caches.get(header.backend)
            if cache is None:
                threads = _OWN_THREADS.get(header.backend, BackendThreads())
                cache = self._caches[header.backend] = ModelCache(threads)
        return _Entry(fields[HEADER.encode()], cache.load(key, header, blob))


def _encoded(key: str, results: Sequence[object], outputs: Sequence[str]) -> list[bytes]:
    """The stored form of each of a run's ``results``, one per output key."""
    if len(results) != len(outputs):
        raise InferenceInputError(
            f"{key!r} returned {len(results)} output(s), but {len(outputs)} output "
            "key(s) were given",
            key,
            "input",
        )
    return [encode_tensor(np.asarray(array)).to_bytes() for array in results]


def _input(name: str, value: object) -> np.ndarray:
    """The array of the input tensor ``name`` from its ``GET`` reply."""
    if isinstance(value, ServerReplyError):
        raise InferenceError(f"input {name!r} is not a tensor: {value}", name, "run")
    if value is None:
        raise RedisKeyError(name, f"input tensor {name!r} does not exist")
    if not isinstance(value, bytes):
        raise InferenceError(f"unexpected value of input {name!r}", name, "run")
    # A writable copy: frameworks warn about (or refuse) read-only buffers.
    return decode_tensor(memoryview(bytearray(value)), name)
