"""``insitu doctor``: what this machine offers insitu, one line per check.

The store engine and its version, whether each engine found here was built with TLS (a MISS
only when none was), the store module (built or not, its path, and whether each engine found
here loads it), the ML backends that can be imported, the launchers that are usable and
detected, and GPUs. Each check says what to install when something is missing; the exit
status is 1 only when no store engine is found (nothing else is required).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from insitu.errors import InsituError


@dataclass(frozen=True)
class Check:
    """One line of the report: ``ok`` None means "informational"."""

    topic: str
    ok: bool | None
    detail: str


def configure(parser: argparse.ArgumentParser) -> None:
    """``insitu doctor`` takes no arguments."""


def run(args: argparse.Namespace) -> int:
    """Print every check; 1 if no store engine was found."""
    from insitu import __version__

    print(f"insitu {__version__}")
    checks = [*engine_checks(), *module_checks(), *backend_checks(), *launcher_checks(),
              gpu_check()]  # fmt: skip
    width = max(len(c.topic) for c in checks)
    for check in checks:
        mark = {True: "ok  ", False: "MISS", None: "info"}[check.ok]
        print(f"[{mark}] {check.topic.ljust(width)}  {check.detail}")
    return 0 if checks[0].ok else 1


def engine_checks() -> list[Check]:
    """The store server insitu would start, then whether each engine found here can serve
    TLS (``tls=True`` picks one that can)."""
    from insitu.store.server_binary import find_server_binary

    try:
        binary = find_server_binary()
    except InsituError as err:
        return [Check("store engine", False, str(err))]
    version = ".".join(str(v) for v in binary.version)
    found = Check("store engine", True, f"{binary.flavor} {version} at {binary.path}")
    tls = [tls_check(engine) for engine in _engines()]
    if not any(check.ok for check in tls):  # no engine here can serve a TLS store
        tls = [replace(check, ok=False) for check in tls]
    return [found, *tls]


def tls_check(binary: Path) -> Check:
    """Whether ``binary`` was built with TLS (:mod:`insitu.store.engine_tls`: it is asked
    to serve TLS with no certificate and no plain port, which fails at once either way,
    saying which)."""
    from insitu.store.engine_tls import TLS_INSTALL_HINT, tls_support

    supported = tls_support(str(binary))
    topic = f"TLS in {binary.name}"
    if supported is None:
        return Check(topic, None, f"{binary}: did not say whether it supports TLS")
    if not supported:
        hint = f"for TLS stores {TLS_INSTALL_HINT}"
        return Check(topic, None, f"{binary}: built without TLS ({hint})")
    return Check(topic, True, f"{binary}: supports TLS (tls=True uses it)")


def module_checks() -> list[Check]:
    """The store module: built or not (and where), then whether every engine found here
    (``INSITU_SERVER_BIN``, ``PATH``, the bundled one) loads it."""
    from insitu.store.store_module import module_path

    try:
        path = module_path()
    except InsituError as err:
        return [Check("store module", False, str(err))]
    checks = [Check("store module", True, f"built: {path}")]
    for engine in _engines():
        loaded, detail = module_loads(engine, path)
        checks.append(Check(f"module in {engine.name}", loaded, f"{engine}: {detail}"))
    return checks


def _engines() -> list[Path]:
    """Every store engine binary found here, each once."""
    from insitu.store.server_binary import (
        PATH_CANDIDATES,
        bundled_binary_path,
        find_server_binary,
    )

    found: list[Path] = []
    with contextlib.suppress(InsituError):  # reported by the engine check
        found.append(Path(find_server_binary().path))
    found += [Path(p) for p in map(shutil.which, PATH_CANDIDATES) if p]
    bundled = bundled_binary_path()
    if bundled is not None:
        found.append(bundled)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def module_loads(engine: Path, module: Path, timeout: float = 20.0) -> tuple[bool, str]:
    """Start ``engine`` with ``module`` on an owner-only Unix socket in a scratch directory
    (no TCP port, nothing saved) and read its log until it says the module loaded, or it
    exits; then stop it. (True, "loads") or (False, the engine's words)."""
    with tempfile.TemporaryDirectory(prefix="insitu-doctor-") as scratch:
        argv = [str(engine), "--port", "0", "--unixsocket", f"{scratch}/s.sock",
                "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                "--dir", scratch, "--loglevel", "notice", "--loadmodule", str(module),
                *_module_args()]  # fmt: skip
        try:
            proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=scratch, start_new_session=True,
            )  # fmt: skip
        except OSError as err:
            return False, f"cannot start it: {err}"
        try:
            return _watch_log(proc, timeout)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _watch_log(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bool, str]:
    """Read ``proc``'s log lines until the module loaded, it exited, or ``timeout``."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    lines: list[str] = []
    pending = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(remaining):
                continue
            # Raw reads: a buffered readline() could hold the line we wait for in Python's
            # buffer while select() reports nothing more to read.
            chunk = os.read(fd, 65536)
            if not chunk:  # it exited: the module (or the engine) refused
                proc.wait(timeout=10)
                tail = " | ".join(line for line in lines[-3:] if line)
                return False, f"does not load it (exit {proc.returncode}): {tail}"
            *complete, pending = (pending + chunk).split(b"\n")
            for raw in complete:
                line = raw.decode("utf-8", "replace").strip()
                lines.append(line.split("* ", 1)[-1].split("# ", 1)[-1])
                if "Module 'insitu' loaded" in line or "Module insitu loaded" in line:
                    return True, "loads" + _onnx_note(lines)
    return False, f"said nothing about the module within {timeout:g} s"


def _module_args() -> tuple[str, ...]:
    """The load arguments a store started now gives the module (ONNX Runtime's library)."""
    from insitu.store.store_module import module_args

    with contextlib.suppress(InsituError):  # a bad INSITU_STORE_ONNX: the store says so
        return module_args()
    return ()


def _onnx_note(lines: list[str]) -> str:
    """What the module said about running ONNX models in the server, if anything."""
    for line in lines:
        if "insitu: ONNX" in line:
            return "; " + line.split("insitu: ", 1)[1]
    return ""


def backend_checks() -> list[Check]:
    """Each ML backend: importable or which extra installs it (nothing is imported)."""
    from insitu.wire.backends import BACKENDS

    checks = []
    for name, info in BACKENDS.items():
        found = [p for p in info.packages if importlib.util.find_spec(p) is not None]
        detail = f"via {found[0]}" if found else f"pip install 'insitu[{info.extra}]'"
        checks.append(Check(f"backend {name}", bool(found), detail))
    return checks


def launcher_checks() -> list[Check]:
    """The usable launchers, which one ``launcher="auto"`` picks here, and why."""
    from insitu.launchers.registry import available_launchers, detect_launcher

    chosen, why = detect_launcher()
    return [
        Check("launchers", None, ", ".join(available_launchers())),
        Check("auto launcher", None, f"{chosen} ({why})"),
    ]


def gpu_check() -> Check:
    """GPUs seen by ``nvidia-smi -L`` or ``rocm-smi``, or their device files."""
    from insitu.launchers.subprocesses import run_tool

    for tool, argv in (("nvidia-smi", ["nvidia-smi", "-L"]), ("rocm-smi", ["rocm-smi", "-i"])):
        if shutil.which(tool):
            try:
                out = run_tool(argv, timeout=20, check=False)
            except InsituError as err:
                return Check("GPUs", None, f"{tool} failed: {err}")
            gpus = [line for line in out.stdout.splitlines() if line.strip().startswith("GPU")]
            return Check("GPUs", bool(gpus), f"{len(gpus)} ({tool})" if gpus else f"none ({tool})")
    nvidia = sorted(Path("/dev").glob("nvidia[0-9]*"))
    if nvidia:
        return Check("GPUs", True, f"{len(nvidia)} NVIDIA device file(s), no nvidia-smi")
    return Check("GPUs", None, "none found (CPU only)")
