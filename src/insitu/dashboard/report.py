"""``insitu report EXP_PATH -o report.html``: the dashboard's experiment page as one file.

The page's own script and styles, the vendored uPlot and a snapshot of the experiment (the
same JSON the dashboard serves) are inlined, so the file opens anywhere, offline, with the
same charts and timeline; it does not update, and it holds no log tails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from insitu.dashboard.source import ExperimentSource, json_safe
from insitu.views.gantt import render_svg
from insitu.views.state import timeline

STATIC = Path(__file__).parent / "static"


REPORT_WIDTH = 1340
"""Pixels: the timeline's width in a report (the page is as wide as a laptop's window)."""


def render_report(exp_path: str | os.PathLike[str]) -> str:
    """The report's HTML text for the experiment at ``exp_path`` (an experiment that cannot
    be read gives a page that says why)."""
    source = ExperimentSource("report", Path(exp_path).resolve())
    source.refresh()
    snapshot = source.snapshot()
    run, _, _, _ = source.latest()
    source.close()
    # Drawn wide; the page's style scales it down to a narrower window.
    svg = render_svg(timeline(run) if run is not None else (), width=REPORT_WIDTH)
    page = (STATIC / "experiment.html").read_text()
    head = "\n".join([
        f"<style>{(STATIC / 'vendor' / 'uPlot.min.css').read_text()}</style>",
        f"<style>{(STATIC / 'app.css').read_text()}</style>",
    ])  # fmt: skip
    data = (
        f"<script>window.INSITU_SNAPSHOT = {_script_json(snapshot)};\n"
        f"window.INSITU_TIMELINE = {_script_json(svg)};</script>"
    )
    scripts = "\n".join(
        f"<script>{(STATIC / name).read_text()}</script>"
        for name in ("vendor/uPlot.iife.min.js", "common.js", "experiment.js")
    )
    start, end = page.index("<link"), page.index("</head>")
    page = page[:start] + head + "\n" + page[end:]
    start, end = page.index("<script"), page.index("</body>")
    page = page[:start] + data + "\n" + scripts + "\n" + page[end:]
    return page.replace('<a href="/">insitu dashboard</a>', "<a>insitu report</a>")


def _script_json(value: object) -> str:
    # Inside <script>, "</" would end the element: escape it (and keep the JSON valid).
    return json.dumps(json_safe(value)).replace("</", "<\\/")


def write_report(exp_path: str | os.PathLike[str], output: str | os.PathLike[str]) -> Path:
    """Write the report of ``exp_path`` to ``output``; returns its path."""
    out = Path(output)
    out.write_text(render_report(exp_path), encoding="utf-8")
    return out
