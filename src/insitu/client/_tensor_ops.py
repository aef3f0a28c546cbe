"""Client operations on tensors, raw byte values and plain keys (SmartRedis 0.6 names).

On a standalone store, reads (``get_tensor``, ``unpack_tensor``, ``get_bytes``) and puts of
tensors up to 64 KiB go out on a lean connection
(:class:`~insitu.client.request_channel.RequestChannel`): one ``GET`` or ``SET``, without
redis-py's pool and parser layers (issue 16: a small tensor's read costs about the raw
round trip). ``get_tensor`` of a name read before guesses the reply (the last one's length
and header) and makes the array while the server works (see
:meth:`~insitu.connection.resp_connection.RespConnection.get`). A connection lost there
hands the request to the redis-py transport, which retries as ``SR_CMD_TIMEOUT`` allows
(a read, and a ``SET`` of the same value, are safe to repeat). Puts take the transport
whenever the Client asks for replicas' acknowledgement (``INSITU_WAIT_REPLICAS``).
"""

from __future__ import annotations

import dataclasses
from typing import cast

import numpy as np

from insitu._checks import check_any, check_type
from insitu.client._core import ClientCore
from insitu.client.connect import ConnectionSettings
from insitu.client.request_channel import RequestChannel
from insitu.connection.resp import Value
from insitu.connection.resp_connection import Guessed, packed_get
from insitu.errors import RedisConnectionLostError, RedisKeyError, RedisRuntimeError
from insitu.wire.keys import KeyPrefixes
from insitu.wire.tensors import (
    EncodedTensor,
    ReplyGuess,
    decode_header,
    decode_tensor,
    encode_tensor,
    reply_guess,
    wire_dtype,
)

_READS_KEPT = 4096  # tensor names whose read command a Client keeps (then it starts over)
_GUESSED_MAX = 64 * 1024  # values up to this size have their next reply guessed
_LEAN_PUT_MAX = 64 * 1024  # tensors up to this size are put on the lean connection (copied)


