"""What an inference request costs through the store module (issue 16's targets): ONNX
Runtime inside the server (the module's own threads, the default for ONNX CPU models), the
module handing the request to a Python inference worker (``INSITU_STORE_ONNX=workers`` when
the store starts), and today's request-stream path (``INSITU_INFERENCE_PATH=streams``) as
the baseline, measured in one run with the paths taking turns.

The model is issue 16's MLP 16-64-64-1 exported to ONNX, on standalone stores over Unix
sockets, each with its default inference worker. Reported:

* **CPU per batch-1 ``run_model``**: CPU time from the kernel's per-thread accounting
  (``/proc/<pid>/task/*/schedstat``, first field) summed over the caller (this process), the
  server (all its threads, the module's pool included) and the workers of the store the
  path uses, divided by the calls; split per process kind (target ≤ 120 µs);
* **wake-ups per call** of the caller: its voluntary context switches per call (each one a
  sleep the reply ended; target 1), and the wall-time median;
* **throughput** with 16 caller processes, each calling ``run_model`` back to back, the
  paths taking turns every 1.5 s (target: at least 3 times the streams path);
* **batch 32**: ``run_model`` median with default threads vs 1 thread, for the Python
  worker (its framework's default vs 1 intra-op and inter-op thread) and for ONNX Runtime
  in the server (the module's default vs ``intra_op_threads=1``, and 2 for comparison)
  (target ≤ 1.5 times).

Run with ``python benchmarks/inference_cost.py`` (about two minutes; needs
``insitu[onnx,torch]``). Results are printed and written to the "Inference cost (store
module)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
from _report import write_section

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.store.store_module import ONNX_ENV

CALLS = 1500  # per round and path
ROUNDS = 6
CALLERS = 16
PHASE_SECONDS = 1.5  # of each path's turns, in the throughput benchmark
PATH_ENV = "INSITU_INFERENCE_PATH"
SERVER, WORKERS = "server", "workers"  # where the store runs ONNX models (INSITU_STORE_ONNX)
NATIVE = "store module, ONNX Runtime in the server"
WORKER = "store module, Python worker"
STREAMS = "request streams (baseline)"
PATHS: dict[str, tuple[str, str | None]] = {  # path: (store, client path)
    NATIVE: (SERVER, None),
    WORKER: (WORKERS, None),
    STREAMS: (WORKERS, "streams"),  # its worker: the in-server store's stays idle
}
SERVERS = ("valkey-server", "redis-server")
POOL_THREAD = "insitu-onnx"  # the name of the module's pool threads


def build_mlp() -> bytes:
    """Issue 16's MLP 16-64-64-1, as ONNX bytes."""
    import torch

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 1),
    )  # fmt: skip
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            mlp, (torch.zeros(1, 16),), buffer, input_names=["x"], output_names=["y"],
            dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False,
        )  # fmt: skip
    return buffer.getvalue()


# ----------------------------------------------------------------- kernel accounting
def cpu_ns(pid: int) -> int:
    """CPU time (ns) of every thread of ``pid`` so far (0 once it is gone)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended in between
    return total


def pool_cpu_ns(pid: int) -> int:
    """CPU time (ns) of the store module's ONNX Runtime threads in server ``pid``."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if (task / "comm").read_text().strip() == POOL_THREAD:
                total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            continue
    return total


