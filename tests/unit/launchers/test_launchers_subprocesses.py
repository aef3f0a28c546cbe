"""run_tool: the one way CLI tools are run (output, typed failures, timeouts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu.errors import CommandTimeoutError, LauncherError, ShellError
from insitu.launchers.subprocesses import run_tool
from tests.helpers import process_gone


def test_output_is_returned() -> None:
    result = run_tool(["/bin/sh", "-c", "echo out; echo err >&2"])
    assert (result.ok, result.stdout, result.stderr) == (True, "out\n", "err\n")
    assert result.command == ("/bin/sh", "-c", "echo out; echo err >&2")


def test_a_failure_carries_command_and_stderr() -> None:
    with pytest.raises(ShellError, match="exit status 2") as info:
        run_tool(["/bin/sh", "-c", "echo refused >&2; exit 2"])
    assert info.value.command[0] == "/bin/sh"
    assert info.value.stderr == "refused\n"
    assert isinstance(info.value, LauncherError)


def test_unchecked_failures_are_returned() -> None:
    result = run_tool(["/bin/sh", "-c", "exit 1"], check=False)
    assert (result.ok, result.returncode) == (False, 1)


def test_a_missing_tool() -> None:
    with pytest.raises(ShellError, match="could not run no-such-tool") as info:
        run_tool(["no-such-tool", "x"])
    assert info.value.command == ("no-such-tool", "x")


def test_a_hanging_tool_is_killed_with_what_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    hang = f"sleep 300 & echo $! > {pid_file}; echo waiting >&2; wait"
    with pytest.raises(CommandTimeoutError, match=r"did not finish within 0\.5 s") as info:
        run_tool(["/bin/sh", "-c", hang], timeout=0.5)
    assert info.value.transient and info.value.timeout == 0.5
    assert info.value.stderr == "waiting\n"
    child = int(pid_file.read_text())
    assert process_gone(child)  # SIGKILLed with its group; polled: the kill is asynchronous
