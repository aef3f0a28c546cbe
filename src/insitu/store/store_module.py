"""The store module: where the compiled RedisAI-compatible module is, and how a shard
loads it (see ``src/insitu/store/module/`` for the C source and ``docs/wire-format.md``).

The package build (``setup.py``) compiles it to ``insitu/store/module/insitu_ai.so``;
in a source checkout ``make module`` does the same in place. Every store insitu starts
loads it (``loadmodule`` in the shard's config), with :func:`module_args`.

ONNX models stored for the CPU without batching run inside the server, on the module's
own threads, through the ONNX Runtime library of the installed ``onnxruntime`` wheel
(the module opens it at run time; no build step links it). Without that wheel, or with
``INSITU_STORE_ONNX=workers`` in the environment of the process that starts the store,
they run in the inference workers like every other model.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from insitu.errors import ConfigurationError, MissingDependencyError

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


ONNX_ENV = "INSITU_STORE_ONNX"
"""``server`` (the default): ONNX CPU models run in the store's server; ``workers``: in the
inference workers, as every other model."""


def onnxruntime_library() -> Path | None:
    """The ONNX Runtime shared library of the installed ``onnxruntime`` wheel, found
    without importing it; None if the wheel is not installed."""
    try:
        spec = importlib.util.find_spec("onnxruntime")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.glob("capi/libonnxruntime.so*"))
    return found[-1] if found else None


def module_args(
    intra_op_threads: int | None = None, threads_per_queue: int | None = None
) -> tuple[str, ...]:
    """The module's load arguments for a store started now: the ONNX Runtime library
    (``ONNXRUNTIME <path>``) unless :data:`ONNX_ENV` says ``workers`` or the wheel is
    missing, the intra-op threads of each run (``ONNX_INTRA_OP_THREADS``; the module
    defaults to 1) and the threads of its pool (``ONNX_THREADS``, RedisAI's
    ``THREADS_PER_QUEUE``; the module defaults to one per CPU the server may run on)."""
    where = os.environ.get(ONNX_ENV, "server").strip().lower() or "server"
    if where not in ("server", "workers"):
        raise ConfigurationError(f"{ONNX_ENV}={where!r}: expected 'server' or 'workers'")
    library = onnxruntime_library() if where == "server" else None
    if library is None:
        return ()
    args: tuple[str, ...] = ("ONNXRUNTIME", str(library))
    if intra_op_threads:
        args += ("ONNX_INTRA_OP_THREADS", str(intra_op_threads))
    if threads_per_queue:
        args += ("ONNX_THREADS", str(threads_per_queue))
    return args
