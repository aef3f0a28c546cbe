"""THE key schema: which store key holds a tensor, dataset, aggregation list or model.

Pure functions over :class:`KeyPrefixes`; ``docs/wire-format.md`` documents the same rules
for other languages. Following SmartRedis 0.6:

=============  ==========================  ===========================================
kind           key                         prefixed by default (``use_*_ensemble_prefix``)
=============  ==========================  ===========================================
tensor, bytes  ``[<prefix>.]<name>``       yes
dataset        ``[<prefix>.]{<name>}``     yes
list           ``[<prefix>.]<list name>``  yes
model, script  ``[<prefix>.]<name>``       no
=============  ==========================  ===========================================

``<prefix>`` is ``SSKEYOUT`` when writing and the current data source (the first
``SSKEYIN`` entry unless :meth:`KeyPrefixes.with_data_source` picked another) when reading;
it is left out when that variable is unset or the kind's prefixing is off. A dataset is one
key; its braces make it a Redis Cluster hash tag, so anything ever stored beside a dataset
can share its slot. An aggregation list is a Redis list whose entries are full dataset keys
(with the writer's prefix), so readers need no prefix to follow them.

Prefixes must not contain ``{``, ``}``, ``,`` or whitespace (they would break parsing).

The inference workers' keys (request streams, replies, heartbeats, statistics) start with
``__insitu__:{<shard tag>}:``; see the end of this module and ``docs/wire-format.md``.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from redis.crc import REDIS_CLUSTER_HASH_SLOTS as SLOTS
from redis.crc import key_slot

from insitu.errors import RedisParameterError, RedisRuntimeError

SEPARATOR = "."


class Kind(enum.Enum):
    """What a key holds; each kind has its own prefixing switch."""

    TENSOR = "tensor"
    DATASET = "dataset"
    LIST = "list"
    MODEL = "model"


@dataclass(frozen=True)
class KeyPrefixes:
    """The prefixing state of one client.

    ``put_prefix`` is ``SSKEYOUT`` ("" = none); ``get_prefixes`` the ``SSKEYIN`` entries;
    ``data_source`` the prefix used for reads ("" = none); ``enabled`` the kinds whose
    keys are prefixed (tensors, datasets and lists by default, as in SmartRedis).
    """

    put_prefix: str = ""
    get_prefixes: tuple[str, ...] = ()
    data_source: str = ""
    enabled: frozenset[Kind] = frozenset({Kind.TENSOR, Kind.DATASET, Kind.LIST})

    def __post_init__(self) -> None:
        for prefix in (self.put_prefix, *self.get_prefixes):
            if any(c in prefix for c in "{},") or any(c.isspace() for c in prefix):
                raise RedisParameterError(
                    f"key prefix {prefix!r} must not contain '{{', '}}', ',' or whitespace"
                )

    @classmethod
    def from_entities(cls, key_out: str | None, keys_in: Sequence[str]) -> KeyPrefixes:
        """Prefixes of an entity writing as ``key_out`` and reading ``keys_in`` (first is
        the default data source)."""
        sources = tuple(k for k in keys_in if k)
        return cls(key_out or "", sources, sources[0] if sources else "")

    def with_data_source(self, source_id: str) -> KeyPrefixes:
        """Read from ``source_id`` from now on; it must be one of ``get_prefixes``."""
        if source_id not in self.get_prefixes:
            raise RedisRuntimeError(
                f"Client error: data source {source_id!r} could not be found during client "
                f"initialization (SSKEYIN lists {', '.join(self.get_prefixes) or 'nothing'})"
            )
        return replace(self, data_source=source_id)

    def using(self, kind: Kind, use_prefix: bool) -> KeyPrefixes:
        """Switch prefixing of ``kind`` on or off."""
        enabled = self.enabled | {kind} if use_prefix else self.enabled - {kind}
        return replace(self, enabled=frozenset(enabled))

    def prefix(self, kind: Kind, *, read: bool) -> str:
        """The prefix (without separator) for ``kind``; "" when none applies."""
        if kind not in self.enabled:
            return ""
        return self.data_source if read else self.put_prefix


def with_prefix(prefix: str, name: str) -> str:
    """``<prefix>.<name>``, or ``name`` if ``prefix`` is empty."""
    return f"{prefix}{SEPARATOR}{name}" if prefix else name


def tensor_key(prefixes: KeyPrefixes, name: str, *, read: bool) -> str:
    """Key of the tensor (or raw bytes) ``name``."""
    return with_prefix(prefixes.prefix(Kind.TENSOR, read=read), name)


def dataset_key(prefixes: KeyPrefixes, name: str, *, read: bool) -> str:
    """Key of the dataset ``name``: ``[<prefix>.]{<name>}``."""
    return with_prefix(prefixes.prefix(Kind.DATASET, read=read), "{" + name + "}")


def list_key(prefixes: KeyPrefixes, name: str, *, read: bool) -> str:
    """Key of the aggregation list ``name``."""
    return with_prefix(prefixes.prefix(Kind.LIST, read=read), name)


def model_key(prefixes: KeyPrefixes, name: str, *, read: bool) -> str:
    """Key of the model or script ``name`` (not prefixed unless switched on)."""
    return with_prefix(prefixes.prefix(Kind.MODEL, read=read), name)


def dataset_name(key: str) -> str:
    """The dataset name inside a dataset key or list entry (inverse of :func:`dataset_key`):
    the text between the first ``{`` and the last ``}``."""
    start, end = key.find("{"), key.rfind("}")
    if start < 0 or end <= start:
        raise RedisRuntimeError(f"{key!r} is not a dataset key (no '{{<name>}}' part)")
    return key[start + 1 : end]


def hash_tag(key: str) -> str:
    """The part of ``key`` that Redis Cluster hashes to pick a slot (its hash tag, or the
    whole key when it has none)."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
    return key


