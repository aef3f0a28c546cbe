"""SmartRedis 0.6.1 client behaviours that used to succeed silently or raise another type:
non-tensor script results, copying a model as a tensor, the model chunk size, the batching
warning, type checks before value checks, and admin calls given a whole ``SSDB``."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import redis

from insitu.client import Client
from insitu.errors import RedisReplyError, RedisRuntimeError, ScriptFunctionError
from tests import inference_models
from tests.topologies import Store

pytestmark = [
    pytest.mark.requires_redis,
    pytest.mark.usefixtures("clean_client_env"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

NOT_A_TENSOR = """
def is_false(x):
    return False

def pair(x):
    return x, 3
"""


@pytest.fixture
def standalone(compat_stores: dict[str, Store]) -> Iterator[tuple[Store, Client]]:
    store = compat_stores["standalone"]
    with store.client() as client:
        client.flush_db(store.addresses)
        store.wait_for_workers()
        yield store, client


@pytest.fixture(params=["standalone", "cluster"])
def any_client(request: pytest.FixtureRequest, compat_stores: dict[str, Store]) -> Iterator[Client]:
    store = compat_stores[request.param]
    with store.client() as client:
        client.flush_db(store.addresses)
        yield client


def test_a_script_function_returning_a_non_tensor_fails(standalone: tuple[Store, Client]) -> None:
    _, client = standalone
    client.set_script("s", NOT_A_TENSOR)
    client.put_tensor("x", np.arange(3.0))
    for function in ("is_false", "pair"):
        with pytest.raises(ScriptFunctionError, match="not a tensor") as info:
            client.run_script("s", function, "x", ["out", "out2"][: 1 + (function == "pair")])
        assert isinstance(info.value, RedisReplyError)
    assert not client.tensor_exists("out")
    assert not client.tensor_exists("out2")


def test_copy_and_rename_refuse_a_model_or_script_key(
    any_client: Client, request: pytest.FixtureRequest
) -> None:
    """SmartRedis's test_copy_not_tensor, and the same for rename and same-slot keys."""

    def test_func(param):
        print(param)

    client = any_client
    client.set_function("test_func", test_func)
    client.set_script("{t}script", inference_models.SCRIPT)
    # On a cluster, models and scripts live under shard-prefixed keys (as with SmartRedis and
    # RedisAI), so the bare name holds nothing: RedisKeyError, a RedisReplyError, which is
    # what SmartRedis's own test_copy_not_tensor asserts.
    cluster = request.node.callspec.params["any_client"] == "cluster"
    refused = RedisReplyError if cluster else RedisRuntimeError
    for src, dst in (("test_func", "test_fork"), ("{t}script", "{t}fork")):
        with pytest.raises(refused):
            client.copy_tensor(src, dst)
        with pytest.raises(refused):
            client.rename_tensor(src, dst)
        assert client.model_exists(src)
        assert not client.key_exists(dst)
    assert client.get_script("{t}script") == inference_models.SCRIPT
    # Tensors still copy and move, across slots and within one.
    client.put_tensor("{t}a", np.arange(4))
    client.copy_tensor("{t}a", "{t}b")
    client.rename_tensor("{t}b", "elsewhere")
    np.testing.assert_array_equal(client.get_tensor("elsewhere"), np.arange(4))
    assert not client.tensor_exists("{t}b")
    with pytest.raises(RedisReplyError):
        client.copy_tensor("not-a-tensor", "still-not-a-tensor")


def test_set_model_chunk_size(standalone: tuple[Store, Client]) -> None:
    store, client = standalone
    with pytest.raises(TypeError):
        client.set_model_chunk_size("1024")  # type: ignore[arg-type]
    with pytest.raises(RedisRuntimeError):
        client.set_model_chunk_size(0)
    blob = inference_models.onnx_square()
    client.set_model_chunk_size(16)
    client.set_model("sq", blob, "ONNX")
    host, port = store.address.rsplit(":", 1)
    raw = redis.Redis(host=host, port=int(port), password=store.orchestrator.password)
    try:
        # RedisAI's semantics: the store hands the blob out in pieces of that size.
        pieces = raw.execute_command("AI.MODELGET", "sq", "BLOB")
        assert isinstance(pieces, list) and len(pieces) == math.ceil(len(blob) / 16) > 1
        assert b"".join(pieces) == blob
        assert raw.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 16
    finally:
        raw.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", 511 * 1024 * 1024)
        raw.close()
    assert client.get_model("sq") == blob
    x = np.ones((2, 3), np.float32) * 3
    client.put_tensor("x", x)
    client.run_model("sq", "x", "y")
    np.testing.assert_array_equal(client.get_tensor("y"), x * x)


