"""Start-up checks for store shards: ports free before, authenticated PING after.

Waiting is polling against a deadline with short, growing intervals; a shard whose process
exits while we wait fails the start at once, with the tail of its logs in the error.
"""

from __future__ import annotations

import errno
import random
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from insitu.connection.redis_clients import ping_error
from insitu.errors import PortInUseError, ShardStartError, StoreError
from insitu.store.shard_client import PROBE_TIMEOUT, shard_endpoints

LOG_TAIL_LINES = 20
_TAIL_BYTES = 16 * 1024
_FIRST_POLL = 0.01
_MAX_POLL = 0.1


@dataclass(frozen=True)
class ShardProbe:
    """How to reach one shard while it starts, and where its logs go."""

    name: str
    address: str
    out_path: Path | None = None
    err_path: Path | None = None


def port_free(host: str, port: int) -> bool:
    """True if a listener could bind ``host:port`` now.

    ``SO_REUSEADDR`` is set as the server sets it, so ports in TIME_WAIT after a previous
    run count as free, while a live listener (on this or the wildcard address) does not.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return False
            raise StoreError(f"cannot bind {host}:{port}: {err}") from err
    return True


FREE_PORT_RANGE = (20000, 22500)
"""Where :func:`find_free_port_block` looks: below the kernel's ephemeral range (32768+)
even for cluster bus ports (+10000), so outgoing connections never take them."""


def find_free_port_block(
    count: int = 1, host: str = "127.0.0.1", port_range: tuple[int, int] = FREE_PORT_RANGE
) -> int:
    """First port of ``count`` consecutive ports that are free on ``host`` now, together
    with their cluster bus ports (+10000): a ``port`` for ``create_database(db_nodes=count)``.

    Blocks are tried in random order so that concurrent callers rarely pick the same one;
    a port can still be taken between this check and the server's start, which the store
    then reports as :class:`PortInUseError`.
    """
    low, high = port_range
    bases = list(range(low, high - count))
    random.shuffle(bases)
    for base in bases[:500]:
        ports = [*range(base, base + count), *range(base + 10000, base + 10000 + count)]
        if all(port_free(host, port) for port in ports):
            return base
    raise StoreError(f"no {count} consecutive free ports between {low} and {high} on {host}")


def check_ports_free(hosts: Sequence[str], ports: Sequence[int]) -> None:
    """Raise :class:`PortInUseError` for the first ``(host, port)`` that is taken."""
    for port in ports:
        for host in hosts:
            if not port_free(host, port):
                raise PortInUseError(port, host)


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file ("" if it is missing or unreadable)."""
    if path is None:
        return ""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - _TAIL_BYTES))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def shard_log_tail(shard: ShardProbe) -> str:
    """Tails of the shard's ``.out`` and ``.err`` files, labelled."""
    parts = []
    for label, path in (("out", shard.out_path), ("err", shard.err_path)):
        tail = log_tail(path)
        if tail:
            parts.append(f"[{label}: {path}]\n{tail}")
    return "\n".join(parts)


def wait_for_shards(
    shards: Sequence[ShardProbe],
    password: str,
    is_running: Callable[[int], bool],
    deadline: float,
    tls_ca: str | None = None,
) -> None:
    """Return once every shard answers an authenticated PING (over TLS verified against
    ``tls_ca`` when given).

    ``is_running(i)`` tells whether shard ``i``'s process is alive; ``deadline`` is a
    ``time.monotonic()`` instant. Raises :class:`ShardStartError` (with log tails) when a
    shard's process exits, or when the deadline passes with shards still not answering.
    """
    pending = list(range(len(shards)))
    last_error: dict[int, str] = {}
    interval = _FIRST_POLL
    while True:
        for index in list(pending):
            shard = shards[index]
            if not is_running(index):
                raise ShardStartError(
                    shard.name, "the server process exited during start-up", shard_log_tail(shard)
                )
            (endpoint,) = shard_endpoints([shard.address], password, PROBE_TIMEOUT, tls_ca)
            error = ping_error(endpoint)
            if error is None:
                pending.remove(index)
            else:
                last_error[index] = error
        if not pending:
            return
        if time.monotonic() >= deadline:
            shard = shards[pending[0]]
            reason = f"no answer to an authenticated PING in time ({last_error[pending[0]]})"
            raise ShardStartError(shard.name, reason, shard_log_tail(shard))
        time.sleep(interval)  # a poll interval, not synchronisation: the loop re-checks
        interval = min(interval * 2, _MAX_POLL)
