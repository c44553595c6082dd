"""Bar charts as inline SVG, drawn on the server: no script and no chart library in the browser.

Each chart carries a title and a description for screen readers, and the page shows the same figures in a
table beside it, so nothing is told by the picture alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    note: str = ""
    """Shown after the value (e.g. the on-time rate)."""


_ROW = 26
_LABEL_WIDTH = 150
_BAR_WIDTH = 300
_WIDTH = _LABEL_WIDTH + _BAR_WIDTH + 150


def bar_chart(title: str, bars: Sequence[Bar]) -> Markup:
    """A horizontal bar chart of ``bars``, scaled to the largest value."""
    height = max(1, len(bars)) * _ROW + 10
    largest = max((bar.value for bar in bars), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="chart-{_slug(title)}" '
        f'viewBox="0 0 {_WIDTH} {height}" width="{_WIDTH}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{_slug(title)}">{escape(title)}: '
        + escape("; ".join(f"{bar.label} {bar.value}{' ' + bar.note if bar.note else ''}" for bar in bars))
        + "</title>",
    ]
    for index, bar in enumerate(bars):
        y = 5 + index * _ROW
        width = round(_BAR_WIDTH * bar.value / largest)
        parts += [
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end" class="chart-label">'
            f"{escape(bar.label)}</text>",
            f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{max(width, 1)}" height="{_ROW - 8}" '
            'class="chart-bar"/>',
            f'<text x="{_LABEL_WIDTH + max(width, 1) + 6}" y="{y + 16}" class="chart-value">'
            f"{bar.value}{escape(' ' + bar.note) if bar.note else ''}</text>",
        ]
    if not bars:
        parts.append('<text x="10" y="20" class="chart-label">no data 暂无数据</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def _slug(title: str) -> str:
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in title.lower()).strip("-") or "chart"