def test_min_batch_size_without_timeout_warns_on_stderr(
    standalone: tuple[Store, Client], capfd: pytest.CaptureFixture[str]
) -> None:
    _, client = standalone
    blob = inference_models.onnx_square()
    client.set_model("quiet", blob, "ONNX", batch_size=4, min_batch_size=2, min_batch_timeout=5)
    assert "WARNING" not in capfd.readouterr().err
    client.set_model("loud", blob, "ONNX", batch_size=4, min_batch_size=2, min_batch_timeout=0)
    err = capfd.readouterr().err
    assert "WARNING" in err and "min_batch_timeout" in err
    assert client.model_exists("loud")


def test_type_checks_come_before_value_checks(
    standalone: tuple[Store, Client], tmp_path: object
) -> None:
    _, client = standalone
    missing = "/nonexistent/model.onnx"
    calls = [
        lambda: client.set_model_from_file("m", missing, "ONNX", tag=3),
        lambda: client.set_model_from_file("m", missing, 7),
        lambda: client.set_model_from_file("m", missing, "ONNX", batch_size="1"),
        lambda: client.set_model_from_file("m", missing, "ONNX", inputs=[1]),
        lambda: client.set_model_from_file_multigpu("m", missing, "ONNX", "0", 1),
        lambda: client.set_model_from_file_multigpu("m", missing, "ONNX", 0, 1, tag=None),
        lambda: client.set_script_from_file("s", missing, device=3),
        lambda: client.set_script_from_file_multigpu("s", missing, 0, "1"),
        lambda: client.set_model("m", b"x", "ONNX", device="GPU", min_batch_timeout=1.5),
        lambda: client.set_model_multigpu("m", b"x", "ONNX", -1, 1, tag=b"t"),
        lambda: client.run_model_multigpu("m", "0", -1, 0),
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()  # type: ignore[no-untyped-call]
    with pytest.raises(FileNotFoundError):
        client.set_model_from_file("m", missing, "ONNX")
    assert not client.model_exists("m")


def test_admin_calls_take_a_whole_ssdb_and_use_its_first_address(
    compat_stores: dict[str, Store],
) -> None:
    store = compat_stores["cluster"]
    ssdb = ",".join(store.addresses)
    first_port = store.addresses[0].rsplit(":", 1)[1]
    with store.client() as client:
        info = client.get_db_node_info([ssdb])
        assert len(info) == 1
        assert info[0]["Server"]["tcp_port"] == first_port
        client.config_set("slowlog-max-len", "129", ssdb)
        assert client.config_get("slowlog-max-len", ssdb) == {"slowlog-max-len": "129"}
        assert client.config_get("slowlog-max-len", store.addresses[0]) == {
            "slowlog-max-len": "129"
        }
        assert client.config_get("config_param_DNE", ssdb) == {}
        assert len(client.get_db_cluster_info([ssdb])) == 1


def test_an_address_not_of_the_store_is_a_runtime_error(any_client: Client) -> None:
    client = any_client
    client.set_script("s", inference_models.SCRIPT)
    for bad in ("no_host:6379", "garbage", ":6379", "127.0.0.1:notaport"):
        with pytest.raises(RedisRuntimeError):
            client.get_db_node_info([bad])
        with pytest.raises(RedisRuntimeError):
            client.config_get("*", bad)
        with pytest.raises(RedisRuntimeError):
            client.get_ai_info([bad], "s")
        with pytest.raises(RedisRuntimeError):
            client.flush_db([bad])
    assert client.model_exists("s")


def test_value_checks_that_are_type_errors_come_before_the_file(
    standalone: tuple[Store, Client],
) -> None:
    """SmartRedis checks the backend and device (TypeErrors) before the file, and every
    argument of get_ai_info before the addresses."""
    _, client = standalone
    missing = "bad filename but right parameter type"
    for call in (
        lambda: client.set_model_from_file("m", missing, "UNSUPPORTED_ENGINE", "CPU"),
        lambda: client.set_model_from_file("m", missing, "TORCH", "BAD_DEVICE"),
        lambda: client.set_model_from_file_multigpu("m", missing, "UNSUPPORTED_ENGINE", 0, 1),
        lambda: client.set_script_from_file("k", missing, "BAD_DEVICE"),
        lambda: client.get_ai_info(["list", "of", "str"], 42),  # type: ignore[arg-type]
        lambda: client.get_ai_info(["list", "of", "str"], "k", "no"),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError):
            call()


def test_dataset_data_bridges() -> None:
    from insitu.client import Dataset

    source = Dataset("src")
    source.add_tensor("t", np.arange(3))
    source.add_meta_string("s", "v")
    view = Dataset.from_pybind(source.get_data())
    assert view.get_name() == "src" and view.get_meta_strings("s") == ["v"]
    np.testing.assert_array_equal(view.get_tensor("t"), np.arange(3))
    other = Dataset("other")
    other.set_data(source.get_data())
    assert other.get_tensor_names() == ["t"]
    with pytest.raises(TypeError):
        Dataset.from_pybind(Dataset("wrong"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        other.set_data(Dataset("wrong"))  # type: ignore[arg-type]
