"""``shard_host --wait-listening``: a shard bound to its node's loopback says it is ready
only once it accepts connections there, and stopping it stops the server."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from insitu.store.readiness import find_free_port_block
from insitu.store.shard_host import read_address

SERVER = """
import socket, sys, time
time.sleep(0.5)  # a server that takes a while to listen
port = int(sys.argv[1])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen()
assert sys.argv[2:] == ["--bind", "127.0.0.1"], sys.argv
while True:
    s.accept()[0].close()
"""


def test_the_address_comes_once_the_server_listens_and_sigterm_reaches_it(
    tmp_path: Path,
) -> None:
    port = find_free_port_block(1)
    address = tmp_path / "shard.address"
    proc = subprocess.Popen(
        [sys.executable, "-m", "insitu.store.shard_host", "--interface", "lo",
         "--address-file", str(address), "--wait-listening", str(port), "--",
         sys.executable, "-c", SERVER, str(port)],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while read_address(address) is None:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        _, addresses = read_address(address) or ("", ())
        assert addresses == ("127.0.0.1",)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # it listened before the address was written
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
