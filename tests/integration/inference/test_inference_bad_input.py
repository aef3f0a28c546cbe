"""Bad input gives a typed error naming the problem, carrying the backend's message; the
worker survives and serves the next request; nothing half-written is left behind."""

from __future__ import annotations

import numpy as np
import pytest

from insitu.client import Client
from insitu.errors import (
    DeviceUnavailableError,
    InferenceError,
    InferenceInputError,
    MissingDependencyError,
    ModelLoadError,
    RedisKeyError,
    RedisParameterError,
    RedisRuntimeError,
    ScriptFunctionError,
)
from tests import inference_models

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def square(client: Client) -> Client:
    """``client`` with the ONNX model ``sq`` stored and a good input ``x``."""
    client.set_model("sq", inference_models.onnx_square(), "ONNX")
    client.put_tensor("x", np.ones((2, 3), np.float32))
    return client


def _still_serves(client: Client) -> None:
    client.run_model("sq", "x", "ok")
    np.testing.assert_array_equal(client.get_tensor("ok"), np.ones((2, 3)))


def test_argument_errors_are_smartredis_errors(client: Client) -> None:
    blob = inference_models.onnx_square()
    with pytest.raises(TypeError, match="Backend type CAFFE unsupported"):
        client.set_model("m", blob, "caffe")
    with pytest.raises(TypeError, match="must start with either CPU or GPU"):
        client.set_model("m", blob, "ONNX", device="TPU")
    with pytest.raises(RedisRuntimeError, match="is not a valid device"):
        client.set_model("m", blob, "ONNX", device="GPU:one")
    with pytest.raises(RedisParameterError, match="batch_size must be non-zero"):
        client.set_model("m", blob, "ONNX", min_batch_size=2)
    with pytest.raises(RedisParameterError, match="only valid for TF models"):
        client.set_model("m", blob, "ONNX", inputs=["a"])
    with pytest.raises(TypeError):
        client.set_model("m", "not bytes", "ONNX")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="is not callable"):
        client.set_function("f", 42)
    with pytest.raises(FileNotFoundError):
        client.set_model_from_file("m", "/no/such/model.onnx", "ONNX")
    assert not client.model_exists("m")


@pytest.mark.parametrize("backend", ["TF", "TFLITE"])
def test_backend_not_installed_fails_at_set_model(
    client: Client, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    inference_models.hide_tensorflow(monkeypatch)
    with pytest.raises(MissingDependencyError, match=r"insitu\[tf\]"):
        client.set_model("m", b"graph", backend, inputs=["a"] if backend == "TF" else None)
    assert not client.model_exists("m")


def test_gpu_without_gpu_fails_at_set_model(client: Client) -> None:
    with pytest.raises(DeviceUnavailableError, match="GPU"):
        client.set_model("m", inference_models.onnx_square(), "ONNX", device="GPU")
    with pytest.raises(DeviceUnavailableError):
        client.set_model_multigpu("m", inference_models.onnx_square(), "ONNX", 0, 2)
    assert not client.model_exists("m") and not client.model_exists("m.GPU:0")


def test_corrupt_model_fails_at_set_model_and_is_not_stored(square: Client) -> None:
    with pytest.raises(ModelLoadError) as err:
        square.set_model("bad", b"\x00 not an onnx graph", "ONNX")
    assert err.value.backend_message and err.value.key == "bad"
    assert not square.model_exists("bad")
    with pytest.raises(ModelLoadError):
        square.set_script("bad", "def broken(x:\n    return")
    assert not square.model_exists("bad")
    _still_serves(square)


@pytest.mark.parametrize(
    ("inputs", "error", "match"),
    [
        (["x", "x"], InferenceInputError, "takes 1 input"),
        (["x64"], InferenceInputError, "ONNX"),
        (["x4"], InferenceInputError, "ONNX"),
        (["missing"], RedisKeyError, "missing"),
    ],
)
def test_bad_inputs_are_typed_errors(
    square: Client, inputs: list[str], error: type[Exception], match: str
) -> None:
    square.put_tensor("x64", np.ones((2, 3), np.float64))
    square.put_tensor("x4", np.ones((2, 4), np.float32))
    with pytest.raises(error, match=match):
        square.run_model("sq", inputs, "y")
    assert not square.tensor_exists("y")
    _still_serves(square)


@pytest.mark.parametrize("backend", ["TF", "TFLITE"])
def test_tensorflow_models_refuse_bad_input_and_keep_serving(square: Client, backend: str) -> None:
    pytest.importorskip("tensorflow")
    names = {"inputs": ["x"], "outputs": ["y"]} if backend == "TF" else {}
    with pytest.raises(ModelLoadError) as err:
        square.set_model("bad", b"\x00 not a model", backend, **names)
    assert err.value.backend_message and not square.model_exists("bad")
    if backend == "TF":
        square.set_model("tf", inference_models.tf_frozen_graph(), "TF", **names)
    else:
        square.set_model("tf", inference_models.tflite_flatbuffer(), "TFLITE")
    square.put_tensor("x4", np.ones((2, 4), np.float32))
    for inputs, match in ((["x", "x"], "takes 1 input"), (["x4"], backend)):
        with pytest.raises(InferenceInputError, match=match) as raised:
            square.run_model("tf", inputs, "y")
        assert raised.value.backend_message or match != backend
        assert not square.tensor_exists("y")
    _still_serves(square)
    square.run_model("tf", "x", "y")
    np.testing.assert_allclose(
        square.get_tensor("y"), inference_models.tf_reference(np.ones((2, 3), np.float32))
    )


def test_wrong_number_of_outputs(square: Client) -> None:
    with pytest.raises(InferenceInputError, match="1 output"):
        square.run_model("sq", "x", ["y", "z"])
    _still_serves(square)


def test_missing_model_and_wrong_kind(square: Client) -> None:
    with pytest.raises(RedisKeyError, match="nothing"):
        square.run_model("nothing", "x", "y")
    with pytest.raises(InferenceError, match="holds a model, not a script"):
        square.run_script("sq", "f", "x", "y")
    _still_serves(square)


def test_script_errors(square: Client) -> None:
    square.set_script("s", inference_models.SCRIPT)
    with pytest.raises(ScriptFunctionError, match="no_such_fn"):
        square.run_script("s", "no_such_fn", "x", "y")
    with pytest.raises(InferenceError, match="positive input refused") as raised:
        square.run_script("s", "fail", "x", "y")
    assert "positive input refused" in raised.value.backend_message
    _still_serves(square)
