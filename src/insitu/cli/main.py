"""The ``insitu`` command: ``insitu --version``, ``insitu info`` (what this machine offers) and
``insitu ensemble run|serve`` (rules files, see :mod:`insitu.cli.ensemble`) and ``insitu store
stop`` (a store left behind, see :mod:`insitu.cli.store`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from insitu import __version__
from insitu.errors import InsituError


def _info() -> int:
    from insitu.launchers.registry import available_launchers, resolve_launcher_name
    from insitu.store.server_binary import find_server_binary

    print(f"insitu {__version__}")
    print(
        f"launchers: {', '.join(available_launchers())} (auto -> {resolve_launcher_name('auto')})"
    )
    try:
        binary = find_server_binary()
    except InsituError as err:
        print(f"store server: none ({err})")
        return 1
    version = ".".join(str(v) for v in binary.version)
    print(f"store server: {binary.flavor} {version} at {binary.path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="insitu", description=__doc__)
    parser.add_argument("--version", action="version", version=f"insitu {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="show launchers and the store server insitu would use")
    from insitu.cli import ensemble

    ensemble.configure(sub.add_parser("ensemble", help="run event-driven ensembles (rules)"))
    from insitu.cli import store

    store.configure(sub.add_parser("store", help="manage a store: stop one left behind"))
    args = parser.parse_args(argv)
    if args.command == "info":
        return _info()
    if args.command == "ensemble":
        return ensemble.dispatch(args)
    if args.command == "store":
        return store.dispatch(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
