"""The run statistics inference workers keep in the store, per model and shard (pure).

Workers count what they serve in one hash per model or script and shard,
``keys.stats_key(tag, model)``, with ``HINCRBY`` only (so several workers of a shard add up):

* ``requests`` (requests served), ``calls`` (executions; a merged batch counts once),
  ``samples`` (dimension 0 of the inputs, summed), ``errors`` (failed requests) and
  ``duration`` (µs spent running) — SmartSim's ``get_ai_info`` figures;
* ``lat:<b>``: how many calls took a time in latency bucket ``b`` (:func:`latency_bucket`), a
  histogram from which readers take percentiles of any period (:func:`percentile` over the
  difference of two readings).

Each worker also adds the model key to the shard's set ``keys.stats_index_key(tag)`` when it
first counts that model, so that a monitor finds the hashes without scanning the keyspace.
Described for other languages in docs/wire-format.md, "Run statistics".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

COUNTERS = ("duration", "samples", "calls", "errors", "requests")
"""The hash fields that SmartSim's ``get_ai_info`` reports (``duration`` in µs)."""

LATENCY_PREFIX = "lat:"
"""Prefix of the histogram fields: ``lat:<bucket>``."""

MAX_BUCKET = 40
"""Calls of 2^39 µs (6 days) or longer all count in this bucket."""


def latency_bucket(micros: int) -> int:
    """The bucket of a call that took ``micros`` µs: 0 for 0 µs, else ``b`` such that
    ``2**(b-1) <= micros < 2**b`` (so bucket ``b`` ends at :func:`bucket_upper` ``(b)``)."""
    return min(max(int(micros), 0).bit_length(), MAX_BUCKET)


def bucket_upper(bucket: int) -> int:
    """The largest latency (µs) that bucket ``bucket`` holds."""
    return (1 << bucket) - 1 if bucket > 0 else 0


def latency_field(micros: int) -> str:
    """The hash field a call of ``micros`` µs increments."""
    return f"{LATENCY_PREFIX}{latency_bucket(micros)}"


@dataclass(frozen=True)
class ModelCounters:
    """One reading of a model's statistics hash on one shard (cumulative counts).

    ``latency`` maps a bucket to the number of calls in it.
    """

    requests: int = 0
    calls: int = 0
    samples: int = 0
    errors: int = 0
    duration: int = 0
    latency: Mapping[int, int] = field(default_factory=dict)

    def minus(self, earlier: ModelCounters) -> ModelCounters:
        """What was counted since ``earlier`` (a reset in between gives the new counts)."""
        if self.calls < earlier.calls or self.requests < earlier.requests:
            return self
        buckets = set(self.latency) | set(earlier.latency)
        return ModelCounters(
            requests=self.requests - earlier.requests,
            calls=self.calls - earlier.calls,
            samples=self.samples - earlier.samples,
            errors=self.errors - earlier.errors,
            duration=self.duration - earlier.duration,
            latency={
                b: n
                for b in sorted(buckets)
                if (n := self.latency.get(b, 0) - earlier.latency.get(b, 0)) > 0
            },
        )


def parse_counters(raw: Mapping[bytes, bytes] | Mapping[str, str]) -> ModelCounters:
    """A :class:`ModelCounters` from an ``HGETALL`` reply; fields that are not counts (of a
    later version) are ignored, and so are values that are not integers."""
    counts: dict[str, int] = {}
    latency: dict[int, int] = {}
    for key, value in raw.items():
        name = key.decode(errors="replace") if isinstance(key, bytes) else key
        try:
            number = int(value)
        except ValueError:
            continue
        if name in COUNTERS:
            counts[name] = number
        elif name.startswith(LATENCY_PREFIX) and name[len(LATENCY_PREFIX) :].isdigit():
            latency[int(name[len(LATENCY_PREFIX) :])] = number
    return ModelCounters(**counts, latency=dict(sorted(latency.items())))


def percentile(histogram: Mapping[int, int], fraction: float) -> int | None:
    """The latency (µs, a bucket's upper end) under which ``fraction`` (0..1) of the calls
    of ``histogram`` fall; None for an empty histogram."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    wanted = max(1.0, fraction * total)
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= wanted:
            return bucket_upper(bucket)
    return bucket_upper(max(histogram))
