"""``insitu status [EXP_PATH] [--watch]`` and ``insitu logs ENTITY [-f]``: an experiment
from its launch record (and telemetry), in the terminal. Nothing here talks to the driver.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tabulate import tabulate

from insitu.errors import InvalidArgumentError, NotAnExperimentError, RecordFormatError
from insitu.runtime.record import read_record
from insitu.runtime.telemetry_reader import read_telemetry
from insitu.views.series import latest_shards
from insitu.views.state import ExperimentState, experiment_state
from insitu.wire.record import Record, Run, record_path

MIB = 1024 * 1024


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``insitu status``."""
    parser.add_argument(
        "exp_path", nargs="?", default=".", help="experiment directory (default: .)"
    )
    parser.add_argument("--watch", "-w", action="store_true", help="refresh until it finishes")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    parser.add_argument("--workers", action="store_true", help="list inference workers too")


def configure_logs(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``insitu logs``."""
    parser.add_argument("entity", help="a model, ensemble member, shard or worker name")
    parser.add_argument("--exp", dest="exp_path", default=".", help="experiment directory")
    parser.add_argument("--err", action="store_true", help="show stderr instead of stdout")
    parser.add_argument("-n", "--lines", type=int, default=20, help="lines to show first")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new output")


def load(exp_path: str | Path) -> Record:
    """The record of ``exp_path`` (bad lines skipped, with a warning on stderr)."""
    path = Path(exp_path).resolve()
    if not path.is_dir():
        raise NotAnExperimentError(str(path), "no such experiment directory")
    file = record_path(path)
    try:
        record = read_record(file, strict=False)
    except FileNotFoundError:
        raise NotAnExperimentError(
            str(path),
            f"no launch record ({file.relative_to(path)}): nothing was started here, "
            "or this is not an experiment directory",
        ) from None
    if record.skipped:
        print(f"insitu: warning: skipped {len(record.skipped)} line(s) of {file} that are "
              "not valid", file=sys.stderr)  # fmt: skip
    if record.latest is None:
        raise RecordFormatError("the launch record has no run", str(file))
    return record


def render(path: Path, record: Record, workers: bool = False) -> str:
    """The status text of the newest run of ``record``."""
    from insitu.dashboard.source import driver_alive

    run = record.latest
    assert run is not None
    state = experiment_state(run, driver_alive(run))
    h = run.header
    lines = [
        f"experiment {h.experiment} ({path}): {state.state}",
        f"launcher {h.launcher}, driver {h.host} pid {h.pid}, started "
        f"{_clock(state.began)}, last event {_clock(state.last)}"
        + (f", run {len(record.runs)} of {len(record.runs)}" if len(record.runs) > 1 else ""),
        "",
        _entities(state, workers),
    ]
    if state.stores:
        lines += ["", _stores(path, run, state)]
    return "\n".join(lines)


def _entities(state: ExperimentState, workers: bool) -> str:
    now = time.time()
    rows = [
        [e.name, e.entity_type, e.state, e.host or "-", e.job_id, _clock(e.started),
         _duration(e.elapsed(now)), "-" if e.returncode is None else e.returncode, e.runs]
        for e in state.entities
        if workers or e.entity_type != "Worker"
    ]  # fmt: skip
    headers = ["Name", "Type", "State", "Host", "Job", "Started", "Elapsed", "Returncode", "Runs"]
    return tabulate(rows, headers, disable_numparse=True) if rows else "nothing launched yet"


def _stores(path: Path, run: Run, state: ExperimentState) -> str:
    samples = [s for s in latest_shards(read_telemetry(path)) if s.run == run.header.run]
    rows = []
    for store in state.stores:
        latest = [s for s in samples if s.store == store.name]
        mine = [s for s in latest if s.up]
        down = len(latest) - len(mine)
        sampled = "none" if not latest else f"{down} shard(s) down" if down else "up"
        memory = sum(s.used_memory or 0 for s in mine)
        clients = sum(s.clients or 0 for s in mine)
        kind = ("cluster" if store.clustered else "standalone") + (
            ", colocated" if store.colocated else ""
        )
        used = f"{memory / MIB:.1f} MiB" if mine else "-"
        where = ", ".join(store.addresses)
        rows.append(
            [
                store.name,
                store.state,
                kind,
                store.shards,
                where,
                used,
                clients if mine else "-",
                sampled,
            ]
        )
    headers = ["Store", "State", "Kind", "Shards", "Addresses", "Memory", "Clients", "Sampled"]
    return tabulate(rows, headers, disable_numparse=True)


def _clock(epoch: float | None) -> str:
    return "-" if epoch is None else time.strftime("%H:%M:%S", time.localtime(epoch))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def status(args: argparse.Namespace) -> int:
    """``insitu status``: print once, or refresh with ``--watch`` until the run ends."""
    path = Path(args.exp_path).resolve()
    if not args.watch:
        print(render(path, load(path), args.workers))
        return 0
    if args.interval <= 0:
        raise SystemExit("insitu status: --interval must be positive")
    from insitu.cli.terminal import watch

    def frame() -> tuple[str, bool]:
        record = load(path)
        text = render(path, record, args.workers)
        return text, text.splitlines()[0].endswith(": running")

    return watch(frame, args.interval)


def logs(args: argparse.Namespace) -> int:
    """``insitu logs``: the last lines of an entity's output, then new ones with ``-f``."""
    path = Path(args.exp_path).resolve()
    record = load(path)
    stream = "err" if args.err else "out"
    file = _log_file(path, record, args.entity, stream)
    from insitu.cli.terminal import follow_file

    def ended() -> bool:
        run = load(path).latest
        row = None if run is None else run.latest_jobs().get(args.entity)
        return row is not None and row.state in ("Completed", "Failed", "Cancelled")

    return follow_file(file, max(args.lines, 0), ended if args.follow else None)


def _log_file(path: Path, record: Record, entity: str, stream: str) -> Path:
    for run in reversed(record.runs):
        lines = [j for j in run.jobs if j.name == entity]
        if lines:
            named = [getattr(j, stream) for j in lines if getattr(j, stream)]
            if named:
                return Path(named[-1])
            # A record of format 1.0 names no files: SmartSim's layout finds them.
            found = sorted(path.rglob(f"{entity}.{stream}"))
            if found:
                return found[0]
            raise InvalidArgumentError(f"no {stream} file of {entity!r} was recorded in {path}")
    known = sorted({j.name for run in record.runs for j in run.jobs})
    raise InvalidArgumentError(
        f"no entity {entity!r} in the record of {path} (known: {', '.join(known) or 'none'})"
    )
