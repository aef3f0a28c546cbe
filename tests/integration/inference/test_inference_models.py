"""Models and scripts stored and run by the real workers, on every store topology."""

from __future__ import annotations

import numpy as np
import pytest

from insitu.client import Client
from insitu.errors import RedisKeyError, RedisRuntimeError
from insitu.wire.model_record import CHUNK_SIZE
from tests import inference_models

from .conftest import Store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_onnx_model_round_trip(client: Client) -> None:
    blob = inference_models.onnx_square()
    assert not client.model_exists("sq")
    client.set_model("sq", blob, "onnx", tag="v1")
    assert client.model_exists("sq") and client.poll_model("sq", 10, 1)
    assert client.get_model("sq") == blob
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    client.put_tensor("x", x)
    client.run_model("sq", "x", "y")
    np.testing.assert_array_equal(client.get_tensor("y"), x * x)
    client.delete_model("sq")
    assert not client.model_exists("sq")
    with pytest.raises(RedisRuntimeError):
        client.delete_model("sq")
    with pytest.raises(RedisKeyError):
        client.get_model("sq")


def test_onnx_model_with_two_inputs_and_outputs(client: Client) -> None:
    client.set_model("sd", inference_models.onnx_sum_diff(), "ONNX")
    a = np.array([[1, 2], [3, 4]], np.float32)
    b = np.array([[10, 20], [30, 40]], np.float32)
    client.put_tensor("a", a)
    client.put_tensor("b", b)
    client.run_model("sd", inputs=["a", "b"], outputs=["s", "d"])
    np.testing.assert_array_equal(client.get_tensor("s"), a + b)
    np.testing.assert_array_equal(client.get_tensor("d"), a - b)


def test_torchscript_model_matches_in_process(client: Client) -> None:
    blob, module = inference_models.torch_linear(seed=3)
    client.set_model("lin", blob, "TORCH", device="cpu")
    x = np.random.default_rng(1).random((6, 4), dtype=np.float32)
    client.put_tensor("x", x)
    client.run_model("lin", ["x"], ["y"])
    expected = inference_models.torch_reference(module, x)
    np.testing.assert_allclose(client.get_tensor("y"), expected, rtol=1e-6)


@pytest.mark.parametrize("backend", ["TF", "TFLITE"])
def test_tensorflow_models_round_trip(client: Client, backend: str) -> None:
    pytest.importorskip("tensorflow")
    if backend == "TF":
        blob = inference_models.tf_frozen_graph()
        client.set_model("tf", blob, backend, inputs=["x"], outputs=["y"])
    else:
        blob = inference_models.tflite_flatbuffer()
        client.set_model("tf", blob, backend)
    assert client.get_model("tf") == blob
    for rows in (1, 5):  # the leading dimension is free
        x = np.arange(3 * rows, dtype=np.float32).reshape(rows, 3)
        client.put_tensor("x", x)
        client.run_model("tf", "x", "y")
        np.testing.assert_allclose(client.get_tensor("y"), inference_models.tf_reference(x))


def test_scripts_and_functions(client: Client, tmp_path: object) -> None:
    client.set_script("s", inference_models.SCRIPT)
    assert client.get_script("s") == inference_models.SCRIPT
    a, b = np.arange(3.0), np.full(3, 2.0)
    client.put_tensor("a", a)
    client.put_tensor("b", b)
    client.run_script("s", "add_mul", ["a", "b"], ["sum", "prod"])
    np.testing.assert_array_equal(client.get_tensor("sum"), a + b)
    np.testing.assert_array_equal(client.get_tensor("prod"), a * b)

    def triple(x):
        return x * 3

    client.set_function("f", triple)
    client.run_script("f", "triple", "a", "t")
    np.testing.assert_array_equal(client.get_tensor("t"), a * 3)
    client.delete_script("s")
    assert not client.model_exists("s")


def test_replaced_model_is_reloaded(client: Client) -> None:
    x = np.ones((2, 3), np.float32)
    client.put_tensor("x", x)
    client.set_model("m", inference_models.onnx_linear(np.eye(3), np.zeros(3)), "ONNX")
    client.run_model("m", "x", "y")
    np.testing.assert_array_equal(client.get_tensor("y"), x)
    client.set_model("m", inference_models.onnx_linear(2 * np.eye(3), np.ones(3)), "ONNX")
    client.run_model("m", "x", "y")
    np.testing.assert_array_equal(client.get_tensor("y"), 3 * x)


