"""Whatever way a driver ends — stop(), an exception, Ctrl-C, SIGTERM, a plain exit — its
steps and batch jobs are cancelled: nothing of it is left in ``squeue``."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.fixture import queue, wait_queue_empty
from tests.cluster.slurm import Cluster

pytestmark = pytest.mark.requires_slurm

DRIVER = """
import sys, time
from insitu import Experiment
mode = sys.argv[1]
exp = Experiment("exits", exp_path=sys.argv[2], launcher="slurm")
step = exp.create_model("step", exp.create_run_settings("/bin/sleep", exe_args=["300"],
                                                        run_args={"ntasks": 1}))
bs = exp.create_batch_settings(nodes=1, time="00:10:00")
job = exp.create_model("job", exp.create_run_settings("/bin/sleep", exe_args=["300"]),
                       batch_settings=bs)
exp.start(step, job, block=False)
# The batch job may still be pending (the test's allocation holds CPUs of every node):
# cancelling a pending job matters as much as cancelling a running one.
while exp.get_status(step)[0].value != "Running" or exp.get_status(job)[0].is_terminal:
    time.sleep(0.2)
print("started", flush=True)
sys.stdin.readline()  # the test has looked at the queue
if mode == "stop":
    exp.stop(step, job)
elif mode == "exception":
    raise RuntimeError("the driver failed")
elif mode == "exit":
    sys.exit(0)
exp.poll(interval=1, verbose=False)  # blocks until a signal arrives
"""


def _wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if text in line:
                return
            if not line and proc.poll() is not None:
                break
    raise AssertionError(
        f"driver never printed {text!r}: {proc.stderr.read() if proc.stderr else ''}"
    )


@pytest.mark.parametrize("mode", ["stop", "exception", "exit", "sigint", "sigterm"])
def test_no_job_or_step_survives_the_driver(
    slurm_cluster: Cluster, allocation: str, tmp_path: Path, mode: str
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, mode, str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **slurm_cluster.env(), "SLURM_JOB_ID": allocation},
    )  # fmt: skip
    try:
        _wait_for_line(proc, "started", 120)
        listed = queue(slurm_cluster)
        assert any("step-" in line for line in listed), listed
        assert any(" job " in f"{line} " for line in listed), listed
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        if mode in ("sigint", "sigterm"):
            proc.send_signal(signal.SIGINT if mode == "sigint" else signal.SIGTERM)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin and proc.stdin.close()
        proc.stdout and proc.stdout.close()
        proc.stderr and proc.stderr.close()
    assert wait_queue_empty(slurm_cluster, 60, keep=allocation) == []
