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
from srraw_prep.charts import histogram, scatter
from srraw_prep.truth_error import TrueError, true_errors

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.cards{display:flex;gap:16px;flex-wrap:wrap}.card{background:#f5f5f7;padding:10px 16px;border-radius:8px}
.big{font-size:22px;font-weight:600}.ok{color:#1a7f37}.flagged{color:#9a6700}.failed{color:#cf222e}
.charts{display:flex;gap:20px;flex-wrap:wrap}figure{margin:0}figcaption{font-size:12px;color:#555}
.pair{display:flex;gap:12px;align-items:flex-start;margin:12px 0}.pair img{border:1px solid #ccc}
section.zoom{border:1px solid #ddd;border-radius:8px;padding:4px 16px 12px;margin:24px 0}
h3{font-size:15px}.note{color:#9a6700;max-width:360px;font-size:13px}
"""


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


def _pair_name(p: dict) -> str:
    return f"{p['zoom']}X {p['frame_l']:05d} -> {p['frame_h']:05d}"


def _rank_key(has_estimate: bool) -> str:
    """What the worst pairs are ranked by: the error estimate once prep writes one."""
    return "error_estimate_px" if has_estimate else "residual_p95_px"


def _correlation(xs: list[float], ys: list[float]) -> str:
    if len(xs) < 3 or np.std(xs) == 0 or np.std(ys) == 0:
        return ""
    return f"; Pearson r {np.corrcoef(xs, ys)[0, 1]:.2f}"


def _calibration(rows: list[tuple[dict, TrueError]], has_estimate: bool, zoom: int) -> str:
    """Error estimate against the true error, or a note saying why there is none."""
    if not rows:
        return ""
    truth = [t.mean_px for _, t in rows]
    parts = [histogram(truth, f"{zoom}X true error (truth.json)", "mean true error", "target px")]
    if not has_estimate:
        parts.append(
            "<p class='note calibration-skipped'>Calibration plot skipped: pairs.parquet has "
            "no <code>error_estimate_px</code> column (this prep does not estimate the error "
            "per pair yet).</p>"
        )
        return "".join(parts)
    estimate = [p.get("error_estimate_px") for p, _ in rows]
    known = [(t, e) for t, e in zip(truth, estimate, strict=True) if e is not None]
    parts.append(
        scatter(
            truth,
            estimate,
            f"{zoom}X calibration: error estimate vs true error",
            "true error, mean over 24x16 target pixels (target px)",
            "error estimate (target px)",
            groups=[t.scene_kind for _, t in rows],
            diagonal=True,
            note=_correlation([k[0] for k in known], [k[1] for k in known]),
        )
    )
    return "".join(parts)


def _worst(
    aligned: list[dict],
    truths: dict[int, TrueError],
    thumb: Callable[[str, str], Path],
    has_estimate: bool,
    count: int,
) -> str:
    key = _rank_key(has_estimate)

    def badness(item: tuple[int, dict]) -> tuple[float, float]:
        value = item[1].get(key)
        return (-(value if value is not None else math.inf), item[1]["ecc_rho"] or 0.0)

    ranked = sorted(aligned, key=badness)[:count]
    out = []
    for i, p in ranked:
        true = truths.get(i)
        true_text = (
            f"<br>true error mean {true.mean_px:.3g}, max {true.max_px:.3g} target px "
            f"({true.scene_kind} scene)"
            if true
            else ""
        )
        estimate = f"error estimate {_fmt(p.get('error_estimate_px'))} px, " if has_estimate else ""
        out.append(
            f"<div class='pair'><div><b>{html.escape(p['sequence'])}</b> {_pair_name(p)}"
            f"<br>{estimate}residual p95 {_fmt(p['residual_p95_px'])} px, rho "
            f"{_fmt(p['ecc_rho'])}<br>scale {_fmt(p['measured_scale'])} (EXIF "
            f"{_fmt(p['nominal_ratio'])}){true_text}<br><span class='{p['status']}'>"
            f"{p['status']}</span> {html.escape(_fmt(p['qa_flags']))}</div>"
            f"<figure>{_img(thumb(p['sequence'], _thumb_name(p, 'before')))}"
            "<figcaption>before: EXIF-ratio crop</figcaption></figure>"
            f"<figure>{_img(thumb(p['sequence'], _thumb_name(p, 'after')))}"
            "<figcaption>after alignment</figcaption></figure></div>"
        )
    what = "error estimate" if has_estimate else "residual p95 (no error estimate in pairs.parquet)"
    return f"<h3>Worst pairs by {what}</h3>" + ("".join(out) or "<p>None aligned.</p>")


def _zoom_panel(
    zoom: int,
    rows: list[tuple[int, dict]],
    truths: dict[int, TrueError],
    thumb: Callable[[str, str], Path],
    has_estimate: bool,
    worst: int,
) -> str:
    aligned = [(i, p) for i, p in rows if p["status"] in ("ok", "flagged")]
    pairs = [p for _, p in aligned]
    counts = ", ".join(
        f"<span class='{s}'>{sum(p['status'] == s for _, p in rows)} {s}</span>"
        for s in ("ok", "flagged", "failed", "absent")
    )
    head = f"<section class='zoom' id='zoom-{zoom}' data-zoom='{zoom}'><h2>{zoom}X pairs</h2>"
    if all(p["status"] == "absent" for _, p in rows):
        return f"{head}<p>No sequence makes {zoom}X (see Absent zooms).</p></section>"
    charts = [
        histogram(
            [p["residual_p95_px"] for p in pairs],
            f"{zoom}X residual p95",
            "residual misalignment p95",
            "target px",
        ),
        histogram(
            [p["residual_median_px"] for p in pairs],
            f"{zoom}X residual median",
            "residual misalignment median",
            "target px",
        ),
        histogram([p["ecc_rho"] for p in pairs], f"{zoom}X ECC correlation", "ECC rho", ""),
        scatter(
            [p["nominal_ratio"] for p in pairs],
            [p["measured_scale"] for p in pairs],
            f"{zoom}X measured scale vs EXIF ratio",
            "EXIF focal ratio f_H / f_L (x)",
            "measured scale (x)",
            diagonal=False,
        ),
        histogram(
            [
                100 * (p["measured_scale"] / p["nominal_ratio"] - 1)
                for p in pairs
                if p["measured_scale"] and p["nominal_ratio"]
            ],
            f"{zoom}X measured scale / EXIF ratio - 1",
            "measured / EXIF ratio - 1",
            "%",
        ),
    ]
    if has_estimate:
        charts.append(
            histogram(
                [p.get("error_estimate_px") for p in pairs],
                f"{zoom}X error estimate",
                "error estimate",
                "target px",
            )
        )
    charts.append(
        _calibration([(p, truths[i]) for i, p in aligned if i in truths], has_estimate, zoom)
    )
    return (
        f"{head}<p>{len(rows)} rows: {counts}.</p><div class='charts'>{''.join(charts)}</div>"
        f"{_worst(aligned, truths, thumb, has_estimate, worst)}</section>"
    )


def render(
    frames: pa.Table,
    pairs: pa.Table,
    thumb: Callable[[str, str], Path],
    worst: int = 4,
    dataset_root: Path | None = None,
) -> str:
    """The report's HTML: one panel per zoom factor (charts, calibration against truth.json
    where the dataset is synthetic, worst pairs), then failures, flags and absent zooms.
    `worst`: pairs shown per zoom."""
    frame_rows = frames.to_pylist()
    pair_rows = pairs.to_pylist()
    has_estimate = "error_estimate_px" in pairs.column_names
    truths = true_errors(pair_rows, frame_rows, dataset_root) if dataset_root else {}

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
    by_zoom: dict[int, list[tuple[int, dict]]] = {}
    for i, p in enumerate(pair_rows):
        by_zoom.setdefault(p["zoom"], []).append((i, p))
    panels = "".join(
        _zoom_panel(z, rows, truths, thumb, has_estimate, worst)
        for z, rows in sorted(by_zoom.items())
    )
    truth_note = (
        f"<p>Ground truth: {len(truths)} aligned pairs have a truth.json (synthetic data); "
        "true errors are the mean over a 24x16 lattice of target pixels of the distance "
        "between the pair's map and the true one.</p>"
        if truths
        else ""
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
            "error_estimate_px": r.get("error_estimate_px"),
        }
        for r in pair_rows
        if r["status"] == "flagged"
    ]
    flagged_columns = ["sequence", "pair", "qa_flags", "ecc_rho", "residual_p95_px"]
    flagged_columns += ["error_estimate_px"] if has_estimate else []
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>srraw prep report</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>srraw prep report</h1><p>{sequences} sequences.</p><div class='cards'>{cards}</div>"
        f"{truth_note}{panels or '<p>No pairs.</p>'}"
        f"<h2>Failures</h2>{_table(failures, ['table', 'sequence', 'item', 'error'])}"
        f"<h2>Flagged frames</h2>{_table(flagged_frames, ['sequence', 'frame', 'qa_flags', 'detail'])}"
        f"<h2>Flagged pairs</h2>{_table(flagged, flagged_columns)}"
        "<h2>Absent zooms</h2><p>Zooms a sequence's focal lengths cannot make (not a failure).</p>"
        f"{_table(absent, ['sequence', 'zoom', 'reason'])}"
        "</body></html>"
    )


def _thumb_name(pair: dict, when: str) -> str:
    return f"{pair['zoom']}x_{pair['frame_l']:05d}_{pair['frame_h']:05d}_{when}.jpg"


def write_report(
    path: Path,
    frames: pa.Table,
    pairs: pa.Table,
    thumb: Callable[[str, str], Path],
    dataset_root: Path | None = None,
) -> None:
    """`dataset_root`: where the sequence folders are (truth.json of synthetic data)."""
    page = render(frames, pairs, thumb, dataset_root=dataset_root)
    atomic_write_bytes(path, page.encode("utf-8"))