# --------------------------------------------------------------------- inference keys
# Keys the inference workers and clients share (docs/wire-format.md, "Inference"). Every
# key of one shard's queue carries the same hash tag, ``shard_tag(lowest slot it owns)``,
# so the stream, replies, heartbeats and statistics of a shard all live on that shard.
INFERENCE_PREFIX = "__insitu__"
_TAG_STEM = "q"


@functools.lru_cache(maxsize=64)
def slot_tag(slot: int) -> str:
    """The hash tag ``q<n>`` with the smallest ``n`` whose Redis Cluster slot is ``slot``
    (deterministic, so clients and workers derive the same keys without talking)."""
    if not 0 <= slot < SLOTS:
        raise RedisParameterError(f"slot {slot} is outside 0..{SLOTS - 1}")
    n = 0
    while key_slot(f"{_TAG_STEM}{n}".encode()) != slot:
        n += 1
    return f"{_TAG_STEM}{n}"


def queue_key(tag: str) -> str:
    """The request stream of the shard whose tag is ``tag``."""
    return f"{INFERENCE_PREFIX}:{{{tag}}}:queue"


def device_queue_key(tag: str, device: str) -> str:
    """The stream of requests forwarded to the workers of ``device`` (e.g. ``GPU:1``)."""
    return f"{INFERENCE_PREFIX}:{{{tag}}}:queue:{device}"


def heartbeat_key(tag: str, shard_index: int) -> str:
    """Exists (with a short expiry, refreshed) while a worker serves shard ``shard_index``."""
    return f"{INFERENCE_PREFIX}:{{{tag}}}:worker:{shard_index}"


def serving_key(tag: str) -> str:
    """Exists (short expiry, refreshed) while any worker serves this shard's queue."""
    return f"{INFERENCE_PREFIX}:{{{tag}}}:serving"


def alive_key(tag: str, worker_id: str) -> str:
    """Exists (short expiry, refreshed) while the worker process ``worker_id`` lives; its
    stream consumers are named ``<worker_id>/<thread>``."""
    return f"{INFERENCE_PREFIX}:{{{tag}}}:alive:{worker_id}"


def device_key(tag: str, device: str) -> str:
    """Exists (short expiry, refreshed) while some worker of this shard serves ``device``."""
    return f"{INFERENCE_PREFIX}:{{{tag}}}:device:{device}"


def reply_key(tag: str, request_id: str) -> str:
    """The list a worker pushes the reply to request ``request_id`` onto."""
    return f"{INFERENCE_PREFIX}:{{{tag}}}:reply:{request_id}"


def stats_key(tag: str, model: str) -> str:
    """The hash of run statistics of ``model`` (a model or script key) on one shard."""
    return f"{INFERENCE_PREFIX}:{{{tag}}}:stats:{model}"


def stats_index_key(tag: str) -> str:
    """The set of model keys that have a statistics hash on this shard (workers add a model
    when they first count it; monitors read it instead of scanning the keyspace)."""
    return f"{INFERENCE_PREFIX}:{{{tag}}}:stats-index"


# --------------------------------------------------------------------- cluster models
# On a cluster, a model or script is stored on every shard (as SmartRedis does), under
# ``{<shard prefix>}.<model key>``: the prefix is a short byte string that hashes to the
# lowest slot the shard serves, so the copy lives on that shard. It is computed exactly as
# SmartRedis computes it (an inverse CRC16), so both client families find each other's
# models. Temporary copies of a run's tensors that live on other shards are
# ``{<shard prefix>}.<tensor key>.TMP``.
_CRC16_POLY = 0x11021  # x^16 + x^12 + x^5 + 1


def _xor_shift(remainder: int, initial_shift: int, n_bits: int) -> int:
    digit, poly = 1 << initial_shift, _CRC16_POLY << initial_shift
    for _ in range(n_bits):
        if remainder & digit:
            remainder ^= poly
        digit, poly = digit << 1, poly << 1
    return remainder


def _prefix_ok(bits: int, n_chars: int) -> bool:
    bits >>= 16
    for _ in range(n_chars):
        if bits & 0xFF in (ord("{"), ord("}")):
            return False
        bits >>= 8
    return True


@functools.lru_cache(maxsize=64)
def shard_prefix(slot: int) -> bytes:
    """The prefix whose hash slot is ``slot`` (SmartRedis's inverse CRC16: 2 or 3 bytes,
    any byte but ``{`` and ``}``)."""
    if not 0 <= slot < SLOTS:
        raise RedisParameterError(f"slot {slot} is outside 0..{SLOTS - 1}")
    shifts, n_chars = 16, 2
    remainder = _xor_shift(slot, 0, shifts)
    while not _prefix_ok(remainder, n_chars):
        remainder = _xor_shift(remainder, shifts, 1)
        shifts += 1
        n_chars = (shifts + 7) // 8
    bits = remainder >> 16
    return bytes((bits >> (8 * (n_chars - 1 - i))) & 0xFF for i in range(n_chars))


def shard_model_key(slot: int, key: str) -> bytes:
    """The copy of model (or script) ``key`` on the shard whose lowest slot is ``slot``."""
    return b"{" + shard_prefix(slot) + b"}." + key.encode()


def shard_temp_key(slot: int, key: str) -> bytes:
    """Where a run on the shard whose lowest slot is ``slot`` keeps a copy of tensor
    ``key`` that lives on another shard."""
    return b"{" + shard_prefix(slot) + b"}." + key.encode() + b".TMP"
