"""The in-process fast path (``INSITU_INFERENCE_PATH=inprocess``, issue 16 item 6): CPU
models and scripts run in the caller's process from a cached session, on real stores with
real onnxruntime/torch, outputs written to the store for every client to read."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from insitu.client import Client
from insitu.errors import (
    ConnectionEnvError,
    InferenceError,
    InferenceInputError,
    RedisKeyError,
)
from tests import inference_models

from .conftest import Store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(params=["tcp", "uds"])
def local_client(
    request: pytest.FixtureRequest, stores: dict[str, Store], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Client, Store]]:
    """A client on the in-process path, on an emptied standalone store."""
    store = stores[request.param]
    monkeypatch.setenv("INSITU_INFERENCE_PATH", "inprocess")
    with store.client() as c:
        c.flush_db(store.addresses)
        store.wait_for_workers()
        yield c, store


def _requests(client: Client, store: Store, key: str) -> int:
    """How many requests the store's workers served for ``key`` (AI.INFO)."""
    return int(client.get_ai_info([store.address], key)[0]["requests"])


def test_onnx_model_runs_in_process_and_outputs_reach_other_clients(
    local_client: tuple[Client, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, store = local_client
    client.set_model("sq", inference_models.onnx_square(), "ONNX")
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    client.put_tensor("x", x)
    for _ in range(3):
        client.run_model("sq", "x", "y")
    np.testing.assert_array_equal(client.get_tensor("y"), x * x)
    assert _requests(client, store, "sq") == 0  # no worker served any of them
    monkeypatch.delenv("INSITU_INFERENCE_PATH")
    with store.client() as other:  # the module path, another connection
        np.testing.assert_array_equal(other.get_tensor("y"), x * x)
        other.run_model("sq", "x", "y2")
        np.testing.assert_array_equal(other.get_tensor("y2"), x * x)
        assert _requests(other, store, "sq") == 1


def test_replacing_the_model_invalidates_the_cached_session(
    local_client: tuple[Client, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, store = local_client
    client.set_model("m", inference_models.onnx_square(), "ONNX")
    x = np.array([[1, 2, 3]], np.float32)
    client.put_tensor("x", x)
    client.run_model("m", "x", "y")
    np.testing.assert_array_equal(client.get_tensor("y"), x * x)
    weights, bias = np.eye(3, dtype=np.float32) * 2, np.ones(3, np.float32)
    monkeypatch.delenv("INSITU_INFERENCE_PATH")
    with store.client() as other:  # another client replaces the model
        other.set_model("m", inference_models.onnx_linear(weights, bias), "ONNX")
    client.run_model("m", "x", "y")
    np.testing.assert_allclose(client.get_tensor("y"), x @ weights + bias)
    client.delete_model("m")
    with pytest.raises(RedisKeyError, match="no model or script stored under 'm'"):
        client.run_model("m", "x", "y")


def test_torchscript_model_and_script_run_in_process(local_client: tuple[Client, Store]) -> None:
    client, store = local_client
    blob, module = inference_models.torch_linear(seed=3)
    client.set_model("lin", blob, "TORCH", device="CPU")
    x = np.random.default_rng(1).random((6, 4), dtype=np.float32)
    client.put_tensor("x", x)
    client.run_model("lin", ["x"], ["y"])
    expected = inference_models.torch_reference(module, x)
    np.testing.assert_allclose(client.get_tensor("y"), expected, rtol=1e-6)
    client.set_script("s", inference_models.SCRIPT)
    a, b = np.arange(3.0), np.full(3, 2.0)
    client.put_tensor("a", a)
    client.put_tensor("b", b)
    client.run_script("s", "add_mul", ["a", "b"], ["sum", "prod"])
    np.testing.assert_array_equal(client.get_tensor("sum"), a + b)
    np.testing.assert_array_equal(client.get_tensor("prod"), a * b)
    assert _requests(client, store, "lin") == 0 and _requests(client, store, "s") == 0


def test_errors_are_typed_and_nothing_is_written(local_client: tuple[Client, Store]) -> None:
    client, _ = local_client
    client.put_tensor("x", np.ones((2, 3), np.float32))
    with pytest.raises(RedisKeyError, match="no model or script stored under 'nope'"):
        client.run_model("nope", "x", "y")
    client.set_model("sq", inference_models.onnx_square(), "ONNX")
    with pytest.raises(RedisKeyError, match="input tensor 'missing' does not exist"):
        client.run_model("sq", "missing", "y")
    client.put_tensor("bad", np.ones((2, 5), np.float32))  # the model takes [N, 3]
    with pytest.raises(InferenceInputError) as caught:
        client.run_model("sq", "bad", "y")
    assert caught.value.backend_message
    with pytest.raises(InferenceInputError, match="returned 1 output"):
        client.run_model("sq", "x", ["y", "z"])
    with pytest.raises(InferenceError, match="holds a model, not a script"):
        client.run_script("sq", "double", "x", "y")
    client.put_tensor("not_a_model", np.ones(2))
    with pytest.raises(InferenceError):
        client.run_model("not_a_model", "x", "y")
    assert not client.tensor_exists("y") and not client.tensor_exists("z")


def test_a_cluster_takes_the_module_path(
    stores: dict[str, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = stores["cluster"]
    monkeypatch.setenv("INSITU_INFERENCE_PATH", "inprocess")
    with store.client() as client:
        client.flush_db(store.addresses)
        store.wait_for_workers()
        client.set_model("sq", inference_models.onnx_square(), "ONNX")
        x = np.ones((1, 3), np.float32) * 3
        client.put_tensor("x", x)
        client.run_model("sq", "x", "y")
        np.testing.assert_array_equal(client.get_tensor("y"), x * x)


def test_an_unknown_path_is_refused(
    stores: dict[str, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = stores["uds"]
    monkeypatch.setenv("INSITU_INFERENCE_PATH", "in-process")
    with store.client() as client, pytest.raises(ConnectionEnvError, match="INSITU_INFERENCE"):
        client.run_model("sq", "x", "y")
