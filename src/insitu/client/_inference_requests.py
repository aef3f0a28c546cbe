"""How a Client reaches the inference workers: which shard's queue serves a key, sending a
request (:mod:`insitu.wire.messages`) and waiting for its reply.

Contract: :meth:`RequestOps._submit` returns once the worker replied with success, raises
the error the worker reported, or raises InferenceTimeoutError once ``SR_MODEL_TIMEOUT``
(default one hour) has passed — never later — or earlier, once no worker at all has
served the shard for :data:`NO_WORKER_GRACE` seconds. A request still queued when the caller gives
up is withdrawn; one already running finishes, and its reply expires unread.

On a cluster the request goes to the shard that owns ``route_key`` (the first input, so
the worker beside the data runs it); each shard's queue key carries the hash tag of the
lowest slot the shard owns (:func:`insitu.wire.keys.slot_tag`).
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from redis.crc import key_slot

from insitu.client._core import ClientCore
from insitu.client.connect import ConnectionSettings
from insitu.client.request_channel import RequestChannel
from insitu.connection.resp import encode_text
from insitu.connection.resp_connection import Arg
from insitu.errors import (
    ClusterDownError,
    InferenceTimeoutError,
    RedisInternalError,
    UnknownNodeError,
)
from insitu.wire import keys, messages
from insitu.wire.addresses import Address

_MAX_WAIT_CHUNK = 1.0  # seconds per BLPOP, kept below the socket timeout (SR_CMD_TIMEOUT)
NO_WORKER_GRACE = 30.0
"""Seconds without any worker serving the shard after which a caller stops waiting (a
restarted worker is back within a few seconds; a store without workers never answers)."""


class _RequestIds:
    """Request ids unique among all clients: a random per-process prefix and a count (a
    forked child draws a prefix of its own)."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._count = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._count):x}"


_REQUEST_IDS = _RequestIds()
os.register_at_fork(after_in_child=_REQUEST_IDS.renew)


@functools.lru_cache(maxsize=64)
def _seconds(value: float) -> str:
    return f"{value:.3f}"


@dataclass(frozen=True)
class ShardMap:
    """Slot ranges of a cluster and the lowest slot of each primary (from CLUSTER SLOTS)."""

    ranges: tuple[tuple[int, int, str], ...]  # start, end, node id
    nodes: tuple[tuple[str, Address, int], ...]  # node id, address, lowest slot

    @classmethod
    def parse(cls, reply: object) -> ShardMap:
        """The map in a raw ``CLUSTER SLOTS`` reply."""
        if not isinstance(reply, list):
            raise RedisInternalError("unexpected CLUSTER SLOTS reply")
        ranges: list[tuple[int, int, str]] = []
        lowest: dict[str, tuple[Address, int]] = {}
        for entry in reply:
            start, end, primary = int(entry[0]), int(entry[1]), entry[2]
            node_id = as_bytes(primary[2]).decode()
            address = Address(as_bytes(primary[0]).decode(), int(primary[1]))
            ranges.append((start, end, node_id))
            if node_id not in lowest or start < lowest[node_id][1]:
                lowest[node_id] = (address, start)
        nodes = tuple((node, addr, slot) for node, (addr, slot) in lowest.items())
        return cls(tuple(ranges), nodes)

    def tag_for_slot(self, slot: int) -> str | None:
        """The queue tag of the shard owning ``slot`` (None if no shard owns it)."""
        for start, end, node_id in self.ranges:
            if start <= slot <= end:
                return next(keys.slot_tag(low) for n, _, low in self.nodes if n == node_id)
        return None

    def tag_for_address(self, address: Address) -> str | None:
        """The queue tag of the shard at ``address`` (None if no primary is there)."""
        for _, where, low in self.nodes:
            if where.same_endpoint(address):
                return keys.slot_tag(low)
        return None


