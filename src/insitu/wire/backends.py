"""The ML backends a stored model may name, and what each needs installed (pure but for a
look at the installed distributions; nothing here imports a framework).

A model record names its backend (``ONNX``, ``TORCH``, ``TF``, ``TFLITE``); the Client
refuses a model whose framework is missing before storing it (:func:`require_installed`),
and the worker imports the framework the first time a model of that backend runs
(:mod:`insitu.inference.backends`). A missing framework raises
:class:`~insitu.errors.MissingDependencyError` naming the extra to install.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from insitu.errors import MissingDependencyError


@dataclass(frozen=True)
class BackendInfo:
    """``packages``: importable names, any one of which provides the framework; ``extra``:
    the insitu extra that installs it."""

    packages: tuple[str, ...]
    extra: str


BACKENDS: dict[str, BackendInfo] = {
    "ONNX": BackendInfo(("onnxruntime",), "onnx"),
    "TORCH": BackendInfo(("torch",), "torch"),
    "TF": BackendInfo(("tensorflow",), "tf"),
    "TFLITE": BackendInfo(("ai_edge_litert", "tflite_runtime", "tensorflow"), "tf"),
}
BACKEND_NAMES = tuple(BACKENDS)


def require_installed(name: str) -> None:
    """MissingDependencyError unless the framework of backend ``name`` is installed
    (checked without importing it). ``name`` must be one of :data:`BACKEND_NAMES`."""
    info = BACKENDS[name]
    if not any(importlib.util.find_spec(package) for package in info.packages):
        raise missing_backend(name)


def missing_backend(name: str) -> MissingDependencyError:
    """The error for backend ``name`` whose framework cannot be imported."""
    info = BACKENDS[name]
    return MissingDependencyError(
        f"the {name} backend ({' or '.join(info.packages)})",
        f"install it with: pip install 'insitu[{info.extra}]'",
    )
