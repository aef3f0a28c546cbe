"""The telemetry sampler: a small thread of the driver that writes, every ``period``
seconds, one sample per watched store shard, per model its workers counted and per extra
source (a rules session) to ``<exp_path>/.insitu/telemetry.jsonl``
(format: :mod:`insitu.wire.telemetry`).

The thread starts with the first store watched or source added, and ends on :meth:`close`.
Writing telemetry never fails the experiment: a file that cannot be written is logged once
(and again after a success), a store that does not answer is sampled as down, a source that
raises is logged and skipped. The file is bounded: past ``max_bytes`` it is renamed to
``telemetry.1.jsonl`` (replacing the older one) and a new file begins with a header.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from insitu.log import get_logger
from insitu.runtime.store_probe import ShardProbe
from insitu.wire.endpoint import Endpoint
from insitu.wire.telemetry import (
    TELEMETRY_FILE,
    TELEMETRY_OLD_FILE,
    SampleLine,
    TelemetryHeader,
    format_line,
)

logger = get_logger("insitu.runtime.telemetry")

DEFAULT_PERIOD = 5.0
"""Seconds between two samples (SmartSim's telemetry monitor samples every 5 s too)."""
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
"""Size past which the file is rotated: the two files stay under twice this."""

CLOSE_WAIT = 5.0
"""Seconds :meth:`TelemetrySampler.close` waits for a round in progress (each probe gives
up sooner)."""

Source = Callable[[str, float], SampleLine | None]
"""An extra source: called with the run id and the time of the round, returns its sample."""

_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_FILE_MODE = 0o644  # as the launch record: readable by a dashboard of another user, no secret


class TelemetryFile:
    """Appends telemetry lines to ``<directory>/telemetry.jsonl``, rotating it at
    ``max_bytes``. Used by one thread at a time (the sampler's)."""

    def __init__(self, directory: Path, run: str, period: float, max_bytes: int) -> None:
        self.path = directory / TELEMETRY_FILE
        self.old_path = directory / TELEMETRY_OLD_FILE
        self._run = run
        self._period = period
        self._max_bytes = max_bytes
        self._fd: int | None = None
        self._size = 0
        self._failing = False

    def write(self, lines: Sequence[SampleLine]) -> None:
        """Append ``lines`` (one ``write``), opening or rotating the file first if due."""
        data = "".join(format_line(line) + "\n" for line in lines).encode()
        try:
            if self._fd is not None and self._size + len(data) > self._max_bytes:
                self._rotate()
            if self._fd is None:
                self._open()
            assert self._fd is not None
            self._size += _write_all(self._fd, data)
        except OSError as err:
            if not self._failing:
                logger.warning("could not write telemetry to %s: %s", self.path, err)
            self._failing = True
            self.close()
            return
        self._failing = False

    def close(self) -> None:
        """Close the file (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, _OPEN_FLAGS, _FILE_MODE)
        self._fd = fd
        self._size = os.fstat(fd).st_size
        header = TelemetryHeader(self._run, time.time(), self._period)
        self._size += _write_all(fd, (format_line(header) + "\n").encode())

    def _rotate(self) -> None:
        self.close()
        os.replace(self.path, self.old_path)


def _switched_on(enabled: Callable[[], bool]) -> bool:
    try:
        return bool(enabled())
    except Exception:  # a broken switch must not end the round for the other stores
        logger.exception("telemetry switch failed")
        return False


def _write_all(fd: int, data: bytes) -> int:
    done = 0
    while done < len(data):
        done += os.write(fd, data[done:])
    return done


class TelemetrySampler:
    """Samples watched stores and extra sources into a :class:`TelemetryFile`.

    Thread-safe: stores are watched from store-event listeners, sources added by rules
    sessions, :meth:`close` called by the experiment. ``enabled`` false skips rounds
    (``Experiment.telemetry.disable()``); ``period`` may change between rounds.
    """

    def __init__(
        self,
        directory: Path,
        run: str,
        period: float = DEFAULT_PERIOD,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.run = run
        self.period = period
        self.enabled = True
        self._file = TelemetryFile(directory, run, period, max_bytes)
        self._lock = threading.Lock()
        self._stores: dict[str, list[ShardProbe]] = {}
        self._switches: dict[str, Callable[[], bool]] = {}
        self._sources: dict[str, Source] = {}
        self._thread: tuple[threading.Thread, threading.Event] | None = None

    @property
    def path(self) -> Path:
        """The current telemetry file."""
        return self._file.path

    def watch(
        self,
        name: str,
        endpoints: Sequence[Endpoint],
        clustered: bool,
        enabled: Callable[[], bool] = lambda: True,
    ) -> None:
        """Sample the store ``name``, one shard per endpoint (in shard order), in the rounds
        where ``enabled()`` is true (the store's own switch)."""
        probes = [ShardProbe(name, i, e, clustered) for i, e in enumerate(endpoints)]
        with self._lock:
            old = self._stores.pop(name, [])
            self._stores[name] = probes
            self._switches[name] = enabled
        for probe in old:
            probe.close()
        self._ensure_thread()

    def unwatch(self, name: str) -> None:
        """Stop sampling the store ``name`` (no error if it is not watched)."""
        with self._lock:
            probes = self._stores.pop(name, [])
            self._switches.pop(name, None)
        for probe in probes:
            probe.close()

    def add_source(self, name: str, source: Source) -> Callable[[], None]:
        """Sample ``source`` every round until the returned function is called."""
        with self._lock:
            self._sources[name] = source
        self._ensure_thread()

        def remove() -> None:
            with self._lock:
                if self._sources.get(name) is source:
                    del self._sources[name]

        return remove

    def sample_once(self) -> list[SampleLine]:
        """Take one round of samples now and write them; returns them."""
        now = time.time()
        with self._lock:
            groups = [(group, self._switches[name]) for name, group in self._stores.items()]
            sources = list(self._sources.items())
        probes = [p for group, enabled in groups if _switched_on(enabled) for p in group]
        lines: list[SampleLine] = [line for probe in probes for line in probe.sample(self.run, now)]
        for name, source in sources:
            try:
                line = source(self.run, now)
            except Exception:
                logger.exception("telemetry source %s failed", name)
                continue
            if line is not None:
                lines.append(line)
        if lines:
            self._file.write(lines)
        return lines

    def close(self) -> None:
        """End the thread (after a round in progress), release connections and the file.
        Watching a store again later starts a new thread (an experiment resumed after
        ``stop_all``)."""
        with self._lock:
            current, self._thread = self._thread, None
            probes = [p for group in self._stores.values() for p in group]
            self._stores.clear()
            self._switches.clear()
            self._sources.clear()
        if current is not None:
            thread, stop = current
            stop.set()
            if thread is not threading.current_thread():
                thread.join(timeout=CLOSE_WAIT)
        for probe in probes:
            probe.close()
        self._file.close()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            stop = threading.Event()
            thread = threading.Thread(
                target=self._run, args=(stop,), name="insitu-telemetry", daemon=True
            )
            self._thread = (thread, stop)
            thread.start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if self.enabled:
                try:
                    self.sample_once()
                except Exception:  # a bug here must not end the driver's telemetry for good
                    logger.exception("telemetry round failed")
            stop.wait(self.period)
