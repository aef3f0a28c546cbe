"""The one place that runs workload-manager CLI tools (``sbatch``, ``qstat``, ``bkill`` …).

:func:`run_tool` runs one command to completion with a timeout and returns its output as a
:class:`ToolOutput` value, so that the parsers that read it stay pure. Failures are typed and
carry the command line and its stderr: a missing tool or a non-zero exit raises
:class:`~insitu.errors.ShellError`, a tool that hangs is killed (with everything it started)
and raises :class:`~insitu.errors.CommandTimeoutError`.

Jobs themselves are not run here: the local launcher owns its job processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from insitu.errors import CommandTimeoutError, ShellError
from insitu.log import get_logger

logger = get_logger("insitu.launchers.subprocesses")

DEFAULT_TIMEOUT = 60.0
"""Seconds a scheduler command may take; a busy controller answers slowly, but not never."""


@dataclass(frozen=True)
class ToolOutput:
    """What a finished command produced (text, decoded as UTF-8 with replacement)."""

    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.returncode == 0


def run_tool(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> ToolOutput:
    """Run ``argv`` (no shell) and wait for it, at most ``timeout`` seconds.

    ``check`` makes a non-zero exit raise ``ShellError``; without it the caller reads
    ``returncode`` itself (status commands that fail for finished jobs). ``env`` replaces
    the environment (default: this process's). The tool runs in its own session, so on a
    timeout the whole group it started is killed, not only the tool.
    """
    command = tuple(argv)
    logger.debug("running %s", " ".join(command))
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as error:
        raise ShellError(
            f"could not run {command[0]}: {error.strerror or error}", command
        ) from error
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        _, stderr = proc.communicate()
        raise CommandTimeoutError(
            f"{command[0]} did not finish within {timeout:g} s and was killed",
            command,
            _text(stderr),
            timeout,
        ) from None
    result = ToolOutput(command, proc.returncode, _text(stdout), _text(stderr))
    if check and not result.ok:
        raise ShellError(
            f"{command[0]} failed with exit status {proc.returncode}", command, result.stderr
        )
    return result


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")
