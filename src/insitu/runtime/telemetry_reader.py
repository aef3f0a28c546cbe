"""Reading an experiment's telemetry files, once or as they grow (any process, no driver).

Only complete lines count (a last line without its ``\\n`` is still being written); bad lines
are skipped and counted, because telemetry is an observation: a torn or foreign line must not
hide the rest. See :mod:`insitu.wire.telemetry` for the format.
"""

from __future__ import annotations

import os
from pathlib import Path

from insitu.runtime.record import _Tail
from insitu.wire.telemetry import Telemetry, TelemetryFolder, telemetry_paths


def read_telemetry(exp_path: str | os.PathLike[str]) -> Telemetry:
    """Every sample of the experiment at ``exp_path`` (the previous file first); empty when
    it has no telemetry."""
    follower = TelemetryFollower(exp_path)
    follower.poll()
    follower.close()
    return follower.value()


class TelemetryFollower:
    """Keeps the samples of one experiment up to date: :meth:`poll` reads what was appended
    since the last call (the older file once, at the start; a rotation is followed)."""

    def __init__(self, exp_path: str | os.PathLike[str]) -> None:
        old, current = telemetry_paths(exp_path)
        self._old: Path | None = old
        self._tail = _Tail(current)
        self._folder = TelemetryFolder()

    def poll(self) -> bool:
        """Read new lines; True if there were any."""
        count = 0
        if self._old is not None:
            count += self._read_old(self._old)
            self._old = None
        for number, text in self._tail.read_lines():
            self._folder.add_text(text, strict=False, number=number)
            count += 1
        return count > 0

    def value(self) -> Telemetry:
        """Everything read so far."""
        return self._folder.value()

    def close(self) -> None:
        """Release the file."""
        self._tail.close()

    def _read_old(self, path: Path) -> int:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return 0
        complete = data[: data.rfind(b"\n") + 1].decode("utf-8", errors="replace")
        lines = complete.split("\n")[:-1]
        for number, text in enumerate(lines, start=1):
            self._folder.add_text(text, strict=False, number=number)
        return len(lines)
