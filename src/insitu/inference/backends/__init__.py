"""Backends that load and run stored models and scripts, behind one :class:`Backend`
protocol, with a lazy registry.

Nothing here imports an ML framework: :func:`get_backend` imports a backend module (and so
its framework) the first time a model of that backend is used. A backend whose framework
is not installed raises :class:`~insitu.errors.MissingDependencyError` naming the extra to
install (``onnx``, ``torch`` or ``tf``); :func:`require_installed` checks that without
importing anything, so the Client can refuse such a model at ``set_model`` time.

Errors a backend raises (all :class:`~insitu.errors.InferenceError` leaves carrying the
framework's own message in ``backend_message``): ModelLoadError (bytes or source it cannot
load), DeviceUnavailableError, InferenceInputError (inputs that do not fit),
ScriptFunctionError, and InferenceError for anything else that fails while running.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from insitu.errors import MissingDependencyError
from insitu.inference.devices import Device
from insitu.inference.model_record import ModelHeader


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


@dataclass(frozen=True)
class _Entry:
    module: str
    packages: tuple[str, ...]  # any one of them provides the framework
    extra: str


_REGISTRY: dict[str, _Entry] = {
    "ONNX": _Entry("insitu.inference.backends.onnx", ("onnxruntime",), "onnx"),
    "TORCH": _Entry("insitu.inference.backends.torch", ("torch",), "torch"),
    "TF": _Entry("insitu.inference.backends.tf", ("tensorflow",), "tf"),
    "TFLITE": _Entry(
        "insitu.inference.backends.tflite", ("ai_edge_litert", "tflite_runtime", "tensorflow"), "tf"
    ),
}
BACKEND_NAMES = tuple(_REGISTRY)
_loaded: dict[str, Backend] = {}
_lock = threading.Lock()


def require_installed(name: str) -> None:
    """MissingDependencyError unless the framework of backend ``name`` is installed
    (checked without importing it). ``name`` must be one of :data:`BACKEND_NAMES`."""
    entry = _REGISTRY[name]
    if not any(importlib.util.find_spec(package) for package in entry.packages):
        raise _missing(name, entry)


def get_backend(name: str) -> Backend:
    """The backend ``name`` (imported on first use); MissingDependencyError if its
    framework is not installed, KeyError if ``name`` is not a backend."""
    with _lock:
        backend = _loaded.get(name)
        if backend is None:
            entry = _REGISTRY[name]
            require_installed(name)
            try:
                module = importlib.import_module(entry.module)
            except ImportError as err:
                raise _missing(name, entry) from err
            backend = module.BACKEND
            _loaded[name] = backend
        return backend


def _missing(name: str, entry: _Entry) -> MissingDependencyError:
    return MissingDependencyError(
        f"the {name} backend ({' or '.join(entry.packages)})",
        f"install it with: pip install 'insitu[{entry.extra}]'",
    )
