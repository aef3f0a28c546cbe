"""The store module's load arguments (``store_module.module_args``): where ONNX models run."""

from __future__ import annotations

import pytest

from insitu.errors import ConfigurationError
from insitu.store.store_module import ONNX_ENV, module_args, onnxruntime_library


@pytest.fixture
def library() -> str:
    found = onnxruntime_library()
    if found is None:
        pytest.skip("the onnxruntime wheel is not installed")
    return str(found)


def test_onnx_models_run_in_the_server_by_default(
    library: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ONNX_ENV, raising=False)
    assert module_args() == ("ONNXRUNTIME", library)
    assert "libonnxruntime.so" in library
    assert module_args(2, 3) == (
        "ONNXRUNTIME", library, "ONNX_INTRA_OP_THREADS", "2", "ONNX_THREADS", "3",
    )  # fmt: skip


def test_the_environment_can_keep_them_on_the_workers(
    library: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ONNX_ENV, "Workers")
    assert module_args(2, 3) == ()
    monkeypatch.setenv(ONNX_ENV, "gpu")
    with pytest.raises(ConfigurationError, match="INSITU_STORE_ONNX='gpu'"):
        module_args()
