"""Backends with the real frameworks: onnxruntime and torch load and run real models; a
framework that is not installed (TensorFlow, hidden) is a MissingDependencyError naming
the extra; bad input becomes the typed error carrying the framework's message."""

from __future__ import annotations

import numpy as np
import pytest

from insitu.errors import (
    DeviceUnavailableError,
    InferenceError,
    InferenceInputError,
    MissingDependencyError,
    ModelLoadError,
    ScriptFunctionError,
)
from insitu.inference import backends
from insitu.inference.backends import BackendThreads
from insitu.wire.devices import Device
from insitu.wire.model_record import ModelHeader
from tests import inference_models

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MODEL = ModelHeader("model", "ONNX", "CPU")
TORCH_MODEL = ModelHeader("model", "TORCH", "CPU")
SCRIPT = ModelHeader("script", "TORCH", "CPU")
CPU = Device()
THREADS = BackendThreads(inter_op=1, intra_op=1)


@pytest.mark.parametrize("name", ["TF", "TFLITE"])
def test_tensorflow_backends_name_the_tf_extra(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inference_models.hide_tensorflow(monkeypatch)
    monkeypatch.delitem(backends._loaded, name, raising=False)  # loaded by an earlier test
    with pytest.raises(MissingDependencyError, match=r"insitu\[tf\]"):
        backends.require_installed(name)
    with pytest.raises(MissingDependencyError, match=r"insitu\[tf\]"):
        backends.get_backend(name)


def test_onnx_model_runs() -> None:
    session = backends.get_backend("ONNX").load(inference_models.onnx_square(), MODEL, CPU, THREADS)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (y,) = session.run([x], "")
    np.testing.assert_array_equal(y, x * x)


def test_onnx_bad_inputs_are_input_errors() -> None:
    session = backends.get_backend("ONNX").load(inference_models.onnx_square(), MODEL, CPU, THREADS)
    with pytest.raises(InferenceInputError, match="takes 1 input"):
        session.run([np.ones((1, 3), np.float32)] * 2, "")
    with pytest.raises(InferenceInputError) as wrong_dtype:
        session.run([np.ones((1, 3), np.float64)], "")
    assert (
        "double" in wrong_dtype.value.backend_message or "type" in wrong_dtype.value.backend_message
    )
    with pytest.raises(InferenceInputError) as wrong_shape:
        session.run([np.ones((1, 4), np.float32)], "")
    assert wrong_shape.value.backend_message


def test_corrupt_onnx_bytes_are_a_load_error() -> None:
    with pytest.raises(ModelLoadError) as err:
        backends.get_backend("ONNX").load(b"not a model", MODEL, CPU, THREADS)
    assert "protobuf" in err.value.backend_message.lower()


def test_torch_model_runs_like_in_process() -> None:
    blob, module = inference_models.torch_linear()
    session = backends.get_backend("TORCH").load(blob, TORCH_MODEL, CPU, THREADS)
    x = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    (y,) = session.run([x], "")
    np.testing.assert_allclose(y, inference_models.torch_reference(module, x), rtol=1e-6)
    with pytest.raises(InferenceInputError, match="takes 1 input"):
        session.run([x, x], "")
    with pytest.raises(InferenceError) as err:
        session.run([np.ones((2, 3), np.float32)], "")
    assert err.value.backend_message


def test_torch_script_functions() -> None:
    session = backends.get_backend("TORCH").load(
        inference_models.SCRIPT.encode(), SCRIPT, CPU, THREADS
    )
    a, b = np.ones(3, np.float32), np.full(3, 2, np.float32)
    total, product = session.run([a, b], "add_mul")
    np.testing.assert_array_equal(total, a + b)
    np.testing.assert_array_equal(product, a * b)
    (stacked,) = session.run([a, b], "stack")  # RedisAI 1.2's List[Tensor] signature
    assert stacked.shape == (6,)
    with pytest.raises(ScriptFunctionError, match="nope"):
        session.run([a], "nope")
    with pytest.raises(InferenceInputError, match="takes 1 input"):
        session.run([a, b], "double")
    with pytest.raises(InferenceError, match="positive input refused") as raised:
        session.run([a], "fail")
    assert "positive input refused" in raised.value.backend_message


def test_script_that_does_not_compile_is_a_load_error() -> None:
    with pytest.raises(ModelLoadError, match="compile"):
        backends.get_backend("TORCH").load(b"def f(x:\n  return", SCRIPT, CPU, THREADS)


def test_corrupt_torch_bytes_are_a_load_error() -> None:
    with pytest.raises(ModelLoadError):
        backends.get_backend("TORCH").load(b"PK\x03\x04garbage", TORCH_MODEL, CPU, THREADS)


@pytest.mark.parametrize("name", ["ONNX", "TORCH"])
def test_gpu_without_gpu_is_device_unavailable(name: str) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    blob = inference_models.onnx_square() if name == "ONNX" else inference_models.torch_linear()[0]
    header = ModelHeader("model", name, "GPU:0")
    with pytest.raises(DeviceUnavailableError, match="GPU"):
        backends.get_backend(name).load(blob, header, Device("GPU", 0), THREADS)


@pytest.mark.requires_gpu
def test_torch_model_runs_on_gpu() -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no GPU here")
    blob, _ = inference_models.torch_linear()
    header = ModelHeader("model", "TORCH", "GPU:0")
    session = backends.get_backend("TORCH").load(blob, header, Device("GPU", 0), THREADS)
    assert session.run([np.ones((1, 4), np.float32)], "")[0].shape == (1, 2)
