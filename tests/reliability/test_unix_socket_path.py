"""Defect 2: a ``unix_socket`` path that holds anything but a stale socket is refused with a
typed error and left exactly as it was; nothing is started. A stale socket (nobody listens)
is replaced, as before."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import redis

from insitu import Experiment, Model, Orchestrator
from insitu.errors import SocketInUseError


@pytest.fixture
def exp(tmp_path: Path) -> Iterator[Experiment]:
    experiment = Experiment("sockets", exp_path=str(tmp_path / "exp"), launcher="local")
    yield experiment
    experiment.stop_all()


@pytest.fixture(autouse=True)
def exp_dir(tmp_path: Path) -> None:
    (tmp_path / "exp").mkdir()


def _regular(path: Path) -> Callable[[], bytes]:
    path.write_bytes(b"precious data\n")
    return path.read_bytes


def _directory(path: Path) -> Callable[[], bytes]:
    path.mkdir()
    (path / "inside").write_bytes(b"kept")
    return (path / "inside").read_bytes


def _symlink(path: Path) -> Callable[[], bytes]:
    target = path.with_name("target.txt")
    target.write_bytes(b"the link's target")
    path.symlink_to(target)
    return lambda: os.readlink(path).encode() + target.read_bytes()


KINDS = {"regular file": _regular, "directory": _directory, "symbolic link": _symlink}


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("how", ["colocate_db_uds", "create_database"])
def test_a_path_that_is_not_a_socket_is_refused_and_kept(
    exp: Experiment, tmp_path: Path, kind: str, how: str
) -> None:
    path = tmp_path / "db.sock"
    content = KINDS[kind](path)
    before = content()
    children = _children()
    if how == "colocate_db_uds":
        model = exp.create_model("app", exp.create_run_settings("/bin/true"))
        model.colocate_db_uds(unix_socket=str(path))
        entity: Model | Orchestrator = model
    else:
        entity = exp.create_database(unix_socket=str(path), inference_workers=0)
    with pytest.raises(SocketInUseError, match=r"db\.sock") as caught:
        exp.start(entity, block=False)
    if how == "create_database":  # the store's own check names what is there
        assert kind in str(caught.value)
    assert content() == before, f"the {kind} at the socket path was changed"
    assert _children() == children, "something was started"


def test_a_stale_socket_is_replaced(exp: Experiment, tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))  # bound, never listening, closed: stale
    store = exp.create_database(unix_socket=str(path), inference_workers=0)
    exp.start(store)
    client = redis.Redis(unix_socket_path=str(path), password=store.password)
    assert client.ping()
    client.close()
