"""Figures of the fault suite (trials, errors, lost requests, time to recover), kept per
test and, when ``INSITU_RELIABILITY_REPORT`` names a file, written there as JSON lines at
the end of the test: the source of the tables in ``docs/reliability.md``."""

from __future__ import annotations

import json
import os
from pathlib import Path

REPORT_ENV = "INSITU_RELIABILITY_REPORT"
TRIALS_ENV = "INSITU_FAULT_TRIALS"


def trials(default: int = 2) -> int:
    """How many trials each orphan check runs (``INSITU_FAULT_TRIALS``; the suite's own
    default keeps ``make test`` bounded, the figures in the docs come from more)."""
    return max(1, int(os.environ.get(TRIALS_ENV, default)))


def record(check: str, **figures: object) -> None:
    """Append one line of figures for ``check`` to the report file, if one is named."""
    target = os.environ.get(REPORT_ENV)
    if not target:
        return
    with Path(target).open("a", encoding="utf-8") as out:
        out.write(json.dumps({"check": check, **figures}) + "\n")