def voluntary_switches(pid: int) -> int:
    """Voluntary context switches of every thread of ``pid`` so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total


def store_processes(known: frozenset[int] | set[int] = frozenset()) -> dict[str, list[int]]:
    """This driver's descendants not in ``known``: the server(s) and inference workers
    of the store(s) started since ``known`` was taken (all of them by default)."""
    found: dict[str, list[int]] = {"server": [], "workers": []}
    for child in psutil.Process().children(recursive=True):
        try:
            name = child.name()
        except psutil.Error:
            continue
        if child.pid not in known:
            found["server" if name in SERVERS else "workers"].append(child.pid)
    return found


def descendants() -> set[int]:
    return {c.pid for c in psutil.Process().children(recursive=True)}


@dataclass
class Cost:
    """CPU (ns) per round, caller wake-ups and wall times of one path. Per-call figures
    are medians over the rounds: a round that other work on the machine disturbed does
    not move them."""

    calls: int = 0
    rounds: list[dict[str, int]] = field(default_factory=list)
    pool: list[int] = field(default_factory=list)  # the server's CPU in the module's pool
    wakeups: int = 0
    wall: list[float] = field(default_factory=list)

    def per_call_us(self, kind: str) -> float:
        return statistics.median(r[kind] for r in self.rounds) / CALLS / 1e3

    @property
    def pool_us(self) -> float:
        return statistics.median(self.pool) / CALLS / 1e3

    @property
    def total_us(self) -> float:
        return statistics.median(sum(r.values()) for r in self.rounds) / CALLS / 1e3


def measure(client: Client, cost: Cost, processes: dict[str, list[int]]) -> None:
    """``CALLS`` batch-1 ``run_model`` calls, their CPU and wake-ups added to ``cost``."""
    me = os.getpid()
    kinds = {"caller": [me], **processes}
    before = {k: sum(cpu_ns(p) for p in pids) for k, pids in kinds.items()}
    pool = sum(pool_cpu_ns(p) for p in processes["server"])
    switches = voluntary_switches(me)
    for _ in range(CALLS):
        start = time.perf_counter()
        client.run_model("mlp", inputs=["x1"], outputs=["y1"])
        cost.wall.append(time.perf_counter() - start)
    cost.wakeups += voluntary_switches(me) - switches
    cost.rounds.append(
        {kind: sum(cpu_ns(p) for p in pids) - before[kind] for kind, pids in kinds.items()}
    )
    cost.pool.append(sum(pool_cpu_ns(p) for p in processes["server"]) - pool)
    cost.calls += CALLS


@contextmanager
def environment(name: str, value: str | None) -> Iterator[None]:
    """``name`` set to ``value`` (None: unset) inside."""
    before = os.environ.pop(name, None)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)
        if before is not None:
            os.environ[name] = before


def path_client(address: str, password: str, path: str | None) -> Client:
    with environment(PATH_ENV, path):
        client = Client(False, address, password=password)
        client.run_model("mlp", inputs=["x1"], outputs=["y1"])  # the path is chosen here
    return client


# ----------------------------------------------------------------- throughput
def _caller(
    targets: list[tuple[str, str, str | None]], start: float, index: int
) -> dict[str, list[int]]:
    """One caller process: ``run_model`` calls per path (``targets``: address, password
    and client path of each), the paths taking turns in phases that every caller process
    keeps to (``start`` is a common wall-clock time)."""
    clients = [path_client(*target) for target in targets]
    inp, out = f"t{index}", f"o{index}"
    for client in clients:
        client.put_tensor(inp, np.full((1, 16), index, np.float32))
    names = list(PATHS)
    calls = {p: [0] * ROUNDS for p in PATHS}  # per path, per round
    for phase in range(len(PATHS) * ROUNDS):
        which = phase % len(PATHS)
        client = clients[which]
        begin, end = start + phase * PHASE_SECONDS, start + (phase + 1) * PHASE_SECONDS
        time.sleep(max(0.0, begin - time.time()))
        while time.time() < end:
            client.run_model("mlp", inputs=[inp], outputs=[out])
            calls[names[which]][phase // len(PATHS)] += 1
    for client in clients:
        client.close()
    return calls


def throughput(stores: dict[str, Orchestrator]) -> list[dict[str, float]]:
    """``run_model`` calls per second per path from ``CALLERS`` processes, per round."""
    targets = [
        (stores[store].get_address()[0], stores[store].password, path)
        for store, path in PATHS.values()
    ]
    with mp.get_context("spawn").Pool(CALLERS) as pool:
        start = time.time() + 20.0  # every caller is ready by then (imports, connections)
        counts = pool.starmap(_caller, [(targets, start, i) for i in range(CALLERS)])
    return [{p: sum(c[p][r] for c in counts) / PHASE_SECONDS for p in PATHS} for r in range(ROUNDS)]


# ----------------------------------------------------------------- report
def report(
    costs: dict[str, Cost],
    rate_rounds: list[dict[str, float]],
    batch_rounds: list[dict[str, float]],
) -> str:
    native, worker, streams = (costs[p] for p in PATHS)
    lines = [
        f"Issue 16's MLP 16-64-64-1 (ONNX) on standalone stores over Unix sockets, each with "
        f"its default inference worker, {os.cpu_count()} CPUs shared by the caller, the "
        f"servers and the workers; {ROUNDS} rounds of {CALLS} batch-1 `run_model` calls per "
        "path, the paths taking turns. CPU from `/proc/<pid>/task/*/schedstat` (all "
        "threads: the server's include the module's ONNX Runtime pool), per call, over the "
        "caller and the store the path uses, the median over the rounds; wake-ups = the "
        "caller's voluntary context switches per call.",
        "",
        "| path | caller CPU (µs) | server CPU (µs) | workers CPU (µs) | total CPU per call "
        "(µs) | ratio | caller wake-ups per call | wall median (µs) | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for path, cost in costs.items():
        ok = "" if cost is streams else "≤ 120 µs " + ("✓" if cost.total_us <= 120 else "✗")
        lines.append(
            f"| {path} | {cost.per_call_us('caller'):.0f} | {cost.per_call_us('server'):.0f} | "
            f"{cost.per_call_us('workers'):.0f} | {cost.total_us:.0f} | "
            f"{cost.total_us / streams.total_us:.2f} | {cost.wakeups / cost.calls:.2f} | "
            f"{statistics.median(cost.wall) * 1e6:.0f} | {ok} |"
        )
    rates = {p: statistics.median(r[p] for r in rate_rounds) for p in PATHS}
    ratios = {p: statistics.median(r[p] / r[STREAMS] for r in rate_rounds) for p in PATHS}
    lines += [
        "",
        f"| throughput, {CALLERS} caller processes, batch 1 | run_model calls/s (median "
        "of the rounds) | ratio (median of per-round ratios) | target |",
        "|---|---|---|---|",
    ]
    for path, rate in rates.items():
        ratio = ratios[path]
        target = ("≥ 3.00 " + ("✓" if ratio >= 3 else "✗")) if path != STREAMS else ""
        lines.append(f"| {path} | {rate:,.0f} | {ratio:.2f} | {target} |")

    batch = {k: statistics.median(r[k] for r in batch_rounds) for k in batch_rounds[0]}

    def ratio_of(key: str, base: str) -> float:  # the median of the per-round ratios
        return statistics.median(r[key] / r[base] for r in batch_rounds)

    def row(label: str, key: str, base: str) -> str:
        ratio = ratio_of(key, base)
        target = "" if key == base else f"≤ 1.50 {'✓' if ratio <= 1.5 else '✗'}"
        return f"| {label} | {batch[key] * 1e6:.0f} | {ratio:.2f} | {target} |"

    lines += [
        "",
        "| batch 32, the stores taking turns call by call | run_model median (µs) | "
        "ratio to its 1-thread row (median of per-round ratios) | target |",
        "|---|---|---|---|",
        row("Python worker, 1 intra-op and inter-op thread", "worker-one", "worker-one"),
        row("Python worker, the framework's default threads", "worker-default", "worker-one"),
        row("ONNX Runtime in the server, `intra_op_threads=1`", "native-one", "native-one"),
        row("ONNX Runtime in the server, the module's defaults", "native-default", "native-one"),
        f"| ONNX Runtime in the server, `intra_op_threads=2` (for comparison) | "
        f"{batch['native-two'] * 1e6:.0f} | {ratio_of('native-two', 'native-one'):.2f} | |",
    ]
    cpus = os.cpu_count() or 1
    lines += [
        "",
        "ONNX Runtime in the server takes the worker hop and Python out of each request: the "
        f"server's share ({native.per_call_us('server'):.0f} µs, of which "
        f"{native.pool_us:.0f} µs in the module's pool threads: the model "
        "run, its inputs and outputs, the hand-overs) "
        f"replaces the module path's server and worker shares "
        f"({worker.per_call_us('server'):.0f} + {worker.per_call_us('workers'):.0f} µs), and "
        f"the caller ({native.per_call_us('caller'):.0f} µs) is the Python client. With every "
        f"process sharing {cpus} CPUs, throughput cannot exceed CPUs ÷ CPU per call "
        f"({cpus / (native.total_us * 1e-6):,.0f} calls/s for the in-server path). The "
        "module's pool runs one request per thread (a thread per CPU the server may run on) "
        "with one intra-op thread each, spinning off, so that batch 32 does not "
        "oversubscribe the CPUs it shares with the callers.",
    ]
    return "\n".join(lines) + "\n"


def batch_round(clients: dict[str, Client]) -> dict[str, float]:
    """One round of batch-32 ``run_model`` calls, the clients taking turns call by call
    (so that each sees the same machine); each client's median."""
    times: dict[str, list[float]] = {k: [] for k in clients}
    for _ in range(CALLS // 3):
        for key, client in clients.items():
            start = time.perf_counter()
            client.run_model("mlp", inputs=["x32"], outputs=["y32"])
            times[key].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def load(store: Orchestrator, model: bytes) -> None:
    with Client(False, store.get_address()[0], password=store.password) as c:
        c.set_model("mlp", model, "ONNX")
        c.put_tensor("x1", np.ones((1, 16), np.float32))
        c.put_tensor("x32", np.ones((32, 16), np.float32))


def start_store(
    exp: Experiment, root: Path, name: str, onnx: str, model: bytes, **kwargs: int
) -> tuple[Orchestrator, dict[str, list[int]]]:
    """A standalone store on a Unix socket, ONNX models run where ``onnx`` says, the MLP
    stored; and its processes."""
    known = descendants()
    with environment(ONNX_ENV, onnx):
        store = exp.create_database(
            unix_socket=str(root / f"{name}.sock"), db_identifier=name, **kwargs
        )
        exp.start(store)
    load(store, model)
    return store, store_processes(known)


def main() -> None:
    model = build_mlp()
    root = Path(tempfile.mkdtemp(prefix="insitu-bench-cost-"))
    exp = Experiment("bench-inference-cost", exp_path=str(root), launcher="local")
    try:
        stores: dict[str, Orchestrator] = {}
        processes: dict[str, dict[str, list[int]]] = {}
        for where in (SERVER, WORKERS):
            stores[where], processes[where] = start_store(exp, root, where, where, model)
        clients = {
            p: path_client(stores[s].get_address()[0], stores[s].password, v)
            for p, (s, v) in PATHS.items()
        }
        costs = {p: Cost() for p in PATHS}
        for _ in range(ROUNDS):
            for path, client in clients.items():
                measure(client, costs[path], processes[PATHS[path][0]])
        for client in clients.values():
            client.close()
        rate_rounds = throughput(stores)
        single = {"intra_op_threads": 1, "inter_op_threads": 1}
        none = {"inference_workers": 0}
        batch_stores = {
            "worker-one": start_store(exp, root, "w1", WORKERS, model, **single)[0],
            "worker-default": stores[WORKERS],
            "native-one": start_store(exp, root, "n1", SERVER, model, **single, **none)[0],
            "native-default": stores[SERVER],
            "native-two": start_store(exp, root, "n2", SERVER, model, intra_op_threads=2, **none)[
                0
            ],
        }
        batch_clients = {
            k: Client(False, s.get_address()[0], password=s.password)
            for k, s in batch_stores.items()
        }
        for client in batch_clients.values():
            client.run_model("mlp", inputs=["x32"], outputs=["y32"])
        batch_rounds = [batch_round(batch_clients) for _ in range(ROUNDS)]
        for client in batch_clients.values():
            client.close()
    finally:
        exp.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    body = report(costs, rate_rounds, batch_rounds)
    print(body)
    write_section("Inference cost (store module)", body)


if __name__ == "__main__":
    main()
