"""The public surface: exactly what __all__ promises, with SmartSim's names."""

from __future__ import annotations

import types

import insitu
from insitu import errors


def test_all_is_exact_and_importable() -> None:
    # Submodules appear as attributes once imported anywhere; they are not the surface.
    public = {
        name
        for name in dir(insitu)
        if not name.startswith("_") and not isinstance(getattr(insitu, name), types.ModuleType)
    }
    assert set(insitu.__all__) - {"__version__"} == public
    for name in insitu.__all__:
        assert getattr(insitu, name) is not None


def test_smartsim_names() -> None:
    assert insitu.SmartSimStatus is insitu.JobState
    assert insitu.JobState.STATUS_COMPLETED.value == "Completed"
    assert insitu.JobState.COMPLETED is insitu.JobState.STATUS_COMPLETED
    assert insitu.JobState.STATUS_CANCELLED.is_terminal
    assert not insitu.JobState.STATUS_RUNNING.is_terminal
    assert insitu.Verbosity.DEBUG.value == "debug"
    assert errors.SmartSimError is errors.InsituError
    assert errors.SSUnsupportedError is errors.UnsupportedOptionError


def test_every_error_is_rooted_in_insitu_error() -> None:
    for name in errors.__all__:
        value = getattr(errors, name)
        assert issubclass(value, errors.InsituError), name
