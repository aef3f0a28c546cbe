"""Process ownership: whatever insitu started is stopped when its owner goes away.

Every :class:`~insitu.runtime.controller.Controller` registers here. At normal interpreter
exit (``atexit``), and on SIGTERM/SIGHUP when the program has not installed its own handler,
every registered controller is shut down — its jobs (models, shards) are stopped. SIGINT
raises ``KeyboardInterrupt`` as usual; an uncaught one ends the interpreter, which runs the
``atexit`` hook. A SIGKILL of the driver escapes all of this; the local launcher then
relies on the kernel (``PR_SET_PDEATHSIG``, see :mod:`insitu.launchers.local`).

Contract:

* **Only the process that registered an owner shuts it down.** A child forked from the
  driver (``os.fork``, ``multiprocessing`` with the fork start method) inherits the
  ``atexit`` hook, the signal handlers and the launcher's objects; at the fork the child
  forgets every owner and gets the default SIGTERM/SIGHUP disposition back
  (``os.register_at_fork``), and :func:`shutdown_all` does nothing in any process but the
  one that registered the owners. So a pool worker that is terminated, or a forked child
  that calls ``sys.exit``, stops nothing of its parent.
* **Signal handlers are installed on the main thread** (Python allows nothing else): when
  this module is first imported there, else by the first :func:`register` made there. An
  Experiment created off the main thread is covered as long as insitu's runtime was
  imported on it (``from insitu import Experiment`` at the top of a script does that).
* **A signal during the shutdown hurries it, never cuts it short.** While
  :func:`shutdown_all` runs on the main thread, SIGINT, SIGTERM and SIGHUP make the
  launchers skip the rest of their grace periods (SIGKILL at once) instead of abandoning
  the shutdown; a deferred SIGTERM/SIGHUP is delivered again once it is over, so the exit
  status still tells the truth.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Protocol

from insitu.launchers import local
from insitu.log import get_logger

logger = get_logger("insitu.runtime.reaper")


class Owner(Protocol):
    """Something that can stop everything it started."""

    def shutdown(self) -> None: ...


_HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_HURRY_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class _State:
    """Everything this process knows about its owners (reset in a forked child)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Own nothing, as a process that registered nothing yet."""
        self.pid = os.getpid()
        self.owners: weakref.WeakSet[Owner] = weakref.WeakSet()
        self.lock = threading.Lock()
        self.signals_installed = False
        self.shutting_down = 0  # nesting depth of shutdown_all on the main thread
        self.deferred: list[int] = []  # signals received during a shutdown


_state = _State()
_atexit_installed: list[bool] = []  # non-empty once the atexit hook is registered


def register(owner: Owner) -> None:
    """Shut ``owner`` down at interpreter exit or on a terminating signal."""
    with _state.lock:
        _state.owners.add(owner)
        if not _atexit_installed:
            _atexit_installed.append(True)
            atexit.register(shutdown_all)
    install_signal_handlers()


def unregister(owner: Owner) -> None:
    """Forget ``owner`` (after it was shut down explicitly)."""
    with _state.lock:
        _state.owners.discard(owner)


def owners() -> list[Owner]:
    """The owners registered by this process (none in a forked child)."""
    with _state.lock:
        return list(_state.owners) if _state.pid == os.getpid() else []


def shutdown_all() -> None:
    """Shut down every owner this process registered; errors are logged, never raised.

    Does nothing in a forked child of the registering process (see the module contract).
    """
    found = owners()
    if not found:
        return
    with _hurry_on_signals():
        for owner in found:
            try:
                owner.shutdown()
            except Exception:
                logger.exception("failed to stop processes of %r", owner)


def install_signal_handlers() -> bool:
    """Install the SIGTERM/SIGHUP handlers where the program left the default; True once
    they are installed (only possible on the main thread)."""
    if _state.signals_installed:
        return True
    if threading.current_thread() is not threading.main_thread():
        return False
    for sig in _HANDLED_SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _on_signal)
    _state.signals_installed = True
    return True


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Stop everything, then die of the same signal so the exit status tells the truth."""
    if _state.pid != os.getpid():  # a forked child that kept the handler: default action
        _die_of(signum)
        return
    if _state.shutting_down:  # nested in a shutdown (handlers were not swapped in time)
        _defer(signum, frame)
        return
    logger.warning("received signal %d; stopping every job this program started", signum)
    shutdown_all()
    _die_of(signum)


def _die_of(signum: int) -> None:
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _defer(signum: int, frame: FrameType | None) -> None:
    """A signal during a shutdown: finish it quickly (SIGKILL now), exit afterwards."""
    logger.warning("received signal %d while stopping jobs; killing what is left now", signum)
    _state.deferred.append(signum)
    local.hurry()


@contextlib.contextmanager
def _hurry_on_signals() -> Iterator[None]:
    """On the main thread: SIGINT/SIGTERM/SIGHUP hurry the shutdown (see the module
    contract) instead of interrupting it; afterwards the program's handlers are back and a
    deferred SIGTERM/SIGHUP is delivered again."""
    main = threading.current_thread() is threading.main_thread()
    previous: dict[int, Handler] = {}
    if main:
        _state.shutting_down += 1
        for sig in _HURRY_SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                previous[sig] = signal.signal(sig, _defer)
    try:
        yield
    finally:
        if main:
            _state.shutting_down -= 1
            for signum, handler in previous.items():
                with contextlib.suppress(ValueError, OSError, TypeError):
                    signal.signal(signum, handler)
            if not _state.shutting_down:
                local.hurry(False)
                _redeliver(previous)


def _redeliver(previous: dict[int, Handler]) -> None:
    """Deliver a SIGTERM/SIGHUP deferred during the shutdown again (SIGINT was a request
    to hurry: it has been honoured)."""
    deferred = [s for s in _state.deferred if s != signal.SIGINT]
    _state.deferred.clear()
    if not deferred:
        return
    first = deferred[0]
    if previous.get(first) is _on_signal or previous.get(first) == signal.SIG_DFL:
        _die_of(first)  # nothing left to stop
    else:
        os.kill(os.getpid(), first)  # the program's own handler decides


def _after_fork_in_child() -> None:
    """A forked child owns nothing of its parent (see the module contract)."""
    parent_handlers = _state.signals_installed
    _state.reset()
    if parent_handlers:
        for sig in _HANDLED_SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                if signal.getsignal(sig) is _on_signal:
                    signal.signal(sig, signal.SIG_DFL)


os.register_at_fork(after_in_child=_after_fork_in_child)
install_signal_handlers()