def as_bytes(value: object) -> bytes:
    """A raw bulk reply as bytes; RedisInternalError if the server sent something else."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise RedisInternalError(f"expected a bulk reply, got {type(value).__name__}")
    return bytes(value)


class RequestOps(ClientCore):
    """Sending requests to the inference workers (see the module docs)."""

    _settings: ConnectionSettings
    _shard_map: ShardMap | None = None
    _channel: RequestChannel | None = None

    # ------------------------------------------------------------------ routing
    def _tag_for_key(self, key: str) -> str:
        if not self._store.clustered:
            return keys.slot_tag(0)
        slot = key_slot(encode_text(key, "key"))
        tag = self._cluster_map().tag_for_slot(slot)
        if tag is None:
            tag = self._cluster_map(refresh=True).tag_for_slot(slot)
        if tag is None:
            raise ClusterDownError(
                f"no shard serves slot {slot} (of key {key!r})", code="CLUSTERDOWN"
            )
        return tag

    def _tag_for_address(self, address: Address) -> str:
        if not self._store.clustered:
            self._store.node_command(address, "PING")  # UnknownNodeError if not ours
            return keys.slot_tag(0)
        tag = self._cluster_map().tag_for_address(address)
        if tag is None:
            tag = self._cluster_map(refresh=True).tag_for_address(address)
        if tag is None:
            raise UnknownNodeError(f"{address} is not a primary shard of this cluster")
        return tag

    def _shard_tags(self) -> list[str]:
        """The queue tag of every shard."""
        if not self._store.clustered:
            return [keys.slot_tag(0)]
        return [keys.slot_tag(low) for _, _, low in self._cluster_map().nodes]

    def _cluster_map(self, *, refresh: bool = False) -> ShardMap:
        if self._shard_map is None or refresh:
            address = self._store.addresses()[0]
            self._shard_map = ShardMap.parse(self._store.node_command(address, "CLUSTER", "SLOTS"))
        return self._shard_map

    # ------------------------------------------------------------------ requests
    def _worker_serving(self, route_key: str) -> bool:
        """True if some worker serves the shard of ``route_key`` right now."""
        serving = keys.serving_key(self._tag_for_key(route_key))
        return self._store.command(serving, "EXISTS", serving) == 1

    def _submit(
        self,
        op: str,
        key: str,
        route_key: str,
        *,
        function: str = "",
        inputs: Sequence[str] = (),
        outputs: Sequence[str] = (),
        device: str = "",
    ) -> None:
        """Send one request and wait for its reply (see the module contract)."""
        tag = self._tag_for_key(route_key)
        timeout = self._settings.timeouts.model
        deadline = time.time() + timeout
        request_id = _REQUEST_IDS.next()
        request = messages.RunRequest(
            request_id, op, key, keys.reply_key(tag, request_id), function,
            tuple(inputs), tuple(outputs), int(deadline * 1000), device,
        )  # fmt: skip
        queue = keys.queue_key(tag)
        fields = [item for pair in messages.format_request(request).items() for item in pair]
        enqueue: tuple[str | int, ...] = ("XADD", queue, "*", *fields)
        if not self._store.clustered:
            # Every key is on the one server: inline the model header and small inputs, so
            # that the worker can run the request without a round trip of its own.
            enqueue = ("EVAL", messages.QUEUE_SCRIPT, 2 + len(inputs), queue, key, *inputs,
                       messages.INLINE_BUDGET, *fields)  # fmt: skip
        # One round trip: queue the request and start waiting for its reply.
        entry_id, popped = self._request_pipeline(
            queue, [enqueue, ("BLPOP", request.reply_key, self._chunk(timeout))]
        )
        raw = self._await_reply(request.reply_key, popped, deadline, tag)
        if raw is None:
            self._give_up(queue, entry_id, tag, key, timeout)
        if raw == messages.ok_reply(request_id):
            return  # the common case, without parsing
        reply = messages.parse_reply(raw, request.reply_key)
        if not reply.ok:
            raise messages.error_for_reply(reply, key)

    def _await_reply(
        self, reply_key: str, popped: object, deadline: float, tag: str
    ) -> bytes | None:
        """The reply, popped already or within the ``deadline``; None once it passed, or
        once no worker has served the shard for :data:`NO_WORKER_GRACE` seconds."""
        serving = keys.serving_key(tag)
        absent_since: float | None = None
        while popped is None:
            remaining = deadline - time.time()
            if remaining <= 0:
                return None
            popped, alive = self._request_pipeline(
                reply_key, [("BLPOP", reply_key, self._chunk(remaining)), ("EXISTS", serving)]
            )
            if alive == 1:
                absent_since = None
            elif absent_since is None:
                absent_since = time.monotonic()
            elif popped is None and time.monotonic() - absent_since > NO_WORKER_GRACE:
                return None
        if not isinstance(popped, list) or len(popped) != 2:
            raise RedisInternalError(f"unexpected BLPOP reply on {reply_key!r}")
        return as_bytes(popped[1])

    def _request_pipeline(self, key: str, commands: Sequence[Sequence[Arg]]) -> list[object]:
        """``commands`` (never repeated) in one round trip: over the request channel on a
        standalone store, through the transport (which follows the cluster) otherwise."""
        if self._store.clustered:
            return self._store.pipeline(key, commands, idempotent=False)
        if self._channel is None:
            endpoint = self._settings.endpoint(self._store.addresses()[0])
            self._channel = RequestChannel(endpoint, self._settings.timeouts)
        return self._channel.pipeline(key, commands)

    def _close_channel(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()

    def _chunk(self, remaining: float) -> str:
        """One BLPOP wait: short enough for the socket timeout, never 0 (= forever)."""
        limit = min(_MAX_WAIT_CHUNK, self._settings.timeouts.command / 2)
        return _seconds(max(min(remaining, limit), 0.01))

    def _give_up(
        self, queue: str, entry_id: object, tag: str, key: str, timeout: float
    ) -> NoReturn:
        """Withdraw the request if no worker took it yet, and raise the timeout."""
        self._store.command(queue, "XDEL", queue, as_bytes(entry_id))
        serving = keys.serving_key(tag)
        alive = self._store.command(serving, "EXISTS", serving) == 1
        if alive:
            raise InferenceTimeoutError(
                f"no reply for {key!r} within {timeout:g} s (SR_MODEL_TIMEOUT)", key, "timeout"
            )
        raise InferenceTimeoutError(
            f"no reply for {key!r}: no inference worker is serving that shard (is the store "
            "running with inference_workers=0?)",
            key,
            "timeout",
        )
