"""What the driver shows while it waits (``start(block=True)``, ``poll``, a store getting
ready: :class:`Waiting`).

On a terminal, a live line redrawn in place with rich (the ``dashboard`` extra): entities by
state and the time waited. Otherwise — a pipe, a batch job's output, rich not installed — a
plain log line every ``INSITU_PROGRESS_INTERVAL`` seconds (default 5, as SmartSim logs while
it blocks). Off with ``start(..., progress=False)`` or ``INSITU_PROGRESS=0``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from insitu.errors import InvalidArgumentError
from insitu.jobs.status import JobState
from insitu.log import get_logger

logger = get_logger("insitu.experiment")

ENV_PROGRESS = "INSITU_PROGRESS"
ENV_INTERVAL = "INSITU_PROGRESS_INTERVAL"


def progress_enabled(argument: bool | None, env: Mapping[str, str] = os.environ) -> bool:
    """The argument if given, else ``INSITU_PROGRESS`` (default on)."""
    if argument is not None:
        return bool(argument)
    value = env.get(ENV_PROGRESS, "1").strip().lower()
    if value not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise InvalidArgumentError(f"{ENV_PROGRESS}={value!r}: use 1 (on) or 0 (off)")
    return value in ("1", "true", "yes", "on")


def line(states: Sequence[JobState], waited: float) -> str:
    """``3 running, 2 completed of 5 (12 s)`` — states in a fixed, readable order (pure)."""
    order = [JobState.QUEUED, JobState.RUNNING, JobState.PAUSED, JobState.COMPLETED,
             JobState.FAILED, JobState.CANCELLED, JobState.NEVER_STARTED]  # fmt: skip
    counts = {state: sum(1 for s in states if s is state) for state in order}
    parts = [f"{n} {state.value.lower()}" for state, n in counts.items() if n]
    return f"{', '.join(parts) or 'nothing'} of {len(states)} ({waited:.0f} s)"


def _interval(env: Mapping[str, str] = os.environ) -> float:
    interval = env.get(ENV_INTERVAL, "5")
    try:
        return float(interval)
    except ValueError:
        raise InvalidArgumentError(f"{ENV_INTERVAL}={interval!r}: not a number") from None


class Waiting:
    """``with Waiting(label, what):`` shows ``label: waiting for <what>, N s`` while the block
    runs, then ``label: <what> ready after N s`` (the block succeeded) or ``... not ready
    after N s`` (it raised). On a terminal, one line redrawn by rich's own refresh thread;
    otherwise a log line when the wait begins and one per interval, and one when it ends if
    the wait was long enough for those or failed (a quick store's own "ready" line says the
    rest)."""

    def __init__(self, label: str, what: str) -> None:
        self._label = label
        self._what = what
        self._began = time.monotonic()
        self._outcome: str | None = None
        self._live: Any = None
        self._interval = _interval()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._logged = 0

    def text(self) -> str:
        """The line as it stands now."""
        waited = time.monotonic() - self._began
        if self._outcome is None:
            return f"{self._label}: waiting for {self._what}, {waited:.0f} s"
        return f"{self._label}: {self._what} {self._outcome} after {waited:.1f} s"

    def __enter__(self) -> Waiting:
        if sys.stdout.isatty():
            try:
                from rich.live import Live
                from rich.text import Text
            except ImportError:
                pass
            else:
                self._live = Live(get_renderable=lambda: Text(self.text()), refresh_per_second=4)
                self._live.start(refresh=True)
                return self
        logger.info("%s", self.text())
        self._thread = threading.Thread(target=self._log, name="insitu-waiting", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        self._outcome = "ready" if kind is None else "not ready"
        self._done.set()
        if self._live is not None:
            self._live.stop()  # draws the final line and leaves it
            self._live = None
            return
        if self._thread is not None:
            self._thread.join()
        if self._logged or kind is not None:
            logger.info("%s", self.text())

    def _log(self) -> None:
        while not self._done.wait(self._interval):
            self._logged += 1
            logger.info("%s", self.text())


class Progress:
    """Calls ``states()`` on each :meth:`tick` and shows the result (see the module docs)."""

    def __init__(self, label: str, states: Callable[[], Sequence[JobState]]) -> None:
        self._label = label
        self._states = states
        self._began = time.monotonic()
        self._live: Any = None
        self._last_log = self._began
        self._interval = _interval()
        if sys.stdout.isatty():
            try:
                from rich.live import Live
                from rich.text import Text
            except ImportError:
                return
            self._text = Text
            self._live = Live(Text(""), auto_refresh=False, transient=False)
            self._live.start()

    def tick(self) -> None:
        """Show the current states (the live line each time, a log line per interval)."""
        now = time.monotonic()
        text = f"{self._label}: {line(self._states(), now - self._began)}"
        if self._live is not None:
            self._live.update(self._text(text), refresh=True)
        elif now - self._last_log >= self._interval:
            self._last_log = now
            logger.info("%s", text)

    def close(self) -> None:
        """Leave the last line on the terminal."""
        if self._live is not None:
            self.tick()
            self._live.stop()
            self._live = None
