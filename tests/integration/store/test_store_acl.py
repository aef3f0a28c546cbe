"""Per-entity ACL users (``create_database(..., acl="per_entity")``) on both engines: an
ensemble with key prefixing, whose members run real client programs. A member cannot
overwrite another member's key (NOPERM, a RedisReplyError), reads the keys of the members
in its SSKEYIN, stores, reads and runs its own model on its own keys; the driver may do
everything; the default user is off; no password on a command line or in a log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import psutil
import pytest
import redis
from tests.inference_models import SCRIPT

from insitu import Experiment, JobState
from insitu.client import Client, Dataset
from insitu.errors import InvalidArgumentError, PermissionDeniedError
from insitu.store.readiness import find_free_port_block

MEMBER = r"""
import json, sys
import numpy as np
from insitu.client import Client
from insitu.errors import RedisReplyError
sys.path.insert(0, sys.argv[3])
from tests.inference_models import onnx_square

role, cluster = sys.argv[1], sys.argv[2] == "1"
client = Client(cluster)
found = {}
if role == "b":
    client.put_tensor("x", np.arange(3.0))
else:
    found["read_b"] = client.get_tensor("x").tolist()  # SSKEYIN's first: b's key
    client.use_tensor_ensemble_prefix(False)
    try:
        client.put_tensor("rep_1.x", np.zeros(3))  # b's key, spelt out
        found["overwrite"] = "allowed"
    except RedisReplyError as err:
        found["overwrite"] = type(err).__name__ + ": " + str(err)
    client.use_tensor_ensemble_prefix(True)
    client.use_model_ensemble_prefix(True)
    client.set_data_source("rep_0")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    client.put_tensor("in", x)
    client.set_model("sq", onnx_square(), "ONNX", "CPU")
    client.run_model("sq", ["in"], ["out"])
    found["run"] = client.get_tensor("out").tolist()
    client.use_tensor_ensemble_prefix(False)
    try:  # a run whose output is b's key, spelt out
        client.run_model("sq", ["rep_0.in"], ["rep_1.x"])
        found["run_other"] = "allowed"
    except RedisReplyError as err:
        found["run_other"] = type(err).__name__ + ": " + str(err)
    try:
        client.flush_db([sys.argv[4]])
        found["flush"] = "allowed"
    except RedisReplyError as err:
        found["flush"] = type(err).__name__
