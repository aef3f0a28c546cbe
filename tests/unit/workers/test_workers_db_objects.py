"""add_ml_model / add_script / add_function: SmartSim 0.8's argument rules (pure)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from insitu import Ensemble, Model, RunSettings
from insitu.entities.db_objects import DBModel, DBScript, Placement
from insitu.errors import (
    AttachedFileNotFoundError,
    EntityExistsError,
    InvalidArgumentError,
    ParameterTypeError,
    UnsupportedOptionError,
)


def model(name: str = "sim") -> Model:
    return Model(name, {}, RunSettings(sys.executable), path="/tmp")


def ensemble(n: int = 2) -> Ensemble:
    return Ensemble("ens", {}, run_settings=RunSettings(sys.executable), replicas=n)


def test_add_ml_model_records_a_frozen_value_with_smartsim_defaults() -> None:
    m = model()
    m.add_ml_model("net", "onnx", model=b"bytes")
    (net,) = m.db_models
    assert isinstance(net, DBModel)
    assert (net.name, net.backend, net.device, net.devices_per_node, net.first_device) == (
        "net", "ONNX", "CPU", 1, 0,
    )  # fmt: skip
    assert (net.batch_size, net.min_batch_size, net.min_batch_timeout, net.tag) == (0, 0, 0, "")
    assert net.inputs == () and net.outputs == () and not net.is_file
    assert m.has_db_objects and m.db_scripts == ()
    with pytest.raises(AttributeError):
        net.name = "other"  # type: ignore[misc]


def test_model_path_is_resolved_and_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "net.onnx"
    path.write_bytes(b"x")
    m = model()
    m.add_ml_model("net", "TF", model_path=str(path), inputs="a", outputs=["b", "c"])
    assert m.db_models[0].file == path.resolve() and m.db_models[0].is_file
    assert m.db_models[0].inputs == ("a",) and m.db_models[0].outputs == ("b", "c")
    with pytest.raises(AttachedFileNotFoundError) as info:
        m.add_ml_model("other", "TORCH", model_path=str(tmp_path / "missing.pt"))
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"backend": "CAFFE"}, InvalidArgumentError),
        ({"model": None}, InvalidArgumentError),
        ({"model_path": "/etc/hostname"}, InvalidArgumentError),  # both given
        ({"device": "TPU"}, InvalidArgumentError),
        ({"device": "CPU:1"}, InvalidArgumentError),
        ({"devices_per_node": 2}, UnsupportedOptionError),  # CPU
        ({"first_device": 1}, UnsupportedOptionError),  # CPU
        ({"device": "GPU:1", "devices_per_node": 2}, InvalidArgumentError),
        ({"device": "GPU:1", "first_device": 1}, InvalidArgumentError),
        ({"devices_per_node": 0}, InvalidArgumentError),
        ({"batch_size": -1}, InvalidArgumentError),
        ({"batch_size": 1.5}, ParameterTypeError),
        ({"model": "text"}, ParameterTypeError),
        ({"tag": 3}, ParameterTypeError),
        ({"inputs": [1]}, ParameterTypeError),
        ({"inputs": "x"}, InvalidArgumentError),  # inputs/outputs are for TF models only
        ({"min_batch_size": 2}, InvalidArgumentError),  # batching needs batch_size > 0
        ({"batch_size": 4, "min_batch_timeout": 5}, InvalidArgumentError),
    ],
)
def test_add_ml_model_refuses(kwargs: dict[str, object], error: type[Exception]) -> None:
    args: dict[str, object] = {"backend": "ONNX", "model": b"m"}
    args.update(kwargs)
    with pytest.raises(error):
        model().add_ml_model("net", **args)  # type: ignore[arg-type]


def test_refused_errors_are_the_builtins_smartsim_raises() -> None:
    with pytest.raises(ValueError):
        model().add_ml_model("net", "CAFFE", model=b"m")
    with pytest.raises(TypeError):
        model().add_ml_model("net", "ONNX", model=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("device", "per_node", "first", "expected", "devices"),
    [
        ("cpu", 1, 0, Placement("CPU"), ["CPU"]),
        ("GPU", 1, 0, Placement("GPU"), ["GPU"]),
        ("GPU", 1, 2, Placement("GPU:2"), ["GPU:2"]),
        ("gpu:3", 1, 0, Placement("GPU:3"), ["GPU:3"]),
        ("GPU", 2, 0, Placement("GPU", 0, 2), ["GPU:0", "GPU:1"]),
        ("GPU", 3, 1, Placement("GPU", 1, 3), ["GPU:1", "GPU:2", "GPU:3"]),
    ],
)
def test_placement(
    device: str, per_node: int, first: int, expected: Placement, devices: list[str]
) -> None:
    m = model()
    m.add_ml_model("net", "ONNX", model=b"m", device=device, devices_per_node=per_node,
                   first_device=first)  # fmt: skip
    assert m.db_models[0].placement == expected
    assert m.db_models[0].devices == devices
    assert m.db_models[0].placement.multigpu == (per_node > 1)


def test_add_script_and_add_function() -> None:
    m = model()
    m.add_script("s", script="def f(x):\n    return x\n")
    m.add_function("f", function=len)
    script, function = m.db_scripts
    assert isinstance(script, DBScript) and script.func == "def f(x):\n    return x\n"
    assert function.function is len and function.func is len and not function.is_file
    with pytest.raises(InvalidArgumentError):
        m.add_script("t")
    with pytest.raises(InvalidArgumentError):
        m.add_function("g")
    with pytest.raises(ParameterTypeError):
        m.add_function("g", function="not callable")  # type: ignore[arg-type]
    with pytest.raises(UnsupportedOptionError):
        m.add_script("t", script="x", devices_per_node=2)


def test_a_name_is_used_once_per_kind() -> None:
    m = model()
    m.add_ml_model("x", "ONNX", model=b"m")
    m.add_script("x", script="s")  # a script may share a model's name, as in SmartSim
    with pytest.raises(UnsupportedOptionError, match='An ML Model with name "x" already exists'):
        m.add_ml_model("x", "ONNX", model=b"m")
    with pytest.raises(UnsupportedOptionError, match='A Script with name "x" already exists'):
        m.add_function("x", function=len)


def test_ensemble_objects_reach_every_member_including_later_ones() -> None:
    ens = ensemble(2)
    ens.add_ml_model("net", "ONNX", model=b"m")
    ens.add_script("pre", script="s")
    assert [o.name for o in ens.db_models] == ["net"]
    for member in ens.models:
        assert member.db_models == ens.db_models and member.db_scripts == ens.db_scripts
    late = model("late")
    ens.add_model(late)
    assert late.db_models == ens.db_models
    with pytest.raises(UnsupportedOptionError):
        ens.add_ml_model("net", "ONNX", model=b"m")


def test_ensemble_checks_every_member_before_changing_any() -> None:
    ens = ensemble(2)
    ens.models[1].add_ml_model("net", "ONNX", model=b"m")
    with pytest.raises(UnsupportedOptionError):
        ens.add_ml_model("net", "ONNX", model=b"other")
    assert ens.models[0].db_models == () and ens.db_models == ()
    clash = model("clash")
    clash.add_script("pre", script="mine")
    ens.add_script("pre", script="theirs")
    with pytest.raises(UnsupportedOptionError):
        ens.add_model(clash)
    assert [m.name for m in ens.models] == ["ens_0", "ens_1"]
    with pytest.raises(EntityExistsError):
        ens.add_model(ens.models[0])
