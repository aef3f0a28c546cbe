"""``Experiment.summary``: one row per run, as SmartSim prints it."""

from __future__ import annotations

from collections.abc import Iterable

from tabulate import tabulate

from insitu.runtime.job_table import JobRecord

HEADERS = ("Name", "Entity-Type", "JobID", "RunID", "Time", "Status", "Returncode")


def summary_rows(records: Iterable[JobRecord]) -> list[tuple[str, str, str, int, float, str, str]]:
    """Rows in submission order (pure)."""
    ordered = sorted(records, key=lambda r: (r.submit_time, r.name, r.run_id))
    return [
        (
            r.name,
            r.entity_type,
            r.job_id,
            r.run_id,
            round(r.elapsed, 4),
            r.state.value,
            "" if r.returncode is None else str(r.returncode),
        )
        for r in ordered
    ]


def render_summary(records: Iterable[JobRecord], style: str = "github") -> str:
    """The summary table in a ``tabulate`` style (``github`` by default), index shown."""
    return tabulate(summary_rows(records), headers=HEADERS, tablefmt=style, showindex=True)
