"""``insitu doctor``: what this machine offers insitu, one line per check.

The store engine and its version, whether it was built with TLS, the ML backends that can
be imported, the launchers that are usable and detected, and GPUs. Each check says what to
install when something is missing; the exit status is 1 only when no store engine is found
(nothing else is required).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from dataclasses import dataclass
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
    checks = [*engine_checks(), *backend_checks(), *launcher_checks(), gpu_check()]
    width = max(len(c.topic) for c in checks)
    for check in checks:
        mark = {True: "ok  ", False: "MISS", None: "info"}[check.ok]
        print(f"[{mark}] {check.topic.ljust(width)}  {check.detail}")
    return 0 if checks[0].ok else 1


def engine_checks() -> list[Check]:
    """The store server insitu would start, and whether it can serve TLS."""
    from insitu.store.server_binary import find_server_binary

    try:
        binary = find_server_binary()
    except InsituError as err:
        return [Check("store engine", False, str(err))]
    version = ".".join(str(v) for v in binary.version)
    found = Check("store engine", True, f"{binary.flavor} {version} at {binary.path}")
    return [found, tls_check(Path(binary.path))]


def tls_check(binary: Path) -> Check:
    """Whether ``binary`` was built with TLS: it is asked to serve TLS with no certificate
    and no plain port, which fails at once either way, saying which."""
    from insitu.launchers.subprocesses import run_tool

    try:
        out = run_tool([str(binary), "--port", "0", "--tls-port", "1", "--save", "",
                        "--loglevel", "warning"], timeout=10, check=False)  # fmt: skip
    except InsituError as err:
        return Check("TLS", None, f"could not ask {binary.name}: {err}")
    text = out.stdout + out.stderr
    if "Failed finding TLS support" in text or "connection type tls" in text:
        return Check("TLS", False, f"{binary.name} was built without TLS")
    if "tls-cert-file" in text or "Failed to configure TLS" in text:
        return Check("TLS", True, f"{binary.name} supports TLS")
    return Check("TLS", None, f"{binary.name} did not say whether it supports TLS")


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
