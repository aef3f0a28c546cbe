"""Device strings and the multi-GPU key scheme, as SmartRedis takes them."""

from __future__ import annotations

import pytest

from insitu.errors import ParameterTypeError, RedisParameterError, RedisRuntimeError
from insitu.wire import devices
from insitu.wire.devices import Device


@pytest.mark.parametrize(
    ("text", "device"),
    [("CPU", Device()), ("cpu", Device()), ("GPU", Device("GPU")), ("gpu:3", Device("GPU", 3))],
)
def test_valid_devices(text: str, device: Device) -> None:
    assert devices.parse_device(text) == device
    assert str(device) == text.upper()


def test_device_must_start_with_cpu_or_gpu() -> None:
    with pytest.raises(TypeError, match="must start with either CPU or GPU"):
        devices.parse_device("TPU")
    with pytest.raises(ParameterTypeError):
        devices.parse_device(0)


@pytest.mark.parametrize("text", ["GPU:", "GPU:x", "CPUS", "GPU:1:2"])
def test_malformed_device_is_not_valid(text: str) -> None:
    with pytest.raises(RedisRuntimeError, match="is not a valid device"):
        devices.parse_device(text)


def test_gpu_range_and_pick() -> None:
    assert list(devices.check_gpu_range(2, 3)) == [2, 3, 4]
    assert devices.multigpu_pick(7, 2, 3) == 3
    assert devices.multigpu_key("m", 3) == "m.GPU:3"
    with pytest.raises(RedisParameterError, match="first_gpu"):
        devices.check_gpu_range(-1, 1)
    with pytest.raises(RedisParameterError, match="num_gpus"):
        devices.check_gpu_range(0, 0)
