"""``insitu store start|stop|info``: a standalone or clustered store from the shell.

``start`` launches a small background driver (``insitu store serve``, an Experiment that
owns the store) in its own session, waits until the store is ready and prints its address
and the file that holds its password (mode 0600; the password is never printed, logged or
put on a command line). The directory (``--dir``, default ``./insitu-store``) is the
driver's experiment directory, so ``insitu status``, ``insitu logs`` and the dashboard show
the store too. ``stop`` asks that driver to stop it (SIGTERM) and waits; ``info`` prints
each shard's figures. ``--tls`` (or ``INSITU_TLS=1``) starts a TLS store: ``start`` prints
the CA certificate clients verify it against (``SSDB_TLS_CA``), and ``info`` connects over
TLS.

``stop CHECKPOINT`` stops a store whatever became of the driver that started it (SIGKILLed,
its node lost), from its checkpoint (``insitu_db.json`` in the store's directory): every
shard that still answers is shut down and the files holding the store's password are
deleted. Its inference workers exit by themselves once their store is gone and their starter
has ended (the worker's watchdog).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from insitu._files import write_private
from insitu.errors import InvalidArgumentError, StoreNotActiveError

STATE_FILE = "store.json"
PASSWORD_FILE = "password"
LOG_FILE = "store-driver.log"
DIR_HELP = "its directory (default: ./insitu-store)"
START_DEADLINE = 120.0


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``insitu store``."""
    sub = parser.add_subparsers(dest="store_command", required=True)
    start = sub.add_parser("start", help="start a store in the background")
    serve = sub.add_parser("serve", help=argparse.SUPPRESS)
    for p in (start, serve):
        p.add_argument(
            "--dir", default="insitu-store", help="its directory (default: ./insitu-store)"
        )
        p.add_argument("--port", type=int, default=6379, help="first port (default: 6379)")
        p.add_argument("--shards", type=int, default=1, help="shards; 3 or more make a cluster")
        p.add_argument("--interface", action="append", help="network interface to bind (repeat)")
        p.add_argument("--unix-socket", help="serve on this Unix socket instead of TCP")
        p.add_argument("--name", default="store", help="the store's name (default: store)")
        p.add_argument("--tls", action="store_true", help="listen on TLS only (a CA of its own)")
    for name, text in (
        ("stop", "stop the store (or, given its checkpoint, a store left behind)"),
        ("info", "show the store's address and figures"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument(
            "--dir", default="insitu-store", help="its directory (default: ./insitu-store)"
        )
        if name == "stop":
            p.add_argument(
                "checkpoint", nargs="?",
                help="a store's checkpoint (insitu_db.json in its directory): stop that store",
            )  # fmt: skip


def dispatch(args: argparse.Namespace) -> int:
    """Run the chosen ``insitu store`` subcommand."""
    directory = Path(args.dir).resolve()
    command = args.store_command
    if command == "start":
        return start(directory, args)
    if command == "serve":
        return serve(directory, args)
    if command == "stop":
        if args.checkpoint:
            return stop_left_behind(args.checkpoint)
        return stop(directory)
    return info(directory)


def _state(directory: Path) -> dict[str, object]:
    try:
        state = json.loads((directory / STATE_FILE).read_text())
    except FileNotFoundError:
        raise StoreNotActiveError(
            f"no store was started in {directory} (no {STATE_FILE})"
        ) from None
    except ValueError as err:
        raise StoreNotActiveError(f"{directory / STATE_FILE} is not valid: {err}") from None
    if not isinstance(state, dict):
        raise StoreNotActiveError(f"{directory / STATE_FILE} is not valid")
    return state


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def start(directory: Path, args: argparse.Namespace) -> int:
    """Launch the background driver and wait for the store (or its failure)."""
    if args.shards < 1:
        raise InvalidArgumentError(f"--shards must be at least 1, got {args.shards}")
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / STATE_FILE).exists() and _alive(_state(directory).get("pid")):
        raise InvalidArgumentError(
            f"a store already runs from {directory}: insitu store stop --dir {directory}"
        )
    (directory / STATE_FILE).unlink(missing_ok=True)
    argv = [sys.executable, "-m", "insitu.cli.main", "store", "serve", "--dir", str(directory)]
    argv += ["--port", str(args.port), "--shards", str(args.shards), "--name", args.name]
    for interface in args.interface or []:
        argv += ["--interface", interface]
    if args.unix_socket:
        argv += ["--unix-socket", args.unix_socket]
    if args.tls:
        argv += ["--tls"]
    with (directory / LOG_FILE).open("ab") as log:
        driver = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                  start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if (directory / STATE_FILE).exists():
            state = _state(directory)
            addresses = ", ".join(str(a) for a in state["addresses"])  # type: ignore[attr-defined]
            print(f"store {state['name']} ready at {addresses}")
            print(f"password file: {state['password_file']} (readable by you only)")
            if state.get("tls_ca"):
                print(f"TLS: verify the store against {state['tls_ca']} (SSDB_TLS_CA)")
            print(f"driver pid {driver.pid}; stop it with: insitu store stop --dir {directory}")
            return 0
        if driver.poll() is not None:
            break
        time.sleep(0.1)
    if driver.poll() is None:
        driver.send_signal(signal.SIGTERM)
        driver.wait(timeout=60)
    tail = (directory / LOG_FILE).read_text(errors="replace").strip().splitlines()[-15:]
    print("insitu: the store did not start:\n" + "\n".join(tail), file=sys.stderr)
    return 1


def serve(directory: Path, args: argparse.Namespace) -> int:
    """The background driver: start the store, publish its state, wait for SIGTERM."""
    from insitu import Experiment

    stop_requested = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop_requested.set())
    with Experiment(f"{args.name}-store", exp_path=str(directory)) as exp:
        options: dict[str, object] = {"db_identifier": args.name}
        if args.unix_socket:
            options["unix_socket"] = args.unix_socket
        if args.interface:
            options["interface"] = args.interface
        if args.tls:
            options["tls"] = True
        store = exp.create_database(
            port=args.port,
            db_nodes=args.shards,
            **options,  # type: ignore[arg-type]
        )
        store.telemetry.enable()  # memory and clients for `insitu status` and the dashboard
        exp.start(store)
        password = directory / PASSWORD_FILE
        write_private(password, store.password + "\n")
        state = {"name": store.name, "addresses": store.get_address(),
                 "clustered": store.is_clustered, "pid": os.getpid(),
                 "password_file": str(password), "tls_ca": store.tls_ca}  # fmt: skip
        write_private(directory / STATE_FILE, json.dumps(state) + "\n")
        stop_requested.wait()
    return 0


