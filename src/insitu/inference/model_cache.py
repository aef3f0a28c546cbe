"""Loaded models and scripts of one worker, by key and stored version.

A worker learns a key's current header with every request (inlined by the client's
queueing script, else one ``HGET``) and calls :meth:`ModelCache.lookup` with its
``version``: a hit returns the loaded session, a miss
means the record changed (or was never loaded) and the worker fetches the whole record and
calls :meth:`ModelCache.load`. Load failures are cached too (per version), so a corrupt
model costs one fetch, not one per request. Least recently used entries beyond
``capacity`` are dropped. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from insitu.errors import InferenceError, InsituError, MissingDependencyError
from insitu.inference.backends import BackendThreads, Session, get_backend
from insitu.wire.devices import parse_device
from insitu.wire.model_record import ModelHeader


@dataclass(frozen=True)
class Loaded:
    """One cache entry: the header it was loaded from, and the session or the error."""

    header: ModelHeader
    session: Session | None
    error: InsituError | None = None

    def require(self) -> Session:
        """The session; the load error if loading failed."""
        if self.session is None:
            assert self.error is not None
            raise self.error
        return self.session


class ModelCache:
    """Sessions by model key (see the module docs)."""

    def __init__(self, threads: BackendThreads, capacity: int = 64) -> None:
        self._threads = threads
        self._capacity = capacity
        self._entries: OrderedDict[str, Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, key: str, version: str) -> Loaded | None:
        """The entry of ``key`` if it was loaded from ``version``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.header.version != version:
                return None
            self._entries.move_to_end(key)
            return entry

    def load(self, key: str, header: ModelHeader, blob: bytes) -> Loaded:
        """Load ``blob`` with its backend and remember the result (session or error)."""
        try:
            backend = get_backend(header.backend)
            device = parse_device(header.device)
            entry = Loaded(header, backend.load(blob, header, device, self._threads))
        except (InferenceError, MissingDependencyError) as err:
            if isinstance(err, InferenceError) and not err.key:
                err.key = key
            entry = Loaded(header, None, err)
        except (KeyError, InsituError) as err:  # unknown backend name, bad device string
            entry = Loaded(header, None, InferenceError(f"cannot load {key!r}: {err}", key, "load"))
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return entry

    def forget(self, key: str) -> None:
        """Drop ``key`` (e.g. after it was deleted from the store)."""
        with self._lock:
            self._entries.pop(key, None)
