"""Process ownership: whatever insitu started is stopped when its owner goes away.

Every :class:`~insitu.runtime.controller.Controller` registers here. At normal interpreter
exit (``atexit``), and on SIGTERM/SIGHUP when the program has not installed its own handler,
every registered controller is shut down — its jobs (models, shards) are stopped. SIGINT
raises ``KeyboardInterrupt`` as usual; an uncaught one ends the interpreter, which runs the
``atexit`` hook. Only a SIGKILL of the driver escapes this.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
import weakref
from types import FrameType
from typing import Protocol

from insitu.log import get_logger

logger = get_logger("insitu.runtime.reaper")


class Owner(Protocol):
    """Something that can stop everything it started."""

    def shutdown(self) -> None: ...


_owners: weakref.WeakSet[Owner] = weakref.WeakSet()
_lock = threading.Lock()
_installed: list[bool] = []  # non-empty once the hooks are installed
_HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def register(owner: Owner) -> None:
    """Shut ``owner`` down at interpreter exit or on a terminating signal."""
    with _lock:
        _owners.add(owner)
        _install_once()


def unregister(owner: Owner) -> None:
    """Forget ``owner`` (after it was shut down explicitly)."""
    with _lock:
        _owners.discard(owner)


def shutdown_all() -> None:
    """Shut down every registered owner; errors are logged, never raised."""
    with _lock:
        owners = list(_owners)
    for owner in owners:
        try:
            owner.shutdown()
        except Exception:
            logger.exception("failed to stop processes of %r", owner)


def _install_once() -> None:
    if _installed:
        return
    _installed.append(True)
    atexit.register(shutdown_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _HANDLED_SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Stop everything, then die of the same signal so the exit status tells the truth."""
    logger.warning("received signal %d; stopping every job this program started", signum)
    shutdown_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
