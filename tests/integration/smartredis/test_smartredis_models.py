"""Models and scripts through the unmodified SmartRedis client: set_model/run_model with
ONNX and TorchScript, set_script/set_function/run_script, get_model/get_script,
get_ai_info — and each family running what the other stored, on every topology (on a
cluster both store a copy per shard under SmartRedis's ``{prefix}`` keys)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests import inference_models
from tests.integration.smartredis.conftest import SrStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def model_files(tmp_path: Path) -> dict[str, str]:
    onnx = tmp_path / "square.onnx"
    onnx.write_bytes(inference_models.onnx_square())
    torch_bytes, _ = inference_models.torch_linear(0)
    torch_file = tmp_path / "linear.pt"
    torch_file.write_bytes(torch_bytes)
    return {"onnx": str(onnx), "torch": str(torch_file)}


def test_smartredis_runs_onnx_and_torch_models(
    sr_store: SrStore, model_files: dict[str, str]
) -> None:
    got = sr_store.run(f"""
        client.set_model_from_file("sq", {model_files["onnx"]!r}, "ONNX", "CPU")
        client.set_model_from_file("lin", {model_files["torch"]!r}, "TORCH", "CPU")
        x = np.arange(6, dtype=np.float32).reshape(2, 3)
        client.put_tensor("x", x)
        client.run_model("sq", inputs=["x"], outputs=["y"])
        emit(client.get_tensor("y").tolist())
        client.put_tensor("x4", np.ones((3, 4), np.float32))
        client.run_model("lin", inputs=["x4"], outputs=["z"])
        emit(list(client.get_tensor("z").shape))
        emit(client.model_exists("sq"))
        emit(len(client.get_model("sq")))
        info = client.get_ai_info([ADDRESS], "sq")
        emit({{k: str(v) for k, v in info[0].items()}})
        client.delete_model("sq")
        emit(client.model_exists("sq"))
    """)
    assert isinstance(got, list)
    squares, shape, exists, size, info, after = got
    assert squares == (np.arange(6, dtype=np.float32).reshape(2, 3) ** 2).tolist()
    assert shape == [3, 2] and exists is True and after is False
    assert size == len(inference_models.onnx_square())
    assert info["type"] == "MODEL" and info["backend"] == "ONNX" and info["device"] == "CPU"
    # Statistics are per shard: on a cluster the run may have gone to another shard.
    assert int(info["calls"]) in ((0, 1) if sr_store.cluster else (1,))
    assert int(info["errors"]) == 0


def test_models_stored_by_one_family_run_by_the_other(
    sr_store: SrStore, model_files: dict[str, str]
) -> None:
    torch_bytes, module = inference_models.torch_linear(0)
    with sr_store.client() as c:
        c.set_model("in_lin", torch_bytes, "TORCH")
        c.put_tensor("v", np.full((2, 4), 0.5, np.float32))
    got = sr_store.run(f"""
        client.run_model("in_lin", inputs=["v"], outputs=["w"])
        emit(client.get_tensor("w").tolist())
        client.set_model_from_file("sr_sq", {model_files["onnx"]!r}, "ONNX", "CPU")
        client.put_tensor("u", np.full((1, 3), 3.0, np.float32))
    """)
    expected = inference_models.torch_reference(module, np.full((2, 4), 0.5, np.float32))
    np.testing.assert_allclose(np.array(got[0]), expected, rtol=1e-5)  # type: ignore[index]
    with sr_store.client() as c:
        c.run_model("sr_sq", inputs=["u"], outputs=["u2"])
        np.testing.assert_array_equal(c.get_tensor("u2"), np.full((1, 3), 9.0, np.float32))
        assert c.get_model("sr_sq") == inference_models.onnx_square()


def test_scripts_and_functions(sr_store: SrStore) -> None:
    got = sr_store.run("""
        def plus_one(x):
            return x + 1

        client.set_script("s", "def double(x):\\n    return x * 2\\n")
        client.set_function("f", plus_one)
        client.put_tensor("x", np.array([1.0, 2.0], np.float32))
        client.run_script("s", "double", ["x"], ["y"])
        client.run_script("f", "plus_one", ["x"], ["z"])
        emit([client.get_tensor("y").tolist(), client.get_tensor("z").tolist()])
        emit(client.get_script("s"))
    """)
    assert got == [[[2.0, 4.0], [2.0, 3.0]], "def double(x):\n    return x * 2\n"]
    with sr_store.client() as c:
        c.run_script("s", "double", ["y"], ["yy"])
        np.testing.assert_array_equal(c.get_tensor("yy"), [4.0, 8.0])
        assert c.get_script("s") == "def double(x):\n    return x * 2\n"
        c.set_script("mine", "def triple(x):\n    return x * 3\n")
    got = sr_store.run("""
        client.run_script("mine", "triple", ["x"], ["t"])
        emit(client.get_tensor("t").tolist())
    """)
    assert got == [[3.0, 6.0]]


def test_bad_input_gives_redisai_style_errors(sr_store: SrStore) -> None:
    got = sr_store.run("""
        def attempt(fn):
            try:
                fn()
                emit(None)
            except Exception as err:
                emit(str(err))

        client.put_tensor("x", np.ones((2, 5), np.float32))
        attempt(lambda: client.run_model("nothing", ["x"], ["y"]))
        attempt(lambda: client.set_model("bad", b"garbage", "ONNX", "CPU"))
        emit(client.model_exists("bad"))
        client.set_script("s", "def double(x):\\n    return x * 2\\n")
        attempt(lambda: client.run_script("s", "nosuch", ["x"], ["y"]))
        attempt(lambda: client.run_model("s", ["x"], ["y"]))
    """)
    assert isinstance(got, list)
    missing, corrupt, stored, function, kind = got
    assert "model key is empty" in missing
    assert "[load]" in corrupt and stored is False
    assert "[function]" in function or "nosuch" in function
    assert "holds a script, not a model" in kind