def stop(directory: Path) -> int:
    """Ask the driver to stop its store and wait until it has."""
    state = _state(directory)
    pid = state.get("pid")
    if not _alive(pid):
        (directory / STATE_FILE).unlink(missing_ok=True)
        print(f"no store is running from {directory}")
        return 0
    assert isinstance(pid, int)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + START_DEADLINE
    while _alive(pid):
        if time.monotonic() > deadline:
            raise StoreNotActiveError(f"the store driver (pid {pid}) did not stop")
        time.sleep(0.1)
    (directory / STATE_FILE).unlink(missing_ok=True)
    print(f"store {state.get('name')} stopped")
    return 0


def stop_left_behind(checkpoint: str) -> int:
    """Stop the store of ``checkpoint`` without its driver (see the module docs)."""
    from insitu.store.reconnect import stop_left_behind as stop_store

    try:
        stopped = stop_store(checkpoint)
    except FileNotFoundError as err:
        raise StoreNotActiveError(f"no checkpoint at {checkpoint}: {err.strerror}") from None
    if stopped:
        print(f"stopped {len(stopped)} shard(s): {', '.join(stopped)}")
    else:
        print("no shard answered: the store was already gone; its secret files are removed")
    return 0


def info(directory: Path) -> int:
    """Print the address, the password file and each shard's figures."""
    from insitu.runtime.store_probe import ShardProbe
    from insitu.store.shard_client import shard_endpoints
    from insitu.wire.telemetry import ShardSample

    state = _state(directory)
    alive = _alive(state.get("pid"))
    addresses = [str(a) for a in state.get("addresses", [])]  # type: ignore[attr-defined]
    print(f"store {state.get('name')}: {'running' if alive else 'driver gone'}")
    print(f"addresses: {', '.join(addresses)}")
    print(f"password file: {state.get('password_file')}")
    if not alive:
        return 1
    password = Path(str(state["password_file"])).read_text().strip()
    code = 0
    tls_ca = state.get("tls_ca")
    ca = tls_ca if isinstance(tls_ca, str) else None
    for index, endpoint in enumerate(shard_endpoints(addresses, password, tls_ca=ca)):
        probe = ShardProbe(str(state.get("name")), index, endpoint, bool(state.get("clustered")))
        sample = probe.sample("", time.time())[0]
        probe.close()
        assert isinstance(sample, ShardSample)
        if not sample.up:
            print(f"  shard {index} {sample.address}: DOWN ({sample.error})")
            code = 1
            continue
        memory = (sample.used_memory or 0) / (1024 * 1024)
        print(f"  shard {index} {sample.address}: {memory:.1f} MiB used, {sample.keys} keys, "
              f"{sample.clients} clients, {sample.ops_per_sec} ops/s"
              + (f", cluster {sample.cluster_state}" if sample.cluster_state else ""))  # fmt: skip
    return code
