"""Request ids: unique within a process, and a forked child never repeats its parent's."""

from __future__ import annotations

import os

from insitu.client._inference_requests import _REQUEST_IDS


def test_ids_are_unique_and_forked_children_draw_a_new_prefix() -> None:
    first, second = _REQUEST_IDS.next(), _REQUEST_IDS.next()
    assert first != second and first.isalnum() and first.isascii()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, _REQUEST_IDS.next().encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child[:16] != first[:16]  # another 64-bit random prefix
    assert _REQUEST_IDS.next()[:16] == first[:16]
