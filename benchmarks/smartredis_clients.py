"""The unmodified SmartRedis 0.6.1 client against an insitu store vs insitu's own client,
same store, same run (issue 17's benchmark).

Two standalone stores with their default inference worker: one on an owner-only Unix socket
and one on loopback TCP opted in to password-less clients (SmartRedis cannot send a
password). For ``put_tensor``/``get_tensor`` of float64 tensors (8 B, 1 KiB, 64 KiB, 1 MiB)
and ``run_model`` of issue 16's MLP (ONNX, batch 1), each client makes ``CALLS`` calls per
round, the clients taking turns for ``ROUNDS`` rounds. Both clients run the same program in
a process of their own (neither shares a process with the driver's threads): SmartRedis in
its own venv (``numpy<2``; built from requirements/smartredis.txt like the tests' one),
insitu's in this interpreter, its password passed in the environment. Reported: medians and
the ratio insitu ÷ SmartRedis, plus the CPU per ``run_model`` of each caller process
(``/proc/self/task/*/schedstat``).

Run with ``python benchmarks/smartredis_clients.py`` (about a minute). Results are printed and
written to the "SmartRedis client vs insitu client" section of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import TypedDict

from _report import write_section
from inference_cost import build_mlp

from insitu import Experiment
from insitu.client import Client
from insitu.store.readiness import find_free_port_block


class Run(TypedDict):
    """One client's calls of one operation in one round."""

    times: list[float]
    cpu_ns: int


Results = dict[str, list[Run]]

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "smartredis.txt"
VENV = ROOT / ".venv-smartredis"
CALLS = 500
ROUNDS = 5
SIZES = {"8 B": 1, "1 KiB": 128, "64 KiB": 8192, "1 MiB": 131072}  # float64 elements
STORES = ("Unix socket", "TCP")
OPS = [f"{op} {size}" for size in SIZES for op in ("put_tensor", "get_tensor")] + ["run_model"]

# Runs in each client's own process: the same calls, timed the same way; prints JSON.
PROGRAM = """
import json, os, sys, time
from pathlib import Path
import numpy as np
if sys.argv[4] == "smartredis":
    from smartredis import Client
    client = Client(address=sys.argv[1], cluster=False)
else:
    from insitu.client import Client
    client = Client(False, sys.argv[1], password=os.environ["BENCH_STORE_PASSWORD"])
SIZES, CALLS = json.loads(sys.argv[2]), int(sys.argv[3])
def cpu():
    return sum(int((t / "schedstat").read_text().split()[0])
               for t in Path("/proc/self/task").glob("*"))
out = {}
def timed(name, fn):
    for _ in range(20):
        fn()
    times = []
    start = cpu()
    for _ in range(CALLS):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    out[name] = {"times": times, "cpu_ns": cpu() - start}
tag = sys.argv[4][:2]
for label, n in SIZES.items():
    x = np.arange(n, dtype=np.float64)
    key = tag + "_" + label.replace(" ", "")
    timed("put_tensor " + label, lambda: client.put_tensor(key, x))
    timed("get_tensor " + label, lambda: client.get_tensor(key))
client.put_tensor(tag + "_in", np.ones((1, 16), np.float32))
run = lambda: client.run_model("mlp", inputs=[tag + "_in"], outputs=[tag + "_out"])
timed("run_model", run)
print(json.dumps(out))
"""


def smartredis_python() -> Path:
    """The SmartRedis venv's interpreter (built from the lock when missing or stale)."""
    python, stamp = VENV / "bin" / "python", VENV / ".insitu-lock"
    if not (stamp.is_file() and stamp.read_text() == LOCK.read_text() and python.is_file()):
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(LOCK)], check=True)
        stamp.write_text(LOCK.read_text())
    return python


