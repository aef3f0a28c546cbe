"""Backends that load and run stored models and scripts, behind one :class:`Backend`
protocol, with a lazy registry.

Nothing here imports an ML framework: :func:`get_backend` imports a backend module (and so
its framework) the first time a model of that backend is used. A backend whose framework
is not installed raises :class:`~insitu.errors.MissingDependencyError` naming the extra to
install (``onnx``, ``torch`` or ``tf``); :func:`~insitu.wire.backends.require_installed`
checks that without importing anything, so the Client can refuse such a model at
``set_model`` time.

Errors a backend raises (all :class:`~insitu.errors.InferenceError` leaves carrying the
framework's own message in ``backend_message``): ModelLoadError (bytes or source it cannot
load), DeviceUnavailableError, InferenceInputError (inputs that do not fit),
ScriptFunctionError, and InferenceError for anything else that fails while running.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from insitu.wire.backends import BACKEND_NAMES, missing_backend, require_installed
from insitu.wire.devices import Device
from insitu.wire.model_record import ModelHeader

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BackendThreads",
    "Session",
    "get_backend",
    "require_installed",
]


@dataclass(frozen=True)
class BackendThreads:
    """Thread pools of a backend (None: the framework's default)."""

    inter_op: int | None = None
    intra_op: int | None = None


class Session(Protocol):
    """A loaded model or script, ready to run."""

    def run(self, inputs: Sequence[np.ndarray], function: str) -> list[np.ndarray]:
        """Outputs for ``inputs``; ``function`` names the script function ("" for a
        model). Raises the errors listed in the package docs."""
        ...


class Backend(Protocol):
    """Loads serialized models or script sources of one framework."""

    name: str

    def load(
        self, blob: bytes, header: ModelHeader, device: Device, threads: BackendThreads
    ) -> Session:
        """A session running ``blob`` (described by ``header``) on ``device``."""
        ...


_MODULES: dict[str, str] = {
    "ONNX": "insitu.inference.backends.onnx",
    "TORCH": "insitu.inference.backends.torch",
    "TF": "insitu.inference.backends.tf",
    "TFLITE": "insitu.inference.backends.tflite",
}
_loaded: dict[str, Backend] = {}
_lock = threading.Lock()


def get_backend(name: str) -> Backend:
    """The backend ``name`` (imported on first use); MissingDependencyError if its
    framework is not installed, KeyError if ``name`` is not a backend."""
    with _lock:
        backend = _loaded.get(name)
        if backend is None:
            module_name = _MODULES[name]
            require_installed(name)
            try:
                module = importlib.import_module(module_name)
            except ImportError as err:
                raise missing_backend(name) from err
            backend = module.BACKEND
            _loaded[name] = backend
        return backend
