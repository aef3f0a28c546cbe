"""The timeline of an experiment as an SVG Gantt chart (pure: text in, text out).

One row per job name; a bar per state a run was in (queued light, running solid); once the
row's job has ended, its last bar takes the colour of how it ended (completed green, failed
red, ...), so that a finished experiment reads at a glance. The same picture is shown by
the dashboard, the HTML report and ``Experiment.plot_timeline()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from html import escape

from insitu.views.state import TimelineRow

STATE_COLOURS = {
    "New": "#cbd5e1",
    "Queued": "#cbd5e1",
    "Running": "#3b82f6",
    "Paused": "#f59e0b",
    "Completed": "#16a34a",
    "Failed": "#dc2626",
    "Cancelled": "#f97316",
    "NeverStarted": "#94a3b8",
}
_ROW, _LABEL, _PAD = 24, 190, 12
DEFAULT_WIDTH, MIN_WIDTH, MAX_WIDTH = 900, 400, 4000
"""Widths in pixels: the dashboard asks for the width of its page, within these bounds."""
_ENDED = ("Completed", "Failed", "Cancelled")


def render_svg(
    rows: Sequence[TimelineRow], now: float | None = None, width: int = DEFAULT_WIDTH
) -> str:
    """The SVG text of ``rows``; open segments end at ``now`` (default: the current time)."""
    now = time.time() if now is None else now
    starts = [s.start for r in rows for s in r.segments]
    ends = [s.end if s.end is not None else now for r in rows for s in r.segments]
    height = _PAD * 2 + 20 + _ROW * max(len(rows), 1) + 16  # + the legend
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" '
        'font-size="12" role="img" aria-label="timeline of jobs">'
    ]
    if not starts:
        parts.append(f'<text x="{_PAD}" y="{_PAD + 16}" fill="#64748b">nothing launched yet</text>')
        return "".join([*parts, "</svg>"])
    t0, t1 = min(starts), max(*ends, min(starts) + 1e-3)
    plot = width - _LABEL - _PAD

    def x(t: float) -> float:
        return _LABEL + (t - t0) / (t1 - t0) * plot

    parts.append(_axis(t0, t1, x, height))
    for i, row in enumerate(rows):
        y = _PAD + 20 + i * _ROW
        label = escape(row.name)
        parts.append(
            f'<text x="{_LABEL - 8}" y="{y + 15}" text-anchor="end" fill="#0f172a">{label}'
            f"<title>{label} ({escape(row.entity_type)}): {escape(row.state)}</title></text>"
        )
        for n, seg in enumerate(row.segments, 1):
            end = seg.end if seg.end is not None else now
            ended = n == len(row.segments) and row.state in _ENDED and seg.end is not None
            colour = STATE_COLOURS.get(row.state if ended else seg.state, "#94a3b8")
            x0, x1 = x(seg.start), max(x(end), x(seg.start) + 2)
            parts.append(
                f'<rect class="seg" data-state="{escape(seg.state)}" x="{x0:.1f}" y="{y + 4}" '
                f'width="{x1 - x0:.1f}" height="{_ROW - 8}" rx="3" fill="{colour}">'
                f"<title>{label}: {escape(seg.state)} {end - seg.start:.1f} s</title></rect>"
            )
    parts.append(_legend(width, height))
    return "".join([*parts, "</svg>"])


def _axis(t0: float, t1: float, x: Callable[[float], float], height: int) -> str:
    span = t1 - t0
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)
                 if span / s <= 8), 14400)  # fmt: skip
    out = []
    tick = 0.0
    while tick <= span:
        px = x(t0 + tick)
        out.append(
            f'<line x1="{px:.1f}" y1="{_PAD + 14}" x2="{px:.1f}" y2="{height - _PAD - 16}" '
            'stroke="#e2e8f0"/>'
            f'<text x="{px:.1f}" y="{_PAD + 8}" text-anchor="middle" fill="#64748b">'
            f"{_duration(tick)}</text>"
        )
        tick += step
    return "".join(out)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m" if seconds % 60 == 0 else f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def _legend(width: int, height: int) -> str:
    items = [("queued", "Queued"), ("running", "Running"), ("completed", "Completed"),
             ("failed", "Failed"), ("cancelled", "Cancelled")]  # fmt: skip
    out = []
    x = 8
    for text, state in items:
        out.append(
            f'<rect x="{x}" y="{height - 10}" width="10" height="8" fill="{STATE_COLOURS[state]}"/>'
            f'<text x="{x + 14}" y="{height - 2}" fill="#475569" font-size="10">{text}</text>'
        )
        x += 14 + 7 * len(text) + 16  # swatch, text (10 px font), gap
    return "".join(out)
