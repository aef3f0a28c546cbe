"""The launch record's file I/O: the driver's writer and any process's reader.

The format (line kinds, runs, versions) is :mod:`insitu.wire.record`; this module only moves
its lines between the runtime's events and ``<exp_path>/.insitu/events.jsonl``.

* :class:`RecordWriter` listens to a controller's job and store events and appends one line
  per event. Each line goes to the kernel in one ``write`` on a file opened ``O_APPEND``, so
  another process sees it at once and lines of two drivers never mix within a line. The file
  is created with the first event (as SmartSim creates ``.smartsim/`` on ``start``): an
  Experiment that starts nothing writes nothing.
* :func:`read_record` reads a record once; :func:`follow_record` yields its lines as they are
  appended. Both read only the file: they start nothing and need no driver.

Writing the record never fails the experiment: a directory that cannot be created or a file
that cannot be opened is logged once and the experiment runs without a record; a failed write
is logged and the next line is still attempted.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from uuid import uuid4

from insitu import hosts
from insitu.jobs.events import JobEvent
from insitu.log import get_logger
from insitu.runtime.events import StoreEvent
from insitu.wire.record import (
    JobLine,
    Record,
    RecordLine,
    RunHeader,
    StoreLine,
    format_line,
    parse_line_at,
    parse_record,
    record_path,
)

logger = get_logger("insitu.runtime.record")

# Read too: the last byte is checked on open (see _ends_mid_line).
_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_FILE_MODE = 0o644  # readable by a dashboard run by another user: the record holds no secret


@dataclass(frozen=True)
class RunFacts:
    """What a run's header says about the experiment (the writer adds host, pid, times)."""

    experiment: str
    exp_path: str
    launcher: str


