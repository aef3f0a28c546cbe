"""Inference benchmarks: ``run_model`` in the store vs the same model called in-process.

Two small models — an MLP exported to ONNX and a CNN compiled to TorchScript — run on the
same inputs (a) in this process (onnxruntime / torch, the baseline) and (b) through an
insitu Client against a standalone store over TCP and over a Unix socket, where the
inference worker beside the shard runs them (the stores here are started with
``INSITU_STORE_ONNX=workers``: this benchmark is about the worker's placement; ONNX Runtime
inside the server is measured by ``inference_cost.py``). Calls alternate between (a) and
(b) so both see the same machine noise. Reported:

* added latency: median of ``run_model`` (inputs already stored) minus the in-process
  median, in µs (target ≤ 300 µs over a Unix socket); also the whole round trip
  ``put_tensor`` + ``run_model`` + ``get_tensor``;
* the same over a Unix socket without any polling (the client sleeps until its reply,
  the worker until the next request: ``INSITU_REPLY_SPIN_US=0``, ``INSITU_WORKER_SPIN_US=0``);
* the same with placement chosen, not left to the OS: the server and its worker on one
  CPU (``Orchestrator.set_cpu_pinning``) and the caller on the other; or the server beside
  the caller and the worker on a CPU of its own (``set_worker_cpu_pinning``). A request
  is a chain of four hand-overs (caller → server → worker → server → caller); on this
  virtual machine one that must wake a sleeping CPU costs tens of µs (see the PING
  figures), and a process switched in on a CPU runs with cold caches — which costs a
  TorchScript model more than its whole warm run;
* throughput: ``run_model`` calls per second from 4 concurrent client processes on the MLP
  over the Unix socket, with batching off (``batch_size=0``) and on (``batch_size=4``).

Run with ``python benchmarks/inference.py`` (about a minute; needs ``insitu[onnx,torch]``).
Results are printed and written to the "Inference" section of docs/benchmarks.md.
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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _report import write_section

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.connection.resp_connection import RespConnection
from insitu.store.readiness import find_free_port_block
from insitu.store.store_module import ONNX_ENV
from insitu.wire.addresses import parse_address
from insitu.wire.endpoint import Credentials, Endpoint

CALLS = 1000
ROUNDS = 5  # the setups take turns, so that each sees the machine's changing moods
CLIENTS = 4
THROUGHPUT_SECONDS = 3.0
BATCH = 4
PINNED = "Unix socket, server and worker on CPU {store}, caller on CPU {caller}"
APART = "Unix socket, server and caller on CPU {store}, worker on CPU {worker}"
THREADS = 1  # intra- and inter-op threads, in-process and in the workers alike
Baseline = Callable[[np.ndarray], np.ndarray]


def build_models() -> tuple[bytes, bytes, np.ndarray, np.ndarray]:
    """The MLP (ONNX bytes), the CNN (TorchScript bytes) and an input for each."""
    import torch

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 8),
    )  # fmt: skip
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            mlp, (torch.zeros(1, 32),), buffer, input_names=["x"], output_names=["y"],
            dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False,
        )  # fmt: skip
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(16, 10),
    ).eval()  # fmt: skip
    script = io.BytesIO()
    torch.jit.save(torch.jit.script(cnn), script)
    rng = np.random.default_rng(0)
    x_mlp = rng.standard_normal((1, 32)).astype(np.float32)
    x_cnn = rng.standard_normal((1, 1, 28, 28)).astype(np.float32)
    return buffer.getvalue(), script.getvalue(), x_mlp, x_cnn


def in_process(onnx_model: bytes, torch_model: bytes) -> dict[str, Baseline]:
    """The baseline: each model run by its framework in this process, with the threads the
    workers get (:data:`THREADS`), so that neither side's thread pools crowd the other's."""
    import onnxruntime as ort
    import torch

    torch.set_num_threads(THREADS)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = THREADS
    session = ort.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])
    module = torch.jit.load(io.BytesIO(torch_model))

    def run_torch(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.asarray(module(torch.from_numpy(x)).numpy())

    def run_onnx(x: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {"x": x})[0])

    return {"MLP (ONNX)": run_onnx, "CNN (TorchScript)": run_torch}


@dataclass(frozen=True)
class LatencyRow:
    transport: str
    model: str
    ours: list[float]
    round_trip: list[float]
    base: list[float]

    def cells(self) -> list[str]:
        med = statistics.median
        added = (med(self.ours) - med(self.base)) * 1e6
        target = ""
        if self.transport.startswith("Unix socket"):
            target = "≤ 300 ✓" if added <= 300 else "≤ 300 ✗"
        return [
            self.transport, self.model, f"{med(self.base) * 1e6:,.0f}",
            f"{med(self.ours) * 1e6:,.0f}", f"{med(self.round_trip) * 1e6:,.0f}",
            f"{added:,.0f}", target,
        ]  # fmt: skip


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_latency(
    client: Client, row: LatencyRow, key: str, x: np.ndarray, baseline: Baseline
) -> None:
    """Alternate in-process, ``run_model`` and full round-trip calls ``CALLS // ROUNDS``
    times, adding the timings to ``row``."""
    inp, out = f"{key}.in", f"{key}.out"
    client.put_tensor(inp, x)
    client.run_model(key, inputs=[inp], outputs=[out])  # warm: the worker loads the model
    baseline(x)
    ours, trip, base = row.ours, row.round_trip, row.base

    def round_trip() -> None:
        client.put_tensor(inp, x)
        client.run_model(key, inputs=[inp], outputs=[out])
        client.get_tensor(out)

    for _ in range(CALLS // ROUNDS):
        base.append(timed(lambda: baseline(x)))
        ours.append(timed(lambda: client.run_model(key, inputs=[inp], outputs=[out])))
        trip.append(timed(round_trip))
    assert np.allclose(client.get_tensor(out), baseline(x), atol=1e-4), "outputs differ"


def ping_median(store: Orchestrator) -> float:
    """Median of a raw PING on ``store`` (one round trip, no client library layers:
    hiredis on a plain socket), in seconds."""
    endpoint = Endpoint(parse_address(store.get_address()[0]), Credentials(store.password))
    conn = RespConnection(endpoint)
    try:
        conn.call("PING")
        return statistics.median(timed(lambda: conn.call("PING")) for _ in range(CALLS))
    finally:
        conn.close()


@contextmanager
def _environment(name: str, value: str | None) -> Iterator[None]:
    """The block runs with ``name`` set to ``value`` (None: as it is)."""
    if value is None:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        del os.environ[name]


def reply_spin(microseconds: str | None) -> AbstractContextManager[None]:
    """Clients made in the block poll for replies this long (None: the default)."""
    return _environment("INSITU_REPLY_SPIN_US", microseconds)


def worker_spin(microseconds: str) -> AbstractContextManager[None]:
    """Workers started in the block poll for requests this long after serving one."""
    return _environment("INSITU_WORKER_SPIN_US", microseconds)


def tight_loop(baseline: Baseline, x: np.ndarray) -> float:
    """Median of the in-process model called back to back (caches warm), in seconds."""
    for _ in range(50):
        baseline(x)
    return statistics.median(timed(lambda: baseline(x)) for _ in range(CALLS))


@contextmanager
def on_core(cpu: int | None) -> Iterator[None]:
    """Run the block with this process pinned to ``cpu`` (None: as it is)."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _client_loop(address: str, password: str, key: str, seconds: float, index: int) -> int:
    """One throughput client (a separate process): run_model calls in ``seconds``."""
    rng = np.random.default_rng(index)
    with Client(False, address, password=password) as client:
        inp, out = f"{key}.in{index}", f"{key}.out{index}"
        client.put_tensor(inp, rng.standard_normal((1, 32)).astype(np.float32))
        client.run_model(key, inputs=[inp], outputs=[out])
        calls, deadline = 0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            client.run_model(key, inputs=[inp], outputs=[out])
            calls += 1
    return calls


