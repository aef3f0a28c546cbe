"""pytest fixtures over the test cluster: one Slurm cluster per session, one allocation per
test, and the check that a test leaves nothing in the queue."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import slurm

QUEUE_EMPTY_DEADLINE = 60.0


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[slurm.Cluster]:
    """A 3-host Slurm cluster in network namespaces, up for the whole session (root only).

    ``SLURM_CONF`` points the session's Slurm clients at it. Torn down by PID at the end,
    also when tests failed; clusters left by a killed earlier session are removed first.
    """
    reason = slurm.why_unavailable()
    if reason:
        pytest.skip(f"Slurm test cluster: {reason}")
    slurm.reap_stale()
    directory = Path(tempfile.mkdtemp(prefix="insitu-cluster-", dir="/tmp"))
    cluster = slurm.up(directory)
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    try:
        yield cluster
    finally:
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous
        problems = slurm.down(directory)
        if not problems:
            shutil.rmtree(directory, ignore_errors=True)
        assert not problems, problems


def queue(cluster: slurm.Cluster) -> list[str]:
    """Every job and step Slurm still runs or holds (``squeue``), one line each."""
    jobs = cluster.run("squeue", "--noheader", "--format=%i %j %T").splitlines()
    steps = cluster.run("squeue", "--noheader", "--steps", "--format=%i %j").splitlines()
    return [line for line in jobs + steps if line.strip()]


def wait_queue_empty(
    cluster: slurm.Cluster, deadline: float = QUEUE_EMPTY_DEADLINE, keep: str | None = None
) -> list[str]:
    """Poll until nothing is left in the queue (jobs that are *completing* count until
    they are gone) but job ``keep`` itself (its steps count); returns what is left at the
    deadline."""
    end = time.monotonic() + deadline
    while True:
        left = queue(cluster)  # pending, running and completing jobs, and steps
        left = [line for line in left if keep is None or line.split()[0] != keep]
        if not left or time.monotonic() >= end:
            return left
        time.sleep(0.2)


@pytest.fixture
def allocation(slurm_cluster: slurm.Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A 3-node allocation for one test (``SLURM_JOB_ID`` set to it, as inside ``salloc``);
    released afterwards, and the test fails if anything of it is left in the queue."""
    from insitu.wlm import slurm as wlm

    # Half of each node's CPUs: room for MPI steps of several ranks per node, and for the
    # tests' batch jobs beside the allocation (a whole-node allocation would keep them pending).
    alloc = wlm.get_allocation(nodes=3, time="00:30:00", options={"ntasks-per-node": "4"})
    monkeypatch.setenv("SLURM_JOB_ID", alloc)
    try:
        yield alloc
    finally:
        steps = slurm_cluster.run("squeue", "--noheader", "--steps", f"--jobs={alloc}",
                                  "--format=%i %j", check=False)  # fmt: skip
        wlm.release_allocation(alloc)
        left = wait_queue_empty(slurm_cluster)
        assert not steps.strip(), f"steps left running in the allocation: {steps}"
        assert not left, f"left in the Slurm queue: {left}"


def srun_python(cluster: slurm.Cluster, alloc: str, code: str, *flags: str) -> str:
    """Run ``code`` with this Python as a step of ``alloc``; its stdout."""
    proc = subprocess.run(
        ["srun", f"--jobid={alloc}", "--overlap", *flags, sys_executable(), "-c", code],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, **cluster.env()},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def sys_executable() -> str:
    import sys

    return sys.executable
