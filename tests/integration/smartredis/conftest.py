"""The unmodified SmartRedis 0.6.1 wheel (whose C++ core the C and Fortran clients wrap)
against stores started by insitu's Orchestrator: standalone over TCP (password-free
clients allowed), on an owner-only Unix socket, and a 3-shard cluster (password-free
clients allowed). SmartRedis needs numpy<2, so it runs in a venv of its own, built by
these tests from requirements/smartredis.txt (once; rebuilt when the lock changes), and
each test runs a small SmartRedis program there (:func:`run_smartredis`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.inference.shard import connect
from insitu.store.readiness import find_free_port_block

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / "requirements" / "smartredis.txt"
VENV = ROOT / ".venv-smartredis"
STAMP = VENV / ".insitu-lock"
TOPOLOGIES = ("tcp", "uds", "cluster")


def _smartredis_python() -> Path:
    python = VENV / "bin" / "python"
    if STAMP.is_file() and STAMP.read_text() == LOCK.read_text() and python.is_file():
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--requirement", str(LOCK)], check=True
    )
    STAMP.write_text(LOCK.read_text())
    return python


@pytest.fixture(scope="session")
def smartredis_python() -> Path:
    """The SmartRedis venv's interpreter (built from the lock on first use)."""
    return _smartredis_python()


@dataclass(frozen=True)
class SrStore:
    """A running store and how both client families reach it."""

    name: str
    orchestrator: Orchestrator
    cluster: bool
    python: Path
    experiment: Experiment

    @property
    def address(self) -> str:
        return self.orchestrator.get_address()[0]

    @property
    def addresses(self) -> list[str]:
        return self.orchestrator.get_address()

    def client(self) -> Client:
        """insitu's own client (it sends the password)."""
        return Client(self.cluster, self.address)

    def run(self, program: str, env: dict[str, str] | None = None) -> object:
        """Run ``program`` (Python, with ``client`` a SmartRedis Client of this store, and
        ``np``, ``emit``) in the SmartRedis venv; what it ``emit``ted (JSON). A failure of
        the program fails the test with its output."""
        return run_smartredis(self.python, self, program, env)


PRELUDE = """
import json, sys
import numpy as np
from smartredis import Client, Dataset
from smartredis.error import *
client = Client(address=ADDRESS, cluster=CLUSTER)
_out = []
def emit(value):
    _out.append(value)
"""
EPILOGUE = """
sys.stdout.write("\\n@@RESULT@@" + json.dumps(_out) + "\\n")
"""


def run_smartredis(
    python: Path, store: SrStore, program: str, env: dict[str, str] | None = None
) -> object:
    setup = f"ADDRESS = {store.address!r}\nCLUSTER = {store.cluster!r}\n"
    code = setup + PRELUDE + textwrap.dedent(program) + EPILOGUE
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SSDB", "SSKEY"))}
    environment.update({"SR_LOG_LEVEL": "QUIET", "SR_CMD_TIMEOUT": "10", "SR_CONN_TIMEOUT": "10"})
    environment.update(env or {})
    # From a file, so that set_function can read the source of a function it defines.
    with tempfile.NamedTemporaryFile("w", suffix=".py", prefix="sr-program-") as program_file:
        program_file.write(code)
        program_file.flush()
        done = subprocess.run(
            [str(python), program_file.name], capture_output=True, text=True,
            env=environment, timeout=240, check=False,
        )  # fmt: skip
    if done.returncode != 0 or "@@RESULT@@" not in done.stdout:
        pytest.fail(f"SmartRedis program failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.rsplit("@@RESULT@@", 1)[1])


@pytest.fixture(scope="package")
def sr_stores(smartredis_python: Path) -> Iterator[dict[str, SrStore]]:
    """The three stores SmartRedis reaches without a password."""
    root = Path(tempfile.mkdtemp(prefix="insitu-sr-"))
    exp = Experiment("smartredis-suite", exp_path=str(root), launcher="local")
    try:
        tcp = exp.create_database(port=find_free_port_block(1), db_identifier="sr_tcp")
        tcp.allow_passwordless_clients()
        uds = exp.create_database(
            unix_socket=str(root / "db.sock"), socket_permissions=700, db_identifier="sr_uds"
        )
        cluster = exp.create_database(
            port=find_free_port_block(3), db_nodes=3, db_identifier="sr_cluster"
        )
        cluster.allow_passwordless_clients()
        exp.start(tcp, uds, cluster)
        yield {
            "tcp": SrStore("tcp", tcp, False, smartredis_python, exp),
            "uds": SrStore("uds", uds, False, smartredis_python, exp),
            "cluster": SrStore("cluster", cluster, True, smartredis_python, exp),
        }
    finally:
        exp.stop_all()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=TOPOLOGIES)
def sr_store(request: pytest.FixtureRequest, sr_stores: dict[str, SrStore]) -> Iterator[SrStore]:
    """Each store in turn, emptied (its workers serving) before the test."""
    store = sr_stores[request.param]
    password = store.orchestrator.password
    for address in store.addresses:  # as the store's own user: FLUSHDB is not for clients
        conn = connect(address, password)
        try:
            conn.flushdb()
        finally:
            conn.close()
    yield store


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SSDB", "SR_DB_TYPE", "SSKEY")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SR_CMD_TIMEOUT", "10")
    monkeypatch.setenv("SR_MODEL_TIMEOUT", "60000")
