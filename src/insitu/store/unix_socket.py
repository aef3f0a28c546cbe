"""Unix-domain-socket stores: path and permission rules, and the "in use" check.

A store on a Unix socket has one shard that listens on the socket file only (no TCP port),
as SmartSim's ``colocate_db_uds`` does. Clients address it as ``unix://<absolute path>``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from pathlib import Path

from insitu._checks import check_any, check_int
from insitu.errors import InvalidArgumentError, SocketInUseError

MAX_SOCKET_PATH = 107
"""Longest path ``sun_path`` holds on Linux (108 bytes with the terminating NUL)."""


def validate_socket_path(path: object) -> Path:
    """An absolute, short enough socket path whose directory exists or can be made."""
    check_any("unix_socket", path, str, Path)
    resolved = Path(str(path)).expanduser().absolute()
    if len(str(resolved).encode()) > MAX_SOCKET_PATH:
        raise InvalidArgumentError(
            f"unix_socket path {str(resolved)!r} is longer than {MAX_SOCKET_PATH} bytes, "
            "the limit of a Unix socket address; choose a shorter path"
        )
    return resolved


def socket_mode(permissions: object) -> int:
    """SmartSim writes permissions as octal digits in an int (``755``): convert to a mode.

    Raises ``InvalidArgumentError`` for digits outside 0 to 7 or a mode above ``0o777``.
    """
    value = check_int("socket_permissions", permissions, minimum=0)
    try:
        mode = int(str(value), 8)
    except ValueError as err:
        raise InvalidArgumentError(
            f"socket_permissions {value} is not an octal mode like 755"
        ) from err
    if mode > 0o777:
        raise InvalidArgumentError(f"socket_permissions {value} is above 777")
    return mode


def check_socket_free(path: Path) -> None:
    """Raise :class:`SocketInUseError` unless a server may create its socket at ``path``.

    Nothing there, or a stale socket (nobody listening), is fine: the server replaces a
    socket file when it starts. Anything else is refused and left alone — a live socket, and
    any file that is not a socket (a regular file, a directory, a symbolic link), because
    the server would delete it.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise SocketInUseError(path, f"not usable: {err}") from err
    if not stat.S_ISSOCK(mode):
        raise SocketInUseError(
            path,
            f"{_kind(mode)}, not a socket; insitu replaces only a stale socket and never "
            "deletes another file: choose another path",
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        with contextlib.suppress(OSError):
            sock.connect(str(path))
            raise SocketInUseError(path)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "a special file"
