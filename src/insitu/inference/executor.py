"""What a worker does with the requests it read: check them, load the model or script,
fetch the inputs, run (merging batchable requests), store the outputs, reply.

Every request read is answered exactly once — with success or with a typed error — and
then acknowledged, except one whose caller has already given up (it is dropped). A failure
of one request never stops the worker: errors become replies (see
:mod:`insitu.wire.messages`). Requests for a model stored with ``batch_size > 0`` wait
in :attr:`Executor.pending` until :mod:`insitu.inference.batching` says to run them.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from insitu.errors import (
    InferenceError,
    InferenceInputError,
    InsituError,
    RedisKeyError,
    WireFormatError,
    WorkerLostError,
)
from insitu.inference import batching
from insitu.inference.backends import Session
from insitu.inference.model_cache import Loaded, ModelCache
from insitu.inference.store_link import Entry, Queues, StoreLink
from insitu.wire import messages
from insitu.wire.devices import parse_device
from insitu.wire.model_record import ModelHeader, assemble, parse_header
from insitu.wire.stats import latency_field
from insitu.wire.tensors import decode_tensor, encode_tensor

log = logging.getLogger("insitu.inference.worker")
MAX_DELIVERIES = 2  # a request is run at most twice: once, and once more after a crash
_HEADER_MEMO = 256  # parsed model headers remembered (by their stored bytes)


@dataclass(frozen=True)
class Job:
    """A request ready to run: its entry, the request, its decoded inputs, arrival time."""

    entry: Entry
    request: messages.RunRequest
    inputs: tuple[np.ndarray, ...]
    arrived: float


@dataclass(frozen=True)
class Outcome:
    """The result of one request: outputs to store (key, encoded value) and the reply."""

    job: Job
    reply: messages.RunReply
    outputs: tuple[tuple[str, bytes], ...] = ()


class Executor:
    """Runs requests for one worker thread (see the module docs)."""

    def __init__(self, link: StoreLink, cache: ModelCache) -> None:
        self._link = link
        self._cache = cache
        self.pending: dict[str, tuple[Loaded, list[Job]]] = {}
        self._headers: dict[bytes, ModelHeader] = {}

    # ------------------------------------------------------------------ intake
    def process(self, queues: Queues, entries: Sequence[Entry]) -> None:
        """Handle freshly read (or claimed) entries."""
        accepted: list[tuple[Entry, messages.RunRequest]] = []
        for entry in entries:
            request = self._admit(queues, entry)
            if request is not None and not self._run_direct(queues, entry, request):
                accepted.append((entry, request))
        if accepted:
            self._dispatch(queues, accepted)
        self.run_due(queues)

    def _admit(self, queues: Queues, entry: Entry) -> messages.RunRequest | None:
        """The request in ``entry``, or None if it was settled here (malformed, expired,
        or lost too often)."""
        try:
            request = messages.parse_request(entry.fields, f"{entry.stream} {entry.entry_id}")
        except WireFormatError as err:
            log.error("dropping malformed request: %s", err)
            self._link.done([entry])
            return None
        if request.expired():
            self._link.done([entry])
            return None
        if entry.delivered > MAX_DELIVERIES:
            lost = WorkerLostError(
                f"the inference workers running {request.key!r} died {entry.delivered - 1} "
                "times while holding this request; it is not retried again",
                request.key,
                "lost",
            )
            self._finish(queues, [self._failure(Job(entry, request, (), 0.0), lost)])
            return None
        return request

    def _run_direct(self, queues: Queues, entry: Entry, request: messages.RunRequest) -> bool:
        """Run ``request`` at once if the client inlined everything it needs and its model
        is loaded here, unbatched, for this worker's device — the common case, without the
        general path's collecting, fetching and checks; False (nothing done) otherwise,
        including whenever the general path would reply with an error."""
        if request.header is None or request.op not in _KINDS:
            return False
        if len(request.values) != len(request.inputs) or None in request.values:
            return False
        header = self._headers.get(request.header)  # None: never parsed yet
        if header is None or header.kind != _KINDS[request.op]:
            return False
        if request.op == messages.RUN_MODEL and header.batch.enabled:
            return False
        if entry.stream == queues.entry and _worker_device(header.device) != self._link.device:
            return False  # forwarded, or refused, by the general path
        loaded = self._cache.lookup(request.key, header.version)
        if loaded is None or loaded.session is None:
            return False
        try:
            inputs = _decode_inputs(request, {})
        except InsituError:
            return False
        job = Job(entry, request, inputs, time.monotonic())
        self._execute(queues, loaded.header, loaded.session, [job])
        return True

    def _dispatch(self, queues: Queues, accepted: list[tuple[Entry, messages.RunRequest]]) -> None:
        # What the client's queueing script inlined is used as is; the rest — every model
        # header and input not inlined — is fetched in one round trip (none if nothing is).
        keys = list(dict.fromkeys(r.key for _, r in accepted if r.header is None))
        inputs = list(
            dict.fromkeys(
                k for _, r in accepted for i, k in enumerate(r.inputs) if r.inlined(i) is None
            )
        )
        headers: dict[str, object] = {}
        values: dict[str, bytes | None] = {}
        if keys or inputs:
            found_headers, found_values = self._link.fetch(keys, inputs)
            headers = dict(zip(keys, found_headers, strict=True))
            values = dict(zip(inputs, found_values, strict=True))
        runnable: list[tuple[Entry, messages.RunRequest, Loaded]] = []
        for entry, request in accepted:
            header = request.header if request.header is not None else headers[request.key]
            try:
                loaded = self._resolve(queues, entry, request, header)
            except InsituError as err:
                # No statistics for a model that does not exist: they would outlive it.
                counted = not (isinstance(err, RedisKeyError) and err.key == request.key)
                outcome = self._failure(Job(entry, request, (), 0.0), err)
                self._finish(queues, [outcome], count_errors=counted)
                continue
            if loaded is not None:
                runnable.append((entry, request, loaded))
        self._start(queues, runnable, values)

    def _resolve(
        self, queues: Queues, entry: Entry, request: messages.RunRequest, raw: object
    ) -> Loaded | None:
        """The loaded model for ``request``; None if it was forwarded to another device's
        workers. Raises the error to reply with."""
        if raw is None:
            raise RedisKeyError(request.key, f"no model or script stored under {request.key!r}")
        if isinstance(raw, Exception):
            raise InferenceError(f"{request.key!r} is not a model or script: {raw}", request.key)
        header = self._parse_header(raw, request.key)  # type: ignore[arg-type]
        if self._should_forward(queues, entry, header):
            self._link.forward(queues, str(_worker_device(header.device)), entry)
            return None
        loaded = self._cache.lookup(request.key, header.version)
        if loaded is None:
            header, blob = assemble(self._link.record(request.key), request.key)
            loaded = self._cache.load(request.key, header, blob)
        _check_kind(request, loaded.header)
        return loaded

    def _parse_header(self, raw: bytes, key: str) -> ModelHeader:
        """``raw`` parsed, remembered: the same stored header comes with every request."""
        header = self._headers.get(raw)
        if header is None:
            header = parse_header(raw, key)
            if len(self._headers) >= _HEADER_MEMO:
                self._headers.clear()
            self._headers[raw] = header
        return header

    def _should_forward(self, queues: Queues, entry: Entry, header: ModelHeader) -> bool:
        """True if the model belongs on another device that a live worker here serves."""
        if entry.stream != queues.entry:
            return False  # already routed to this worker's device
        device = _worker_device(header.device)
        if device is None:
            return False
        return device != self._link.device and self._link.device_served(queues, device)

    def _start(
        self,
        queues: Queues,
        runnable: list[tuple[Entry, messages.RunRequest, Loaded]],
        values: dict[str, bytes | None],
    ) -> None:
        now = time.monotonic()
        for entry, request, loaded in runnable:
            if request.op == messages.LOAD:
                outcome = self._loaded(Job(entry, request, (), now), loaded)
                self._finish(queues, [outcome])
                continue
            try:
                job = Job(entry, request, _decode_inputs(request, values), now)
                session = loaded.require()
            except InsituError as err:
                self._finish(queues, [self._failure(Job(entry, request, (), now), err)])
                continue
            if request.op == messages.RUN_MODEL and loaded.header.batch.enabled:
                # Jobs that wait together run with the session they were admitted with.
                waiting = self.pending.setdefault(request.key, (loaded, []))
                waiting[1].append(job)
            else:
                self._execute(queues, loaded.header, session, [job])

    def _loaded(self, job: Job, loaded: Loaded) -> Outcome:
        try:
            loaded.require()
        except InsituError as err:
            return self._failure(job, err)
        return Outcome(job, messages.RunReply(job.request.request_id, True))

    # ------------------------------------------------------------------ batching
    def run_due(self, queues: Queues, *, force: bool = False) -> None:
        """Run each pending group that holds ``min_batch_size`` samples, or whose oldest
        request waited long enough (all of them if ``force``); the rest keep waiting."""
        for key in list(self.pending):
            loaded, jobs = self.pending.pop(key)
            groups, waiting = batching.due(
                jobs, loaded.header.batch, time.monotonic(), time.time(), force=force
            )
            for members in groups:
                self._execute(queues, loaded.header, loaded.require(), members)
            if waiting:
                self.pending[key] = (loaded, waiting)

    def next_due(self) -> float | None:
        """Seconds until the earliest pending batch must run (None: nothing pending)."""
        now, wall = time.monotonic(), time.time()
        due = [
            batching.seconds_until_due(jobs, loaded.header.batch, now, wall)
            for loaded, jobs in self.pending.values()
        ]
        return max(min(due), 0.0) if due else None

    # ------------------------------------------------------------------ running
    def _execute(
        self, queues: Queues, header: ModelHeader, session: Session, jobs: list[Job]
    ) -> None:
        """Run ``jobs`` as one call (merged if several), then store, reply and count."""
        self._link.flush()  # earlier requests' replies go out before this one runs
        started = time.perf_counter()
        try:
            merged, counts = batching.merge([job.inputs for job in jobs])
            outputs = session.run(merged, jobs[0].request.function)
            parts = batching.split(tuple(outputs), counts)
            outcomes = [self._success(job, out) for job, out in zip(jobs, parts, strict=True)]
        except InsituError as err:
            outcomes = [self._failure(job, err) for job in jobs]
        except Exception as err:  # a bug or a backend surprise must not kill the worker
            log.exception("unexpected failure running %s", jobs[0].request.key)
            outcomes = [self._failure(job, err) for job in jobs]
        elapsed_us = int((time.perf_counter() - started) * 1e6)
        failed = sum(1 for o in outcomes if not o.reply.ok)
        stats = {
            "calls": 1,
            "duration": elapsed_us,
            "samples": sum(batching.samples(job.inputs) for job in jobs),
            "requests": len(jobs),
            "errors": failed,
            latency_field(elapsed_us): 1,  # the histogram of call times (wire.stats)
        }
        self._finish(queues, outcomes, (jobs[0].request.key, stats))

    def _success(self, job: Job, outputs: tuple[np.ndarray, ...]) -> Outcome:
        names = job.request.outputs
        if len(outputs) != len(names):
            raise InferenceInputError(
                f"{job.request.key!r} returned {len(outputs)} output(s), but {len(names)} "
                "output key(s) were given",
                job.request.key,
                "input",
            )
        values = tuple(
            (k, encode_tensor(np.asarray(a)).to_bytes())
            for k, a in zip(names, outputs, strict=True)
        )
        return Outcome(job, messages.RunReply(job.request.request_id, True), values)

    def _failure(self, job: Job, error: BaseException) -> Outcome:
        if isinstance(error, InferenceError) and not error.key:
            error.key = job.request.key
        return Outcome(job, messages.reply_for_error(job.request.request_id, error))

    def _finish(
        self,
        queues: Queues,
        outcomes: Sequence[Outcome],
        stats: tuple[str, dict[str, int]] | None = None,
        *,
        count_errors: bool = True,
    ) -> None:
        """Store outputs, reply, count (``stats``, else the failures) and acknowledge."""
        outputs = [item for o in outcomes for item in o.outputs]
        replies = [(o.job.request.reply_key, o.reply) for o in outcomes]
        entries = [o.job.entry for o in outcomes]
        if stats is None and count_errors:
            errors = [o for o in outcomes if not o.reply.ok]
            stats = (outcomes[0].job.request.key, {"errors": len(errors)}) if errors else None
        self._link.finish(queues, outputs, replies, entries, stats)


@functools.lru_cache(maxsize=64)
def _worker_device(device: str) -> str | None:
    """The device whose workers serve a model stored for ``device`` (``GPU`` is
    ``GPU:0``); None if the name is invalid (loading will report it)."""
    try:
        name = str(parse_device(device))
    except InsituError:
        return None
    return "GPU:0" if name == "GPU" else name


_KINDS = {messages.RUN_MODEL: "model", messages.RUN_SCRIPT: "script"}  # op -> record kind


def _check_kind(request: messages.RunRequest, header: ModelHeader) -> None:
    wanted = _KINDS.get(request.op)
    if wanted is not None and header.kind != wanted:
        raise InferenceError(
            f"{request.key!r} holds a {header.kind}, not a {wanted}", request.key, "run"
        )


def _decode_inputs(
    request: messages.RunRequest, fetched: dict[str, bytes | None]
) -> tuple[np.ndarray, ...]:
    """The request's input arrays: inlined values first, else the fetched ones."""
    arrays = []
    for index, key in enumerate(request.inputs):
        raw = request.inlined(index)
        if raw is None:
            raw = fetched.get(key)
        if raw is None:
            raise RedisKeyError(key, f"input tensor {key!r} does not exist")
        try:
            arrays.append(decode_tensor(memoryview(bytearray(raw)), key))
        except WireFormatError as err:
            raise InferenceInputError(str(err), request.key, "input") from None
    return tuple(arrays)
