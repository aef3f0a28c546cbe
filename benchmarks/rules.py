"""Rules benchmarks: engine throughput, and event-to-action latency with the local executor.

Run with ``python benchmarks/rules.py``. Figures are compared with baselines measured in
the same run, because the machine is shared and noisy:

- throughput: job events per second through the pure engine (metrics, metric rules and
  job-event rules), against the bare river updates those events imply (target ≥ 50,000/s);
- latency: from a job's end as the runtime observed it to the launch of the job a rule
  submits in response, against a bare ``waitpid`` → ``Popen`` loop (target median ≤ 20 ms).

Results are printed and written to docs/benchmarks.md (section "Rules").
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from river import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_section

from insitu.jobs.events import JobEvent
from insitu.launchers.local import LocalLauncher
from insitu.rules.engine import Engine
from insitu.rules.events import JobUpdate, Started, SubmitJobs
from insitu.rules.members.local import ControllerMember
from insitu.rules.parse import parse_document
from insitu.rules.runner import EnsembleRunner
from insitu.runtime.controller import Controller

JOBS = 20_000
CHAIN = 200
REPEATS = 3


def engine_throughput() -> float:
    """Job events per second through the engine (submit, start, success per job)."""
    spec = parse_document(
        {
            "jobs": [
                {"name": "sim", "command": "true", "count": JOBS},
                {"name": "post", "command": "true"},
            ],
            "rules": [
                {"trigger": "start", "action": {"name": "submit", "label": "sim"}},
                {
                    "trigger": "metric",
                    "name": "count.sim.success",
                    "when": JOBS,
                    "action": {"name": "submit", "label": "post"},
                },
                {
                    "trigger": "metric",
                    "name": "mean.sim-duration",
                    "when": "< 0",
                    "action": {"name": "terminate"},
                },
                {"trigger": "job-success", "name": "post", "action": {"name": "terminate"}},
                {
                    "trigger": "job-failure",
                    "name": "sim",
                    "action": {"name": "resubmit", "label": "sim"},
                },
            ],
        }
    )
    engine = Engine(spec)
    (submit,) = [e for e in engine.handle(Started(0.0)) if isinstance(e, SubmitJobs)]
    events = []
    for i, ticket in enumerate(submit.tickets):
        t = float(i)
        events += [JobUpdate(ticket.key, "submit", t), JobUpdate(ticket.key, "start", t + 0.1)]
        events.append(JobUpdate(ticket.key, "success", t + 1.0, 0))
    start = time.perf_counter()
    for event in events:
        engine.handle(event)
    return len(events) / (time.perf_counter() - start)


def river_baseline() -> float:
    """Events per second if each job's events cost only the river updates they imply."""
    series = [{name: cls() for name, cls in _STATS.items()} for _ in range(2)]
    start = time.perf_counter()
    for i in range(JOBS):
        for group in series:
            for stat in group.values():
                stat.update(float(i))
    return 3 * JOBS / (time.perf_counter() - start)


_STATS = {
    "var": stats.Var,
    "mean": stats.Mean,
    "iqr": stats.IQR,
    "max": stats.Max,
    "min": stats.Min,
    "mad": stats.MAD,
}


def chain_latencies() -> list[float]:
    """Seconds from each job's observed end to the launch of the job its rule submits."""
    true_exe = shutil.which("true") or "/bin/true"
    spec = parse_document(
        {
            "jobs": [{"name": "link", "command": true_exe}],
            "rules": [
                {"trigger": "start", "action": {"name": "submit", "label": "link"}},
                {
                    "trigger": "job-success",
                    "name": "link",
                    "action": {"name": "submit", "label": "link", "repetitions": CHAIN},
                },
            ],
        }
    )
    controller = Controller(LocalLauncher())
    ends: dict[int, float] = {}
    launches: dict[int, float] = {}
    lock = threading.Lock()

    def listen(event: JobEvent) -> None:
        number = int(event.name.rsplit("-", 1)[1])
        with lock:
            if event.kind == "submit":
                launches[number] = event.time
            elif event.state.is_terminal:
                ends[number] = event.time

    controller.subscribe(listen)
    member = ControllerMember(controller, owns_controller=True)
    with EnsembleRunner(spec, member) as runner:
        runner.wait(120)
    return [launches[n + 1] - ends[n] for n in sorted(ends) if n + 1 in launches]


def popen_baseline() -> list[float]:
    """Seconds from a bare child's reaped exit to the next Popen returning."""
    true_exe = shutil.which("true") or "/bin/true"
    out = []
    proc = subprocess.Popen([true_exe])
    for _ in range(CHAIN):
        proc.wait()
        ended = time.time()
        proc = subprocess.Popen([true_exe])
        out.append(time.time() - ended)
    proc.wait()
    return out


def main() -> None:
    ours = statistics.median(engine_throughput() for _ in range(REPEATS))
    river = statistics.median(river_baseline() for _ in range(REPEATS))
    latency = statistics.median(chain_latencies())
    bare = statistics.median(popen_baseline())
    rows = [
        (
            "engine throughput (job events/s)",
            f"{ours:,.0f}",
            f"{river:,.0f} (river updates only)",
            f"{ours / river:.2f}",
            "≥ 50,000 /s",
        ),
        (
            "event → action latency, local (median)",
            f"{latency * 1000:.2f} ms",
            f"{bare * 1000:.2f} ms (waitpid → Popen)",
            f"{latency / bare:.1f}",
            "≤ 20 ms",
        ),
    ]
    table = [
        "| benchmark | insitu | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]
    text = "\n".join(table)
    print(text)
    body = (
        f"Throughput: median of {REPEATS} runs of {3 * JOBS:,} events ({JOBS:,} jobs: submit, "
        f"start, success) with 2 metric and 2 job-event rules. Latency: median over a chain of "
        f"{CHAIN} `true` jobs, each submitted by a `job-success` rule on the previous one.\n\n"
        f"{text}\n"
    )
    write_section("Rules", body)


if __name__ == "__main__":
    main()
