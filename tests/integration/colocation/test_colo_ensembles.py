"""Ensembles of colocated members, and colocated stores beside standalone ones."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import redis

from insitu import Experiment, JobState
from insitu.errors import DBIDConflictError, PortInUseError, SocketInUseError
from insitu.store.readiness import find_free_port_block
from tests.helpers import process_gone
from tests.integration.colocation.conftest import app_model, result, store_seen


def test_ensemble_of_three_gets_three_stores(exp: Experiment, app: Path) -> None:
    base = find_free_port_block(3)
    settings = exp.create_run_settings(sys.executable, exe_args=[str(app), "", "ok"])
    ensemble = exp.create_ensemble("ens", run_settings=settings, replicas=3)
    ensemble.colocate_db_tcp(port=base)
    exp.generate(ensemble)
    exp.start(ensemble, block=True)
    assert exp.get_status(ensemble) == [JobState.STATUS_COMPLETED] * 3
    seen = [store_seen(member) for member in ensemble.models]
    assert [s["address"] for s in seen] == [f"127.0.0.1:{base + i}" for i in range(3)]
    assert [s["read_back"] for s in seen] == ["ens_0", "ens_1", "ens_2"]  # SSKEYOUT per member
    assert len({s["server_pid"] for s in seen}) == 3
    for s in seen:
        pid = s["server_pid"]
        assert isinstance(pid, int) and process_gone(pid, timeout=0.5)
    rows = [line for line in exp.summary().splitlines() if "DBNode" in line]
    assert len(rows) == 3


def test_members_colocated_in_a_loop_over_unix_sockets(
    exp: Experiment, app: Path, tmp_path: Path
) -> None:
    settings = exp.create_run_settings(sys.executable, exe_args=[str(app), "", "ok"])
    ensemble = exp.create_ensemble("loop", run_settings=settings, replicas=2)
    for i, member in enumerate(ensemble):
        member.colocate_db_uds(unix_socket=str(tmp_path / f"m{i}.sock"))
    exp.start(ensemble, block=True)
    assert [store_seen(m)["address"] for m in ensemble.models] == [
        f"unix://{tmp_path / 'm0.sock'}",
        f"unix://{tmp_path / 'm1.sock'}",
    ]


def test_members_on_one_explicit_port_are_refused_before_anything_starts(
    exp: Experiment, app: Path
) -> None:
    port = find_free_port_block()
    settings = exp.create_run_settings(sys.executable, exe_args=[str(app), "", "ok"])
    ensemble = exp.create_ensemble("clash", run_settings=settings, replicas=2)
    for member in ensemble:
        member.colocate_db_tcp(port=port)
    with pytest.raises(PortInUseError, match=f"port {port} .*'clash_0' and model 'clash_1'"):
        exp.start(ensemble)
    assert exp.get_status(ensemble) == [JobState.STATUS_NEVER_STARTED] * 2


def test_same_explicit_socket_is_refused(exp: Experiment, app: Path, tmp_path: Path) -> None:
    a, b = app_model(exp, app, "a"), app_model(exp, app, "b")
    for model in (a, b):
        model.colocate_db_uds(unix_socket=str(tmp_path / "one.sock"))
    with pytest.raises(SocketInUseError, match="both model 'a' and model 'b'"):
        exp.start(a, b)


def test_standalone_and_colocated_stores_reach_the_app_by_identifier(
    exp: Experiment, app: Path
) -> None:
    std = exp.create_database(port=find_free_port_block(), db_identifier="std")
    model = app_model(exp, app, "multi", suffixes="_std,_colo")
    model.colocate_db_tcp(port=find_free_port_block(), db_identifier="colo")
    exp.start(std)
    exp.start(model, block=True)
    assert exp.get_status(model) == [JobState.STATUS_COMPLETED]
    seen = result(model)["stores"]
    assert isinstance(seen, dict)
    assert seen["_std"]["address"] == std.get_address()[0]
    assert seen["_colo"]["address"] != seen["_std"]["address"]
    with redis.Redis(host="127.0.0.1", port=std.ports[0], password=std.password) as client:
        assert client.get("written-by-app") == b"app"
    assert exp.get_status(std) == [JobState.STATUS_RUNNING]  # only the colocated store ended
    assert process_gone(seen["_colo"]["server_pid"], timeout=0.5)
    exp.stop(std)


def test_colocated_and_standalone_default_identifiers_collide(exp: Experiment, app: Path) -> None:
    std = exp.create_database(port=find_free_port_block())  # db_identifier "orchestrator"
    model = app_model(exp, app, "clash_env")
    model.colocate_db_tcp(port=find_free_port_block())  # db_identifier ""
    with pytest.raises(DBIDConflictError, match="SSDB"):
        exp.start(std, model)
    assert exp.get_status(std) == [JobState.STATUS_NEVER_STARTED]  # refused before starting
