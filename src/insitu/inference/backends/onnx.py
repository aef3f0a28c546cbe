"""The ONNX backend: onnxruntime sessions (imported only when this module is)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from insitu.errors import (
    DeviceUnavailableError,
    InferenceError,
    InferenceInputError,
    ModelLoadError,
)
from insitu.inference.backends import BackendThreads
from insitu.wire.devices import Device
from insitu.wire.model_record import ModelHeader

_CUDA = "CUDAExecutionProvider"
# onnxruntime reports inputs that do not fit the graph with these error classes.
_INPUT_ERRORS = ("InvalidArgument", "INVALID_ARGUMENT")


class OnnxSession:
    """One onnxruntime InferenceSession."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._inputs = [i.name for i in session.get_inputs()]

    def run(self, inputs: Sequence[np.ndarray], function: str) -> list[np.ndarray]:
        if len(inputs) != len(self._inputs):
            raise InferenceInputError(
                f"the ONNX model takes {len(self._inputs)} input(s) "
                f"({', '.join(self._inputs)}); {len(inputs)} given"
            )
        feed = dict(zip(self._inputs, inputs, strict=True))
        try:
            outputs = self._session.run(None, feed)
        except Exception as err:  # onnxruntime raises its own non-Python classes
            text = str(err)
            cls = InferenceInputError if _is_input_error(err) else InferenceError
            raise cls(f"ONNX run failed: {text}", backend_message=text) from err
        return [np.asarray(out) for out in outputs]


class OnnxBackend:
    """Loads ONNX models with onnxruntime."""

    name = "ONNX"

    def load(
        self, blob: bytes, header: ModelHeader, device: Device, threads: BackendThreads
    ) -> OnnxSession:
        if header.kind != "model":
            raise ModelLoadError("the ONNX backend runs models, not scripts")
        providers = ["CPUExecutionProvider"]
        if device.is_gpu:
            if _CUDA not in ort.get_available_providers():
                raise DeviceUnavailableError(
                    f"device {device} requested, but onnxruntime has no GPU provider here "
                    f"(available: {', '.join(ort.get_available_providers())})"
                )
            providers = [(_CUDA, {"device_id": device.ordinal})]  # type: ignore[list-item]
        options = ort.SessionOptions()
        if threads.intra_op:
            options.intra_op_num_threads = threads.intra_op
        if threads.inter_op:
            options.inter_op_num_threads = threads.inter_op
        try:
            session = ort.InferenceSession(blob, options, providers=providers)
        except Exception as err:  # InvalidProtobuf, Fail, ... are not Python classes
            raise ModelLoadError(
                f"onnxruntime cannot load the model: {err}", backend_message=str(err)
            ) from err
        return OnnxSession(session)


def _is_input_error(err: Exception) -> bool:
    return type(err).__name__ in _INPUT_ERRORS or str(err).startswith(
        ("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT", "Required inputs")
    )


BACKEND = OnnxBackend()
