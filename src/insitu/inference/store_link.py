"""A worker's connection to its store (redis-py): its queues, heartbeats, the tensors it
reads and writes, replies and statistics. The thin I/O shell of the worker.

The hot path — reading requests, fetching inputs, storing outputs, replying,
acknowledging — goes through one lean connection to the worker's own server
(:class:`~insitu.connection.resp_connection.RespConnection`); set-up and housekeeping use
redis-py. Every key of a shard's queue carries the shard's hash tag and so lives on its
shard; on a cluster, inputs and outputs may live on any shard, so they go through
``RedisCluster``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.exceptions as rex
from redis.cluster import RedisCluster

from insitu.connection.redis_clients import cluster_client, redis_client
from insitu.connection.resp import ServerReplyError
from insitu.connection.resp_connection import RespConnection
from insitu.inference.shard import is_clustered, shard_tag
from insitu.wire import keys, messages
from insitu.wire.endpoint import Endpoint

log = logging.getLogger("insitu.inference.worker")

GROUP = "insitu"
ALIVE_TTL_MS = 3000  # liveness keys expire this long after a worker stops refreshing them
REPLY_TTL_MS = 60_000  # a reply nobody pops (its caller gave up) disappears after this


@dataclass(frozen=True)
class Entry:
    """One request as read from a stream: where, its fields, how often delivered."""

    stream: str
    entry_id: str
    fields: dict[bytes, bytes]
    delivered: int = 1


@dataclass(frozen=True)
class Queues:
    """The streams a worker reads: the shard's entry queue and its device's queue."""

    tag: str
    entry: str
    device: str


class StoreLink:
    """Everything a worker does with the store (see the module docs)."""

    def __init__(self, endpoint: Endpoint, shard_index: int, device: str):
        self.endpoint = endpoint
        self.address = str(endpoint.address)
        self.shard_index = shard_index
        self.device = device
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._node = redis_client(endpoint)
        self._lean = RespConnection(endpoint)
        self.data: redis.Redis | RedisCluster = self._node
        # Known once opened; an isinstance check against RedisCluster costs ~10 µs (it is
        # a typing Protocol), too much for every request.
        self._clustered = False
        self.queues: Queues | None = None
        self._indexed: set[tuple[str, str]] = set()  # (tag, model) added to the stats index

    # ------------------------------------------------------------------ setup
    def open(self) -> Queues | None:
        """(Re)learn topology and tag, create the consumer groups; None while the shard
        owns no slot yet. Raises redis errors when the store is unreachable."""
        if is_clustered(self._node) and not self._clustered:
            # No retries inside: the worker loop retries, and notices a stop.
            self.data = cluster_client(self.endpoint, [self.endpoint.address])
            self._clustered = True
        tag = shard_tag(self._node)
        if tag is None:
            return None
        queues = Queues(tag, keys.queue_key(tag), keys.device_queue_key(tag, self.device))
        self._indexed.clear()  # the store may have been flushed: index the models again
        for stream in (queues.entry, queues.device):
            self._create_group(stream)
        self.queues = queues
        return queues

    def _create_group(self, stream: str) -> None:
        try:
            # From id 0: requests queued before the group existed are served too.
            self.data.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except rex.ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise

    @property
    def clustered(self) -> bool:
        """True when the store is a Redis Cluster (known once :meth:`open` succeeded)."""
        return self._clustered

    def consumer(self, thread: int) -> str:
        """The stream consumer name of this worker's thread ``thread``."""
        return f"{self.worker_id}/{thread}"

    def close(self) -> None:
        """Withdraw the liveness key (so others may take over at once) and disconnect."""
        if self.queues is not None:
            with contextlib.suppress(rex.RedisError, rex.RedisClusterException, OSError):
                self.data.delete(keys.alive_key(self.queues.tag, self.worker_id))
        with contextlib.suppress(rex.RedisError, rex.RedisClusterException, OSError):
            self.data.close()
            self._node.close()
        self._lean.close()

    # ------------------------------------------------------------------ queue
    def read(
        self, queues: Queues, consumer: str, count: int, block_ms: int, spin: float = 0.0
    ) -> list[Entry] | None:
        """New entries of both queues for ``consumer`` (waiting up to ``block_ms``, the
        first ``spin`` seconds polling, see :meth:`RespConnection.pipeline`); None if the
        queues vanished (the store was flushed or restarted empty): call :meth:`open`."""
        command = ("XREADGROUP", "GROUP", GROUP, consumer, "COUNT", count, "BLOCK",
                   max(block_ms, 1), "STREAMS", queues.entry, queues.device, ">", ">")  # fmt: skip
        try:
            reply: Any = self._lean.pipeline([command], spin=spin)[0]
        except ServerReplyError as err:
            # Gone (flushed, restarted empty) or moved (the cluster resharded): reopen.
            if not str(err).startswith(("NOGROUP", "UNBLOCKED", "MOVED")):
                raise
            return None
        return [
            Entry(stream.decode(), entry_id.decode(), _pairs(fields))
            for stream, entries in (reply or [])
            for entry_id, fields in entries
            if fields is not None  # an entry deleted while pending
        ]

    def flush(self) -> None:
        """Send the outputs, replies and acknowledgements queued by :meth:`finish` and
        :meth:`done` now (they also go out with the next read or fetch)."""
        self._lean.flush()

    def late_errors(self) -> list[str]:
        """The store's error replies to outputs, replies and acknowledgements sent earlier
        without waiting (:meth:`finish`, :meth:`done`), for the log."""
        return [str(err) for err in self._lean.take_late_errors()]

    def heartbeat(self, queues: Queues) -> None:
        """Refresh this worker's liveness, its device's and its shard's readiness keys."""
        pipe = self.data.pipeline(transaction=False)
        pipe.set(keys.alive_key(queues.tag, self.worker_id), self.device, px=ALIVE_TTL_MS)
        pipe.set(keys.device_key(queues.tag, self.device), self.worker_id, px=ALIVE_TTL_MS)
        pipe.set(keys.heartbeat_key(queues.tag, self.shard_index), self.worker_id, px=ALIVE_TTL_MS)
        pipe.set(keys.serving_key(queues.tag), self.worker_id, px=ALIVE_TTL_MS)
        pipe.execute()

    def device_served(self, queues: Queues, device: str) -> bool:
        """True if some live worker of this shard serves ``device``."""
        return bool(self.data.exists(keys.device_key(queues.tag, device)))

    def claim_orphans(self, queues: Queues, consumer: str) -> list[Entry]:
        """Take over the entries held by consumers of dead workers (liveness key gone),
        with how often each was delivered (counting this delivery)."""
        claimed: list[Entry] = []
        alive: dict[str, bool] = {}
        for stream in (queues.entry, queues.device):
            pending: Any = self.data.xpending_range(stream, GROUP, min="-", max="+", count=100)
            for item in pending:
                owner = _text(item["consumer"])
                worker = owner.split("/", 1)[0]
                if worker == self.worker_id:
                    continue
                if worker not in alive:
                    alive[worker] = bool(self.data.exists(keys.alive_key(queues.tag, worker)))
                if alive[worker]:
                    continue
                idle = max(int(item["time_since_delivered"]) - 50, 0)
                got: Any = self.data.xclaim(stream, GROUP, consumer, idle, [item["message_id"]])
                delivered = int(item["times_delivered"]) + 1
                for entry_id, fields in got:
                    if fields is None:  # withdrawn by its caller: just forget it
                        self.data.xack(stream, GROUP, entry_id)
                    else:
                        claimed.append(Entry(stream, _text(entry_id), dict(fields), delivered))
        return claimed

    def forward(self, queues: Queues, device: str, entry: Entry) -> None:
        """Hand ``entry`` to the workers of ``device`` and drop it from this queue."""
        self.data.xadd(keys.device_queue_key(queues.tag, device), entry.fields)  # type: ignore[arg-type]
        self.done([entry])

    def done(self, entries: Sequence[Entry]) -> None:
        """Acknowledge and delete finished entries."""
        if not entries:
            return
        self._lean.send_later([cmd for entry in entries for cmd in _settle(entry)])

    # ------------------------------------------------------------------ data
    def fetch(
        self, model_keys: Sequence[str], input_keys: Sequence[str]
    ) -> tuple[list[object], list[bytes | None]]:
        """In one round trip: the ``header`` field of each model key (None: no such key; an
        exception: the key holds something else) and the value of each input key (None
        where missing)."""
        replies: list[object]
        if self.clustered:
            pipe = self.data.pipeline(transaction=False)
            for key in model_keys:
                pipe.hget(key, "header")
            for key in input_keys:
                pipe.get(key)
            replies = pipe.execute(raise_on_error=False)
        else:
            commands: list[tuple[str, ...]] = [("HGET", key, "header") for key in model_keys]
            commands += [("GET", key) for key in input_keys]
            replies = self._lean.pipeline(commands, raise_on_error=False)
        values = [v if isinstance(v, bytes) else None for v in replies[len(model_keys) :]]
        return list(replies[: len(model_keys)]), values

    def record(self, model_key: str) -> dict[bytes, bytes]:
        """The whole stored record of a model or script (one atomic HGETALL)."""
        return dict(self.data.hgetall(model_key))  # type: ignore[arg-type]

    def finish(
        self,
        queues: Queues,
        outputs: Sequence[tuple[str, bytes]],
        replies: Sequence[tuple[str, messages.RunReply]],
        entries: Sequence[Entry],
        stats: tuple[str, dict[str, int]] | None,
    ) -> None:
        """Store ``outputs``, then push ``replies`` (with an expiry), count ``stats`` for
        its model key on this shard and acknowledge ``entries``. On a cluster the outputs
        may live on other shards, so they are written (and confirmed) first: a caller
        woken by its reply must find them. The rest is sent at once, in one system call,
        and not waited for; its replies are read with the next :meth:`read` (errors:
        :meth:`late_errors`)."""
        commands: list[tuple[str | bytes | int, ...]] = []
        if self.clustered:
            if outputs:
                pipe = self.data.pipeline(transaction=False)
                for key, value in outputs:
                    pipe.set(key, value)
                pipe.execute()
        else:
            commands += [("SET", key, value) for key, value in outputs]
        for reply_key, reply in replies:
            commands.append(("LPUSH", reply_key, messages.format_reply(reply)))
            commands.append(("PEXPIRE", reply_key, REPLY_TTL_MS))
        if stats is not None:
            stats_key = keys.stats_key(queues.tag, stats[0])
            commands += [("HINCRBY", stats_key, n, v) for n, v in stats[1].items() if v]
            if (queues.tag, stats[0]) not in self._indexed:
                # Once per model and worker: monitors find the hashes through this set.
                commands.append(("SADD", keys.stats_index_key(queues.tag), stats[0]))
                self._indexed.add((queues.tag, stats[0]))
        commands += [cmd for entry in entries for cmd in _settle(entry)]
        # Sent now, not with the next read: a caller is waiting, and the worker's way back
        # to its read takes tens of µs. Not waited for (read with the next read). Replies,
        # statistics and acknowledgements travel together, so that whoever is woken by a
        # reply sees the statistics, and no reply goes out without its acknowledgement.
        self._lean.send_later(commands)
        self._lean.flush()


def _settle(entry: Entry) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The commands that acknowledge and delete a finished ``entry``."""
    return ("XACK", entry.stream, GROUP, entry.entry_id), ("XDEL", entry.stream, entry.entry_id)


def _pairs(fields: list[bytes]) -> dict[bytes, bytes]:
    """A flat ``[field, value, ...]`` reply as a dict."""
    return dict(zip(fields[::2], fields[1::2], strict=True))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