class RecordWriter:
    """Appends the events of one run to a record file (an event-bus listener).

    Subscribe :meth:`on_job` and :meth:`on_store` to a controller. Thread-safe: events
    arrive on the monitor, teardown and caller threads. The header is written just before
    the first event. :meth:`close` releases the file; an event after it opens the file
    again (without a second header), so a run resumed after ``stop_all()`` is recorded.
    """

    def __init__(self, path: str | os.PathLike[str], facts: RunFacts) -> None:
        self.path = Path(path)
        self.run_id = uuid4().hex[:16]
        self._facts = facts
        self._began = time.time()
        # Re-entrant: a SIGTERM handler (the reaper) may stop stores, and so write their
        # lines, on a thread that is already inside _append.
        self._lock = threading.RLock()
        self._fd: int | None = None
        self._header_written = False
        self._disabled = False
        self._torn = False  # the last write stopped mid-line: end that line first
        self._failing = False  # a write failure was logged; log again after a success

    def on_job(self, event: JobEvent) -> None:
        """Listener for job events: appends a ``job`` line."""
        self._append(
            JobLine(
                run=self.run_id,
                time=event.time,
                job_id=event.job_id,
                name=event.name,
                entity_type=event.entity_type,
                previous=event.previous.value,
                state=event.state.value,
                returncode=event.returncode,
                host=event.host,
                out=event.out_path,
                err=event.err_path,
            )
        )

    def on_store(self, event: StoreEvent) -> None:
        """Listener for store events: appends a ``store`` line (addresses, never secrets)."""
        self._append(
            StoreLine(
                run=self.run_id,
                time=event.time,
                name=event.name,
                state=event.state,
                addresses=event.addresses,
                clustered=event.clustered,
                shards=event.shards,
                colocated=event.colocated,
            )
        )

    def close(self) -> None:
        """Close the file (idempotent); every line written so far is already in it."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as err:
                logger.warning("closing the launch record %s failed: %s", self.path, err)

    def _append(self, line: RecordLine) -> None:
        with self._lock:
            fd = self._open()
            if fd is None:
                return
            lines = [] if self._header_written else [self._header()]
            data = "".join(format_line(item) + "\n" for item in [*lines, line]).encode()
            if self._write(fd, b"\n" + data if self._torn else data):
                self._header_written = True

    def _open(self) -> int | None:
        """The open file, opened now if need be; ``None`` when the record is disabled."""
        if self._fd is not None or self._disabled:
            return self._fd
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, _OPEN_FLAGS, _FILE_MODE)
        except OSError as err:
            self._disabled = True
            logger.warning(
                "cannot write the launch record %s (%s); the experiment runs without it",
                self.path,
                err,
            )
            return None
        self._fd = fd
        # A driver killed mid-write can leave a line without its newline; ours must not
        # continue it.
        self._torn = _ends_mid_line(fd)
        return fd

    def _write(self, fd: int, data: bytes) -> bool:
        done = 0
        try:
            while done < len(data):
                done += os.write(fd, data[done:])
        except OSError as err:
            self._torn = 0 < done < len(data) or (self._torn and done == 0)
            if not self._failing:
                logger.warning("could not append to the launch record %s: %s", self.path, err)
            self._failing = True
            return False
        self._torn = False
        self._failing = False
        return True

    def _header(self) -> RunHeader:
        return RunHeader(
            run=self.run_id,
            experiment=self._facts.experiment,
            path=self._facts.exp_path,
            launcher=self._facts.launcher,
            insitu_version=_insitu_version(),
            host=hosts.this_host(),
            pid=os.getpid(),
            time=self._began,
        )


def _insitu_version() -> str:
    # From the installed distribution: the runtime does not import the package face.
    try:
        return metadata.version("insitu")
    except metadata.PackageNotFoundError:
        return "unknown"


def _ends_mid_line(fd: int) -> bool:
    try:
        size = os.fstat(fd).st_size
        return size > 0 and os.pread(fd, 1, size - 1) != b"\n"
    except OSError:  # not a regular file (a device, a pipe): nothing to continue
        return False


# ----------------------------------------------------------------------------- reading


def read_record(path: str | os.PathLike[str], *, strict: bool = True) -> Record:
    """Read a record once: ``path`` is the record file or an experiment directory.

    Only complete lines count; a line still being written is left for a later read.
    Raises ``FileNotFoundError`` when there is no record (yet), and the errors of
    :func:`~insitu.wire.record.parse_record` (``strict`` as there).
    """
    file = _record_file(path)
    data = file.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    lines = complete.decode("utf-8", errors="replace").split("\n")[:-1]
    return parse_record(lines, strict=strict, path=str(file))


def follow_record(
    path: str | os.PathLike[str],
    *,
    timeout: float | None = None,
    poll_interval: float = 0.1,
) -> Generator[RecordLine, None, None]:
    """Yield every line of a record, oldest first, then each line as it is appended,
    until ``timeout`` seconds have passed (``None``: until the caller stops iterating).

    ``path`` is the record file or an experiment directory; the file need not exist yet.
    Lines of kinds this reader does not know are skipped. A bad line raises
    :class:`~insitu.errors.RecordFormatError` naming its number; a refused format
    :class:`~insitu.errors.RecordVersionError`. A file that is replaced or shrinks is
    read again from its start. ``close()`` the generator (or exhaust it) to release the
    file early.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    tail = _Tail(_record_file(path))
    try:
        while True:
            for number, text in tail.read_lines():
                if text.strip():
                    line = parse_line_at(text, number, str(tail.path))
                    if line is not None:
                        yield line
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            time.sleep(poll_interval if remaining is None else min(poll_interval, remaining))
    finally:
        tail.close()


def _record_file(path: str | os.PathLike[str]) -> Path:
    given = Path(path)
    return record_path(given) if given.is_dir() else given


class _Tail:
    """Reads the complete lines appended to a file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: int | None = None
        self._inode: tuple[int, int] | None = None
        self._offset = 0
        self._pending = b""
        self._number = 0

    def read_lines(self) -> list[tuple[int, str]]:
        """New complete lines with their 1-based numbers (none if the file is missing)."""
        self._reopen_if_replaced()
        if self._file is None:
            return []
        chunks = []
        while chunk := os.pread(self._file, 1 << 16, self._offset):
            chunks.append(chunk)
            self._offset += len(chunk)
        data = self._pending + b"".join(chunks)
        *complete, self._pending = data.split(b"\n")
        out = []
        for raw in complete:
            self._number += 1
            out.append((self._number, raw.decode("utf-8", errors="replace")))
        return out

    def close(self) -> None:
        if self._file is not None:
            os.close(self._file)
            self._file = None

    def _reopen_if_replaced(self) -> None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return
        inode = (stat.st_dev, stat.st_ino)
        if self._file is not None and inode == self._inode and stat.st_size >= self._offset:
            return
        self.close()
        try:
            self._file = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        opened = os.fstat(self._file)
        self._inode = (opened.st_dev, opened.st_ino)
        self._offset, self._pending, self._number = 0, b"", 0
