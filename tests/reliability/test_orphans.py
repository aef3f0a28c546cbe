"""Orphan checks: however the driver ends — a normal stop, an exception, SIGINT, SIGTERM,
SIGKILL — nothing it started (shards, inference workers, models) runs on afterwards."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.reliability.conftest import StartDriver
from tests.reliability.drivers import all_gone
from tests.reliability.figures import record, trials

DRIVER = """
    from insitu import Experiment
    from insitu.store.readiness import find_free_port_block

    mode = sys.argv[2]
    exp = Experiment("orphans", exp_path=str(out))
    store = exp.create_database(port=find_free_port_block(1))
    model = exp.create_model("sim", exp.create_run_settings("/bin/sleep", ["300"]))
    exp.start(store, model, block=False)
    ready()
    sys.stdin.readline()
    if mode == "stop":
        exp.stop(model, store)
    elif mode == "exception":
        raise RuntimeError("the workflow failed")
    # "exit": falls off the end; the signals are sent by the test
"""

ENDINGS = {
    "stop": None,
    "exit": None,
    "exception": None,
    "SIGINT": signal.SIGINT,
    "SIGTERM": signal.SIGTERM,
    "SIGHUP": signal.SIGHUP,
    "SIGKILL": signal.SIGKILL,
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_nothing_outlives_the_driver(
    start_driver: StartDriver, tmp_path: Path, ending: str
) -> None:
    n = trials()
    orphans = 0
    started_total = 0
    for trial in range(n):
        driver = start_driver(DRIVER, ending, workdir=tmp_path / f"t{trial}")
        driver.wait_ready()
        started = [p.pid for p in driver.descendants()]
        assert len(started) >= 3  # shard, inference worker, model
        started_total += len(started)
        sig = ENDINGS[ending]
        begun = time.monotonic()
        if sig is None:
            driver.go_on()
        else:
            driver.proc.send_signal(sig)
        err = driver.finish()
        if ending == "exception":
            assert "the workflow failed" in err
        left = all_gone(started)
        orphans += len(left)
        assert not left, f"trial {trial}: {left} outlived the driver ({ending})\n{err}"
        record(
            "orphans", ending=ending, trial=trial, started=len(started), orphans=len(left),
            seconds_to_clean=round(time.monotonic() - begun, 3),
        )  # fmt: skip
    assert orphans == 0 and started_total >= 3 * n
