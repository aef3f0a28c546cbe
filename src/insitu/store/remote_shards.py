"""Shards on other hosts: waiting until each has said where it listens.

A shard launched on a compute node resolves the store's interface there and writes its
host name and addresses to a file on the shared file system
(:mod:`insitu.store.shard_host`); the driver polls for those files against the start
deadline, and a shard whose job ends first fails the start with the tail of its logs (an
interface missing on that node says so there).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from insitu.errors import ShardStartError
from insitu.store.readiness import ShardProbe, shard_log_tail
from insitu.store.shard_host import read_address

_FIRST_POLL = 0.02
_MAX_POLL = 0.25


def wait_for_addresses(
    shards: Sequence[ShardProbe],
    files: Sequence[Path],
    is_running: Callable[[int], bool],
    deadline: float,
) -> list[tuple[str, tuple[str, ...]]]:
    """(host name, addresses) of every shard, in shard order, once all have written them.

    Raises :class:`ShardStartError` when a shard's job ends before writing, or at
    ``deadline`` (a ``time.monotonic()`` instant) for the first that has not.
    """
    found: dict[int, tuple[str, tuple[str, ...]]] = {}
    interval = _FIRST_POLL
    while True:
        for index, path in enumerate(files):
            if index in found:
                continue
            answer = read_address(path)
            if answer is not None:
                found[index] = answer
            elif not is_running(index):
                shard = shards[index]
                raise ShardStartError(
                    shard.name, "the shard's job ended before it started the server",
                    shard_log_tail(shard),
                )  # fmt: skip
        if len(found) == len(files):
            return [found[i] for i in range(len(files))]
        if time.monotonic() >= deadline:
            missing = min(set(range(len(files))) - set(found))
            shard = shards[missing]
            raise ShardStartError(
                shard.name, "it did not start on its host in time (still queued?)",
                shard_log_tail(shard),
            )  # fmt: skip
        time.sleep(interval)  # a poll interval: the loop re-reads every file
        interval = min(interval * 2, _MAX_POLL)
