"""``python -m insitu.store.shard_host``: start one store shard on the host it was placed on.

A shard launched by a workload manager runs on a compute node the driver does not know in
advance, and the store's ``interface`` (a high-speed network, often absent on the login
node) must be resolved *there*. This small program, the shard job's executable, does it on
its own host: it finds the IPv4 addresses of the interfaces, writes them to
``--address-file`` (atomically: the driver polls for it on the shared file system), then
becomes the server (``exec``) with ``--bind`` set to them, so the job's process is the server
and stopping the job stops it. An interface missing on this host ends it with status 2 and a
message naming the host and the interfaces it has; the driver reports it from the shard's
log.

With ``--wait-listening PORT`` (a store bound to the node's loopback, as a colocated store
is: the driver cannot reach it to probe it) the server is started as a child instead, the
address file is written only once the server accepts connections on PORT on this host, and
this program stays, passing SIGTERM/SIGINT on and exiting with the server's status.

Usage: ``python -m insitu.store.shard_host --interface NAME [--interface NAME …]
--address-file PATH [--wait-listening PORT] -- SERVER CONFIG``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from insitu import hosts
from insitu.errors import UnknownInterfaceError
from insitu.store.topology import bind_addresses


def write_address(path: Path, addresses: tuple[str, ...]) -> None:
    """``path`` holds this host's name and addresses, one per line, once complete."""
    partial = path.with_name(path.name + ".part")
    partial.write_text("\n".join((hosts.this_host(), *addresses)) + "\n")
    partial.replace(path)


def read_address(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """What :func:`write_address` wrote (host name, addresses), or ``None`` before that."""
    try:
        lines = path.read_text().split()
    except FileNotFoundError:
        return None
    if len(lines) < 2:
        return None
    return lines[0], tuple(lines[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m insitu.store.shard_host")
    parser.add_argument("--interface", action="append", required=True)
    parser.add_argument("--address-file", type=Path, required=True)
    parser.add_argument("--wait-listening", type=int, metavar="PORT")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if len(command) < 2:
        parser.error("give the server and its config file after --")
    try:
        addresses = bind_addresses(args.interface, hosts.interface_addresses())
    except UnknownInterfaceError as err:
        print(f"insitu shard on host {hosts.this_host()}: {err}", file=sys.stderr, flush=True)
        return 2
    if args.wait_listening is not None:
        return run_until_listening(
            [*command, "--bind", *addresses], addresses, args.wait_listening, args.address_file
        )
    write_address(args.address_file, addresses)
    os.execv(command[0], [*command, "--bind", *addresses])
    return 0  # not reached


def _accepts(address: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=1):
        return True
    return False


def run_until_listening(
    argv: list[str], addresses: tuple[str, ...], port: int, address_file: Path
) -> int:
    """Run the server as a child; write ``address_file`` once it accepts connections on
    ``port``; pass SIGTERM/SIGINT on; return its exit status (128+signal if killed)."""
    server = subprocess.Popen(argv)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            server.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    delay = 0.01
    while server.poll() is None and not _accepts(addresses[0], port):
        time.sleep(delay)  # a poll interval: the server has no readiness event to wait on
        delay = min(delay * 2, 0.2)
    if server.poll() is None:
        write_address(address_file, addresses)
    code = server.wait()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
