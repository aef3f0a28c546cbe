"""``insitu store stop CHECKPOINT``: stop a store whatever became of the driver that
started it (SIGKILLed, its node lost): every shard that still answers is shut down, the
files holding the store's password are deleted. Its inference workers exit by themselves
once their store is gone and their starter has ended (the worker's watchdog).
"""

from __future__ import annotations

import argparse

from insitu.errors import InsituError


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``store`` sub-commands to ``parser``."""
    sub = parser.add_subparsers(dest="store_command", required=True)
    stop = sub.add_parser("stop", help="stop a store left behind, from its checkpoint")
    stop.add_argument(
        "checkpoint", help="the store's checkpoint (insitu_db.json in the store's directory)"
    )


def dispatch(args: argparse.Namespace) -> int:
    """Run the chosen sub-command; the exit status (1 with a message on a typed error)."""
    from insitu.store.reconnect import stop_left_behind

    try:
        stopped = stop_left_behind(args.checkpoint)
    except (InsituError, FileNotFoundError) as err:
        print(f"insitu store stop: {err}")
        return 1
    if stopped:
        print(f"stopped {len(stopped)} shard(s): {', '.join(stopped)}")
    else:
        print("no shard answered: the store was already gone; its secret files are removed")
    return 0
