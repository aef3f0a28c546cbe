"""A colocated store starts before its application, serves it, and ends with it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from insitu import Experiment, JobEvent, JobState
from insitu.store.readiness import find_free_port_block
from tests.helpers import process_gone
from tests.integration.colocation.conftest import app_model, store_seen

LAST_CPU = max(os.sched_getaffinity(0))


def own_cpus() -> str:
    """This process's Cpus_allowed_list: what an unpinned child inherits."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no Cpus_allowed_list in /proc/self/status")


def server_pid(seen: dict[str, object]) -> int:
    pid = seen["server_pid"]
    assert isinstance(pid, int)
    return pid


def test_tcp_store_serves_its_app_pinned_and_is_gone_after(exp: Experiment, app: Path) -> None:
    port = find_free_port_block()
    model = app_model(exp, app, "colo")
    model.colocate_db_tcp(port=port, custom_pinning=[LAST_CPU], debug=True, maxclients=64)
    exp.generate(model)
    exp.start(model, block=True)
    assert exp.get_status(model) == [JobState.STATUS_COMPLETED]
    seen = store_seen(model)
    assert seen["address"] == f"127.0.0.1:{port}"
    assert seen["type"] == "Standalone"
    assert seen["read_back"] == "app"
    assert seen["cpus"] == str(LAST_CPU)
    assert process_gone(server_pid(seen), timeout=0.5)  # start(block=True) waited for it
    log = Path(model.path) / "colo.db_0.out"
    assert "Accepted" in log.read_text()  # loglevel verbose logs client connections
    summary = exp.summary()
    assert "colo.db_0" in summary and "DBNode" in summary


def test_uds_store_with_default_pinning(exp: Experiment, app: Path, tmp_path: Path) -> None:
    sock = tmp_path / "colo.sock"
    model = app_model(exp, app, "colo_uds")
    model.colocate_db_uds(unix_socket=str(sock), socket_permissions=700)
    exp.start(model, block=True)
    assert exp.get_status(model) == [JobState.STATUS_COMPLETED]
    seen = store_seen(model)
    assert seen["address"] == f"unix://{sock}"
    assert seen["cpus"] == str(min(os.sched_getaffinity(0)))  # the first usable CPU
    assert process_gone(server_pid(seen), timeout=0.5)
    assert not sock.exists()  # the server removes its socket when stopped


def test_store_stopped_when_the_app_fails(exp: Experiment, app: Path) -> None:
    model = app_model(exp, app, "colo_fail", mode="fail")
    model.colocate_db_tcp(port=find_free_port_block(), custom_pinning=[])
    exp.start(model, block=True)
    assert exp.get_status(model) == [JobState.STATUS_FAILED]
    seen = store_seen(model)
    assert seen["cpus"] == own_cpus()  # custom_pinning=[] turns pinning off
    assert process_gone(server_pid(seen), timeout=0.5)


def test_store_stopped_with_its_app(exp: Experiment, app: Path) -> None:
    model = app_model(exp, app, "colo_stop", mode="sleep")
    model.colocate_db_tcp(port=find_free_port_block())
    exp.start(model, block=False)
    seen = store_seen(model)  # polls until the app reported
    assert exp.get_status(model) == [JobState.STATUS_RUNNING]
    exp.stop(model)
    assert exp.get_status(model) == [JobState.STATUS_CANCELLED]
    assert process_gone(server_pid(seen), timeout=0.5)  # stop() returns once it is gone


def test_store_stopped_by_the_teardown_thread_without_waiting(exp: Experiment, app: Path) -> None:
    model = app_model(exp, app, "colo_nowait")
    model.colocate_db_tcp(port=find_free_port_block())
    exp.start(model, block=False)
    seen = store_seen(model)
    assert process_gone(server_pid(seen))  # nobody waits: the app's end alone stops it
    assert exp.finished(model)


def test_colocated_model_restarts(exp: Experiment, app: Path) -> None:
    model = app_model(exp, app, "colo_again")
    model.colocate_db_tcp(port=find_free_port_block())
    exp.start(model, block=True)
    first = server_pid(store_seen(model))
    (Path(model.path) / "result.json").unlink()
    exp.start(model, block=True)
    second = server_pid(store_seen(model))
    assert first != second
    assert exp.get_status(model) == [JobState.STATUS_COMPLETED]
    rows = [line for line in exp.summary().splitlines() if "colo_again.db_0" in line]
    assert len(rows) == 2  # one store run per application run


@pytest.mark.parametrize("transport", ["tcp", "uds"])
def test_default_endpoint_moves_when_taken(
    exp: Experiment, app: Path, transport: str, tmp_path: Path
) -> None:
    first = app_model(exp, app, f"first_{transport}", mode="sleep")
    second = app_model(exp, app, f"second_{transport}")
    for model in (first, second):
        if transport == "tcp":
            model.colocate_db_tcp()  # both on the default port 6379
        else:
            model.colocate_db_uds()  # both on the default /tmp/redis.socket
    exp.start(first, block=False)
    taken = store_seen(first)["address"]
    # block=True would wait for `first` too (SmartSim: every running job of the experiment)
    exp.start(second, block=False)
    deadline = time.monotonic() + 60
    while not exp.finished(second):
        assert time.monotonic() < deadline, exp.get_status(second)
        time.sleep(0.05)
    assert exp.get_status(second) == [JobState.STATUS_COMPLETED]
    moved = store_seen(second)["address"]
    assert moved != taken
    exp.stop(first)
    assert process_gone(server_pid(store_seen(first)), timeout=0.5)


def test_app_that_ends_at_once_still_takes_its_store_down(exp: Experiment) -> None:
    events: list[JobEvent] = []
    exp.subscribe(events.append)
    model = exp.create_model("instant", exp.create_run_settings("true"))
    model.colocate_db_tcp(port=find_free_port_block())
    exp.start(model, block=False)  # the app may end before the controller links its store
    deadline = time.monotonic() + 15
    while not any(e.name == "instant.db_0" and e.state.is_terminal for e in events):
        assert time.monotonic() < deadline, [(e.name, e.state) for e in events]
        time.sleep(0.02)
    store_pid = next(int(e.job_id) for e in events if e.name == "instant.db_0")
    assert process_gone(store_pid)
    assert exp.get_status(model) == [JobState.STATUS_COMPLETED]
