"""Device strings as SmartRedis takes them: ``CPU``, ``GPU``, ``GPU:<n>`` (pure).

SmartRedis upper-cases the device and raises ``TypeError`` unless it starts with ``CPU``
or ``GPU``; anything else malformed (``GPU:x``) is refused as not a valid device. The
``*_multigpu`` calls store one copy per GPU under ``<key>.GPU:<n>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from insitu._checks import check_int, check_type
from insitu.errors import ParameterTypeError, RedisParameterError, RedisRuntimeError

_DEVICE = re.compile(r"^(CPU|GPU)(?::(\d+))?$")


@dataclass(frozen=True)
class Device:
    """``kind`` is ``CPU`` or ``GPU``; ``index`` the GPU number (None: the default one)."""

    kind: str = "CPU"
    index: int | None = None

    @property
    def is_gpu(self) -> bool:
        """True for a GPU device."""
        return self.kind == "GPU"

    @property
    def ordinal(self) -> int:
        """The device number (0 when none was given)."""
        return self.index or 0

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"


CPU = Device()


def parse_device(device: object, arg: str = "device") -> Device:
    """The device named by ``device`` (case-insensitive)."""
    text = check_type(arg, device, str, "a str").strip().upper()
    if not text.startswith(("CPU", "GPU")):
        raise ParameterTypeError("Device argument must start with either CPU or GPU")
    match = _DEVICE.match(text)
    if match is None:
        raise RedisRuntimeError(f"{text} is not a valid device.")
    index = match.group(2)
    return Device(match.group(1), None if index is None else int(index))


def check_gpu_range(first_gpu: object, num_gpus: object) -> range:
    """The GPU numbers ``first_gpu .. first_gpu + num_gpus - 1`` (SmartRedis's checks)."""
    first = check_int("first_gpu", first_gpu, minimum=None)
    count = check_int("num_gpus", num_gpus, minimum=None)
    if first < 0:
        raise RedisParameterError("first_gpu must be a non-negative integer.")
    if count < 1:
        raise RedisParameterError("num_gpus must be a positive integer.")
    return range(first, first + count)


def multigpu_key(key: str, gpu: int) -> str:
    """The key of the copy of ``key`` stored for GPU ``gpu``."""
    return f"{key}.GPU:{gpu}"


def multigpu_pick(offset: object, first_gpu: object, num_gpus: object) -> int:
    """The GPU a ``run_*_multigpu`` call with ``offset`` (e.g. an MPI rank) uses."""
    index = check_int("offset", offset, minimum=None)
    check_int("first_gpu", first_gpu, minimum=None)
    check_int("num_gpus", num_gpus, minimum=None)
    gpus = check_gpu_range(first_gpu, num_gpus)
    return gpus[index % len(gpus)]
