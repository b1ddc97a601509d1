"""report.html: one self-contained page (inline SVG charts, inline JPEG overlays)."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from srraw.files import atomic_write_bytes

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.cards{display:flex;gap:16px;flex-wrap:wrap}.card{background:#f5f5f7;padding:10px 16px;border-radius:8px}
.big{font-size:22px;font-weight:600}.ok{color:#1a7f37}.flagged{color:#9a6700}.failed{color:#cf222e}
.charts{display:flex;gap:20px;flex-wrap:wrap}figure{margin:0}figcaption{font-size:12px;color:#555}
.pair{display:flex;gap:12px;align-items:flex-start;margin:12px 0}.pair img{border:1px solid #ccc}
"""


def _histogram(values: list[float], title: str, unit: str, bins: int = 20) -> str:
    values = [v for v in values if v is not None and math.isfinite(v)]
    w, h, pad = 360, 180, 30
    if not values:
        return f"<figure><svg width='{w}' height='{h}'></svg><figcaption>{title}: no data</figcaption></figure>"
    counts, edges = np.histogram(values, bins=bins)
    top = max(counts.max(), 1)
    bar_w = (w - 2 * pad) / bins
    bars = "".join(
        f"<rect x='{pad + i * bar_w:.1f}' y='{h - pad - c / top * (h - 2 * pad):.1f}' "
        f"width='{bar_w - 1:.1f}' height='{c / top * (h - 2 * pad):.1f}' fill='#4a7bd0'/>"
        for i, c in enumerate(counts)
    )
    axis = (
        f"<line x1='{pad}' y1='{h - pad}' x2='{w - pad}' y2='{h - pad}' stroke='#333'/>"
        f"<text x='{pad}' y='{h - 8}' font-size='11'>{edges[0]:.3g}</text>"
        f"<text x='{w - pad}' y='{h - 8}' font-size='11' text-anchor='end'>{edges[-1]:.3g} {unit}</text>"
        f"<text x='{pad - 4}' y='{pad}' font-size='11' text-anchor='end'>{top}</text>"
    )
    caption = f"{title} (n={len(values)}, median {np.median(values):.3g} {unit})"
    return f"<figure><svg width='{w}' height='{h}'>{bars}{axis}</svg><figcaption>{caption}</figcaption></figure>"


def _scatter(xs: list[float], ys: list[float], title: str) -> str:
    pts = [
        (x, y)
        for x, y in zip(xs, ys, strict=True)
        if x and y and math.isfinite(x) and math.isfinite(y)
    ]
    w, h, pad = 360, 180, 30
    if not pts:
        return f"<figure><svg width='{w}' height='{h}'></svg><figcaption>{title}: no data</figcaption></figure>"
    lo = min(min(p) for p in pts) * 0.95
    hi = max(max(p) for p in pts) * 1.05

    def sx(v: float) -> float:
        return pad + (v - lo) / (hi - lo) * (w - 2 * pad)

    def sy(v: float) -> float:
        return h - pad - (v - lo) / (hi - lo) * (h - 2 * pad)

    dots = "".join(
        f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3' fill='#4a7bd0'/>" for x, y in pts
    )
    diagonal = f"<line x1='{sx(lo)}' y1='{sy(lo)}' x2='{sx(hi)}' y2='{sy(hi)}' stroke='#aaa' stroke-dasharray='4'/>"
    return (
        f"<figure><svg width='{w}' height='{h}'>{diagonal}{dots}</svg>"
        f"<figcaption>{title} (dashed: equal)</figcaption></figure>"
    )


def _img(path: Path) -> str:
    if not path.is_file():
        return "<em>no overlay</em>"
    data = base64.b64encode(path.read_bytes()).decode()
    return f"<img src='data:image/jpeg;base64,{data}' alt='{html.escape(path.name)}'>"


