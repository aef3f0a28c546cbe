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


def render_summary(
    records: Iterable[JobRecord], style: str = "github", notes: Iterable[str] = ()
) -> str:
    """The summary table in a ``tabulate`` style (``github`` by default), index shown,
    then one line per note (none: SmartSim's table alone)."""
    table = tabulate(summary_rows(records), headers=HEADERS, tablefmt=style, showindex=True)
    return "\n".join([table, *notes])


def open_access_note(store: str, addresses: Iterable[str]) -> str:
    """The note for a store that lets clients without a password in over TCP (pure)."""
    return (
        f"WARNING: store {store} lets clients without a password in over TCP, restricted to "
        f"data and AI.* commands ({', '.join(addresses)}); see docs/porting.md"
    )
