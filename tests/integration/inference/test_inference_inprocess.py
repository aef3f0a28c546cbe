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


def _calls(client: Client, store: Store) -> dict[str, int]:
    """How many times the store ran each command (``INFO commandstats``)."""
    stats = client.get_db_node_info([store.address])[0]["Commandstats"]
    return {
        name.removeprefix("cmdstat_"): int(value.split(",")[0].removeprefix("calls="))
        for name, value in stats.items()
    }


def test_known_inputs_take_one_round_trip_and_changed_ones_are_read_again(
    local_client: tuple[Client, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, store = local_client
    client.set_model("sq", inference_models.onnx_square(), "ONNX")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    client.put_tensor("x", x)
    client.run_model("sq", "x", "y")  # loads the session: the full path
    before = _calls(client, store)
    client.run_model("sq", "x", "y")  # the model and x are known: one checked write
    after = _calls(client, store)
    # The script's own HGET/GET/SET count in commandstats too: one of each, where the full
    # path would have added its HGET + GET and SET on top.
    ran = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    assert ran["evalsha"] + ran.get("eval", 0) == 1
    assert (ran["hget"], ran["get"], ran["set"]) == (1, 1, 1)
    np.testing.assert_array_equal(client.get_tensor("y"), x * x)
    monkeypatch.delenv("INSITU_INFERENCE_PATH")
    with store.client() as other:  # another client changes the input behind our back
        other.put_tensor("x", x + 1)
        client.run_model("sq", "x", "y")
        np.testing.assert_array_equal(other.get_tensor("y"), (x + 1) * (x + 1))
        other.put_tensor("x", np.ones((2, 3), np.float32))  # same bytes count, other values
        client.run_model("sq", "x", "y2")
        np.testing.assert_array_equal(other.get_tensor("y2"), np.ones((2, 3)))
        client.put_tensor("x", x)  # our own write is known again
        client.run_model("sq", "x", "y3")
        np.testing.assert_array_equal(other.get_tensor("y3"), x * x)
        other.delete_tensor("x")  # a deleted input: the typed error, nothing written
        with pytest.raises(RedisKeyError, match="input tensor 'x' does not exist"):
            client.run_model("sq", "x", "y4")
        assert not other.tensor_exists("y4")
        other.put_tensor("x", x)
        other.set_model(
            "sq",
            inference_models.onnx_linear(np.eye(3, dtype=np.float32), np.ones(3, np.float32)),
            "ONNX",
        )
        client.run_model("sq", "x", "y5")  # the model was replaced: the new one runs
        np.testing.assert_allclose(other.get_tensor("y5"), x + 1)


def test_big_inputs_and_a_flushed_script_cache_still_give_right_results(
    local_client: tuple[Client, Store],
) -> None:
    client, store = local_client
    client.set_model("sq", inference_models.onnx_square(), "ONNX")
    big = np.random.default_rng(2).random((8192, 3), dtype=np.float32)  # 96 KiB: not kept
    client.put_tensor("big", big)
    for _ in range(2):
        client.run_model("sq", "big", "out")
        np.testing.assert_array_equal(client.get_tensor("out"), big * big)
    x = np.full((1, 3), 2, np.float32)
    client.put_tensor("x", x)
    client.run_model("sq", "x", "y")
    for address in store.addresses:
        client._store.node_command(client._shard_address(address), "SCRIPT", "FLUSH")
    client.put_tensor("x", x * 2)
    client.run_model("sq", "x", "y")  # NOSCRIPT: the script is sent again
    np.testing.assert_array_equal(client.get_tensor("y"), (x * 2) ** 2)


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
