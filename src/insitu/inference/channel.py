"""A worker's service of the store module's channel (:mod:`insitu.wire.channel`): take
every pending request in one ``INSITU.WORKER.NEXT``, run them, and hand all results back
with the next ``NEXT`` in one write. The caller of ``AI.MODELEXECUTE`` is blocked in the
module and woken once, by its reply; nothing here polls: an idle worker sleeps in
``NEXT`` (waking every :data:`IDLE_BLOCK_MS` to notice a stop).

Requests for a model stored with ``batch_size > 0`` wait in :attr:`ChannelExecutor.pending`
until :mod:`insitu.inference.batching` says to run them (``NEXT`` then blocks only until
the earliest batch is due); merged requests run as one call and the outputs are split
back. Every request taken is answered exactly once; a failure becomes an error answer
(:func:`insitu.wire.messages.reply_for_error` gives its code), never a dead worker. If the
connection drops, the module runs what this worker held elsewhere (once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from insitu.connection.resp import ServerReplyError
from insitu.connection.resp_connection import Arg, RespConnection
from insitu.errors import (
    InferenceError,
    InferenceInputError,
    InferenceTimeoutError,
    InsituError,
    WireFormatError,
)
from insitu.inference import batching
from insitu.inference.model_cache import Loaded, ModelCache
from insitu.wire import channel, messages
from insitu.wire.endpoint import Endpoint
from insitu.wire.model_record import ModelHeader, assemble, parse_header
from insitu.wire.tensors import decode_tensor, encode_tensor

log = logging.getLogger("insitu.inference.worker")

IDLE_BLOCK_MS = 500  # longest sleep in NEXT, so that a stop is noticed quickly
REPLICA_POLL_S = 0.2  # a worker beside a replica asks this often whether it was promoted
TAKE = 256  # requests taken per NEXT at most
_KINDS = {"run_model": "model", "run_script": "script"}
Command = tuple[Arg, ...]


@dataclass(frozen=True)
class Job:
    """A request ready to run: the request, its decoded inputs, when it was taken."""

    request: channel.ChannelRequest
    inputs: tuple[np.ndarray, ...]
    arrived: float


class ChannelExecutor:
    """Runs the requests of one channel connection (see the module docs)."""

    def __init__(self, conn: RespConnection, cache: ModelCache) -> None:
        self._conn = conn
        self._cache = cache
        self._headers: dict[bytes, ModelHeader] = {}
        self.pending: dict[bytes, tuple[Loaded, list[Job]]] = {}
        self.answers: list[Command] = []  # DONE commands not sent yet

    # ------------------------------------------------------------------ intake
    def process(self, requests: Sequence[channel.ChannelRequest]) -> None:
        """Run (or set aside for batching) freshly taken requests, then due batches."""
        now = time.monotonic()
        for request in requests:
            try:
                self._admit(request, now)
            except InsituError as err:
                self._fail(request, err)
            except Exception as err:  # a bug or a backend surprise must not kill the worker
                log.exception("unexpected failure handling %s", request.name)
                self._fail(request, err)
        self.run_due()

    def _admit(self, request: channel.ChannelRequest, now: float) -> None:
        if request.expired():
            raise InferenceTimeoutError(f"the caller of {request.name!r} stopped waiting")
        header = self._header(request)
        loaded = self._cache.lookup(request.name, header.version)
        if loaded is None:
            record = self._conn.call("HGETALL", request.key)
            fields = _pairs(record)
            header, blob = assemble(fields, request.name)
            loaded = self._cache.load(request.name, header, blob)
        if request.op == "load":
            loaded.require()
            self.answers.append(channel.done_ok(request.request_id, 0, 0, 0, ()))
            return
        wanted = _KINDS[request.op]
        if loaded.header.kind != wanted:
            raise InferenceError(
                f"{request.name!r} holds a {loaded.header.kind}, not a {wanted}",
                request.name,
                "run",
            )
        job = Job(request, _decode_inputs(request), now)
        if request.op == "run_model" and loaded.header.batch.enabled:
            self.pending.setdefault(request.key, (loaded, []))[1].append(job)
        else:
            self._execute(loaded, [job])

    def _header(self, request: channel.ChannelRequest) -> ModelHeader:
        header = self._headers.get(request.header)
        if header is None:
            header = parse_header(request.header, request.name)
            if len(self._headers) >= 256:
                self._headers.clear()
            self._headers[request.header] = header
        return header

    # ------------------------------------------------------------------ batching
    def run_due(self, *, force: bool = False) -> None:
        """Run each pending group that holds ``min_batch_size`` samples or waited long
        enough (all of them if ``force``)."""
        for key in list(self.pending):
            loaded, jobs = self.pending.pop(key)
            groups, waiting = batching.due(
                jobs, loaded.header.batch, time.monotonic(), time.time(), force=force
            )
            for members in groups:
                self._execute(loaded, members)
            if waiting:
                self.pending[key] = (loaded, waiting)

    def next_due_ms(self) -> int | None:
        """Milliseconds until the earliest pending batch must run (None: none pending)."""
        now, wall = time.monotonic(), time.time()
        due = [
            batching.seconds_until_due(jobs, loaded.header.batch, now, wall)
            for loaded, jobs in self.pending.values()
        ]
        return max(int(min(due) * 1000) + 1, 1) if due else None

    # ------------------------------------------------------------------ running
    def _execute(self, loaded: Loaded, jobs: list[Job]) -> None:
        """Run ``jobs`` as one call (merged if several) and queue their answers."""
        started = time.perf_counter()
        try:
            session = loaded.require()
            merged, counts = batching.merge([job.inputs for job in jobs])
            outputs = session.run(merged, jobs[0].request.function)
            parts = batching.split(tuple(outputs), counts)
            values = [self._encoded(job, out) for job, out in zip(jobs, parts, strict=True)]
        except Exception as err:
            if not isinstance(err, InsituError):
                log.exception("unexpected failure running %s", jobs[0].request.name)
            for job in jobs:
                self._fail(job.request, err)
            return
        elapsed = int((time.perf_counter() - started) * 1e6)
        for index, (job, encoded) in enumerate(zip(jobs, values, strict=True)):
            samples = batching.samples(job.inputs)
            calls, duration = (1, elapsed) if index == 0 else (0, 0)  # a merged run counts once
            self.answers.append(
                channel.done_ok(job.request.request_id, calls, duration, samples, encoded)
            )

    def _encoded(self, job: Job, outputs: tuple[np.ndarray, ...]) -> list[bytes]:
        names = job.request.outputs
        if len(outputs) != len(names):
            raise InferenceInputError(
                f"{job.request.name!r} returned {len(outputs)} output(s), but {len(names)} "
                "output key(s) were given",
                job.request.name,
                "input",
            )
        return [encode_tensor(np.asarray(a)).to_bytes() for a in outputs]

    def _fail(self, request: channel.ChannelRequest, error: BaseException) -> None:
        if isinstance(error, InferenceError) and not error.key:
            error.key = request.name
        reply = messages.reply_for_error(str(request.request_id), error)
        self.answers.append(
            channel.done_error(request.request_id, reply.code, reply.message, reply.backend_message)
        )

    def take_answers(self) -> list[Command]:
        answers, self.answers = self.answers, []
        return answers


class ChannelLoop:
    """One worker thread serving the module channel of its shard until stopped."""

    def __init__(
        self,
        endpoint: Endpoint,
        cache: ModelCache,
        device: str,
        orphaned: Callable[[], bool] = lambda: False,
        grace: float = 5.0,
    ) -> None:
        self._conn = RespConnection(endpoint)
        self._executor = ChannelExecutor(self._conn, cache)
        self._device = device
        self._backoff = 0.05
        self._connected = False
        # The worker's watchdog: the store unreachable for ``grace`` seconds while the
        # process that started the worker has ended means a dead experiment's leftover.
        self._orphaned = orphaned
        self._grace = grace
        self._down_since: float | None = None

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set; waiting batches run before it returns."""
        try:
            while not stop.is_set():
                try:
                    self._step()
                    self._backoff, self._down_since = 0.05, None
                except (OSError, ServerReplyError) as err:
                    if str(err).startswith("READONLY"):
                        # A replica: serve nothing until a failover promotes its node.
                        self._connected = False
                        stop.wait(REPLICA_POLL_S)
                        continue
                    if self._connected or self._backoff == 0.05:  # once per outage
                        log.warning("store module channel at %s: %s; retrying",
                                    self._conn.address, err)  # fmt: skip
                    now = time.monotonic()
                    self._down_since = self._down_since or now
                    if now - self._down_since >= self._grace and self._orphaned():
                        log.warning("store module channel at %s gone and the process that "
                                    "started this worker has ended: exiting",
                                    self._conn.address)  # fmt: skip
                        return
                    self._connected = False
                    self._conn.close()
                    self._executor.take_answers()  # the module runs them elsewhere
                    stop.wait(self._backoff)
                    self._backoff = min(self._backoff * 2, 1.0)
                except Exception:  # never die of one bad request or a surprise reply
                    log.exception("unexpected worker error; continuing")
                    stop.wait(0.5)
            self._drain()
        finally:
            self._conn.close()

    def _step(self) -> None:
        due = self._executor.next_due_ms()
        block = IDLE_BLOCK_MS if due is None else min(IDLE_BLOCK_MS, due)
        answers = self._executor.take_answers()
        commands = [*answers, channel.next_command(TAKE, block, self._device)]
        replies = self._conn.pipeline(commands, raise_on_error=False)
        self._connected = True
        for reply in replies[:-1]:
            if isinstance(reply, ServerReplyError):
                log.error("the store module refused an answer: %s", reply)
        last = replies[-1]
        if isinstance(last, ServerReplyError):
            raise last
        try:
            requests = channel.parse_requests(last)
        except WireFormatError as err:
            log.error("%s", err)
            return
        self._executor.process(requests)

    def _drain(self) -> None:
        """Answer what is still waiting (batches run at once) before exiting."""
        if not self._connected:
            return
        self._executor.run_due(force=True)
        answers = self._executor.take_answers()
        if answers:
            try:
                self._conn.pipeline(answers, raise_on_error=False)
            except OSError as err:
                log.warning("could not answer waiting requests before exiting: %s", err)


def _pairs(reply: object) -> dict[bytes, bytes]:
    if not isinstance(reply, list):
        raise WireFormatError("HGETALL", "unexpected reply to HGETALL")
    return dict(zip(reply[::2], reply[1::2], strict=True))


def _decode_inputs(request: channel.ChannelRequest) -> tuple[np.ndarray, ...]:
    arrays = []
    for key, raw in zip(request.inputs, request.values, strict=True):
        name = key.decode("utf-8", "replace")
        try:
            # A copy: frameworks want writable arrays (torch warns about read-only ones).
            arrays.append(decode_tensor(memoryview(bytearray(raw)), name))
        except WireFormatError as err:
            raise InferenceInputError(str(err), request.name, "input") from None
    return tuple(arrays)
