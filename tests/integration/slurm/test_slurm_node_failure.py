"""A node that dies while steps run: its step is Failed, the steps on the other nodes run
on. On a cluster of its own (the dead node does not come back during the session), whose
controller sets a silent node DOWN after 10 s; the allocation is made with ``--no-kill``
so that Slurm keeps it on the remaining nodes."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from insitu.jobs import JobSpec, JobState, Resources
from insitu.launchers.slurm.launcher import SlurmLauncher
from insitu.wlm import slurm as wlm
from tests.cluster import slurm

pytestmark = pytest.mark.requires_slurm


def test_a_node_that_dies_fails_its_step_and_spares_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = slurm.why_unavailable()
    if reason:
        pytest.skip(f"Slurm test cluster: {reason}")
    directory = Path(tempfile.mkdtemp(prefix="insitu-cluster-", dir="/tmp"))
    cluster = slurm.up(directory, slurmd_timeout=10)
    try:
        monkeypatch.setenv("SLURM_CONF", str(cluster.conf))
        alloc = wlm.get_allocation(nodes=3, time="00:10:00", options={"no-kill": None})
        launcher = SlurmLauncher(poll_interval=0.0)
        try:
            ids = [
                launcher.submit(JobSpec(f"s{i}", "/bin/sleep", ("300",), tmp_path,
                                        allocation=alloc,
                                        resources=Resources(tasks=1, node_index=i)))
                for i in range(3)
            ]  # fmt: skip
            deadline = time.monotonic() + 60
            while not all(s.state is JobState.RUNNING for s in launcher.poll(ids).values()):
                assert time.monotonic() < deadline, launcher.poll(ids)
                time.sleep(0.2)
            assert [launcher.poll(ids)[j].host for j in ids] == ["node1", "node2", "node3"]
            slurm.kill_node(cluster, "node3")
            deadline = time.monotonic() + 120
            while not (states := launcher.poll(ids))[ids[2]].state.is_terminal:
                assert time.monotonic() < deadline, states
                time.sleep(0.5)
            assert [states[j].state for j in ids] == [JobState.RUNNING] * 2 + [JobState.FAILED]
        finally:
            launcher.shutdown()
            wlm.release_allocation(alloc)
        assert [s.state for s in launcher.poll(ids).values()][:2] == [JobState.CANCELLED] * 2
    finally:
        problems = slurm.down(directory)
        if not problems:
            shutil.rmtree(directory, ignore_errors=True)
        assert not problems, problems
