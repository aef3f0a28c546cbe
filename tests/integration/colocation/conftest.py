"""Fixtures for colocated-store tests: an experiment, and an application that talks to its
stores with plain redis-py through the environment contract (SSDB, SR_DB_TYPE,
SSDB_PASSWORD), reporting what it saw in ``result.json`` in its working directory."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from insitu import Experiment, Model

APP = textwrap.dedent(
    """
    import json, os, sys, time
    import redis

    def connect(suffix):
        address = os.environ["SSDB" + suffix]
        password = os.environ["SSDB_PASSWORD" + suffix]
        if address.startswith("unix://"):
            return redis.Redis(unix_socket_path=address[len("unix://"):], password=password)
        host, port = address.rsplit(":", 1)
        return redis.Redis(host=host, port=int(port), password=password)

    def cpus_allowed(pid):
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()

    suffixes, mode = sys.argv[1].split(","), sys.argv[2]
    seen = {"app_pid": os.getpid(), "stores": {}}
    for suffix in suffixes:
        client = connect(suffix)
        client.set("written-by-app", os.environ.get("SSKEYOUT", "app"))
        pid = client.info("server")["process_id"]
        seen["stores"][suffix] = {
            "address": os.environ["SSDB" + suffix],
            "type": os.environ["SR_DB_TYPE" + suffix],
            "read_back": client.get("written-by-app").decode(),
            "server_pid": pid,
            "cpus": cpus_allowed(pid),
        }
    with open("result.json.tmp", "w") as out:
        json.dump(seen, out)
    os.replace("result.json.tmp", "result.json")
    if mode == "fail":
        sys.exit(3)
    if mode == "sleep":
        time.sleep(600)
    """
)


@pytest.fixture
def exp(tmp_path: Path) -> Iterator[Experiment]:
    experiment = Experiment("exp", exp_path=str(tmp_path), launcher="local")
    yield experiment
    experiment.stop_all()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "colo_app.py"
    path.write_text(APP)
    return path


def app_model(exp: Experiment, app: Path, name: str, suffixes: str = "", mode: str = "ok") -> Model:
    """A Model running the test application against the stores ``suffixes`` ("" , "_id")."""
    settings = exp.create_run_settings(sys.executable, exe_args=[str(app), suffixes, mode])
    return exp.create_model(name, settings)


def result(model: Model, timeout: float = 30.0) -> dict[str, object]:
    """What the model's application reported (polled until written, against a deadline)."""
    return result_in(Path(model.path), Path(model.path) / f"{model.name}.err", timeout)


def result_in(directory: Path, err: Path, timeout: float = 30.0) -> dict[str, object]:
    """The ``result.json`` an application writes in ``directory`` (``err``: its stderr)."""
    path = directory / "result.json"
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            log = err.read_text() if err.exists() else "(no stderr file)"
            raise AssertionError(f"no result in {directory}: {log}")
        time.sleep(0.02)
    data: dict[str, object] = json.loads(path.read_text())
    return data


def store_seen(model: Model, suffix: str = "") -> dict[str, object]:
    """What the application saw of the store whose variables end in ``suffix``."""
    stores = result(model)["stores"]
    assert isinstance(stores, dict)
    seen: dict[str, object] = stores[suffix]
    return seen
