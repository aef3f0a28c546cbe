"""``python -m tests.cluster up|status|down [--dir DIR] [--nodes N]``: the test cluster by hand."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.cluster import slurm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__)
    parser.add_argument("action", choices=("up", "status", "down"))
    parser.add_argument("--dir", type=Path, default=slurm.DEFAULT_DIR)
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args(argv)
    if args.action == "up":
        reason = slurm.why_unavailable()
        if reason:
            print(f"cannot start the test cluster: {reason}", file=sys.stderr)
            return 2
        cluster = slurm.up(args.dir, args.nodes)
        cluster.owner = 0  # started by hand: no session owns it, only `down` removes it
        cluster.save()
        print(slurm.status(args.dir))
        return 0
    if args.action == "status":
        print(slurm.status(args.dir))
        return 0
    problems = slurm.down(args.dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
