"""Request batching in the worker: merging inputs of concurrent ``run_model`` calls along
dimension 0 and splitting the outputs back (pure). The settings and their meaning are in
:mod:`insitu.wire.batching`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

import numpy as np

from insitu.errors import InferenceInputError
from insitu.wire.batching import ModelBatching

Arrays = tuple[np.ndarray, ...]


def samples(inputs: Arrays) -> int:
    """Samples in one request: dimension 0 of its first input (1 for scalars/no input)."""
    if not inputs or inputs[0].ndim == 0:
        return 1
    return int(inputs[0].shape[0])


def signature(inputs: Arrays) -> tuple[tuple[str, tuple[int, ...]], ...] | None:
    """What must agree for two requests to merge; None if this one cannot be merged
    (a scalar input, or inputs whose first dimensions differ)."""
    if not inputs or any(a.ndim == 0 for a in inputs):
        return None
    if len({a.shape[0] for a in inputs}) != 1:
        return None
    return tuple((a.dtype.str, tuple(a.shape[1:])) for a in inputs)


def plan(requests: Sequence[Arrays], batch_size: int) -> list[list[int]]:
    """Split requests (in arrival order) into groups to run together: same signature,
    at most ``batch_size`` samples per group (a bigger request forms its own group)."""
    groups: list[list[int]] = []
    open_groups: dict[object, tuple[list[int], int]] = {}
    for index, inputs in enumerate(requests):
        sig = signature(inputs)
        count = samples(inputs)
        if sig is None or count >= batch_size:
            groups.append([index])
            continue
        current = open_groups.get(sig)
        if current is not None and current[1] + count <= batch_size:
            current[0].append(index)
            open_groups[sig] = (current[0], current[1] + count)
            continue
        group = [index]
        groups.append(group)
        open_groups[sig] = (group, count)
    return groups


def merge(requests: Sequence[Arrays]) -> tuple[Arrays, list[int]]:
    """The inputs of ``requests`` (one signature) concatenated along dimension 0, and each
    request's sample count."""
    if len(requests) == 1:
        return requests[0], [samples(requests[0])]
    counts = [samples(r) for r in requests]
    merged = tuple(np.concatenate(column, axis=0) for column in zip(*requests, strict=True))
    return merged, counts


def split(outputs: Arrays, counts: Sequence[int]) -> list[Arrays]:
    """The merged ``outputs`` cut back into one tuple per request; InferenceInputError if an
    output's dimension 0 is not the total sample count (it cannot be split)."""
    if len(counts) == 1:
        return [outputs]
    total = sum(counts)
    for position, out in enumerate(outputs):
        if out.ndim == 0 or out.shape[0] != total:
            raise InferenceInputError(
                f"output {position} of the batched run has shape {list(out.shape)}; its "
                f"first dimension must be the batch size {total} to split it between callers"
            )
    bounds = np.cumsum(counts)[:-1]
    pieces = [np.split(out, bounds, axis=0) for out in outputs]
    return [tuple(piece[i] for piece in pieces) for i in range(len(counts))]


def ready(
    settings: ModelBatching, pending_samples: int, waited_s: float, patience_s: float
) -> bool:
    """True if a batch of ``pending_samples`` should run now, after waiting ``waited_s``;
    ``patience_s`` bounds the wait when ``min_batch_timeout`` is 0."""
    if pending_samples >= max(settings.min_batch_size, 1):
        return True
    limit = settings.min_batch_timeout / 1000 if settings.min_batch_timeout else patience_s
    return waited_s >= limit


def patience(deadline_ms: int, now: float) -> float:
    """How long a batch without ``min_batch_timeout`` may wait for more requests: half of
    what its oldest caller has left (``deadline_ms``, epoch ms; 1 s if it waits forever)."""
    if deadline_ms <= 0:
        return 1.0
    return max(deadline_ms / 1000 - now, 0.0) / 2


class _Request(Protocol):
    @property
    def deadline_ms(self) -> int: ...


class Pending(Protocol):
    """A request waiting in a worker, on either request path (module channel or streams)."""

    @property
    def request(self) -> _Request: ...
    @property
    def inputs(self) -> Arrays: ...
    @property
    def arrived(self) -> float: ...


P = TypeVar("P", bound=Pending)


def due(
    jobs: Sequence[P], settings: ModelBatching, now: float, wall: float, *, force: bool = False
) -> tuple[list[list[P]], list[P]]:
    """``jobs`` of one model (oldest first) split into the groups to run now — each at most
    ``batch_size`` samples (:func:`plan`), run when :func:`ready` after waiting since its
    oldest member arrived, or all if ``force`` — and the jobs that keep waiting, oldest
    first. ``now`` is ``time.monotonic()`` (arrivals), ``wall`` is ``time.time()``
    (callers' deadlines)."""
    run: list[list[P]] = []
    waiting: list[P] = []
    for group in plan([j.inputs for j in jobs], settings.batch_size):
        members = [jobs[i] for i in group]
        count = sum(samples(j.inputs) for j in members)
        limit = patience(members[0].request.deadline_ms, wall)
        if force or ready(settings, count, now - members[0].arrived, limit):
            run.append(members)
        else:
            waiting += members
    return run, sorted(waiting, key=lambda j: j.arrived)


def seconds_until_due(jobs: Sequence[P], settings: ModelBatching, now: float, wall: float) -> float:
    """How long until the oldest of ``jobs`` must run (negative: overdue)."""
    limit = settings.min_batch_timeout / 1000 or patience(jobs[0].request.deadline_ms, wall)
    return jobs[0].arrived + limit - now
