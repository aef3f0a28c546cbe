"""The ``insitu`` command.

``insitu status [EXP_PATH] [--watch]``   entities and stores of an experiment, from its record
``insitu logs ENTITY [-f]``              an entity's output
``insitu dashboard [EXP_PATH ...]``      the web dashboard (127.0.0.1 unless --host)
``insitu report EXP_PATH -o FILE``       the dashboard's page as one static HTML file
``insitu store start|stop|info``         a store from the shell (``stop CHECKPOINT``: a lost one)
``insitu doctor``                        what this machine offers (engine, TLS, backends, GPUs)
``insitu info``                          launchers and the store server insitu would use
``insitu ensemble run|serve``            rules files (see :mod:`insitu.cli.ensemble`)
``insitu completion bash|zsh|tcsh``      a shell completion script

Errors are printed as one line, ``insitu: error: ...``, with exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from insitu import __version__
from insitu.errors import InsituError


def _info(args: argparse.Namespace) -> int:
    """What this machine offers: launchers (and why auto picks one), the store server."""
    del args  # no options
    from insitu.launchers.registry import available_launchers, detect_launcher, detection_report
    from insitu.store.server_binary import find_server_binary

    print(f"insitu {__version__}")
    chosen, why = detect_launcher()
    print(f"launchers: {', '.join(available_launchers())} (auto -> {chosen}: {why})")
    for name, found, detail in detection_report():
        print(f"  {name:<6} {'yes' if found else 'no ':<3} {detail}")
    try:
        binary = find_server_binary()
    except InsituError as err:
        print(f"store server: none ({err})")
        return 1
    version = ".".join(str(v) for v in binary.version)
    print(f"store server: {binary.flavor} {version} at {binary.path}")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from insitu.dashboard.server import serve

    paths = [Path(p) for p in args.exp_paths] or [Path.cwd()]
    serve(paths, host=args.host, port=args.port)
    return 0


def _report(args: argparse.Namespace) -> int:
    from insitu.cli.status import load
    from insitu.dashboard.report import write_report

    load(args.exp_path)  # a clear error for a path that is not an experiment
    out = write_report(args.exp_path, args.output)
    print(f"wrote {out}")
    return 0


def _completion(args: argparse.Namespace) -> int:
    try:
        import shtab
    except ImportError:
        raise SystemExit("insitu completion needs shtab: pip install 'insitu[dashboard]'") from None
    print(shtab.complete(build_parser(), shell=args.shell))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (also what shell completion is generated from)."""
    from insitu.cli import doctor, ensemble, status, store

    parser = argparse.ArgumentParser(
        prog="insitu", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"insitu {__version__}")
    sub = parser.add_subparsers(dest="command")
    status.configure(sub.add_parser("status", help="show an experiment's entities and stores"))
    status.configure_logs(sub.add_parser("logs", help="show an entity's output"))
    dash = sub.add_parser("dashboard", help="serve the web dashboard")
    dash.add_argument("exp_paths", nargs="*", help="experiment directories, or directories of them")
    dash.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    dash.add_argument("--port", type=int, default=8265, help="port (default: 8265)")
    report = sub.add_parser("report", help="write an experiment's page as one HTML file")
    report.add_argument("exp_path", help="experiment directory")
    report.add_argument("-o", "--output", default="report.html", help="file to write")
    store.configure(sub.add_parser("store", help="start, stop or inspect a store"))
    doctor.configure(sub.add_parser("doctor", help="check what this machine offers insitu"))
    sub.add_parser("info", help="show launchers and the store server insitu would use")
    ensemble.configure(sub.add_parser("ensemble", help="run event-driven ensembles (rules)"))
    completion = sub.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=["bash", "zsh", "tcsh"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    from insitu.cli import doctor, ensemble, status, store

    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {
        "status": status.status, "logs": status.logs, "dashboard": _dashboard,
        "report": _report, "store": store.dispatch, "doctor": doctor.run, "info": _info,
        "ensemble": ensemble.dispatch, "completion": _completion,
    }  # fmt: skip
    command = commands.get(args.command)
    if command is None:
        parser.print_help()
        return 0
    try:
        return command(args)
    except InsituError as err:
        print(f"insitu: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `insitu ... | head`: the reader has gone, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
