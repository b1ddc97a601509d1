"""Inline SVG charts for report.html: histograms and scatter plots with labelled, ticked axes."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

WIDTH, HEIGHT = 360, 250
LEFT, RIGHT, TOP, BOTTOM = 56, 14, 12, 44  # plot margins: room for tick values and labels
COLOURS = ("#4a7bd0", "#d0762a", "#2f9e57", "#a04ac0", "#777777")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 x 10^k apart) covering [lo, hi]."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]
    return [0.0 if abs(t) < step * 1e-9 else t for t in ticks]


def _span(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = float(min(values)), float(max(values))
    if hi > lo:
        return lo, hi
    pad = abs(lo) * 0.05 or 0.5
    return lo - pad, hi + pad


def _padded(values: Sequence[float]) -> tuple[float, float]:
    """The span with 5% room on each side, so no point sits on an axis."""
    lo, hi = _span(values)
    return lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)


def _tick_text(value: float) -> str:
    return f"{value:.4g}"


class _Axes:
    """Data -> SVG coordinates over the plot area, and the axes drawn with their ticks."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range

    def x(self, v: float) -> float:
        return LEFT + (v - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def y(self, v: float) -> float:
        return HEIGHT - BOTTOM - (v - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)

    def draw(self, x_label: str, y_label: str, x_ticks: list[float], y_ticks: list[float]) -> str:
        base, left = HEIGHT - BOTTOM, LEFT
        parts = [
            f"<line x1='{left}' y1='{base}' x2='{WIDTH - RIGHT}' y2='{base}' stroke='#333'/>",
            f"<line x1='{left}' y1='{TOP}' x2='{left}' y2='{base}' stroke='#333'/>",
        ]
        for t in x_ticks:
            x = self.x(t)
            parts.append(
                f"<line x1='{x:.1f}' y1='{base}' x2='{x:.1f}' y2='{base + 4}' stroke='#333'/>"
                f"<text class='tick' x='{x:.1f}' y='{base + 15}' font-size='10' "
                f"text-anchor='middle'>{_tick_text(t)}</text>"
            )
        for t in y_ticks:
            y = self.y(t)
            parts.append(
                f"<line x1='{left - 4}' y1='{y:.1f}' x2='{left}' y2='{y:.1f}' stroke='#333'/>"
                f"<line x1='{left}' y1='{y:.1f}' x2='{WIDTH - RIGHT}' y2='{y:.1f}' "
                "stroke='#eee'/>"
                f"<text class='tick' x='{left - 6}' y='{y + 3:.1f}' font-size='10' "
                f"text-anchor='end'>{_tick_text(t)}</text>"
            )
        mid_x = (LEFT + WIDTH - RIGHT) / 2
        mid_y = (TOP + HEIGHT - BOTTOM) / 2
        parts.append(
            f"<text class='xlabel' x='{mid_x:.1f}' y='{HEIGHT - 6}' font-size='11' "
            f"text-anchor='middle'>{html.escape(x_label)}</text>"
            f"<text class='ylabel' x='12' y='{mid_y:.1f}' font-size='11' text-anchor='middle' "
            f"transform='rotate(-90 12 {mid_y:.1f})'>{html.escape(y_label)}</text>"
        )
        return "".join(parts)


def _label(name: str, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


def _figure(svg_body: str, caption: str, kind: str) -> str:
    return (
        f"<figure class='chart' data-chart='{kind}'><svg width='{WIDTH}' height='{HEIGHT}' "
        f"xmlns='http://www.w3.org/2000/svg'>{svg_body}</svg>"
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def histogram(values, title: str, quantity: str, unit: str, bins: int = 20) -> str:
    """Counts of `values` in `bins` equal bins; x: `quantity (unit)`, y: pairs."""
    values = _finite(values)
    if not values:
        return _figure("", f"{html.escape(title)}: no data", "histogram")
    lo, hi = _span(values)
    x_ticks = nice_ticks(lo, hi)
    lo, hi = min(lo, x_ticks[0]), max(hi, x_ticks[-1])
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    y_ticks = nice_ticks(0, max(int(counts.max()), 1), 4)
    y_ticks = [t for t in y_ticks if t == int(t)] or [0.0, 1.0]
    axes = _Axes((lo, hi), (0, max(y_ticks[-1], counts.max(), 1)))
    bars = "".join(
        f"<rect x='{axes.x(a):.1f}' y='{axes.y(c):.1f}' width='{max(axes.x(b) - axes.x(a) - 1, 0.5):.1f}' "
        f"height='{axes.y(0) - axes.y(c):.1f}' fill='{COLOURS[0]}'/>"
        for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)
        if c
    )
    body = axes.draw(_label(quantity, unit), "pairs", x_ticks, y_ticks) + bars
    median = f"{np.median(values):.3g}{' ' + unit if unit else ''}"
    caption = f"{html.escape(title)} (n={len(values)}, median {html.escape(median)})"
    return _figure(body, caption, "histogram")


def scatter(
    xs,
    ys,
    title: str,
    x_label: str,
    y_label: str,
    groups: Sequence[str] | None = None,
    diagonal: bool = False,
    note: str = "",
) -> str:
    """Points (x, y), coloured by group (legend) when given; `diagonal`: y = x, equal axes."""
    rows = [
        (float(x), float(y), g)
        for x, y, g in zip(xs, ys, groups or [""] * len(xs), strict=True)
        if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
    ]
    if not rows:
        return _figure("", f"{html.escape(title)}: no data", "scatter")
    x_range, y_range = _padded([r[0] for r in rows]), _padded([r[1] for r in rows])
    if diagonal:
        x_range = y_range = (min(x_range[0], y_range[0], 0.0), max(x_range[1], y_range[1]))
    x_ticks, y_ticks = nice_ticks(*x_range), nice_ticks(*y_range)
    x_range = (min(x_range[0], x_ticks[0]), max(x_range[1], x_ticks[-1]))
    y_range = (min(y_range[0], y_ticks[0]), max(y_range[1], y_ticks[-1]))
    axes = _Axes(x_range, y_range)
    names = sorted({g for _, _, g in rows})
    colour = {g: COLOURS[i % len(COLOURS)] for i, g in enumerate(names)}
    body = axes.draw(x_label, y_label, x_ticks, y_ticks)
    if diagonal:
        lo, hi = x_range[0], min(x_range[1], y_range[1])
        body += (
            f"<line x1='{axes.x(lo):.1f}' y1='{axes.y(lo):.1f}' x2='{axes.x(hi):.1f}' "
            f"y2='{axes.y(hi):.1f}' stroke='#aaa' stroke-dasharray='4'/>"
        )
    body += "".join(
        f"<circle class='point' cx='{axes.x(x):.1f}' cy='{axes.y(y):.1f}' r='3' "
        f"fill='{colour[g]}' fill-opacity='0.8'/>"
        for x, y, g in rows
    )
    if groups is not None and (len(names) > 1 or names[0]):
        body += "".join(
            f"<circle cx='{LEFT + 10}' cy='{TOP + 8 + 13 * i}' r='3' fill='{colour[g]}'/>"
            f"<text x='{LEFT + 17}' y='{TOP + 11 + 13 * i}' font-size='10'>{html.escape(g)}</text>"
            for i, g in enumerate(names)
        )
    extra = " (dashed: equal)" if diagonal else ""
    caption = f"{html.escape(title)} (n={len(rows)}){extra}{html.escape(note)}"
    return _figure(body, caption, "scatter")
