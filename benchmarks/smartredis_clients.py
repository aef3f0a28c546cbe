"""The unmodified SmartRedis 0.6.1 client against an insitu store vs insitu's own client,
same store, same run (issue 17's benchmark).

A standalone store on an owner-only Unix socket (SmartRedis connects without a password)
with its default inference worker. For ``put_tensor``/``get_tensor`` of float64 tensors
(8 B, 1 KiB, 1 MiB) and ``run_model`` of issue 16's MLP (ONNX, batch 1), each client makes
``CALLS`` calls per round, the clients taking turns for ``ROUNDS`` rounds; SmartRedis runs
in its own venv (``numpy<2``; built from requirements/smartredis.txt like the tests' one)
and times itself the same way. Reported: medians and the ratio insitu ÷ SmartRedis, plus
the CPU per ``run_model`` of each caller process (``/proc/self/task/*/schedstat``).

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
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

import numpy as np
from _report import write_section
from inference_cost import build_mlp

from insitu import Experiment
from insitu.client import Client


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
SIZES = {"8 B": 1, "1 KiB": 128, "1 MiB": 131072}  # float64 elements
OPS = [f"{op} {size}" for size in SIZES for op in ("put_tensor", "get_tensor")] + ["run_model"]

# Runs in the SmartRedis venv: the same calls, timed the same way; prints JSON.
SR_PROGRAM = """
import json, os, sys, time
from pathlib import Path
import numpy as np
from smartredis import Client
SIZES, CALLS = json.loads(sys.argv[2]), int(sys.argv[3])
client = Client(address=sys.argv[1], cluster=False)
def cpu():
    return sum(int((t / "schedstat").read_text().split()[0])
               for t in Path("/proc/self/task").glob("*"))
out = {}
def timed(name, fn):
    times = []
    start = cpu()
    for _ in range(CALLS):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    out[name] = {"times": times, "cpu_ns": cpu() - start}
for label, n in SIZES.items():
    x = np.arange(n, dtype=np.float64)
    timed("put_tensor " + label, lambda: client.put_tensor("sr_" + label.replace(" ", ""), x))
    timed("get_tensor " + label, lambda: client.get_tensor("sr_" + label.replace(" ", "")))
client.put_tensor("sr_in", np.ones((1, 16), np.float32))
client.run_model("mlp", inputs=["sr_in"], outputs=["sr_out"])
timed("run_model", lambda: client.run_model("mlp", inputs=["sr_in"], outputs=["sr_out"]))
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


def _cpu_ns() -> int:
    return sum(
        int((t / "schedstat").read_text().split()[0]) for t in Path("/proc/self/task").glob("*")
    )


def insitu_round(client: Client) -> dict[str, Run]:
    out: dict[str, Run] = {}

    def timed(name: str, fn: Callable[[], object]) -> None:
        times: list[float] = []
        start = _cpu_ns()
        for _ in range(CALLS):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        out[name] = {"times": times, "cpu_ns": _cpu_ns() - start}

    for label, n in SIZES.items():
        x = np.arange(n, dtype=np.float64)
        timed(f"put_tensor {label}", lambda: client.put_tensor(f"in_{label}", x))  # noqa: B023
        timed(f"get_tensor {label}", lambda: client.get_tensor(f"in_{label}"))  # noqa: B023
    client.put_tensor("in_in", np.ones((1, 16), np.float32))
    client.run_model("mlp", inputs=["in_in"], outputs=["in_out"])
    timed("run_model", lambda: client.run_model("mlp", inputs=["in_in"], outputs=["in_out"]))
    return out


def sr_round(python: Path, address: str) -> dict[str, Run]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSDB", "SSKEY"))}
    env["SR_LOG_LEVEL"] = "QUIET"
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(SR_PROGRAM), address, json.dumps(SIZES), str(CALLS)],
        capture_output=True, text=True, env=env, check=False, timeout=600,
        cwd=tempfile.gettempdir(),  # neutral: `python -c` puts the working directory on sys.path
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the SmartRedis program failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Run] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def report(ours: Results, theirs: Results) -> str:
    def median_us(runs: list[Run]) -> float:
        return statistics.median(t for r in runs for t in r["times"]) * 1e6

    def cpu_us(runs: list[Run]) -> float:
        return sum(r["cpu_ns"] for r in runs) / (len(runs) * CALLS) / 1e3

    lines = [
        f"A standalone store on an owner-only Unix socket with its default inference worker, "
        f"{os.cpu_count()} CPUs shared by everything; {ROUNDS} rounds of {CALLS} calls per "
        "operation and client, the clients taking turns. SmartRedis 0.6.1 (the unmodified "
        "wheel, its C++ core) speaks RedisAI's commands to the store module; insitu's client "
        "speaks plain `SET`/`GET` for tensors and the same `AI.MODELEXECUTE` for runs. "
        "run_model: issue 16's MLP, batch 1; caller CPU from `/proc/self/task/*/schedstat`. "
        "The machine is shared with other test runs: small-tensor figures swing by 2-3x "
        "between runs; the per-round ratios are the steadier figure.",
        "",
        "| operation | SmartRedis median (µs) | insitu median (µs) | ratio insitu ÷ SmartRedis "
        "| median of per-round ratios |",
        "|---|---|---|---|---|",
    ]
    for op in OPS:
        sr, mine = median_us(theirs[op]), median_us(ours[op])
        per_round = statistics.median(
            statistics.median(a["times"]) / statistics.median(b["times"])
            for a, b in zip(ours[op], theirs[op], strict=True)
        )
        lines.append(f"| {op} | {sr:,.0f} | {mine:,.0f} | {mine / sr:.2f} | {per_round:.2f} |")
    sr_cpu, my_cpu = cpu_us(theirs["run_model"]), cpu_us(ours["run_model"])
    ratio = my_cpu / sr_cpu
    lines.append(
        f"| run_model, caller CPU per call | {sr_cpu:,.0f} | {my_cpu:,.0f} | {ratio:.2f} | |"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    python = smartredis_python()
    root = Path(tempfile.mkdtemp(prefix="insitu-bench-sr-"))
    exp = Experiment("bench-smartredis", exp_path=str(root), launcher="local")
    ours: Results = {op: [] for op in OPS}
    theirs: Results = {op: [] for op in OPS}
    try:
        store = exp.create_database(
            unix_socket=str(root / "db.sock"), socket_permissions=700, db_identifier="sr"
        )
        exp.start(store)
        address = store.get_address()[0]
        with Client(False, address, password=store.password) as client:
            client.set_model("mlp", build_mlp(), "ONNX")
            for index in range(ROUNDS):  # who goes first alternates too
                rounds = [(theirs, lambda: sr_round(python, address)),
                          (ours, lambda: insitu_round(client))]  # fmt: skip
                for results, run_round in rounds[:: 1 if index % 2 == 0 else -1]:
                    for op, run in run_round().items():
                        results[op].append(run)
    finally:
        exp.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    body = report(ours, theirs)
    print(body)
    write_section("SmartRedis client vs insitu client", body)


if __name__ == "__main__":
    main()
