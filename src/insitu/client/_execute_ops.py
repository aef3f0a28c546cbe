"""How a Client runs models and scripts and stores them: through the store module's
RedisAI commands (``AI.MODELEXECUTE``, ``AI.SCRIPTEXECUTE``, ``AI.MODELSTORE``,
``AI.SCRIPTSET``, ``AI.INFO``), the commands SmartRedis sends, so both client families
share models, scripts and statistics.

A run is one blocking command on a lean connection (the request channel): the module
holds the call until a worker stored the outputs, so the caller is woken once, by its
reply. It waits at most ``SR_MODEL_TIMEOUT`` (the command's ``TIMEOUT``); the module gives
up sooner when no worker has served the shard for 30 s.

On a cluster, models and scripts live on every shard under ``{<shard prefix>}.<key>``
(:func:`insitu.wire.keys.shard_model_key`, as SmartRedis stores them). A run goes to the
shard of the first input; inputs and outputs on other shards travel through temporary
copies on that shard (``{<shard prefix>}.<key>.TMP``), as SmartRedis does.

``INSITU_INFERENCE_PATH=streams`` (read when the Client first runs a model) runs requests
through the workers' request streams instead, on a standalone store: the path of earlier
versions, kept as the benchmarks' baseline. ``INSITU_INFERENCE_PATH=inprocess`` runs CPU
models and scripts in the caller's own process from a cached session, on a standalone
(colocated) store (:mod:`insitu.client._local_runs`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from redis.crc import key_slot

from insitu.client._inference_requests import RequestOps, ShardMap, as_bytes
from insitu.client.reply_errors import reply_error
from insitu.client.request_channel import RequestChannel
from insitu.connection.resp import Arg, ServerReplyError, Value
from insitu.connection.resp_connection import Arg as RunArg
from insitu.errors import (
    ConnectionEnvError,
    InferenceError,
    InferenceTimeoutError,
    InsituError,
    NoRunInfoError,
    RedisConnectionLostError,
    RedisDatabaseError,
    RedisInvalidUseError,
    RedisKeyError,
    UnknownNodeError,
)
from insitu.wire import channel, keys, messages
from insitu.wire.addresses import Address
from insitu.wire.model_record import ModelHeader

PATH_ENV = "INSITU_INFERENCE_PATH"
_RUN_COMMANDS = {messages.RUN_MODEL: "AI.MODELEXECUTE", messages.RUN_SCRIPT: "AI.SCRIPTEXECUTE"}
_MISSING = ("ERR model key is empty", "ERR script key is empty")
_NO_TENSOR = "ERR tensor key is empty"


STREAMS, INPROCESS = "streams", "inprocess"


def inference_path() -> str:
    """What ``INSITU_INFERENCE_PATH`` asks for: ``streams``, ``inprocess`` or "" (the
    store module, the default); InvalidConfigError names any other value."""
    value = os.environ.get(PATH_ENV, "").strip().lower()
    if value not in ("", STREAMS, INPROCESS, "module"):
        raise ConnectionEnvError(PATH_ENV, f"{value!r} is not module, streams or inprocess")
    return "" if value == "module" else value


def use_streams() -> bool:
    """True if ``INSITU_INFERENCE_PATH=streams`` asks for the request streams."""
    return inference_path() == STREAMS


class ExecuteOps(RequestOps):
    """Runs and stores through the store module (see the module docs)."""

    _run_channels: dict[Address, RequestChannel] | None = None

    # ------------------------------------------------------------------ runs
    def _execute(
        self, op: str, key: str, function: str, inputs: Sequence[str], outputs: Sequence[str]
    ) -> None:
        if not self._store.clustered:
            address = self._store.addresses()[0]
            self._run_on(address, op, key.encode(), function, inputs, outputs, key)
            return
        try:
            self._execute_clustered(op, key, function, inputs, outputs, self._cluster_map())
        except RedisConnectionLostError:
            # The shard may have failed over: with a fresh layout, a replica promoted in
            # its place runs the request (the dead master took what it held with it).
            before = self._cluster_map()
            self._store.refresh()
            if self._cluster_map(refresh=True) == before:
                raise
            self._execute_clustered(op, key, function, inputs, outputs, self._cluster_map())

    def _execute_clustered(
        self,
        op: str,
        key: str,
        function: str,
        inputs: Sequence[str],
        outputs: Sequence[str],
        shards: ShardMap,
    ) -> None:
        low = _lowest_slot(shards, key_slot((inputs[0] if inputs else key).encode()))
        owner = _owner(shards, low)
        ins = [self._local(i, low, owner, shards) for i in inputs]
        outs = [o.encode() if _owner_of(shards, o) == owner else keys.shard_temp_key(low, o)
                for o in outputs]  # fmt: skip
        temps = [t for t, name in zip(ins, inputs, strict=True) if t != name.encode()]
        try:
            self._run_on(owner, op, keys.shard_model_key(low, key), function, ins, outs, key)
            for name, local in zip(outputs, outs, strict=True):
                if local != name.encode():
                    value = self._store.node_command(owner, "GET", local)
                    self._store.put(name, Value((as_bytes(value),)))
                    temps.append(local)
        finally:
            if temps:
                self._store.node_command(owner, "DEL", *temps)

    def _local(self, name: str, low: int, owner: Address, shards: ShardMap) -> bytes:
        """``name``, or a copy of it on ``owner`` when it lives on another shard."""
        if _owner_of(shards, name) == owner:
            return name.encode()
        value = self._store.get(name)
        if value is None:
            raise RedisKeyError(name, f"input tensor {name!r} does not exist")
        temp = keys.shard_temp_key(low, name)
        self._store.node_command(owner, "SET", temp, Value((value,)))
        return temp

    def _run_on(
        self,
        address: Address,
        op: str,
        model: bytes,
        function: str,
        inputs: Sequence[str | bytes],
        outputs: Sequence[str | bytes],
        key: str,
    ) -> None:
        timeout = self._settings.timeouts.model
        command: list[RunArg] = [_RUN_COMMANDS[op], model]
        if op == messages.RUN_SCRIPT:
            command.append(function)
        command += ["INPUTS", len(inputs), *inputs, "OUTPUTS", len(outputs), *outputs]
        command += ["TIMEOUT", int(timeout * 1000)]
        reply = self._run_channel(address).pipeline(key, [command], raise_on_error=False)[0]
        if reply == b"OK":
            return
        if reply == b"TIMEDOUT":
            if not self._workers_at(address):
                raise InferenceTimeoutError(
                    f"no reply for {key!r}: no inference worker is serving that shard (is "
                    "the store running with inference_workers=0?)",
                    key,
                    "timeout",
                )
            raise InferenceTimeoutError(
                f"no reply for {key!r} within {timeout:g} s (SR_MODEL_TIMEOUT)", key, "timeout"
            )
        if isinstance(reply, ServerReplyError):
            raise run_error(str(reply), key, op)
        raise InferenceError(f"unexpected reply to a run of {key!r}: {reply!r}", key, "run")

    def _workers_at(self, address: Address) -> int:
        """How many workers serve the store module of the shard at ``address``."""
        reply = self._store.node_command(address, "INSITU.STATUS")
        status = dict(zip(reply[::2], reply[1::2], strict=False)) if isinstance(reply, list) else {}
        count = status.get(b"workers", 0)
        return count if isinstance(count, int) else 0

    def _run_channel(self, address: Address) -> RequestChannel:
        """The lean connection(s) runs on ``address`` wait on: they may wait as long as
        ``SR_MODEL_TIMEOUT`` (and the command budget on top) for their reply."""
        if self._run_channels is None:
            self._run_channels = {}
        found = self._run_channels.get(address)
        if found is None:
            timeouts = self._settings.timeouts
            endpoint = self._settings.endpoint(address)
            endpoint = dataclasses.replace(
                endpoint, timeout=endpoint.timeout + timeouts.model + timeouts.command
            )
            found = self._run_channels[address] = RequestChannel(endpoint, timeouts)
        return found

    def _close_run_channels(self) -> None:
        found, self._run_channels = self._run_channels, None
        for each in (found or {}).values():
            each.close()

    # ------------------------------------------------------------------ storing
    def _store_record(self, key: str, header: ModelHeader, blob: bytes) -> None:
        """``AI.MODELSTORE``/``AI.SCRIPTSET`` ``key`` (on every shard of a cluster): the
        module writes the record and has a serving worker load it (which may take as long
        as importing a framework: the wait is a run's); a record that does not load is
        removed again and its error raised."""
        command, args = _store_args(header, blob)
        # INSITU_WAIT_REPLICAS: the record reaches the replicas before this returns.
        durability = self._settings.durability.bounded(int(self._settings.timeouts.command * 500))
        wait: list[list[RunArg]] = [list(durability.wait_command())] if durability.enabled else []
        for address, stored in self._record_copies(key):
            where = self._store.addresses()[0] if address is None else address
            replies = self._run_channel(where).pipeline(
                key, [[command, stored, *args], *wait], raise_on_error=False
            )
            reply = replies[0]
            if wait and not isinstance(reply, ServerReplyError):
                durability.check(replies[1], key, str(where))
            if isinstance(reply, ServerReplyError):
                text = str(reply)
                if text.startswith("OOM"):  # name the shard's limit, as every write does
                    limit = self._shard_memory_limit(where)
                    raise reply_error(text, key, address=str(where), limit=limit)
                raise run_error(text, key, messages.LOAD)

    def _shard_memory_limit(self, address: Address) -> int:
        """The ``maxmemory`` of the shard at ``address`` in bytes (0 if it cannot be read)."""
        try:
            reply = self._store.node_command(address, "CONFIG", "GET", "maxmemory")
        except InsituError:
            return 0
        if isinstance(reply, list) and len(reply) == 2:
            try:
                return int(as_bytes(reply[1]))
            except ValueError:
                return 0
        return 0

    def _record_key(self, key: str) -> tuple[Address | None, bytes]:
        """Where a client reads the record of ``key``: (None, key) on a standalone store;
        on a cluster the copy on the shard serving slot 0 (as SmartRedis reads it)."""
        if not self._store.clustered:
            return None, key.encode()
        shards = self._cluster_map()
        low = _lowest_slot(shards, 0)
        return _owner(shards, low), keys.shard_model_key(low, key)

    def _record_copies(self, key: str) -> list[tuple[Address | None, bytes]]:
        """Every copy of the record of ``key`` (one per shard on a cluster)."""
        if not self._store.clustered:
            return [(None, key.encode())]
        return [(a, keys.shard_model_key(low, key)) for _, a, low in self._cluster_map().nodes]

    def _info(self, address: Address, key: str, reset: bool) -> list[object]:
        """``AI.INFO`` of ``key`` on the shard at ``address`` (then reset, if asked)."""
        name: Arg = key
        if self._store.clustered:
            try:
                low = _address_low(self._cluster_map(), address)
            except RedisInvalidUseError:
                low = _address_low(self._cluster_map(refresh=True), address)
            name = keys.shard_model_key(low, key)
        try:
            reply = self._store.node_command(address, "AI.INFO", name)
            if reset:
                self._store.node_command(address, "AI.INFO", name, "RESETSTAT")
        except InsituError as err:
            if "cannot find run info" in str(err):
                raise NoRunInfoError(key, f"no model or script stored under key {key!r}") from None
            raise
        if not isinstance(reply, list):
            raise InferenceError(f"unexpected AI.INFO reply for {key!r}", key, "run")
        return reply


def run_error(text: str, key: str, op: str) -> InsituError:
    """The typed error for the module's error reply ``text`` to a run of ``key``."""
    parsed = channel.parse_error_text(text)
    if parsed is not None:
        code, message, backend = parsed
        return messages.error_for_reply(messages.RunReply("", False, code, message, backend), key)
    if text.startswith(_MISSING):
        return RedisKeyError(key, f"no model or script stored under {key!r}")
    if text.startswith(_NO_TENSOR):
        missing = text.rsplit(": ", 1)[-1] if ": " in text else key
        return RedisKeyError(missing, f"input tensor {missing!r} does not exist")
    if text.startswith("WRONGTYPE '"):  # the module names the model and what it holds
        return InferenceError(text.removeprefix("WRONGTYPE "), key, "run")
    if text.startswith("WRONGTYPE"):
        kind = "model" if op == messages.RUN_MODEL else "script"
        return InferenceError(f"{key!r} is not a {kind}, or an input is not a tensor", key, "run")
    return reply_error(text, key)


def _store_args(header: ModelHeader, blob: bytes) -> tuple[str, list[RunArg]]:
    """The command that stores ``header`` and ``blob``, and its arguments after the key."""
    if header.kind == "script":
        return "AI.SCRIPTSET", [header.device, "SOURCE", blob]
    args: list[RunArg] = [header.backend, header.device]
    if header.tag:
        args += ["TAG", header.tag]
    batch = header.batch
    if batch.batch_size:
        args += ["BATCHSIZE", batch.batch_size]
        if batch.min_batch_size:
            args += ["MINBATCHSIZE", batch.min_batch_size]
            if batch.min_batch_timeout:
                args += ["MINBATCHTIMEOUT", batch.min_batch_timeout]
    if header.inputs:
        args += ["INPUTS", len(header.inputs), *header.inputs]
    if header.outputs:
        args += ["OUTPUTS", len(header.outputs), *header.outputs]
    return "AI.MODELSTORE", [*args, "BLOB", blob]


def _lowest_slot(shards: ShardMap, slot: int) -> int:
    """The lowest slot of the shard that serves ``slot``."""
    for start, end, node_id in shards.ranges:
        if start <= slot <= end:
            return next(low for n, _, low in shards.nodes if n == node_id)
    raise RedisDatabaseError(f"no shard serves slot {slot}")


def _owner(shards: ShardMap, low: int) -> Address:
    return next(address for _, address, lowest in shards.nodes if lowest == low)


def _owner_of(shards: ShardMap, key: str) -> Address:
    return _owner(shards, _lowest_slot(shards, key_slot(key.encode())))


def _address_low(shards: ShardMap, address: Address) -> int:
    for _, where, low in shards.nodes:
        if where.same_endpoint(address):
            return low
    raise UnknownNodeError(f"{address} is not a primary shard of this cluster")
