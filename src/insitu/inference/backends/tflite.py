"""The TFLITE backend: TensorFlow Lite flatbuffers run by ``tflite_runtime`` or, failing
that, TensorFlow's own interpreter. Imported only when a TFLITE model is used."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from insitu.errors import (
    DeviceUnavailableError,
    InferenceError,
    InferenceInputError,
    ModelLoadError,
)
from insitu.inference.backends import BackendThreads
from insitu.inference.devices import Device
from insitu.inference.model_record import ModelHeader

try:
    from tflite_runtime.interpreter import Interpreter
except ImportError:  # TensorFlow ships the same interpreter
    from tensorflow.lite import Interpreter


class TfliteSession:
    """One TFLite interpreter (not thread-safe: a worker thread owns its sessions)."""

    def __init__(self, interpreter: object) -> None:
        self._interp = interpreter

    def run(self, inputs: Sequence[np.ndarray], function: str) -> list[np.ndarray]:
        interp = self._interp
        details = interp.get_input_details()  # type: ignore[attr-defined]
        if len(inputs) != len(details):
            raise InferenceInputError(
                f"the TFLITE model takes {len(details)} input(s); {len(inputs)} given"
            )
        try:
            for detail, array in zip(details, inputs, strict=True):
                interp.resize_tensor_input(detail["index"], array.shape)  # type: ignore[attr-defined]
            interp.allocate_tensors()  # type: ignore[attr-defined]
            for detail, array in zip(details, inputs, strict=True):
                interp.set_tensor(detail["index"], array)  # type: ignore[attr-defined]
            interp.invoke()  # type: ignore[attr-defined]
            outs = interp.get_output_details()  # type: ignore[attr-defined]
            return [np.array(interp.get_tensor(d["index"])) for d in outs]  # type: ignore[attr-defined]
        except ValueError as err:
            raise InferenceInputError(
                f"TFLITE inputs do not fit: {err}", backend_message=str(err)
            ) from err
        except Exception as err:
            raise InferenceError(f"TFLITE run failed: {err}", backend_message=str(err)) from err


class TfliteBackend:
    """Loads TFLite flatbuffers (CPU only)."""

    name = "TFLITE"

    def load(
        self, blob: bytes, header: ModelHeader, device: Device, threads: BackendThreads
    ) -> TfliteSession:
        if device.is_gpu:
            raise DeviceUnavailableError("the TFLITE backend runs on CPU only")
        try:
            interpreter = Interpreter(model_content=bytes(blob), num_threads=threads.intra_op)
            interpreter.allocate_tensors()
        except Exception as err:
            raise ModelLoadError(
                f"TFLite cannot load the model: {err}", backend_message=str(err)
            ) from err
        return TfliteSession(interpreter)


BACKEND = TfliteBackend()
