"""One telemetry reading of one store shard: its INFO figures, its inference queue and the
run statistics its workers keep (the I/O half of :mod:`insitu.wire.telemetry`).

A probe holds one redis-py client of its shard, opened from an
:class:`~insitu.wire.endpoint.Endpoint` through :mod:`insitu.connection`, and reuses it from
one reading to the next. Each reading is two round trips: one pipeline of ``INFO``,
``CLUSTER INFO``, the queue's ``XLEN``, the statistics index, and the store module's
``INSITU.STATUS`` and ``INSITU.STATS`` (the statistics of runs it dispatched: the default
path); one of ``HGETALL`` per model counted in a hash by workers of the request-streams
path. A shard that does not answer gives a sample with ``up`` false and the connection
error's text (which never holds the password).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import redis
from redis.client import NEVER_DECODE

from insitu.connection.redis_clients import redis_client
from insitu.inference.shard import shard_tag
from insitu.wire import keys
from insitu.wire.endpoint import Endpoint
from insitu.wire.stats import parse_counters
from insitu.wire.telemetry import ModelSample, SampleLine, ShardSample

PROBE_TIMEOUT = 2.0
"""Seconds one reading may wait on its shard: a dead store must not hold up the others."""

_INFO_SECTIONS = ("memory", "clients", "stats", "keyspace", "cluster")


class ShardProbe:
    """Reads the figures of shard ``index`` of store ``store`` (see the module docs)."""

    def __init__(self, store: str, index: int, endpoint: Endpoint, clustered: bool) -> None:
        self.store = store
        self.index = index
        self.address = str(endpoint.address)
        self._clustered = clustered
        timeout = min(endpoint.timeout, PROBE_TIMEOUT)
        self._conn = redis_client(
            replace(
                endpoint, timeout=timeout, connect_timeout=min(endpoint.connect_timeout, timeout)
            ),
            decode=True,
        )
        self._tag: str | None = None

    def sample(self, run: str, now: float) -> list[SampleLine]:
        """This shard's sample, then one per model its workers counted."""
        try:
            return self._read(run, now)
        except (redis.RedisError, OSError, ValueError, TypeError) as err:
            self._tag = None  # the shard may come back with another layout
            return [
                ShardSample(run, now, self.store, self.index, self.address, up=False,
                            error=f"{type(err).__name__}: {err}"),
            ]  # fmt: skip

    def close(self) -> None:
        """Drop the connection."""
        self._conn.close()

    def _read(self, run: str, now: float) -> list[SampleLine]:
        if self._tag is None:
            self._tag = shard_tag(self._conn)
        pipe = self._conn.pipeline(transaction=False)
        pipe.execute_command("INFO", *_INFO_SECTIONS)  # type: ignore[no-untyped-call]
        if self._clustered:
            pipe.execute_command("CLUSTER INFO")  # type: ignore[no-untyped-call]
        if self._tag is not None:
            pipe.xlen(keys.queue_key(self._tag))
            pipe.smembers(keys.stats_index_key(self._tag))
        pipe.execute_command("INSITU.STATUS")  # type: ignore[no-untyped-call]
        # Raw bytes: on a cluster, record keys begin with a binary {shard prefix}.
        pipe.execute_command("INSITU.STATS", **{NEVER_DECODE: True})  # type: ignore[no-untyped-call]
        replies = pipe.execute(raise_on_error=False)
        for reply in replies[:-2]:
            if isinstance(reply, Exception):
                raise reply
        status, module_stats = replies[-2:]
        replies = replies[:-2]
        info: Mapping[str, object] = replies[0]
        cluster: Mapping[str, object] = replies[1] if self._clustered else {}
        depth: int | None = None
        models: list[str] = []
        if self._tag is not None:
            depth, models = int(replies[-2]), sorted(replies[-1])
        if isinstance(status, list):  # the module's queued requests wait on this shard too
            queued = dict(zip(status[::2], status[1::2], strict=False)).get("queued")
            if isinstance(queued, int):
                depth = (depth or 0) + queued
        shard = ShardSample(
            run, now, self.store, self.index, self.address, up=True,
            used_memory=_int(info, "used_memory"), maxmemory=_int(info, "maxmemory"),
            clients=_int(info, "connected_clients"),
            ops_per_sec=_int(info, "instantaneous_ops_per_sec"),
            commands=_int(info, "total_commands_processed"), keys=_keys(info),
            evicted_keys=_int(info, "evicted_keys"),
            cluster_state=str(cluster["cluster_state"]) if "cluster_state" in cluster else None,
            queue_depth=depth,
        )  # fmt: skip
        dispatched = self._dispatched(run, now, module_stats)
        seen = {m.model for m in dispatched}
        return [shard, *dispatched, *self._models(run, now, [m for m in models if m not in seen])]

    def _dispatched(self, run: str, now: float, reply: object) -> list[ModelSample]:
        """The module's statistics (``INSITU.STATS``: key, field/value list, ...), named by
        model key (a cluster's ``{shard prefix}.`` stripped); none if it did not answer."""
        if not isinstance(reply, list):
            return []
        samples: list[ModelSample] = []
        for stored, fields in zip(reply[::2], reply[1::2], strict=False):
            if not isinstance(stored, bytes) or not isinstance(fields, list):
                continue
            raw_key = stored
            if self._clustered and stored.startswith(b"{") and b"}." in stored:
                raw_key = stored.split(b"}.", 1)[1]
            counters = parse_counters(
                {bytes(k): str(v).encode() for k, v in zip(fields[::2], fields[1::2], strict=False)}
            )
            if counters.requests:
                samples.append(
                    ModelSample(run, now, self.store, self.index,
                                raw_key.decode(errors="replace"), counters)
                )  # fmt: skip
        return samples

    def _models(self, run: str, now: float, models: list[str]) -> list[SampleLine]:
        if not models or self._tag is None:
            return []
        pipe = self._conn.pipeline(transaction=False)
        for model in models:
            pipe.hgetall(keys.stats_key(self._tag, model))
        hashes = pipe.execute()
        return [
            ModelSample(run, now, self.store, self.index, model, parse_counters(raw))
            for model, raw in zip(models, hashes, strict=True)
            if raw
        ]


def _int(info: Mapping[str, object], name: str) -> int | None:
    value = info.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _keys(info: Mapping[str, object]) -> int:
    db0 = info.get("db0")
    return int(db0.get("keys", 0)) if isinstance(db0, dict) else 0