def bench_throughput(store: Orchestrator, key: str) -> float:
    """``run_model`` calls per second from ``CLIENTS`` concurrent processes."""
    address = store.get_address()[0]
    args = [(address, store.password, key, THROUGHPUT_SECONDS, i) for i in range(CLIENTS)]
    with mp.get_context("spawn").Pool(CLIENTS) as pool:
        counts = pool.starmap(_client_loop, args)
    return sum(counts) / THROUGHPUT_SECONDS


def report(
    rows: list[LatencyRow],
    throughput: dict[str, float],
    pings: dict[str, float],
    warm: dict[str, float],
) -> str:
    head = ["transport", "model", "in-process median (µs)", "run_model median (µs)",
            "put + run + get median (µs)", "added by insitu (µs)", "target"]  # fmt: skip
    lines = [
        f"Median of {CALLS} calls each (in {ROUNDS} rounds, the setups taking turns), batch "
        "of one, alternating in-process (onnxruntime / torch in the driver) and insitu "
        "calls on a standalone store with its default "
        f"inference worker; both sides run the models with {THREADS} intra-op and inter-op "
        f"thread(s), on a machine with {os.cpu_count()} CPUs shared by the driver, the server "
        "and the worker. *Added* = `run_model` median - in-process median "
        "(the inputs are already in the store). The client polls for a reply for up to "
        "`INSITU_REPLY_SPIN_US` (default 1000 µs) before sleeping, and a worker that served "
        "a request polls for the next one for up to `INSITU_WORKER_SPIN_US` (default 1000 "
        "µs); the *no polling* row sets both to 0. Unless a row names CPUs, the OS places "
        "the driver, the server and the worker; named CPUs are set with "
        "`Orchestrator.set_cpu_pinning` (the server; its worker too, unless "
        "`Orchestrator.set_worker_cpu_pinning` places it). Throughput: "
        f"{CLIENTS} client processes calling `run_model` on the MLP for "
        f"{THROUGHPUT_SECONDS:.0f} s over the Unix socket.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    where = {"tcp": "TCP", "uds": "Unix socket", "pinned": "Unix socket, caller and server "
             "on different CPUs", "apart": "Unix socket, caller and server on one CPU"}  # fmt: skip
    lines += [
        "",
        "For scale, one raw `PING` round trip (hiredis on a plain socket): "
        + ", ".join(f"{pings[t] * 1e6:,.0f} µs ({where[t]})" for t in pings)
        + "; and the models in-process called back to back, caches warm: "
        + ", ".join(f"{warm[m] * 1e6:,.0f} µs ({m})" for m in warm)
        + " (medians).",
    ]
    off, on = throughput["off"], throughput["on"]
    lines += [
        "",
        "| throughput, 4 clients, Unix socket | run_model calls/s | ratio |",
        "|---|---|---|",
        f"| batching off (`batch_size=0`) | {off:,.0f} | 1.00 |",
        f"| batching on (`batch_size={BATCH}`, `min_batch_size=1`) | {on:,.0f} | {on / off:.2f} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    os.environ[ONNX_ENV] = "workers"  # the stores started below: see the docstring
    onnx_model, torch_model, x_mlp, x_cnn = build_models()
    baselines = in_process(onnx_model, torch_model)
    root = Path(tempfile.mkdtemp(prefix="insitu-bench-inference-"))
    exp = Experiment("bench-inference", exp_path=str(root), launcher="local")
    rows: list[LatencyRow] = []
    throughput: dict[str, float] = {}
    pings: dict[str, float] = {}
    try:
        threads = {"intra_op_threads": THREADS, "inter_op_threads": THREADS}
        tcp = exp.create_database(port=find_free_port_block(1), db_identifier="tcp", **threads)
        uds = exp.create_database(unix_socket=str(root / "db.sock"), db_identifier="uds", **threads)
        cpus = sorted(os.sched_getaffinity(0))
        caller_cpu, store_cpu = cpus[0], cpus[-1]
        pinned = exp.create_database(
            unix_socket=str(root / "pinned.sock"), db_identifier="pinned", **threads
        )
        pinned.set_cpu_pinning([store_cpu])  # the server and its worker
        apart = exp.create_database(
            unix_socket=str(root / "apart.sock"), db_identifier="apart", **threads
        )
        apart.set_cpu_pinning([caller_cpu])  # the server, beside the caller
        apart.set_worker_cpu_pinning([store_cpu])  # the worker, on a CPU of its own
        exp.start(tcp, uds, pinned, apart)
        with worker_spin("0"):  # its worker sleeps at once between requests
            idle = exp.create_database(
                unix_socket=str(root / "idle.sock"), db_identifier="idle", **threads
            )
            exp.start(idle)
        setups = (  # label, store, the caller's CPU (None: any), INSITU_REPLY_SPIN_US
            ("TCP", tcp, None, None),
            ("Unix socket", uds, None, None),
            ("Unix socket, no polling", idle, None, "0"),
            (PINNED.format(store=store_cpu, caller=caller_cpu), pinned, caller_cpu, None),
            (APART.format(store=caller_cpu, worker=store_cpu), apart, caller_cpu, None),
        )
        models = (("mlp", "MLP (ONNX)", x_mlp), ("cnn", "CNN (TorchScript)", x_cnn))
        for store, cpu in ((tcp, None), (uds, None), (pinned, caller_cpu), (apart, caller_cpu)):
            with on_core(cpu):
                pings[store.db_identifier] = ping_median(store)
        for transport, store, _, _ in setups:
            with Client(False, store.get_address()[0], password=store.password) as client:
                client.set_model("mlp", onnx_model, "ONNX")
                client.set_model("cnn", torch_model, "TORCH")
                client.set_model("mlp_batched", onnx_model, "ONNX", batch_size=BATCH,
                                 min_batch_size=1)  # fmt: skip
            rows += [LatencyRow(transport, label, [], [], []) for _, label, _ in models]
        for _ in range(ROUNDS):
            for index, (_, store, cpu, spin) in enumerate(setups):
                address = store.get_address()[0]
                with on_core(cpu), reply_spin(spin):
                    client = Client(False, address, password=store.password)
                with client:
                    for offset, (key, label, x) in enumerate(models):
                        row = rows[index * len(models) + offset]
                        bench_latency(client, row, key, x, baselines[label])
        warm = {label: tight_loop(baselines[label], x) for _, label, x in models}
        throughput["off"] = bench_throughput(uds, "mlp")
        throughput["on"] = bench_throughput(uds, "mlp_batched")
    finally:
        exp.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    body = report(rows, throughput, pings, warm)
    print(body)
    write_section("Inference", body)


if __name__ == "__main__":
    main()
