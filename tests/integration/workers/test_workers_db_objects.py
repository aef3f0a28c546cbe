"""Models, scripts and functions added to entities are in the store before they start."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from insitu import Experiment, JobState, Model
from insitu.errors import DBObjectLoadError, InsituError, MissingDependencyError
from insitu.store.readiness import find_free_port_block
from tests import inference_models
from tests.integration.workers.conftest import flag, workers

onnx = pytest.importorskip("onnx")
pytest.importorskip("torch")
pytestmark = pytest.mark.requires_torch

SCRIPT = "def double(x):\n    return x * 2\n"


def add_one(x):  # unannotated: TorchScript takes x as a Tensor
    return x + 1


def affine_onnx() -> bytes:
    """An ONNX model computing ``y = 2 x + 1`` on float32 ``x`` of any shape."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Mul", ["x", "two"], ["t"]),
        helper.make_node("Add", ["t", "one"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("two", TensorProto.FLOAT, [], [2.0]),
         helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


# The application checks, without waiting, that everything is there when it starts.
APP = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from insitu.client import Client
    names = sys.argv[1].split(",")
    with Client() as client:
        client.use_tensor_ensemble_prefix(False)  # run_model reads inputs with SSKEYIN's
        present = {name: client.model_exists(name) for name in names}
        x = np.arange(4, dtype=np.float32)
        client.put_tensor("x", x)
        out = {}
        if "net" in names:
            client.run_model("net", inputs=["x"], outputs=["y_net"])
            out["net"] = client.get_tensor("y_net").tolist()
        if "pre" in names:
            client.run_script("pre", "double", ["x"], ["y_pre"])
            out["pre"] = client.get_tensor("y_pre").tolist()
        if "fn" in names:
            client.run_script("fn", "add_one", ["x"], ["y_fn"])
            out["fn"] = client.get_tensor("y_fn").tolist()
    with open("result.json", "w") as f:
        json.dump({"present": present, "out": out}, f)
    """
)


def app_model(exp: Experiment, tmp_path: Path, name: str, objects: str) -> Model:
    app = tmp_path / "ml_app.py"
    app.write_text(APP)
    settings = exp.create_run_settings(sys.executable, exe_args=[str(app), objects])
    return exp.create_model(name, settings)


def result(model: Model) -> dict[str, dict[str, object]]:
    path = Path(model.path) / "result.json"
    err = Path(model.path) / f"{model.name}.err"
    assert path.exists(), err.read_text() if err.exists() else "no stderr"
    data: dict[str, dict[str, object]] = json.loads(path.read_text())
    return data


def check(model: Model, objects: list[str]) -> None:
    seen = result(model)
    assert seen["present"] == dict.fromkeys(objects, True)
    expected = {
        "net": [1.0, 3.0, 5.0, 7.0],
        "pre": [0.0, 2.0, 4.0, 6.0],
        "fn": [1.0, 2.0, 3.0, 4.0],
    }
    assert seen["out"] == {name: expected[name] for name in objects}


def test_model_script_and_function_are_loaded_before_the_app(
    exp: Experiment, tmp_path: Path
) -> None:
    store = exp.create_database(port=find_free_port_block())
    model = app_model(exp, tmp_path, "app", "net,pre,fn")
    model.add_ml_model("net", "ONNX", model=affine_onnx())
    model.add_script("pre", script=SCRIPT)
    model.add_function("fn", function=add_one)
    exp.start(store, model, block=True)
    assert exp.get_status(model) == [JobState.STATUS_COMPLETED]
    check(model, ["net", "pre", "fn"])


def test_cluster_store_gets_a_model_from_a_file(exp: Experiment, tmp_path: Path) -> None:
    path = tmp_path / "net.onnx"
    path.write_bytes(affine_onnx())
    store = exp.create_database(port=find_free_port_block(3), db_nodes=3)
    exp.start(store)
    model = app_model(exp, tmp_path, "app", "net")
    model.add_ml_model("net", "onnx", model_path=str(path))
    exp.start(model, block=True)  # the running store is the one it is loaded into
    check(model, ["net"])


def test_each_colocated_member_gets_the_ensembles_objects(exp: Experiment, tmp_path: Path) -> None:
    app = tmp_path / "ml_app.py"
    app.write_text(APP)
    ensemble = exp.create_ensemble(
        "ens",
        run_settings=exp.create_run_settings(sys.executable, exe_args=[str(app), "net,pre"]),
        replicas=2,
    )
    ensemble.colocate_db_uds(unix_socket=str(tmp_path / "ens.sock"))
    ensemble.add_ml_model("net", "ONNX", model=affine_onnx())
    ensemble.add_script("pre", script=SCRIPT)
    exp.start(ensemble, block=True)
    for member in ensemble.models:
        check(member, ["net", "pre"])


def test_bad_model_bytes_stop_the_launch(exp: Experiment, tmp_path: Path) -> None:
    store = exp.create_database(port=find_free_port_block())
    model = app_model(exp, tmp_path, "app", "net")
    model.add_ml_model("net", "ONNX", model=b"these are not onnx bytes")
    with pytest.raises(InsituError) as info:
        exp.start(store, model, block=True)
    assert isinstance(info.value, DBObjectLoadError)
    assert (info.value.entity, info.value.object_name) == ("app", "net")
    assert exp.get_status(store, model) == [
        JobState.STATUS_CANCELLED,
        JobState.STATUS_NEVER_STARTED,
    ]
    assert workers() == {}


def test_a_missing_backend_stops_a_colocated_launch(
    exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inference_models.hide_tensorflow(monkeypatch)
    model = app_model(exp, tmp_path, "app", "net")
    model.colocate_db_uds(unix_socket=str(tmp_path / "colo.sock"))
    model.add_ml_model("net", "TF", model=b"graph", inputs="x", outputs="y")
    with pytest.raises(MissingDependencyError, match="tf"):
        exp.start(model, block=True)
    assert exp.get_status(model) == [JobState.STATUS_NEVER_STARTED]
    assert workers() == {}


def test_objects_need_a_store(exp: Experiment, tmp_path: Path) -> None:
    model = app_model(exp, tmp_path, "app", "net")
    model.add_ml_model("net", "ONNX", model=affine_onnx())
    with pytest.raises(DBObjectLoadError, match="no orchestrator"):
        exp.start(model)
    assert exp.get_status(model) == [JobState.STATUS_NEVER_STARTED]


def test_run_model_works_right_after_start(exp: Experiment) -> None:
    import numpy as np

    from insitu.client import Client

    store = exp.create_database(port=find_free_port_block())
    exp.start(store)  # returns before the worker serves: requests wait in the store
    with Client(False, store.get_address()[0]) as client:
        client.set_model("net", affine_onnx(), "ONNX")
        client.put_tensor("x", np.ones(3, dtype=np.float32))
        client.run_model("net", inputs=["x"], outputs=["y"])
        assert client.get_tensor("y").tolist() == [3.0, 3.0, 3.0]


@pytest.mark.requires_gpu
def test_a_gpu_model_runs_on_the_worker_pinned_to_that_gpu(exp: Experiment, tmp_path: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no GPU here")
    store = exp.create_database(port=find_free_port_block(), inference_devices=["CPU", "GPU:0"])
    model = app_model(exp, tmp_path, "app", "net")
    model.add_ml_model("net", "ONNX", model=affine_onnx(), device="GPU", first_device=0)
    exp.start(store, model, block=True)
    assert sorted(flag(cmd, "--device") for cmd in workers().values()) == ["CPU", "GPU:0"]
    check(model, ["net"])
