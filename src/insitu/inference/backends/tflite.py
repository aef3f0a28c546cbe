"""The TFLITE backend: TensorFlow Lite flatbuffers run by the first interpreter installed of
LiteRT (``ai_edge_litert``, TFLite's successor), ``tflite_runtime`` and TensorFlow's own
(``tf.lite.Interpreter``). Imported only when a TFLITE model is used."""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Sequence

import numpy as np

from insitu.errors import (
    DeviceUnavailableError,
    InferenceError,
    InferenceInputError,
    ModelLoadError,
)
from insitu.inference.backends import BackendThreads
from insitu.wire.devices import Device
from insitu.wire.model_record import ModelHeader


def _interpreter_class() -> type:
    """The interpreter class of the first TFLite runtime installed (ImportError: none)."""
    for module in ("ai_edge_litert.interpreter", "tflite_runtime.interpreter"):
        with contextlib.suppress(ImportError):
            found: type = importlib.import_module(module).Interpreter
            return found
    # ``tensorflow.lite`` is an API alias, not an importable module: go through ``tf``.
    # TensorFlow >= 2.20 warns that its copy is deprecated in favour of LiteRT.
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter: type = tf.lite.Interpreter
    return interpreter


Interpreter = _interpreter_class()


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
        try:  # the model allocated at load: a failure here is the inputs' doing
            for detail, array in zip(details, inputs, strict=True):
                interp.resize_tensor_input(detail["index"], array.shape)  # type: ignore[attr-defined]
            interp.allocate_tensors()  # type: ignore[attr-defined]
            for detail, array in zip(details, inputs, strict=True):
                interp.set_tensor(detail["index"], array)  # type: ignore[attr-defined]
        except (ValueError, RuntimeError) as err:
            text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InferenceInputError(
                f"TFLITE inputs do not fit: {text}", backend_message=str(err)
            ) from err
        try:
            interp.invoke()  # type: ignore[attr-defined]
            outs = interp.get_output_details()  # type: ignore[attr-defined]
            return [np.array(interp.get_tensor(d["index"])) for d in outs]  # type: ignore[attr-defined]
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