print(json.dumps(found))
"""


def _engines() -> list[object]:
    return ["valkey", pytest.param("redis", marks=pytest.mark.requires_redis)]


@pytest.mark.parametrize("shards", [1, 3])
@pytest.mark.parametrize("engine", _engines())
def test_members_get_users_of_their_own(
    tmp_path: Path, shards: int, engine: str, request: pytest.FixtureRequest
) -> None:
    if engine == "redis" and shards == 3:
        pytest.skip("one cluster run is enough (the engines agree on single shards)")
    binary = request.getfixturevalue("bundled" if engine == "valkey" else "redis_server")
    exp = Experiment("acl", exp_path=str(tmp_path), launcher="local")
    secrets: list[str] = []
    try:
        store = exp.create_database(
            port=find_free_port_block(shards), db_nodes=shards, acl="per_entity",
            server_binary=binary,
        )  # fmt: skip
        exp.start(store)
        address = store.get_address()[0]
        program = tmp_path / "member.py"
        program.write_text(MEMBER)
        repo = str(Path(__file__).resolve().parents[3])
        args = [str(program), "?", "1" if shards > 1 else "0", repo, address]
        ens = exp.create_ensemble(
            "rep", run_settings=exp.create_run_settings(sys.executable, exe_args=args),
            replicas=2,
        )  # fmt: skip
        ens.enable_key_prefixing()
        member_a, member_b = ens.models
        member_a.run_settings.exe_args = [args[0], "a", *args[2:]]
        member_b.run_settings.exe_args = [args[0], "b", *args[2:]]
        member_a.register_incoming_entity(member_b)
        member_a.register_incoming_entity(member_a)  # and its own keys, to run on them
        exp.start(member_b, block=True)
        exp.start(member_a, block=True)
        outputs = {m.name: Path(m.path) / f"{m.name}.out" for m in ens.models}
        errors = {m.name: Path(m.path) / f"{m.name}.err" for m in ens.models}
        assert exp.get_status(member_a, member_b) == [JobState.STATUS_COMPLETED] * 2, {
            name: path.read_text() for name, path in errors.items()
        }
        found = json.loads(outputs["rep_0"].read_text())
        assert found["read_b"] == [0.0, 1.0, 2.0]
        assert found["overwrite"].startswith("PermissionDeniedError"), found
        assert "NOPERM" in found["overwrite"]
        assert found["run"] == (np.arange(6.0).reshape(2, 3) ** 2).tolist()
        assert found["run_other"].startswith("PermissionDeniedError"), found
        assert found["flush"] == "PermissionDeniedError"
        # The driver (the store's own user) may do everything, the default user nothing.
        with Client(shards > 1, address) as driver:
            assert driver.get_tensor("rep_1.x").tolist() == [0.0, 1.0, 2.0]
            driver.put_tensor("rep_1.x", np.ones(3))
            assert driver.tensor_exists("rep_0.out")
        host, port = address.rsplit(":", 1)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host=host, port=int(port), password=store.password).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host=host, port=int(port)).ping()
        secrets += [store.password] + [
            r[1:] for rules in store._entity_users.values() for r in rules if r.startswith(">")
        ]
        assert len(secrets) == 3
        _no_secret_on_command_lines(secrets)
        _no_secret_in_files(tmp_path, secrets)
    finally:
        exp.stop_all()
    _no_secret_in_files(tmp_path, secrets)


def _no_secret_on_command_lines(secrets: list[str]) -> None:
    for proc in psutil.process_iter(["cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        assert not any(s in line for s in secrets), f"a password on the command line of {proc}"


def _no_secret_in_files(root: Path, secrets: list[str]) -> None:
    """No log, output or record under ``root`` holds a password (the shard configs, 0600,
    hold the store's while it runs; they are deleted at stop)."""
    for path in root.rglob("*"):
        if not path.is_file() or path.suffix == ".conf" or path.name.endswith(".password"):
            continue
        text = path.read_bytes()
        assert not any(s.encode() in text for s in secrets), f"a password in {path}"


def test_unknown_acl_mode_is_refused(tmp_path: Path) -> None:
    exp = Experiment("aclbad", exp_path=str(tmp_path), launcher="local")
    with pytest.raises(InvalidArgumentError, match="per_entity"):
        exp.create_database(port=find_free_port_block(1), acl="everyone")


def test_every_client_call_of_an_entity_is_allowed_but_administration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command list of entity users against the client's API (one call of each kind,
    with key prefixing), so that a client feature that needs a new command fails here."""
    exp = Experiment("aclapi", exp_path=str(tmp_path), launcher="local")
    try:
        store = exp.create_database(port=find_free_port_block(1), acl="per_entity")
        exp.start(store)
        address = store.get_address()[0]
        for name, value in store.entity_env("m", "m").items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("SSKEYOUT", "m")
        monkeypatch.setenv("SSKEYIN", "m")
        with Client(False, address) as client:
            _exercise(client)
            assert client.get_db_node_info([address])
            with pytest.raises(PermissionDeniedError):
                client.config_get("maxmemory", address)
            with pytest.raises(PermissionDeniedError):
                client.save([address])
    finally:
        exp.stop_all()


def _exercise(client: Client) -> None:
    client.put_tensor("t", np.ones(3))
    assert client.poll_tensor("t", 10, 2) and client.key_exists("m.t")
    assert client.copy_tensor("t", "t2") is None
    client.rename_tensor("t2", "t3")
    client.delete_tensor("t3")
    dataset = Dataset("d")
    dataset.add_tensor("a", np.ones(2))
    dataset.add_meta_scalar("s", 1.0)
    client.put_dataset(dataset)
    client.append_to_list("L", client.get_dataset("d"))
    assert client.poll_list_length("L", 1, 10, 2)
    assert len(client.get_datasets_from_list("L")) == 1
    client.copy_list("L", "L2")
    client.rename_list("L2", "L3")
    client.delete_list("L3")
    client.copy_dataset("d", "d2")
    client.delete_dataset("d2")
    client.use_model_ensemble_prefix(True)
    client.set_script("s", SCRIPT, "CPU")
    client.put_tensor("x", np.ones((2, 2), dtype=np.float32))
    client.run_script("s", "double", ["x"], ["y"])
    assert client.get_tensor("y").tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert client.model_exists("s")
    client.delete_script("s")
