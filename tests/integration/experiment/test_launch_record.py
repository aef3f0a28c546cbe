"""The launch record of real experiments, followed from another process; ``with Experiment``."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from insitu import Experiment, JobState
from insitu.runtime.record import read_record
from insitu.wire.record import Run, record_path
from tests.helpers import process_gone

from .conftest import free_port_base

# A separate Python process that knows only the record file: it prints what it reads and
# ends once it has seen "sim" complete (or fails after its own deadline).
FOLLOWER = textwrap.dedent(
    """
    import sys
    from insitu.runtime.record import follow_record
    from insitu.wire.record import JobLine, RunHeader, StoreLine

    for line in follow_record(sys.argv[1], timeout=float(sys.argv[2]), poll_interval=0.02):
        if isinstance(line, RunHeader):
            print("header", line.experiment, line.pid, flush=True)
        elif isinstance(line, StoreLine):
            print("store", line.name, line.state, ",".join(line.addresses), flush=True)
        elif isinstance(line, JobLine):
            print("job", line.name, line.state, line.host, flush=True)
            if line.name == "sim" and line.state == "Completed":
                sys.exit(0)
    sys.exit("the follower timed out")
    """
)

# A model that runs until the test lets it finish (or its own deadline passes).
WAIT_FOR_GO = textwrap.dedent(
    """
    import os, sys, time
    deadline = time.monotonic() + 120
    while not os.path.exists(sys.argv[1]):
        if time.monotonic() > deadline:
            sys.exit(2)
        time.sleep(0.02)
    """
)


def record_of(path: Path) -> Run:
    run = read_record(path).latest
    assert run is not None
    return run


def record_is_open(path: Path) -> bool:
    target = str(record_path(path))
    return any(f.path == target for f in psutil.Process().open_files())


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("insitu.runtime.record")
    logger.addHandler(handler)
    yield seen
    logger.removeHandler(handler)


def test_another_process_follows_a_running_experiment(tmp_path: Path) -> None:
    go, waiter = tmp_path / "go", tmp_path / "wait_for_go.py"
    waiter.write_text(WAIT_FOR_GO)
    stderr = (tmp_path / "follower.err").open("w")
    follower = subprocess.Popen(
        [sys.executable, "-c", FOLLOWER, str(tmp_path), "120"],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    assert follower.stdout is not None
    seen: list[list[str]] = []
    try:
        with Experiment("live", exp_path=str(tmp_path)) as exp:
            db = exp.create_database(port=free_port_base())
            exp.start(db)
            address = db.get_address()[0]
            settings = exp.create_run_settings(sys.executable, exe_args=[str(waiter), str(go)])
            sim = exp.create_model("sim", settings)
            exp.start(sim, block=False)
            while (line := follower.stdout.readline()) and line.split()[:3] != [
                "job", "sim", "Running",
            ]:  # fmt: skip
                seen.append(line.split())
            seen.append(line.split())
            # The follower saw the model run while it still runs: it waits for `go`.
            assert not exp.finished(sim)
            go.touch()
            seen += [line.split() for line in follower.stdout]
            assert follower.wait(timeout=120) == 0, (tmp_path / "follower.err").read_text()
            assert exp.get_status(sim) == [JobState.STATUS_COMPLETED]
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
        follower.stdout.close()
        stderr.close()
    host = socket.gethostname()
    assert seen[0][:2] == ["header", "live"]
    assert ["store", "orchestrator", "ready", address] in seen
    assert ["job", "sim", "Queued", "None"] in seen
    assert ["job", "sim", "Running", host] in seen
    assert seen[-1] == ["job", "sim", "Completed", host]
    assert db.password not in record_path(tmp_path).read_text()


def test_store_endpoints_are_recorded_without_secrets(tmp_path: Path) -> None:
    with Experiment("stores", exp_path=str(tmp_path)) as exp:
        db = exp.create_database(db_nodes=3, port=free_port_base(3))
        exp.start(db)
        addresses = tuple(db.get_address())
        # The app prints every password it was handed: its colocated store's and the cluster's.
        show = "import os; [print(v) for k, v in os.environ.items() if 'PASSWORD' in k]"
        app = exp.create_model("app", exp.create_run_settings(sys.executable, ["-c", show]))
        app.colocate_db_tcp(port=free_port_base(), db_identifier="colo")
        exp.start(app, block=True)
        assert exp.get_status(app) == [JobState.STATUS_COMPLETED]
    secrets = {db.password, *(Path(app.path) / "app.out").read_text().split()}
    assert len(secrets) == 2
    text = record_path(tmp_path).read_text()
    assert not [s for s in secrets if s in text]
    stores = record_of(tmp_path).stores
    cluster = [s for s in stores if s.name == "orchestrator"]
    assert [s.state for s in cluster] == ["ready", "stopped"]
    assert cluster[0].addresses == addresses
    assert (cluster[0].clustered, cluster[0].shards, cluster[0].colocated) == (True, 3, False)
    colocated = [s for s in stores if s.name != "orchestrator"]
    assert [s.state for s in colocated] == ["ready", "stopped"]
    assert (colocated[0].clustered, colocated[0].shards, colocated[0].colocated) == (
        False,
        1,
        True,
    )


def start_long_jobs(exp: Experiment, path: Path) -> list[int]:
    """A store and a model that would run for minutes; their process ids, from the record."""
    exp.start(exp.create_database(port=free_port_base()))
    exp.start(exp.create_model("sleeper", exp.create_run_settings("sleep", ["600"])), block=False)
    return [int(j.job_id) for j in record_of(path).latest_jobs().values()]


def test_leaving_the_with_block_stops_everything(tmp_path: Path) -> None:
    with Experiment("ctx", exp_path=str(tmp_path)) as exp:
        pids = start_long_jobs(exp, tmp_path)
        assert record_is_open(tmp_path)
    assert len(pids) == 3  # shard, its inference worker, the model
    assert all(process_gone(pid) for pid in pids)
    assert not record_is_open(tmp_path)
    run = record_of(tmp_path)
    assert run.latest_jobs()["sleeper"].state == "Cancelled"
    assert run.latest_stores()["orchestrator"].state == "stopped"


def test_an_exception_in_the_with_block_stops_everything_and_propagates(tmp_path: Path) -> None:
    pids: list[int] = []
    with (
        pytest.raises(RuntimeError, match="driver failed"),
        Experiment("boom", str(tmp_path)) as exp,
    ):
        pids += start_long_jobs(exp, tmp_path)
        raise RuntimeError("driver failed")
    assert len(pids) == 3
    assert all(process_gone(pid) for pid in pids)
    assert not record_is_open(tmp_path)
    assert record_of(tmp_path).latest_stores()["orchestrator"].state == "stopped"


def test_a_second_experiment_on_the_same_path_appends_a_run(tmp_path: Path) -> None:
    for name in ("first", "second"):
        with Experiment(name, exp_path=str(tmp_path)) as exp:
            exp.start(exp.create_model(f"{name}_model", exp.create_run_settings("true")))
    first, second = read_record(tmp_path).runs
    assert (first.header.experiment, second.header.experiment) == ("first", "second")
    assert list(first.latest_jobs()) == ["first_model"]
    assert second.latest_jobs()["second_model"].state == "Completed"


def test_an_unwritable_record_does_not_fail_the_experiment(
    tmp_path: Path, warnings: list[str]
) -> None:
    (tmp_path / ".insitu").write_text("not a directory")
    with Experiment("ro", exp_path=str(tmp_path)) as exp:
        model = exp.create_model("m", exp.create_run_settings("true"))
        exp.start(model)
        assert exp.get_status(model) == [JobState.STATUS_COMPLETED]
    assert len(warnings) == 1
    assert "runs without it" in warnings[0]


def test_an_experiment_that_starts_nothing_writes_nothing(tmp_path: Path) -> None:
    with Experiment("idle", exp_path=str(tmp_path)) as exp:
        exp.create_model("m", exp.create_run_settings("true"))
    assert not (tmp_path / ".insitu").exists()
