"""Real MPI across hosts: an Open MPI program under ``srun --mpi=pmix`` on the 3 hosts of
the test cluster, each rank writing a tensor named after its rank through the Client."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from insitu import Experiment
from insitu.client import Client
from insitu.jobs import JobState
from insitu.store.readiness import find_free_port_block
from tests.cluster.slurm import Cluster

pytestmark = [
    pytest.mark.requires_slurm,
    pytest.mark.skipif(
        shutil.which("mpirun") is None,
        reason="needs Open MPI: run `bash .ci/debian-packages` as root (openmpi-bin)",
    ),
]

PROGRAM = Path(__file__).with_name("mpi_ranks.py")


def test_six_ranks_on_three_hosts_each_write_their_tensor(
    slurm_cluster: Cluster, allocation: str, tmp_path: Path
) -> None:
    exp = Experiment("mpi", exp_path=str(tmp_path), launcher="slurm")
    db = exp.create_database(db_nodes=1, interface="hsn0", port=find_free_port_block(1))
    exp.start(db)
    try:
        rs = exp.create_run_settings(sys.executable, exe_args=[str(PROGRAM)],
                                     run_args={"mpi": "pmix"})  # fmt: skip
        rs.set_nodes(3)
        rs.set_tasks(6)
        model = exp.create_model("ranks", rs)
        exp.start(model, block=True)
        assert exp.get_status(model) == [JobState.COMPLETED], Path(
            model.path, "ranks.err"
        ).read_text()
        client = Client(address=db.get_address()[0], cluster=False)
        rows = [client.get_tensor(f"rank_{r}").tolist() for r in range(6)]
    finally:
        exp.stop(db)
    assert [row[:3] for row in rows] == [[r, 6, 15] for r in range(6)]
    assert {row[3] for row in rows} == {1, 2, 3}  # every host ran ranks
