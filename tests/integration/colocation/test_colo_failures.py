"""Bad input and failed launches: typed errors, and nothing left running."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from insitu import Experiment, JobState
from insitu.errors import InvalidArgumentError, LauncherError, PortInUseError, ShardStartError
from insitu.store.readiness import find_free_port_block
from tests.integration.colocation.conftest import app_model


def test_explicit_port_in_use(exp: Experiment, app: Path) -> None:
    port = find_free_port_block()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        model = app_model(exp, app, "busy")
        model.colocate_db_tcp(port=port)
        with pytest.raises(PortInUseError, match=f"port {port} .*model 'busy' asked for it"):
            exp.start(model)
    assert exp.get_status(model) == [JobState.STATUS_NEVER_STARTED]


def test_store_that_fails_to_start_rolls_back_the_whole_start(exp: Experiment, app: Path) -> None:
    std = exp.create_database(port=find_free_port_block(), db_identifier="std")
    model = app_model(exp, app, "bad_option")
    model.colocate_db_tcp(port=find_free_port_block(), hz="bogus")  # the server rejects it
    with pytest.raises(ShardStartError, match=r"bad_option\.db_0"):
        exp.start(std, model)
    assert exp.get_status(std) == [JobState.STATUS_CANCELLED]
    assert exp.get_status(model) == [JobState.STATUS_NEVER_STARTED]


def test_app_that_cannot_be_launched_takes_its_store_down(exp: Experiment, tmp_path: Path) -> None:
    exe = tmp_path / "vanishing.sh"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    model = exp.create_model("vanished", exp.create_run_settings(str(exe)))
    model.colocate_db_tcp(port=find_free_port_block())
    exe.unlink()  # resolved when the settings were made, gone at launch
    with pytest.raises(LauncherError, match="vanished"):
        exp.start(model)
    rows = [line for line in exp.summary().splitlines() if "vanished.db_0" in line]
    assert len(rows) == 1 and "Cancelled" in rows[0]


def test_socket_path_too_long_is_refused_when_colocating(exp: Experiment, app: Path) -> None:
    model = app_model(exp, app, "long")
    with pytest.raises(InvalidArgumentError, match="longer than"):
        model.colocate_db_uds(unix_socket="/tmp/" + "s" * 120 + ".sock")
    assert not model.colocated


def test_starting_a_running_colocated_model_again_is_refused(exp: Experiment, app: Path) -> None:
    from insitu.errors import AlreadyRunningError

    model = app_model(exp, app, "again", mode="sleep")
    model.colocate_db_tcp(port=find_free_port_block())
    exp.start(model, block=False)
    with pytest.raises(AlreadyRunningError, match="again"):
        exp.start(model, block=False)
    exp.stop(model)
    assert exp.get_status(model) == [JobState.STATUS_CANCELLED]


def test_preview_shows_the_colocated_store(
    exp: Experiment, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = app_model(exp, app, "shown")
    model.colocate_db_uds(unix_socket="/tmp/insitu-preview.sock", db_cpus=1, custom_pinning=[0])
    exp.preview(model, verbosity_level="debug")
    out = capsys.readouterr().out
    assert "Colocated Database:" in out
    assert "Unix Socket: /tmp/insitu-preview.sock" in out
    assert "CPU Pinning: 0" in out
    assert sys.executable in out
