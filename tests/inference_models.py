"""Real models for the inference tests, built in process: ONNX graphs with onnx's helper
API, TorchScript modules with torch.jit, TensorFlow graphs and TFLite flatbuffers with
TensorFlow (imported lazily: only tests that use them pay)."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

SCRIPT = """
def add_mul(a, b):
    return a + b, a * b

def double(x):
    return x * 2

def stack(tensors: List[Tensor], keys: List[str], args: List[str]):
    return torch.cat(tensors, dim=0)

def fail(x):
    if bool(x.sum() > 0):
        raise ValueError("positive input refused")
    return x
"""

# A loop whose length is the input's value: long enough to kill a worker mid-run.
SLOW_SCRIPT = """
def count(x):
    n = int(x[0].item())
    y = x
    for i in range(n):
        y = y + 1.0
    return y
"""


def onnx_square() -> bytes:
    """y = x * x for float32 x of shape [N, 3]."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "x"], ["y"])], "square", [x], [y])
    return _finish(helper, graph)


def onnx_linear(weights: np.ndarray, bias: np.ndarray) -> bytes:
    """y = x @ weights + bias for float32 x of shape [N, in]."""
    from onnx import TensorProto, helper, numpy_helper

    n_in, n_out = weights.shape
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, n_in])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, n_out])
    inits = [
        numpy_helper.from_array(weights.astype(np.float32), "w"),
        numpy_helper.from_array(bias.astype(np.float32), "b"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "linear", [x], [y], initializer=inits)
    return _finish(helper, graph)


def onnx_sum_diff() -> bytes:
    """(a + b, a - b) for two float32 inputs of shape [N, 2]."""
    from onnx import TensorProto, helper

    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 2]) for n in ("a", "b")]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 2]) for n in ("s", "d")]
    nodes = [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Sub", ["a", "b"], ["d"])]
    return _finish(helper, helper.make_graph(nodes, "sum_diff", ins, outs))


def onnx_identity(onnx_type: int) -> bytes:
    """y = x for x of ONNX element type ``onnx_type`` (a TensorProto code), any shape."""
    from onnx import helper

    x = helper.make_tensor_value_info("x", onnx_type, None)
    y = helper.make_tensor_value_info("y", onnx_type, None)
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "same", [x], [y])
    return _finish(helper, graph)


def onnx_power4() -> bytes:
    """y = x @ x @ x @ x for a float32 square matrix x: slow enough for a large x to be
    interrupted (timeouts, callers that leave)."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])
    nodes = [
        helper.make_node("MatMul", ["x", "x"], ["x2"]),
        helper.make_node("MatMul", ["x2", "x"], ["x3"]),
        helper.make_node("MatMul", ["x3", "x"], ["y"]),
    ]
    return _finish(helper, helper.make_graph(nodes, "power4", [x], [y]))


def _finish(helper: object, graph: object) -> bytes:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])  # type: ignore[attr-defined]
    model.ir_version = 8  # readable by any onnxruntime >= 1.17
    return bytes(model.SerializeToString())


def torch_linear(seed: int = 0) -> tuple[bytes, object]:
    """A TorchScript ``nn.Linear(4, 2)`` (serialized) and the live module."""
    import torch

    torch.manual_seed(seed)
    module = torch.jit.script(torch.nn.Linear(4, 2).eval())
    buffer = io.BytesIO()
    torch.jit.save(module, buffer)
    return buffer.getvalue(), module


def torch_reference(module: object, x: np.ndarray) -> np.ndarray:
    """What ``module`` computes for ``x`` in process."""
    import torch

    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()  # type: ignore[operator,no-any-return]


def _tf_affine() -> object:
    """A ``tf.function`` computing y = x @ W + 1 for float32 x of shape [N, 3] (W is
    ``arange(6).reshape(3, 2)``), with its input named ``x`` and its output ``y``."""
    import tensorflow as tf

    weights = tf.constant(np.arange(6, dtype=np.float32).reshape(3, 2))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])  # type: ignore[misc]
    def affine(x: object) -> object:
        return tf.identity(tf.matmul(x, weights) + 1.0, name="y")

    return affine


def tf_reference(x: np.ndarray) -> np.ndarray:
    """What the TF and TFLITE models of this module compute for ``x``."""
    return x @ np.arange(6, dtype=np.float32).reshape(3, 2) + 1.0  # type: ignore[no-any-return]


def tf_frozen_graph() -> bytes:
    """The affine model as a frozen ``GraphDef`` (what RedisAI's TF backend takes):
    input ``x``, output ``y``."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    frozen = convert_variables_to_constants_v2(_tf_affine().get_concrete_function())  # type: ignore[attr-defined]
    return bytes(frozen.graph.as_graph_def().SerializeToString())


def tflite_flatbuffer() -> bytes:
    """The affine model as a TFLite flatbuffer."""
    import tensorflow as tf

    affine = _tf_affine()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [affine.get_concrete_function()],  # type: ignore[attr-defined]
        affine,
    )
    return bytes(converter.convert())


TF_PACKAGES = ("tensorflow", "tflite_runtime", "ai_edge_litert")


def hide_tensorflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this process see no TensorFlow nor TFLite runtime (``find_spec`` gives None and
    ``import`` raises ImportError for a ``None`` entry of ``sys.modules``), whether or not
    they are installed."""
    for package in TF_PACKAGES:
        monkeypatch.setitem(sys.modules, package, None)