def _table(rows: list[dict], columns: list[str]) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def render(
    frames: pa.Table,
    pairs: pa.Table,
    thumb: Callable[[str, str], Path],
    worst: int = 8,
) -> str:
    """The report's HTML."""
    frame_rows = frames.to_pylist()
    pair_rows = pairs.to_pylist()
    aligned = [p for p in pair_rows if p["status"] in ("ok", "flagged")]

    def count(rows: list[dict], status: str) -> int:
        return sum(r["status"] == status for r in rows)

    cards = "".join(
        f"<div class='card'><div>{name}</div><div class='big'>{len(rows)}</div>"
        + " ".join(
            f"<span class='{s}'>{count(rows, s)} {s}</span>"
            for s in ("ok", "flagged", "failed", "absent")
            if s != "absent" or rows is pair_rows
        )
        + "</div>"
        for name, rows in (("frames", frame_rows), ("pairs", pair_rows))
    )
    sequences = len({r["sequence"] for r in frame_rows})
    charts = "".join(
        [
            _histogram([p["residual_p95_px"] for p in aligned], "residual misalignment p95", "px"),
            _histogram(
                [p["residual_median_px"] for p in aligned], "residual misalignment median", "px"
            ),
            _histogram([p["ecc_rho"] for p in aligned], "ECC rho", ""),
            _scatter(
                [p["nominal_ratio"] for p in aligned],
                [p["measured_scale"] for p in aligned],
                "measured scale vs EXIF ratio",
            ),
            _histogram(
                [100 * (p["measured_scale"] / p["nominal_ratio"] - 1) for p in aligned],
                "measured / EXIF ratio - 1",
                "%",
            ),
        ]
    )
    ranked = sorted(
        aligned,
        key=lambda p: (
            -(p["residual_p95_px"] if p["residual_p95_px"] is not None else math.inf),
            p["ecc_rho"],
        ),
    )[:worst]
    worst_html = "".join(
        f"<div class='pair'><div><b>{html.escape(p['sequence'])}</b> {p['zoom']}X "
        f"{p['frame_l']:05d} -> {p['frame_h']:05d}<br>rho {p['ecc_rho']:.3f}, residual p95 "
        f"{_fmt(p['residual_p95_px'])} px<br>scale {p['measured_scale']:.4f} (EXIF {p['nominal_ratio']:.4f})"
        f"<br><span class='{p['status']}'>{p['status']}</span> {html.escape(_fmt(p['qa_flags']))}</div>"
        f"<figure>{_img(thumb(p['sequence'], _thumb_name(p, 'before')))}<figcaption>before: EXIF-ratio crop</figcaption></figure>"
        f"<figure>{_img(thumb(p['sequence'], _thumb_name(p, 'after')))}<figcaption>after alignment</figcaption></figure></div>"
        for p in ranked
    )
    failures = [
        {
            "table": "frames",
            "sequence": r["sequence"],
            "item": f"{r['frame']:05d}",
            "error": r["error"],
        }
        for r in frame_rows
        if r["status"] == "failed"
    ] + [
        {
            "table": "pairs",
            "sequence": r["sequence"],
            "item": f"{r['zoom']}X "
            + (f"{r['frame_l']:05d}->{r['frame_h']:05d}" if r["frame_l"] else ""),
            "error": r["error"],
        }
        for r in pair_rows
        if r["status"] == "failed"
    ]
    absent = [
        {"sequence": r["sequence"], "zoom": f"{r['zoom']}X", "reason": r["error"]}
        for r in pair_rows
        if r["status"] == "absent"
    ]
    flagged_frames = [
        {
            "sequence": r["sequence"],
            "frame": f"{r['frame']:05d}",
            "qa_flags": r["qa_flags"],
            "detail": r["error"],
        }
        for r in frame_rows
        if r["status"] == "flagged"
    ]
    flagged = [
        {
            "sequence": r["sequence"],
            "pair": f"{r['zoom']}X {r['frame_l']:05d}->{r['frame_h']:05d}",
            "qa_flags": r["qa_flags"],
            "ecc_rho": r["ecc_rho"],
            "residual_p95_px": r["residual_p95_px"],
        }
        for r in pair_rows
        if r["status"] == "flagged"
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>srraw prep report</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>srraw prep report</h1><p>{sequences} sequences.</p><div class='cards'>{cards}</div>"
        f"<h2>Alignment</h2><div class='charts'>{charts}</div>"
        f"<h2>Worst pairs</h2>{worst_html or '<p>None aligned.</p>'}"
        f"<h2>Failures</h2>{_table(failures, ['table', 'sequence', 'item', 'error'])}"
        f"<h2>Flagged frames</h2>{_table(flagged_frames, ['sequence', 'frame', 'qa_flags', 'detail'])}"
        f"<h2>Flagged pairs</h2>{_table(flagged, ['sequence', 'pair', 'qa_flags', 'ecc_rho', 'residual_p95_px'])}"
        "<h2>Absent zooms</h2><p>Zooms a sequence's focal lengths cannot make (not a failure).</p>"
        f"{_table(absent, ['sequence', 'zoom', 'reason'])}"
        "</body></html>"
    )


def _thumb_name(pair: dict, when: str) -> str:
    return f"{pair['zoom']}x_{pair['frame_l']:05d}_{pair['frame_h']:05d}_{when}.jpg"


def write_report(
    path: Path, frames: pa.Table, pairs: pa.Table, thumb: Callable[[str, str], Path]
) -> None:
    atomic_write_bytes(path, render(frames, pairs, thumb).encode("utf-8"))
