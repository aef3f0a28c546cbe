"""``insitu ensemble run|serve`` and the ``ensemble`` console script (ensemble-python's name).

``run FILE`` runs a rules file to completion or ``terminate`` and prints each rule that
fires (every job event too with ``--debug``), then a table of counts and statistics per
group; ``--json OUT`` writes the final metrics. ``serve FILE`` runs it with the
EnsembleOperator gRPC service on loopback until the ensemble terminates (a rule, a
``terminate`` request, or Ctrl-C). Exit status: 0 ok, 1 an action failed, 2 a bad file or
unavailable executor, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tabulate import tabulate

from insitu._files import write_private
from insitu.errors import InsituError
from insitu.launchers.registry import rules_executors

if TYPE_CHECKING:
    from insitu.rules.metrics import MetricSource
    from insitu.rules.model import EnsembleSpec
    from insitu.rules.runner import EnsembleResult, EnsembleRunner

_COLORS = {"blue": "\033[94m", "cyan": "\033[96m", "purple": "\033[95m", "red": "\033[91m"}
_RESET = "\033[0m"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``run`` and ``serve`` subcommands to ``parser``."""
    sub = parser.add_subparsers(dest="ensemble_command", required=True)
    run = sub.add_parser("run", help="run a rules file to completion")
    serve = sub.add_parser("serve", help="run a rules file and serve EnsembleOperator (gRPC)")
    for command in (run, serve):
        command.add_argument("file", help="rules file (ensemble-python YAML)")
        command.add_argument(
            "--executor", choices=rules_executors(), help="default: the file's or local"
        )
        command.add_argument("--debug", action="store_true", help="print every job event")
        command.add_argument("--json", metavar="OUT", help="write the final metrics to OUT")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    serve.add_argument("--port", type=int, default=50051, help="port (0: any free port)")
    serve.add_argument(
        "--token-file",
        metavar="PATH",
        help="write the access token here (mode 0600) instead of printing it; "
        "INSITU_ENSEMBLE_TOKEN sets the token",
    )


def dispatch(args: argparse.Namespace) -> int:
    """Run the parsed ``ensemble`` subcommand; returns the exit status."""
    from insitu.rules.api import file_executor
    from insitu.rules.members import create_member, member_events
    from insitu.rules.parse import load_file
    from insitu.rules.runner import EnsembleRunner

    try:
        name = args.executor or file_executor(args.file) or "local"
        spec = load_file(args.file, job_events=member_events(name))
        member = create_member(name, spec.executor)
        runner = EnsembleRunner(
            spec, member, _store_source(spec), Printer(args.debug or spec.debug)
        )
        runner.start()
    except InsituError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    status = 0
    try:
        if args.ensemble_command == "serve":
            _serve(runner, args)
        else:
            runner.wait()
    except KeyboardInterrupt:
        print("interrupted: stopping every job of the ensemble", file=sys.stderr)
        status = 130
    finally:
        runner.close()
    result = runner.result()
    print(render_result(result.metrics.to_dict()))
    if args.json:
        _write_json(Path(args.json), args.file, name, result)
    return status or (1 if result.errors else 0)


def _serve(runner: EnsembleRunner, args: argparse.Namespace) -> None:
    from insitu.rules.service.server import serve

    handle = serve(runner, args.host, args.port, os.environ.get("INSITU_ENSEMBLE_TOKEN"))
    try:
        print(f"serving EnsembleOperator on {handle.address}", flush=True)
        if args.token_file:
            write_private(Path(args.token_file), handle.token)
        else:
            print(f"token: {handle.token}", flush=True)
        runner.wait(until_terminated=True)
    finally:
        handle.stop()


def _store_source(spec: EnsembleSpec) -> MetricSource | None:
    """A store metric source from SmartSim's environment (SSDB …) when rules read store.*."""
    from insitu.rules.store_source import StoreMetricSource
    from insitu.wire.env import StoreConnection

    if not spec.store_metrics() or "SSDB" not in os.environ:
        return None
    conn = StoreConnection.from_env(os.environ)
    return StoreMetricSource(conn.addresses, conn.password, conn.clustered, conn.tls_ca)


class Printer:
    """Prints what happens (ensemble-python's coloured announcements)."""

    def __init__(self, debug: bool, stream: TextIO | None = None) -> None:
        self.debug = debug
        self._out = stream or sys.stdout
        self._color = os.environ.get("FORCE_COLOR") is not None or (
            "NO_COLOR" not in os.environ and sys.stdout.isatty()
        )

    def __call__(self, note: object) -> None:
        from insitu.rules.events import Fired, JobUpdate, Rejected
        from insitu.rules.runner import ActionFailed

        if isinstance(note, Fired):
            self._line("blue", f" => trigger {note.trigger}")
            label = f" {note.action.label}" if note.action.label else ""
            self._line("cyan", f"    {note.action.name}{label}")
        elif isinstance(note, Rejected):
            self._line("red", f"    refused {note.action.name}: {note.reason}")
        elif isinstance(note, ActionFailed):
            self._line("red", f"    {note.message}")
        elif isinstance(note, JobUpdate) and self.debug:
            code = "" if note.returncode is None else f" (exit {note.returncode})"
            extra = f" [{', '.join(note.extra)}]" if note.extra else ""
            self._line("purple", f"    job {note.key} {note.kind}{code}{extra}")

    def _line(self, color: str, text: str) -> None:
        if self._color:
            text = f"{_COLORS[color]}{text}{_RESET}"
        print(text, file=self._out, flush=True)


def render_result(metrics: dict[str, object]) -> str:
    """The final tables: counts per group, then statistics per series."""
    counts = metrics.get("counts", {})
    series = metrics.get("series", {})
    assert isinstance(counts, dict) and isinstance(series, dict)
    count_rows = [[g, *c.values()] for g, c in counts.items()]
    parts = [tabulate(count_rows, ["group", "finished", "success", "failed", "cancelled"])]
    if series:
        stats = ["mean", "variance", "iqr", "max", "min", "mad"]
        rows = [[name, *(values.get(s) for s in stats)] for name, values in series.items()]
        parts.append(tabulate(rows, ["series", *stats], floatfmt=".4g"))
    return "\n\n".join(parts)


def _write_json(path: Path, source: str, executor: str, result: EnsembleResult) -> None:
    document = {
        "file": source,
        "executor": executor,
        "terminated": result.terminated,
        **result.metrics.to_dict(),
        "errors": list(result.errors),
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """The ``ensemble`` console script: ``ensemble run FILE`` / ``ensemble serve FILE``."""
    parser = argparse.ArgumentParser(prog="ensemble", description=__doc__)
    configure(parser)
    return dispatch(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
