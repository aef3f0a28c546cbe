"""Which workers run beside which shards, and how they are started (pure)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from insitu import Orchestrator
from insitu.entities.colocation import InferenceThreads, split_server_kwargs
from insitu.errors import CPUPinningError, InvalidArgumentError, ParameterTypeError
from insitu.jobs.entity_types import EntityType
from insitu.store.workers import (
    ShardFacts,
    WorkerLayout,
    parse_devices,
    worker_names,
    worker_specs,
)
from insitu.wire.worker import WORKER_PASSWORD_ENV, WorkerThreads

SHARDS = [
    ShardFacts("db_0", "127.0.0.1:7000", Path("/s/db_0"), (1,)),
    ShardFacts("db_1", "127.0.0.1:7001", Path("/s/db_1"), (2,)),
]


def flag(argv: tuple[str, ...], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_one_cpu_worker_per_shard_by_default() -> None:
    specs = worker_specs(SHARDS, WorkerLayout(), "secret", "db")
    assert [s.name for s in specs] == ["db_0.worker", "db_1.worker"]
    for index, spec in enumerate(specs):
        assert spec.args[:2] == ("-m", "insitu.inference.worker")
        assert flag(spec.args, "--address") == SHARDS[index].address
        assert flag(spec.args, "--shard-index") == str(index)
        assert flag(spec.args, "--num-shards") == "2"
        assert flag(spec.args, "--device") == "CPU"
        assert flag(spec.args, "--db-identifier") == "db"
        assert spec.entity_type == EntityType.WORKER == "Worker"
        assert spec.resources.cpu_pinning == SHARDS[index].cpu_pinning
        assert spec.out_path == SHARDS[index].directory / f"{spec.name}.out"
        assert spec.cwd == SHARDS[index].directory


def test_the_password_travels_in_the_environment_only() -> None:
    (spec,) = worker_specs(SHARDS[:1], WorkerLayout(), "s3cret-pw", "db")
    assert spec.env[WORKER_PASSWORD_ENV] == "s3cret-pw"
    assert not any("s3cret-pw" in arg for arg in spec.argv)


def test_threads_reach_the_argv() -> None:
    layout = WorkerLayout(threads=WorkerThreads(2, 3, 4))
    (spec,) = worker_specs(SHARDS[:1], layout, "pw", "db")
    assert flag(spec.args, "--threads-per-queue") == "2"
    assert flag(spec.args, "--inter-op-threads") == "3"
    assert flag(spec.args, "--intra-op-threads") == "4"


def test_one_worker_pinned_to_each_gpu() -> None:
    layout = WorkerLayout(devices=parse_devices(["GPU:0", "gpu:1"]))
    specs = worker_specs(SHARDS, layout, "pw", "db")
    assert [s.name for s in specs] == [
        "db_0.worker0",
        "db_0.worker1",
        "db_1.worker0",
        "db_1.worker1",
    ]
    assert [flag(s.args, "--device") for s in specs] == ["GPU:0", "GPU:1"] * 2
    assert [flag(s.args, "--shard-index") for s in specs] == ["0", "0", "1", "1"]


def test_no_workers() -> None:
    assert worker_specs(SHARDS, WorkerLayout(workers=0), "pw", "db") == []
    assert worker_names("db_0", WorkerLayout(workers=2)) == ["db_0.worker0", "db_0.worker1"]


@pytest.mark.parametrize("bad", ["GPU", "TPU:0", "GPU:x", []])
def test_bad_devices(bad: object) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_devices(bad)


def test_orchestrator_passes_its_options_to_the_workers(tmp_path: Path) -> None:
    store = Orchestrator(
        path=tmp_path, port=7100, db_nodes=3, threads_per_queue=2, intra_op_threads=5,
        db_identifier="feat",
    )  # fmt: skip
    specs = store.worker_specs()
    assert [s.name for s in specs] == [f"feat_{i}.worker" for i in range(3)]
    assert [flag(s.args, "--address") for s in specs] == [f"127.0.0.1:{7100 + i}" for i in range(3)]
    assert flag(specs[0].args, "--threads-per-queue") == "2"
    assert flag(specs[0].args, "--intra-op-threads") == "5"
    assert flag(specs[0].args, "--inter-op-threads") is None
    assert specs[0].env[WORKER_PASSWORD_ENV] == store.password
    assert specs[1].err_path == tmp_path.resolve() / "feat_1" / "feat_1.worker.err"
    assert Orchestrator(path=tmp_path, port=7100, inference_workers=0).worker_specs() == []
    with pytest.raises(ParameterTypeError):
        Orchestrator(path=tmp_path, port=7100, inference_workers="1")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        Orchestrator(path=tmp_path, port=7100, inference_workers=-1)


def test_colocate_kwargs_carry_the_worker_settings() -> None:
    _, threads = split_server_kwargs(
        {"inference_workers": 0, "inter_op_parallelism": 2}, debug=False
    )
    assert threads == InferenceThreads(None, 2, None, workers=0)
    with pytest.raises(InvalidArgumentError):
        split_server_kwargs({"inference_workers": -1}, debug=False)


def test_workers_follow_their_shard_unless_placed(tmp_path: Path) -> None:
    usable = sorted(os.sched_getaffinity(0))
    store = Orchestrator(path=tmp_path, port=7100, db_nodes=3, db_identifier="place")
    store.set_cpu_pinning([usable[0]])
    assert [s.resources.cpu_pinning for s in store.worker_specs()] == [(usable[0],)] * 3
    store.set_worker_cpu_pinning([usable[-1], usable[-1]])
    assert [s.resources.cpu_pinning for s in store.worker_specs()] == [(usable[-1],)] * 3
    store.set_worker_cpu_pinning([])  # back to the shard's CPUs
    assert [s.resources.cpu_pinning for s in store.worker_specs()] == [(usable[0],)] * 3
    with pytest.raises(CPUPinningError, match="not available") as info:
        store.set_worker_cpu_pinning([usable[-1] + 4096])
    assert info.value.cpus == (usable[-1] + 4096,)
    with pytest.raises(ParameterTypeError):
        store.set_worker_cpu_pinning("1")  # type: ignore[arg-type]
    assert [s.resources.cpu_pinning for s in store.worker_specs()] == [(usable[0],)] * 3
