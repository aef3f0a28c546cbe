"""Jupyter and picture views of an Experiment: HTML tables, the timeline as SVG.

``Experiment._repr_html_`` and ``summary()`` (a ``str`` that renders as an HTML table in a
notebook) use :func:`summary_html`; ``Experiment.plot_timeline()`` returns a
:class:`Timeline` drawn from the launch record (:mod:`insitu.views.gantt`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from html import escape
from pathlib import Path

from tabulate import tabulate

from insitu.runtime.record import read_record
from insitu.views.gantt import render_svg
from insitu.views.state import timeline
from insitu.wire.record import record_path


class SummaryText(str):
    """``Experiment.summary()``: the text table (a ``str``, as in SmartSim), shown as an HTML
    table by Jupyter."""

    _rows: Sequence[tuple[object, ...]]
    _headers: tuple[str, ...]

    def __new__(
        cls, text: str, rows: Sequence[tuple[object, ...]], headers: tuple[str, ...]
    ) -> SummaryText:
        value = super().__new__(cls, text)
        value._rows = rows
        value._headers = headers
        return value

    def _repr_html_(self) -> str:
        return tabulate(self._rows, headers=self._headers, tablefmt="html", showindex=True)


def experiment_html(name: str, path: str, launcher: str, table: str) -> str:
    """The notebook view of an Experiment: its name, path, launcher and jobs table."""
    return (
        f"<div><b>Experiment {escape(name)}</b> "
        f"<span style='color:#64748b'>{escape(path)} · launcher {escape(launcher)}</span>"
        f"{table}</div>"
    )


class Timeline:
    """The jobs of an experiment's newest run as a Gantt chart (SVG). Shown inline by
    Jupyter; :meth:`save` writes it (``.svg``, or ``.html`` around it)."""

    def __init__(self, svg: str) -> None:
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the picture to ``path``; returns it."""
        out = Path(path)
        text = self.svg
        if out.suffix.lower() in (".html", ".htm"):
            text = f"<!doctype html><meta charset='utf-8'><title>timeline</title>{self.svg}"
        out.write_text(text, encoding="utf-8")
        return out


def plot_timeline(exp_path: str, run_id: str, *, workers: bool = False) -> Timeline:
    """The :class:`Timeline` of run ``run_id`` recorded under ``exp_path`` (empty when that
    run has started nothing yet)."""
    try:
        runs = read_record(record_path(exp_path), strict=False).runs
    except FileNotFoundError:
        runs = ()
    run = next((r for r in runs if r.header.run == run_id), None)
    return Timeline(render_svg(timeline(run, workers=workers) if run is not None else ()))
