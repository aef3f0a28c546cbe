"""Reconnecting to a running store from its checkpoint (SmartSim's
``reconnect_orchestrator``), with a portable JSON checkpoint that holds no secret."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from insitu import Experiment
from insitu.client import Client
from insitu.errors import CheckpointError, SmartSimError
from insitu.jobs.status import JobState
from insitu.store.readiness import find_free_port_block

pytestmark = pytest.mark.requires_redis


@pytest.mark.parametrize("acl", [None, "per_entity"])
def test_another_experiment_reconnects_queries_hands_over_and_stops(
    tmp_path: Path, acl: str | None
) -> None:
    first = Experiment("first", exp_path=str(tmp_path))
    second = Experiment("second", exp_path=str(tmp_path))
    try:
        store = first.create_database(port=find_free_port_block(1), interface="lo", acl=acl)
        first.start(store)
        checkpoint = Path(store.checkpoint_file)
        body = json.loads(checkpoint.read_text())
        assert body["format"] == "insitu-checkpoint/1"
        assert store.password not in checkpoint.read_text()
        secret = Path(body["password_file"])
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600

        again = second.reconnect_orchestrator(store.checkpoint_file)
        assert again.acl == acl  # with acl: the model below logs in as its own user
        assert again.get_address() == store.get_address()
        assert second.get_status(again) == [JobState.STATUS_RUNNING]
        assert [n.host for n in again.entities] == ["127.0.0.1"]

        # A model of the second experiment receives the store's connection.
        script = tmp_path / "put.py"
        script.write_text(
            "import numpy as np\nfrom insitu.client import Client\n"
            "Client(cluster=False).put_tensor('from_model', np.arange(3))\n"
        )
        rs = second.create_run_settings(os.sys.executable, exe_args=str(script))  # type: ignore[attr-defined]
        model = second.create_model("writer", rs)
        second.start(model, block=True)
        assert second.get_status(model) == [JobState.STATUS_COMPLETED]
        client = Client(address=again.get_address()[0], cluster=False)
        assert list(client.get_tensor("from_model")) == [0, 1, 2]

        second.stop(again)
        assert not store.is_active()
        assert second.get_status(again) == [JobState.STATUS_CANCELLED]
        with pytest.raises(CheckpointError, match="stale"):
            Experiment("third", exp_path=str(tmp_path)).reconnect_orchestrator(
                store.checkpoint_file
            )
    finally:
        second.stop_all()
        first.stop_all()


def test_bad_checkpoints(tmp_path: Path) -> None:
    exp = Experiment("e", exp_path=str(tmp_path))
    with pytest.raises(FileNotFoundError):
        exp.reconnect_orchestrator(str(tmp_path / "missing.json"))
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_bytes(b"\x80\x04\x95 a pickle")
    with pytest.raises(SmartSimError):
        exp.reconnect_orchestrator(str(corrupt))
    future = tmp_path / "future.json"
    future.write_text(json.dumps({"format": "insitu-checkpoint/9"}))
    with pytest.raises(CheckpointError, match="format"):
        exp.reconnect_orchestrator(str(future))
    loose = tmp_path / "pw"
    loose.write_text("secret\n")
    loose.chmod(0o644)
    body = {
        "format": "insitu-checkpoint/1", "name": "o", "db_identifier": "o", "path": str(tmp_path),
        "launcher": "local", "addresses": ["127.0.0.1:1"], "shard_names": ["o_0"],
        "clustered": False, "password_file": str(loose),
    }  # fmt: skip
    readable = tmp_path / "readable.json"
    readable.write_text(json.dumps(body))
    with pytest.raises(CheckpointError, match="0600"):
        exp.reconnect_orchestrator(str(readable))
