"""Package faces that load their names on first use (PEP 562), so that importing one
submodule does not import every sibling the face names."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, sources: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that imports ``sources[name]`` (a module
    path) on the first look-up of ``name`` and caches the value in ``namespace`` (the
    package's ``globals()``), so later look-ups skip it."""

    def look_up(name: str) -> object:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    return look_up
