"""What waiting for replicas costs a write (issue 14): ``put_tensor`` on a 3-master cluster
with one replica each, by a client without and a client with ``INSITU_WAIT_REPLICAS=1``
(every write followed by ``WAIT 1`` on its connection), measured in one run.

Setups per size (8 B, 1 KiB, 64 KiB of float64) take turns call by call, so they share
the machine's noise; the baseline is the plain ``put_tensor`` on the same store.

Run with ``python benchmarks/replication_wait.py`` (about a minute). Results are printed
and written to the "Replication wait" section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import write_section

from insitu import Experiment
from insitu.client import Client
from insitu.client.durability import WAIT_REPLICAS_ENV
from insitu.store.readiness import find_free_port_block

SIZES = [(8, "8 B"), (1024, "1 KiB"), (64 * 1024, "64 KiB")]
CALLS = 400  # per setup, size and round
ROUNDS = 5
SETUPS = ("put_tensor", "put_tensor + WAIT 1")


def _client(address: str, wait: bool) -> Client:
    """A client whose durability is read from the environment when it is made."""
    if wait:
        os.environ[WAIT_REPLICAS_ENV] = "1"
    try:
        return Client(True, address)
    finally:
        os.environ.pop(WAIT_REPLICAS_ENV, None)


def measure(address: str) -> dict[str, dict[str, list[float]]]:
    """Per size: per setup, the median (µs) of each round."""
    clients = {SETUPS[0]: _client(address, False), SETUPS[1]: _client(address, True)}
    out: dict[str, dict[str, list[float]]] = {}
    for nbytes, label in SIZES:
        value = np.zeros(nbytes // 8)
        rounds: dict[str, list[float]] = {name: [] for name in SETUPS}
        for _ in range(ROUNDS):
            times: dict[str, list[float]] = {name: [] for name in SETUPS}
            for n in range(CALLS):
                for name, client in clients.items():
                    start = time.perf_counter()
                    client.put_tensor(f"w{n % 64}", value)
                    times[name].append(time.perf_counter() - start)
            for name in SETUPS:
                rounds[name].append(statistics.median(times[name]) * 1e6)
        out[label] = rounds
    for client in clients.values():
        client.close()
    return out


def report(results: dict[str, dict[str, list[float]]]) -> str:
    rows = [
        "A 3-master cluster with one replica each (`replicas=1`), loopback TCP, 2 CPUs; "
        f"{ROUNDS} rounds of {CALLS} calls per setup, the setups taking turns call by call. "
        "Median of the per-round medians (µs); the ratio is the median of per-round ratios "
        "against the plain `put_tensor` on the same store.",
        "",
        "| size | put_tensor (µs) | put_tensor + WAIT 1 (µs) | ratio |",
        "|---|---|---|---|",
    ]
    for label, rounds in results.items():
        plain, waited = rounds[SETUPS[0]], rounds[SETUPS[1]]
        ratio = statistics.median(w / p for w, p in zip(waited, plain, strict=True))
        rows.append(
            f"| {label} | {statistics.median(plain):.0f} | {statistics.median(waited):.0f} "
            f"| {ratio:.2f} |"
        )
    rows += [
        "",
        "`INSITU_WAIT_REPLICAS=1` adds the replica's acknowledgement to every write (the "
        "master forwards the write, the replica reports its offset, `WAIT` returns): the "
        "price of a write that survives the loss of its master (docs/reliability.md).",
        "",
    ]
    return "\n".join(rows)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="insitu-bench-wait-"))
    exp = Experiment("bench-wait", exp_path=str(root), launcher="local")
    try:
        store = exp.create_database(
            port=find_free_port_block(6), db_nodes=3, replicas=1, inference_workers=0
        )
        exp.start(store)
        results = measure(store.get_address()[0])
    finally:
        exp.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    text = report(results)
    print(text)
    write_section("Replication wait", text)


if __name__ == "__main__":
    main()
