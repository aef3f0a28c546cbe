"""Models, scripts and functions attached to an entity (SmartSim 0.8's ``DBModel`` and
``DBScript``), as frozen values, with SmartSim's validation. Pure: no I/O but checking that a
given file exists.

Rules (SmartSim 0.8 semantics unless marked *insitu*):

* ``backend`` is ``TF``, ``TFLITE``, ``TORCH`` or ``ONNX`` in any case (``ValueError``).
* ``device`` is ``CPU``, ``GPU`` or ``GPU:<n>`` in any case (*insitu*: SmartSim accepted any
  text starting with CPU or GPU and failed later; ``ValueError``).
* ``devices_per_node > 1`` or ``first_device > 0`` with ``CPU`` raise
  ``UnsupportedOptionError`` (``SSUnsupportedError``); ``devices_per_node > 1`` with a
  numbered device (``GPU:1``) raises ``ValueError``.
* Exactly one of ``model``/``model_path`` (``script``/``script_path``) is given (*insitu*:
  SmartSim silently used the in-memory value when both were given); a path must name an
  existing file (``FileNotFoundError``).
* *insitu*: ``GPU`` with ``devices_per_node=1`` and ``first_device=M`` means ``GPU:M``
  (SmartSim ignored ``first_device`` then); with ``GPU:<n>`` a ``first_device`` is refused.

:meth:`DBModel.placement` says how the object is stored: on one device, or with the
``*_multigpu`` calls on ``devices_per_node`` GPUs from ``first_device``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from insitu import _checks as tc
from insitu.errors import (
    AttachedFileNotFoundError,
    InvalidArgumentError,
    RedisParameterError,
    UnsupportedOptionError,
)
from insitu.wire.batching import check_batch_settings

BACKENDS = ("TF", "TFLITE", "TORCH", "ONNX")
"""Backends SmartSim 0.8 and SmartRedis 0.6 name."""

_DEVICE_RE = re.compile(r"^(CPU|GPU)(:(\d+))?$")


@dataclass(frozen=True)
class Placement:
    """Where an object is stored: on ``device``, or on ``num_gpus`` GPUs from ``first_gpu``
    (the ``*_multigpu`` calls) when ``num_gpus > 1``."""

    device: str
    first_gpu: int = 0
    num_gpus: int = 1

    @property
    def multigpu(self) -> bool:
        """True when the object goes to several GPUs (``set_model_multigpu`` …)."""
        return self.num_gpus > 1


@dataclass(frozen=True, init=False)
class DBModel:
    """An ML model (bytes or a file) to load into the entity's store before it starts.

    ``DBModel(name, backend, model=None, model_file=None, device="CPU", devices_per_node=1,
    first_device=0, batch_size=0, min_batch_size=0, min_batch_timeout=0, tag="",
    inputs=None, outputs=None)`` validates its arguments as SmartSim 0.8 does (see the
    module docstring); ``add_ml_model`` builds one from its own arguments."""

    name: str
    backend: str
    model: bytes | None = field(repr=False)
    file: Path | None
    device: str
    devices_per_node: int
    first_device: int
    batch_size: int
    min_batch_size: int
    min_batch_timeout: int
    tag: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def __init__(
        self,
        name: str,
        backend: str,
        model: bytes | None = None,
        model_file: str | os.PathLike[str] | None = None,
        device: str = "CPU",
        devices_per_node: int = 1,
        first_device: int = 0,
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: Sequence[str] | None = None,
        outputs: Sequence[str] | None = None,
    ) -> None:
        text = tc.check_str("name", name)
        data = _model_bytes(model)
        path = _only_one(text, ("model", data), ("model_file", model_file))
        dev, per_node, first = check_devices(device, devices_per_node, first_device)
        size, min_size, timeout = check_batching(batch_size, min_batch_size, min_batch_timeout)
        kind = check_backend(backend)
        ins, outs = _names("inputs", inputs), _names("outputs", outputs)
        if (ins or outs) and kind != "TF":
            raise InvalidArgumentError(f"inputs and outputs apply only to TF models, not {kind}")
        _assign(
            self, name=text, backend=kind, model=data, file=path, device=dev,
            devices_per_node=per_node, first_device=first, batch_size=size,
            min_batch_size=min_size, min_batch_timeout=timeout,
            tag=tc.check_str("tag", tag, allow_empty=True), inputs=ins, outputs=outs,
        )  # fmt: skip

    @property
    def func(self) -> bytes | None:
        """The in-memory model (SmartSim's attribute name)."""
        return self.model

    @property
    def is_file(self) -> bool:
        """True when the model is read from :attr:`file` at load time."""
        return self.model is None

    @property
    def placement(self) -> Placement:
        """Where the model is stored (see :class:`Placement`)."""
        return placement(self.device, self.devices_per_node, self.first_device)

    @property
    def devices(self) -> list[str]:
        """The devices the model is stored on (SmartSim's enumeration)."""
        return enumerate_devices(self.placement)


@dataclass(frozen=True, init=False)
class DBScript:
    """A TorchScript (source text, a file, or a Python function) to load into the
    entity's store before it starts.

    ``DBScript(name, script=None, script_path=None, device="CPU", devices_per_node=1,
    first_device=0)`` as in SmartSim 0.8: ``script`` is TorchScript source or a Python
    callable (stored as :attr:`function`); exactly one of ``script``/``script_path``."""

    name: str
    script: str | None
    file: Path | None
    function: Callable[..., object] | None
    device: str
    devices_per_node: int
    first_device: int

    def __init__(
        self,
        name: str,
        script: str | Callable[..., object] | None = None,
        script_path: str | os.PathLike[str] | None = None,
        device: str = "CPU",
        devices_per_node: int = 1,
        first_device: int = 0,
    ) -> None:
        text = tc.check_str("name", name)
        function = script if callable(script) else None
        source = None if script is None or function is not None else tc.check_str("script", script)
        given = source if function is None else function
        path = _only_one(text, ("script", given), ("script_path", script_path))
        dev, per_node, first = check_devices(device, devices_per_node, first_device)
        _assign(
            self, name=text, script=source, file=path, function=function, device=dev,
            devices_per_node=per_node, first_device=first,
        )  # fmt: skip

    @property
    def is_file(self) -> bool:
        """True when the script is read from :attr:`file` at load time."""
        return self.file is not None

    @property
    def func(self) -> str | Callable[..., object] | None:
        """The in-memory script text or function (SmartSim's attribute name)."""
        return self.script if self.script is not None else self.function

    @property
    def placement(self) -> Placement:
        """Where the script is stored (see :class:`Placement`)."""
        return placement(self.device, self.devices_per_node, self.first_device)

    @property
    def devices(self) -> list[str]:
        """The devices the script is stored on (SmartSim's enumeration)."""
        return enumerate_devices(self.placement)


DBObject = DBModel | DBScript


def _assign(obj: object, **values: object) -> None:
    """Set the fields of a frozen value from its validating ``__init__``."""
    for name, value in values.items():
        object.__setattr__(obj, name, value)


# --------------------------------------------------------------------- building values
def make_model(
    name: object,
    backend: object,
    model: object,
    model_path: object,
    device: object,
    devices_per_node: object,
    first_device: object,
    batching: tuple[object, object, object],
    tag: object,
    inputs: object,
    outputs: object,
) -> DBModel:
    """Validate ``add_ml_model``'s arguments; ``batching`` is (batch_size, min_batch_size,
    min_batch_timeout). ``model_path`` is SmartSim's ``add_ml_model`` name of ``model_file``."""
    return DBModel(
        name, backend, model, model_path, device, devices_per_node, first_device,  # type: ignore[arg-type]
        *batching, tag, inputs, outputs,  # type: ignore[arg-type]
    )  # fmt: skip


def make_script(
    name: object,
    script: object,
    script_path: object,
    device: object,
    devices_per_node: object,
    first_device: object,
) -> DBScript:
    """Validate ``add_script``'s arguments (``script`` is TorchScript source text)."""
    if script is not None and not isinstance(script, str):
        raise tc.type_error("script", script, "a str")
    return DBScript(name, script, script_path, device, devices_per_node, first_device)  # type: ignore[arg-type]


def make_function(
    name: object, function: object, device: object, devices_per_node: object, first_device: object
) -> DBScript:
    """Validate ``add_function``'s arguments (``function`` is a Python callable that the
    Client turns into TorchScript, as SmartRedis's ``set_function`` does)."""
    text = tc.check_str("name", name)
    if function is None:
        raise InvalidArgumentError(f"add_function({text!r}): a function must be provided")
    if not callable(function):
        raise tc.type_error("function", function, "a callable")
    return DBScript(text, function, None, device, devices_per_node, first_device)  # type: ignore[arg-type]


# --------------------------------------------------------------------- checks
def check_backend(backend: object) -> str:
    """``backend`` upper-cased; one of :data:`BACKENDS` (``InvalidArgumentError``)."""
    name = tc.check_str("backend", backend).upper()
    if name not in BACKENDS:
        raise InvalidArgumentError(f"Backend type {name} unsupported. Options are {list(BACKENDS)}")
    return name


def check_batching(
    batch_size: object, min_batch_size: object, min_batch_timeout: object
) -> tuple[int, int, int]:
    """The batching values, checked now by SmartRedis's rules (the Client applies the same
    ones at load time); ``InvalidArgumentError`` for inconsistent ones."""
    try:
        settings = check_batch_settings(batch_size, min_batch_size, min_batch_timeout)
    except RedisParameterError as err:
        raise InvalidArgumentError(str(err)) from err
    return settings.batch_size, settings.min_batch_size, settings.min_batch_timeout


def check_devices(
    device: object, devices_per_node: object, first_device: object
) -> tuple[str, int, int]:
    """``(device, devices_per_node, first_device)`` validated by SmartSim's rules (see the
    module docstring); the device upper-cased."""
    dev = tc.check_str("device", device).upper()
    match = _DEVICE_RE.match(dev)
    if match is None or (match.group(1) == "CPU" and match.group(2)):
        raise InvalidArgumentError(f"device {device!r} is not valid; use 'CPU', 'GPU' or 'GPU:<n>'")
    per_node = tc.check_int("devices_per_node", devices_per_node, minimum=1)
    first = tc.check_int("first_device", first_device, minimum=0)
    if dev == "CPU" and per_node > 1:
        raise UnsupportedOptionError(
            "devices_per_node>1", "CPU", "Cannot set devices_per_node>1 if CPU is specified"
        )
    if dev == "CPU" and first > 0:
        raise UnsupportedOptionError(
            "first_device>0", "CPU", "Cannot set first_device>0 if CPU is specified"
        )
    if ":" in dev and per_node > 1:
        raise InvalidArgumentError(
            "Cannot set devices_per_node>1 if a device numeral is specified, the device "
            f"was set to {dev} and devices_per_node=={per_node}"
        )
    if ":" in dev and first > 0:
        raise InvalidArgumentError(
            f"first_device={first} contradicts device {dev}; give one or the other"
        )
    return dev, per_node, first


def placement(device: str, devices_per_node: int, first_device: int) -> Placement:
    """Where an object validated by :func:`check_devices` is stored."""
    if devices_per_node > 1:
        return Placement("GPU", first_device, devices_per_node)
    if device == "GPU" and first_device > 0:
        return Placement(f"GPU:{first_device}")
    return Placement(device)


def enumerate_devices(where: Placement) -> list[str]:
    """``["GPU:1", "GPU:2"]`` for two GPUs from 1; ``[device]`` otherwise."""
    if not where.multigpu:
        return [where.device]
    return [f"GPU:{i}" for i in range(where.first_gpu, where.first_gpu + where.num_gpus)]


def _model_bytes(model: object) -> bytes | None:
    if model is None or isinstance(model, bytes):
        return model
    if isinstance(model, bytearray | memoryview):
        return bytes(model)
    raise tc.type_error("model", model, "bytes")


def _only_one(name: str, value: tuple[str, object], path: tuple[str, object]) -> Path | None:
    """The file of ``path`` (checked to exist), or None when the in-memory ``value`` is
    given; exactly one of the two must be."""
    (value_name, in_memory), (path_name, given) = value, path
    if in_memory is not None and given is not None:
        raise InvalidArgumentError(f"{name!r}: give {value_name} or {path_name}, not both")
    if given is None:
        if in_memory is None or in_memory in ("", b""):
            raise InvalidArgumentError(f"Either {value_name} or {path_name} must be provided")
        return None
    if not isinstance(given, str | os.PathLike):
        raise tc.type_error(path_name, given, "a str or os.PathLike")
    resolved = Path(given).resolve()
    if not resolved.is_file():
        raise AttachedFileNotFoundError(os.fspath(given), path_name)
    return resolved


def _names(label: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(tc.check_str_list(label, value))


def check_unique(existing: Sequence[DBObject], new: DBObject, owner: str) -> None:
    """SmartSim refuses a second model (or script) of the same name on one entity."""
    kind = "An ML Model" if isinstance(new, DBModel) else "A Script"
    for item in existing:
        if type(item) is type(new) and item.name == new.name:
            error = UnsupportedOptionError(f"a second {new.name!r}", owner)
            error.args = (f'{kind} with name "{new.name}" already exists in {owner}',)
            raise error
