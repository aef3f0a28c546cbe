"""Terminal helpers of the CLI: a refreshing display and a file follower.

On a terminal, ``watch`` redraws in place with rich (the ``dashboard`` extra) when it is
installed; otherwise, and when the output is not a terminal, it prints each new frame after a
blank line. Nothing waits by sleeping on a condition another process could signal: these
loops only pace how often the files are read.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path


def watch(frame: Callable[[], tuple[str, bool]], interval: float) -> int:
    """Show ``frame()``'s text every ``interval`` seconds while its flag says "still
    running"; the last frame stays on screen. Ctrl-C ends it (exit status 130)."""
    try:
        if sys.stdout.isatty():
            try:
                from rich.console import Console
                from rich.live import Live
                from rich.text import Text
            except ImportError:
                pass
            else:
                text, running = frame()
                with Live(Text(text), console=Console(), auto_refresh=False) as live:
                    while running:
                        time.sleep(interval)
                        text, running = frame()
                        live.update(Text(text), refresh=True)
                return 0
        shown = None
        while True:
            text, running = frame()
            if text != shown:
                print(("\n" if shown is not None else "") + text, flush=True)
                shown = text
            if not running:
                return 0
            time.sleep(interval)
    except KeyboardInterrupt:
        return 130


def follow_file(
    path: Path, lines: int, ended: Callable[[], bool] | None, poll: float = 0.25
) -> int:
    """Print the last ``lines`` lines of ``path``; with ``ended``, keep printing what is
    appended until ``ended()`` is true and nothing more came (Ctrl-C ends it too)."""
    out = sys.stdout
    offset = 0
    try:
        if path.exists():
            data = path.read_bytes()
            tail = data.splitlines(keepends=True)[-lines:] if lines else []
            out.write(b"".join(tail).decode("utf-8", errors="replace"))
            out.flush()
            offset = len(data)
        elif ended is None:
            print(f"insitu: {path} has not been written yet", file=sys.stderr)
            return 1
        while ended is not None:
            finished = ended()  # asked before reading, so the last output is not missed
            with_new = False
            if path.exists():
                with path.open("rb") as file:
                    file.seek(offset)
                    chunk = file.read()
                if chunk:
                    out.write(chunk.decode("utf-8", errors="replace"))
                    out.flush()
                    offset += len(chunk)
                    with_new = True
            if finished and not with_new:
                return 0
            time.sleep(poll)
        return 0
    except KeyboardInterrupt:
        return 130
