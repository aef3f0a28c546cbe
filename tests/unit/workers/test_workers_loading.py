"""Which objects go to which store, and which Client call stores each one (pure).

The multi-GPU calls cannot run here (no GPU), so the dispatch is checked against a
recorder of Client calls; loading through a real Client into real stores is covered by
tests/integration/workers/test_workers_db_objects.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from insitu import Ensemble, Model, Orchestrator, RunSettings
from insitu.errors import DBObjectLoadError
from insitu.experiment.loading import colocated_load, plan_loads, set_object


class Recorder:
    """Records every call made on it as (method, args)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def __getattr__(self, method: str) -> object:
        def record(*args: object) -> None:
            self.calls.append((method, args))

        return record


def model(name: str) -> Model:
    return Model(name, {}, RunSettings(sys.executable), path="/tmp")


def store(tmp_path: Path, name: str) -> Orchestrator:
    return Orchestrator(path=tmp_path, port=7200, db_identifier=name, inference_workers=0)


def test_ensemble_objects_are_loaded_once_into_every_shared_store(tmp_path: Path) -> None:
    ens = Ensemble("ens", {}, run_settings=RunSettings(sys.executable), replicas=3)
    ens.add_ml_model("net", "ONNX", model=b"m")
    ens.models[0].add_script("own", script="s")
    stores = [store(tmp_path, "a"), store(tmp_path, "b")]
    loads = plan_loads(ens.models, stores)
    assert [load.store.name for load in loads] == ["a", "b"]
    assert [o.name for o in loads[0].objects] == ["net", "own"]
    assert loads[0].owners == ("ens_0", "ens_0")
    assert plan_loads([model("plain")], stores) == []


def test_objects_without_a_store_fail_before_anything_starts() -> None:
    m = model("sim")
    m.add_ml_model("net", "ONNX", model=b"m")
    with pytest.raises(DBObjectLoadError) as info:
        plan_loads([m], [])
    assert (info.value.entity, info.value.object_name, info.value.store) == ("sim", "net", "")


def test_colocated_load_takes_the_models_own_objects(tmp_path: Path) -> None:
    m = model("sim")
    assert colocated_load(m, store(tmp_path, "a")) is None
    m.add_function("f", function=len)
    load = colocated_load(m, store(tmp_path, "a"))
    assert load is not None and [o.name for o in load.objects] == ["f"]


def test_client_calls_follow_kind_and_placement(tmp_path: Path) -> None:
    path = tmp_path / "net.pt"
    path.write_bytes(b"x")
    m = model("sim")
    m.add_ml_model("a", "TF", model=b"m", batch_size=4, min_batch_size=2, min_batch_timeout=5,
                   tag="t", inputs="x", outputs=["y"])  # fmt: skip
    m.add_ml_model("b", "TORCH", model_path=str(path), device="GPU", first_device=1)
    m.add_ml_model("c", "TORCH", model=b"m", device="GPU", devices_per_node=2, first_device=1)
    m.add_ml_model("d", "TORCH", model_path=str(path), device="GPU", devices_per_node=2)
    m.add_script("e", script="src")
    m.add_script("f", script_path=str(path), device="GPU", devices_per_node=4)
    m.add_function("g", function=len, device="GPU:1")
    m.add_function("h", function=len, device="GPU", devices_per_node=2)
    client = Recorder()
    for obj in m._objects():
        set_object(client, obj)  # type: ignore[arg-type]
    assert client.calls == [
        ("set_model", ("a", b"m", "TF", "CPU", 4, 2, 5, "t", ["x"], ["y"])),
        ("set_model_from_file", ("b", str(path), "TORCH", "GPU:1", 0, 0, 0, "", None, None)),
        ("set_model_multigpu", ("c", b"m", "TORCH", 1, 2, 0, 0, 0, "", None, None)),
        ("set_model_from_file_multigpu", ("d", str(path), "TORCH", 0, 2, 0, 0, 0, "", None, None)),
        ("set_script", ("e", "src", "CPU")),
        ("set_script_from_file_multigpu", ("f", str(path), 0, 4)),
        ("set_function", ("g", len, "GPU:1")),
        ("set_function_multigpu", ("h", len, 0, 2)),
    ]