class TensorOps(ClientCore):
    """``put_tensor``/``get_tensor``/... The tensor ``name`` is stored under the key
    ``name`` (after prefixing, see :mod:`insitu.wire.keys`) in the format of
    :mod:`insitu.wire.tensors`."""

    def put_tensor(self, name: str, data: np.ndarray) -> None:
        """Store ``data`` (any shape and memory layout) as the tensor ``name``,
        replacing what was there. TypeError for unsupported dtypes (object, str, complex)."""
        key = self._tensor_key(name, read=False)
        check_type("data", data, np.ndarray, "a numpy.ndarray")
        if not (data.flags.c_contiguous or data.flags.f_contiguous):
            # encoding copies such an array: a broadcast view of 8 bytes can be 1 GiB, so
            # its stored size is checked before it is materialised
            self._store.check_size(key, data.size * wire_dtype(data).itemsize)
        encoded = encode_tensor(data)
        channel = None
        if encoded.nbytes <= _LEAN_PUT_MAX and self._lean_puts:
            channel = self._read_channel or self._open_read_channel()
        if channel is not None:
            self._put_lean(channel, key, encoded)
        else:
            self._store.put(key, Value(encoded.parts()))
        if self._local_runner is not None:  # the in-process path may run on it unread
            self._local_runner.wrote(key, encoded)

    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor ``name`` as a new writable array; RedisKeyError if it does not exist."""
        key, value = self._value_of(name, guessing=True)
        if isinstance(value, Guessed):  # as last time: the array was made while it came
            return cast(np.ndarray, value.result)
        array = decode_tensor(value, key)
        self._guess_next(name, key, value)
        return array

    def unpack_tensor(self, name: str, result: np.ndarray) -> None:
        """Copy the tensor ``name`` into ``result``, which must have its shape and dtype
        (RedisRuntimeError otherwise)."""
        check_type("result", result, np.ndarray, "a numpy.ndarray")
        key, buf = self._plain_value_of(name)
        header = decode_header(buf, key)
        if result.dtype.newbyteorder("<") != header.dtype:
            raise RedisRuntimeError(
                f"The type of the fetched tensor {key!r} ({header.type_name}) does not match "
                f"the provided array's dtype {result.dtype}"
            )
        if tuple(result.shape) != header.shape:
            raise RedisRuntimeError(
                f"The dimensions of the fetched tensor {key!r} {list(header.shape)} do not "
                f"match the provided array's {list(result.shape)}"
            )
        np.copyto(result, decode_tensor(buf, key))

    def delete_tensor(self, name: str) -> None:
        """Delete the tensor ``name`` (no error if it does not exist, as in SmartRedis)."""
        self._store.delete(self._tensor_key(name, read=True))

    def copy_tensor(self, src_name: str, dest_name: str) -> None:
        """Copy ``src_name`` (read prefix) to ``dest_name`` (write prefix)."""
        src = self._tensor_key(src_name, read=True, arg="src_name")
        dst = self._tensor_key(dest_name, read=False, arg="dest_name")
        if not self._store.copy(src, dst):
            raise RedisKeyError(src)

    def rename_tensor(self, old_name: str, new_name: str) -> None:
        """Move ``old_name`` (read prefix) to ``new_name`` (write prefix)."""
        src = self._tensor_key(old_name, read=True, arg="old_name")
        dst = self._tensor_key(new_name, read=False, arg="new_name")
        if not self._store.rename(src, dst):
            raise RedisKeyError(src)

    def tensor_exists(self, name: str) -> bool:
        """True if the tensor ``name`` exists (read prefix applied)."""
        return self._store.exists(self._tensor_key(name, read=True))

    def poll_tensor(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for the tensor ``name`` up to ``num_tries`` times, ``poll_frequency_ms``
        apart; True as soon as it exists."""
        key = self._tensor_key(name, read=True)
        return self._poll(lambda: self._store.exists(key), poll_frequency_ms, num_tries)

    def key_exists(self, key: str) -> bool:
        """True if the store key ``key`` exists (no prefix is applied)."""
        return self._store.exists(check_type("key", key, str, "a str"))

    def poll_key(self, key: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """:meth:`key_exists`, up to ``num_tries`` times ``poll_frequency_ms`` apart."""
        check_type("key", key, str, "a str")
        return self._poll(lambda: self._store.exists(key), poll_frequency_ms, num_tries)

    def put_bytes(self, name: str, data: bytes | bytearray | memoryview) -> None:
        """Store the raw bytes ``data`` (no header) under the tensor key ``name``
        (an insitu addition, for blobs that are not arrays)."""
        key = self._tensor_key(name, read=False)
        check_any("data", data, bytes, bytearray, memoryview)
        self._store.put(key, Value((memoryview(data).cast("B"),)))

    def get_bytes(self, name: str) -> bytes:
        """The raw value stored under the tensor key ``name``; RedisKeyError if none."""
        return bytes(self._plain_value_of(name)[1])

    _settings: ConnectionSettings
    _read_channel: RequestChannel | None = None
    # tensor name -> (its key, GET of it packed, the guess of its next reply), valid for
    # the key prefixes in _reads_for
    _reads: dict[str, tuple[str, bytes, ReplyGuess | None]]
    _reads_for: KeyPrefixes | None = None

    def _read_command(self, name: str) -> tuple[str, bytes, ReplyGuess | None]:
        """The key of the tensor ``name`` (read prefix, checked) and its ``GET``, packed,
        kept for :meth:`_value_of` while the prefixes stay."""
        key = self._tensor_key(name, read=True)
        if self._reads_for is not self._prefixes or len(self._reads) >= _READS_KEPT:
            self._reads, self._reads_for = {}, self._prefixes
        hit = self._reads[name] = (key, packed_get(key), None)
        return hit

    def _guess_next(self, name: str, key: str, value: memoryview) -> None:
        """Guess that ``name``'s next reply is ``value`` again (same header and length):
        :func:`~insitu.wire.tensors.reply_guess` (small values only)."""
        hit = self._reads.get(name) if self._reads_for is self._prefixes else None
        if hit is not None and value.nbytes <= _GUESSED_MAX:
            self._reads[name] = (hit[0], hit[1], reply_guess(value, key))

    def _plain_value_of(self, name: str) -> tuple[str, memoryview]:
        """:meth:`_value_of` without a guess: the value as received."""
        key, value = self._value_of(name, guessing=False)
        assert not isinstance(value, Guessed)
        return key, value

    def _value_of(self, name: str, *, guessing: bool) -> tuple[str, memoryview | Guessed]:
        """The key of the tensor ``name`` and its value (or, ``guessing``, the array made
        as the last reply's guess said: :class:`Guessed`); RedisKeyError if it has none."""
        # The hot path of small reads, written flat: next to a round trip of tens of µs,
        # each Python call left out here shows in docs/benchmarks.md ("Small tensors").
        hit = None
        if self._reads_for is self._prefixes and type(name) is str:  # callers pass anything
            hit = self._reads.get(name)
        key, packed, guess = hit if hit is not None else self._read_command(name)
        channel = self._read_channel
        value: memoryview | Guessed | None
        if channel is None:
            value = self._read_value(key, packed)
        else:
            try:
                value = channel.get(key, packed, guess if guessing else None)
            except RedisConnectionLostError as err:
                value = self._read_again(key, err)
        if value is None:
            raise RedisKeyError(key, f"no tensor stored under key {key!r}")
        return key, value

    @property
    def _lean_puts(self) -> bool:
        """Small puts may take the lean connection: no WAIT for replicas is asked for
        (the transport adds it to each write)."""
        return not self._settings.durability.enabled

    def _put_lean(self, channel: RequestChannel, key: str, encoded: EncodedTensor) -> None:
        """``SET`` a small tensor on the lean connection reads use (a standalone store):
        one round trip without redis-py's layers. A ``SET`` of the same value is safe to
        repeat, so a connection lost on the way hands it to the transport, which retries."""
        try:
            channel.pipeline(key, [("SET", key, encoded.to_bytes())])
        except RedisConnectionLostError as err:
            if isinstance(err.__cause__, TimeoutError):
                raise  # no answer for SR_CMD_TIMEOUT: asking again would double the wait
            self._store.put(key, Value(encoded.parts()))

    def _read_value(self, key: str, packed: bytes | None = None) -> memoryview | None:
        """The value of ``key`` (None if none): on the lean connection when the store is
        standalone (see the module docs), else through the transport. ``packed``: its
        ``GET``, packed (:meth:`_read_command`)."""
        channel = self._read_channel or self._open_read_channel()
        if channel is None:
            return self._store.get(key)
        try:
            value = channel.get(key, packed)
        except RedisConnectionLostError as err:
            return self._read_again(key, err)
        assert not isinstance(value, Guessed)  # nothing was guessed
        return value

    def _open_read_channel(self) -> RequestChannel | None:
        """The lean connection of reads and small puts, opened: for a standalone store
        (None for a cluster, whose keys live on several shards)."""
        store = self._store
        if store.clustered:
            return None
        # No retries here: a request that could not be sent goes to the transport at once.
        timeouts = dataclasses.replace(self._settings.timeouts, command=0.0)
        endpoint = self._settings.endpoint(store.addresses()[0])
        channel = self._read_channel = RequestChannel(endpoint, timeouts, reads=True)
        return channel

    def _read_again(self, key: str, err: RedisConnectionLostError) -> memoryview | None:
        """``key``'s value after the lean connection failed with ``err``: through the
        transport, which retries, unless the store did not answer at all."""
        if isinstance(err.__cause__, TimeoutError):
            raise err  # no answer for SR_CMD_TIMEOUT: asking again would double the wait
        return self._store.get(key)  # the connection was lost (a restart): retried there

    def _close_read_channel(self) -> None:
        channel, self._read_channel = self._read_channel, None
        if channel is not None:
            channel.close()
