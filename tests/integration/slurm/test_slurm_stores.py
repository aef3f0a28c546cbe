"""Stores spread over the 3 hosts of the test cluster: one shard per node, bound on each
node's own interface, a Redis Cluster across hosts, workers beside their shards, Models on
other hosts reaching it through SSDB; the same as one batch job."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest
import redis

from insitu import Experiment
from insitu.client import Client
from insitu.errors import ShardStartError
from insitu.jobs import EntityType, JobEvent, JobState
from insitu.store.readiness import find_free_port_block
from tests.cluster.slurm import Cluster

pytestmark = pytest.mark.requires_slurm

WRITER = """
import os, socket, numpy as np
from insitu.client import Client
c = Client(cluster=True)
c.put_tensor("from_" + socket.gethostname(), np.array([1, 2, 3]))
print(os.environ["SSDB"])
"""


def _hosts_of(events: list[JobEvent], entity_type: EntityType) -> dict[str, str]:
    """Where jobs of ``entity_type`` ran, from their job events."""
    return {e.name: e.host for e in events if e.entity_type is entity_type and e.host}


@pytest.mark.parametrize(
    ("batch", "tls"),
    [(False, False), (True, False), (False, True)],
    ids=["in-allocation", "batch-job", "in-allocation-tls"],
)
def test_a_three_shard_store_runs_one_shard_per_host(
    slurm_cluster: Cluster, allocation: str, tmp_path: Path, batch: bool, tls: bool
) -> None:
    if tls and shutil.which("redis-server") is None:
        pytest.skip(
            "TLS needs a TLS-capable engine (Debian's redis-server: apt install redis-server)"
        )
    exp = Experiment("spread", exp_path=str(tmp_path), launcher="slurm")
    events: list[JobEvent] = []
    exp._control.subscribe(events.append)
    options: dict[str, object] = {"batch": True, "time": "00:10:00"} if batch else {}
    if tls:
        options["tls"] = True  # shards on three hosts, clients there and here verify them
    db = exp.create_database(db_nodes=3, interface="hsn0", port=find_free_port_block(3), **options)
    exp.start(db)
    try:
        addresses = db.get_address()
        hosts = [a.rsplit(":", 1)[0] for a in addresses]
        assert hosts == list(slurm_cluster.node_addresses.values())  # node1, node2, node3
        rs = exp.create_run_settings(sys.executable, exe_args=["-c", WRITER])
        rs.set_nodes(3)
        rs.set_tasks(3)
        writer = exp.create_model("writer", rs)
        exp.start(writer, block=True)
        assert exp.get_status(writer) == [JobState.COMPLETED]
        client = Client(cluster=True, address=addresses[0])
        for node in slurm_cluster.node_names:
            assert client.get_tensor(f"from_{node}").tolist() == [1, 2, 3]
        shard_hosts = _hosts_of(events, EntityType.DB_NODE)
        assert sorted(shard_hosts.values()) == ["node1", "node2", "node3"]
        deadline = time.monotonic() + 60  # workers are started, not waited for
        while len(worker_hosts := _hosts_of(events, EntityType.WORKER)) < 3:
            assert time.monotonic() < deadline, [e for e in events if e.name.endswith("worker")]
            time.sleep(0.1)
        for worker, host in worker_hosts.items():
            assert host == shard_hosts[worker.split(".")[0]]
        if tls:  # the writers on every host verified the shards; a plain client is refused
            host, port = addresses[1].rsplit(":", 1)
            plain = redis.Redis(host=host, port=int(port), password=db.password)
            with pytest.raises(redis.ConnectionError):
                plain.ping()
            plain.close()
    finally:
        exp.stop(db)
    if batch:
        assert slurm_cluster.run("squeue", "--noheader", "--name=orchestrator").strip() == ""


def test_an_interface_missing_on_the_shards_host_is_named(allocation: str, tmp_path: Path) -> None:
    exp = Experiment("noif", exp_path=str(tmp_path), launcher="slurm")
    db = exp.create_database(db_nodes=1, interface="ib0", port=find_free_port_block(1))
    with pytest.raises(ShardStartError, match=r"ib0.*node1|node1.*ib0"):
        exp.start(db)