def test_large_model_is_stored_in_chunks(client: Client) -> None:
    weights = np.random.default_rng(2).random((3, 200_000), dtype=np.float32)  # ~2.4 MB
    blob = inference_models.onnx_linear(weights, np.zeros(200_000))
    assert len(blob) > 2 * CHUNK_SIZE
    client.set_model("big", blob, "ONNX")
    assert client.get_model("big") == blob
    x = np.ones((1, 3), np.float32)
    client.put_tensor("x", x)
    client.run_model("big", "x", "y")
    np.testing.assert_allclose(client.get_tensor("y"), x @ weights, rtol=1e-5)


def test_ai_info_counts_runs_per_shard(client: Client, store: Store) -> None:
    client.set_model("sq", inference_models.onnx_square(), "ONNX", tag="t1")
    client.put_tensor("{k}x", np.ones((5, 3), np.float32))
    for _ in range(3):
        client.run_model("sq", "{k}x", "{k}y")
    infos = client.get_ai_info(store.addresses, "sq")
    assert len(infos) == len(store.addresses)
    assert all(i["key"] == "sq" and i["backend"] == "ONNX" and i["tag"] == "t1" for i in infos)
    assert sum(int(i["calls"]) for i in infos) == 3
    assert sum(int(i["samples"]) for i in infos) == 15
    assert sum(int(i["errors"]) for i in infos) == 0
    assert sum(int(i["duration"]) for i in infos) > 0
    client.get_ai_info(store.addresses, "sq", reset_stat=True)
    assert all(i["calls"] == 0 for i in client.get_ai_info(store.addresses, "sq"))
    with pytest.raises(RedisKeyError):
        client.get_ai_info(store.addresses, "nothing")


def test_inputs_and_outputs_on_other_shards(client: Client) -> None:
    """On the cluster these keys hash to different shards; the worker beside the first
    input runs the model and reads/writes the others where they live."""
    client.set_model("sd", inference_models.onnx_sum_diff(), "ONNX")
    names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    a, b = np.ones((1, 2), np.float32), np.full((1, 2), 5, np.float32)
    client.put_tensor(names[0], a)
    client.put_tensor(names[1], b)
    client.run_model("sd", names[:2], names[2:4])
    np.testing.assert_array_equal(client.get_tensor(names[2]), a + b)
    np.testing.assert_array_equal(client.get_tensor(names[3]), a - b)


def test_prefixes_follow_smartredis(
    client: Client, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Models are not prefixed unless asked; inputs are read with the get prefix and
    outputs written with the put prefix."""
    client.put_tensor("producer.x", np.full((1, 3), 2, np.float32))
    monkeypatch.setenv("SSKEYIN", "producer")
    monkeypatch.setenv("SSKEYOUT", "consumer")
    with store.client() as prefixed:
        prefixed.set_model("sq", inference_models.onnx_square(), "ONNX")
        assert client.model_exists("sq")
        prefixed.run_model("sq", "x", "y")
        assert client.tensor_exists("consumer.y")
        prefixed.use_model_ensemble_prefix(True)
        prefixed.set_model("sq", inference_models.onnx_square(), "ONNX")
        assert client.model_exists("consumer.sq")
        assert not prefixed.model_exists("sq")  # reads use the get prefix: producer.sq
        client.set_model("producer.sq", inference_models.onnx_square(), "ONNX")
        prefixed.run_model("sq", "x", "z")
    np.testing.assert_array_equal(client.get_tensor("consumer.z"), np.full((1, 3), 4))


@pytest.mark.requires_gpu
def test_multigpu_models_run(client: Client) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no GPU here")
    blob, module = inference_models.torch_linear()
    client.set_model_multigpu("lin", blob, "TORCH", 0, torch.cuda.device_count())
    x = np.ones((2, 4), np.float32)
    client.put_tensor("x", x)
    client.run_model_multigpu("lin", 5, 0, torch.cuda.device_count(), "x", "y")
    np.testing.assert_allclose(
        client.get_tensor("y"), inference_models.torch_reference(module, x), rtol=1e-5
    )
    client.delete_model_multigpu("lin", 0, torch.cuda.device_count())
