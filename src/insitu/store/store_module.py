"""The store module: where the compiled RedisAI-compatible module is, and how a shard
loads it (see ``src/insitu/store/module/`` for the C source and ``docs/wire-format.md``).

The package build (``setup.py``) compiles it to ``insitu/store/module/insitu_ai.so``;
in a source checkout ``make module`` does the same in place. Every store insitu starts
loads it (``loadmodule`` in the shard's config).
"""

from __future__ import annotations

from pathlib import Path

from insitu.errors import MissingDependencyError

MODULE_NAME = "insitu"
"""The name the module registers (``MODULE LIST``)."""
MODULE_FILE = Path(__file__).resolve().parent / "module" / "insitu_ai.so"


def module_path() -> Path:
    """The module's shared object; MissingDependencyError if it was not built."""
    if not MODULE_FILE.is_file():
        raise MissingDependencyError(
            f"the insitu store module ({MODULE_FILE})",
            "reinstall insitu from its wheel, or run `make module` in a source checkout",
        )
    return MODULE_FILE
