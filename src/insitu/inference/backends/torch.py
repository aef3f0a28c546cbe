"""The TORCH backend: TorchScript models (``torch.jit.save`` bytes) and TorchScript source
scripts (``set_script``/``set_function``), imported only when one is used.

A script function is called the way RedisAI calls it: with one tensor per input, or — if
its first parameter is ``List[Tensor]`` — with the list of inputs (followed by empty
``keys``/``args`` lists if it declares them, RedisAI 1.2's ``SCRIPTEXECUTE`` signature).
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Sequence

import numpy as np
import torch

from insitu.errors import (
    DeviceUnavailableError,
    InferenceError,
    InferenceInputError,
    ModelLoadError,
    ScriptFunctionError,
)
from insitu.inference.backends import BackendThreads
from insitu.wire.devices import Device
from insitu.wire.model_record import ModelHeader

# TorchScript is what RedisAI ran and what SmartRedis users store; torch 2.x flags it as
# deprecated on every load, which would fill the worker logs.
warnings.filterwarnings(
    "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning
)
_threads_lock = threading.Lock()
_threads_done: list[bool] = []  # non-empty once torch's pools were configured


class TorchModelSession:
    """A loaded TorchScript module."""

    def __init__(self, module: torch.jit.ScriptModule, device: torch.device) -> None:
        self._module = module
        self._device = device
        arguments = module.forward.schema.arguments  # type: ignore[attr-defined]  # [0] is self
        self._arity = len(arguments) - 1
        self._required = sum(1 for a in arguments[1:] if not a.has_default_value())

    def run(self, inputs: Sequence[np.ndarray], function: str) -> list[np.ndarray]:
        if not self._required <= len(inputs) <= self._arity:
            raise InferenceInputError(
                f"the TorchScript model's forward takes {self._arity} input(s); {len(inputs)} given"
            )
        return _call(self._module, [_tensor(a, self._device) for a in inputs], None)


class TorchScriptSession:
    """A compiled TorchScript source with its functions."""

    def __init__(self, unit: torch.jit.CompilationUnit, device: torch.device) -> None:
        self._unit = unit
        self._device = device

    def run(self, inputs: Sequence[np.ndarray], function: str) -> list[np.ndarray]:
        fn = self._unit.find_function(function) if function else None
        if fn is None:
            raise ScriptFunctionError(f"the script defines no function {function!r}")
        tensors = [_tensor(a, self._device) for a in inputs]
        arguments = fn.schema.arguments
        if arguments and str(arguments[0].type) == "List[Tensor]":
            extra: list[list[str]] = [[] for _ in arguments[1:]]
            return _call(fn, [tensors, *extra], function)
        required = sum(1 for a in arguments if not a.has_default_value())
        if not required <= len(tensors) <= len(arguments):
            raise InferenceInputError(
                f"script function {function!r} takes {len(arguments)} input(s); "
                f"{len(tensors)} given"
            )
        return _call(fn, tensors, function)


class TorchBackend:
    """Loads TorchScript models and compiles TorchScript sources."""

    name = "TORCH"

    def load(
        self, blob: bytes, header: ModelHeader, device: Device, threads: BackendThreads
    ) -> TorchModelSession | TorchScriptSession:
        _configure_threads(threads)
        target = _device(device)
        try:
            if header.kind == "script":
                unit = torch.jit.CompilationUnit(blob.decode("utf-8"))
                return TorchScriptSession(unit, target)
            module = torch.jit.load(io.BytesIO(blob), map_location=target)  # type: ignore[no-untyped-call]
        except Exception as err:  # torch raises RuntimeError, UnicodeError, zip errors...
            what = "compile the script" if header.kind == "script" else "load the model"
            text = _first_line(err)
            raise ModelLoadError(f"torch cannot {what}: {text}", backend_message=str(err)) from err
        module.eval()
        return TorchModelSession(module, target)


def _device(device: Device) -> torch.device:
    if not device.is_gpu:
        return torch.device("cpu")
    if not torch.cuda.is_available() or device.ordinal >= torch.cuda.device_count():
        raise DeviceUnavailableError(
            f"device {device} requested, but torch sees {torch.cuda.device_count()} GPU(s) here"
        )
    return torch.device("cuda", device.ordinal)


def _configure_threads(threads: BackendThreads) -> None:
    """Set torch's pools once per process (torch refuses to change them after use)."""
    with _threads_lock:
        if _threads_done:
            return
        _threads_done.append(True)
        if threads.intra_op:
            torch.set_num_threads(threads.intra_op)
        if threads.inter_op:
            # Refused once earlier torch work in this process started the pool.
            with contextlib.suppress(RuntimeError):
                torch.set_num_interop_threads(threads.inter_op)


def _tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor if device.type == "cpu" else tensor.to(device)


def _call(fn: object, args: Sequence[object], function: str | None) -> list[np.ndarray]:
    """Run ``fn``; its result must be a tensor or a tuple/list of tensors (RedisAI refused
    anything else, and SmartRedis raised: a ``return False`` is not silently stored)."""
    try:
        with torch.no_grad():
            result = fn(*args)  # type: ignore[operator]
    except Exception as err:  # TorchScript errors surface as RuntimeError subclasses
        text = _first_line(err)
        raise InferenceError(f"torch run failed: {text}", backend_message=str(err)) from err
    items = result if isinstance(result, tuple | list) else [result]
    return [_array(item, function) for item in items]


def _array(item: object, function: str | None) -> np.ndarray:
    """``item`` as an array; ``function`` names the script function (None: a model)."""
    if isinstance(item, torch.Tensor):
        return item.detach().cpu().numpy()
    kind = type(item).__name__
    if function is None:
        raise InferenceError(f"the TorchScript model returned a {kind}, not a tensor")
    raise ScriptFunctionError(f"script function {function!r} returned a {kind}, not a tensor")


def _first_line(err: BaseException) -> str:
    """The line of a torch error that says what went wrong (TorchScript puts a traceback
    first and the raised exception last)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    return lines[-1] if lines[0].startswith("The following operation failed") else lines[0]


BACKEND = TorchBackend()