def client_round(python: Path, kind: str, address: str, password: str) -> dict[str, Run]:
    """One round of ``kind``'s client (``smartredis`` or ``insitu``) run by ``python``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSDB", "SSKEY"))}
    env["SR_LOG_LEVEL"] = "QUIET"
    env["BENCH_STORE_PASSWORD"] = password
    args = [address, json.dumps(SIZES), str(CALLS), kind]
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(PROGRAM), *args],
        capture_output=True, text=True, env=env, check=False, timeout=600,
        cwd=tempfile.gettempdir(),  # neutral: `python -c` puts the working directory on sys.path
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} program failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Run] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def report(ours: dict[str, Results], theirs: dict[str, Results]) -> str:
    def median_us(runs: list[Run]) -> float:
        return statistics.median(t for r in runs for t in r["times"]) * 1e6

    def cpu_us(runs: list[Run]) -> float:
        return sum(r["cpu_ns"] for r in runs) / (len(runs) * CALLS) / 1e3

    lines = [
        "Two standalone stores with their default inference worker, one on an owner-only Unix "
        "socket, one on loopback TCP opted in to password-less clients; "
        f"{os.cpu_count()} CPUs shared by everything; {ROUNDS} rounds of {CALLS} calls per "
        "operation and client, the clients taking turns, each client in a process of its own "
        "running the same program. SmartRedis 0.6.1 (the unmodified wheel, its C++ core) "
        "speaks RedisAI's commands to the store module; insitu's client speaks plain "
        "`SET`/`GET` for tensors and the same `AI.MODELEXECUTE` for runs. run_model: issue "
        "16's MLP, batch 1; caller CPU from `/proc/self/task/*/schedstat`. The machine is "
        "shared with other work: small-tensor figures swing between runs; the per-round "
        "ratios are the steadier figure.",
        "",
        "| store | operation | SmartRedis median (µs) | insitu median (µs) | ratio insitu ÷ "
        "SmartRedis | median of per-round ratios |",
        "|---|---|---|---|---|---|",
    ]
    for where in STORES:
        for op in OPS:
            sr, mine = median_us(theirs[where][op]), median_us(ours[where][op])
            per_round = statistics.median(
                statistics.median(a["times"]) / statistics.median(b["times"])
                for a, b in zip(ours[where][op], theirs[where][op], strict=True)
            )
            lines.append(
                f"| {where} | {op} | {sr:,.0f} | {mine:,.0f} | {mine / sr:.2f} | {per_round:.2f} |"
            )
        sr_cpu, my_cpu = cpu_us(theirs[where]["run_model"]), cpu_us(ours[where]["run_model"])
        lines.append(
            f"| {where} | run_model, caller CPU per call | {sr_cpu:,.0f} | {my_cpu:,.0f} | "
            f"{my_cpu / sr_cpu:.2f} | |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    python = smartredis_python()
    root = Path(tempfile.mkdtemp(prefix="insitu-bench-sr-"))
    exp = Experiment("bench-smartredis", exp_path=str(root), launcher="local")
    ours: dict[str, Results] = {w: {op: [] for op in OPS} for w in STORES}
    theirs: dict[str, Results] = {w: {op: [] for op in OPS} for w in STORES}
    try:
        uds = exp.create_database(
            unix_socket=str(root / "db.sock"), socket_permissions=700, db_identifier="sr_uds"
        )
        tcp = exp.create_database(port=find_free_port_block(1), db_identifier="sr_tcp")
        tcp.allow_passwordless_clients()
        exp.start(uds, tcp)
        for where, store in zip(STORES, (uds, tcp), strict=True):
            address, password = store.get_address()[0], store.password
            with Client(False, address, password=password) as client:
                client.set_model("mlp", build_mlp(), "ONNX")
            for index in range(ROUNDS):  # who goes first alternates too
                rounds = [(theirs[where], python, "smartredis"),
                          (ours[where], Path(sys.executable), "insitu")]  # fmt: skip
                for results, interpreter, kind in rounds[:: 1 if index % 2 == 0 else -1]:
                    for op, run in client_round(interpreter, kind, address, password).items():
                        results[op].append(run)
    finally:
        exp.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    body = report(ours, theirs)
    print(body)
    write_section("SmartRedis client vs insitu client", body)


if __name__ == "__main__":
    main()
