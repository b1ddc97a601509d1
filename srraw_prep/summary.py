"""What `srraw prep` tells the terminal: one summary line, then one line per failed or
flagged item (file, problem), capped, pointing to report.html for the rest."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa

MAX_ITEMS = 20  # lines under the summary; the report lists every item
PAIR_STATUSES = ("ok", "flagged", "failed", "absent")


def _where_frame(row: dict) -> str:
    return row.get("raw_path") or row.get("jpeg_path") or f"{row['sequence']}/{row['frame']:05d}"


def _problem(row: dict) -> str:
    if row["status"] == "failed":
        return row.get("error") or "failed"
    text = "flagged: " + ", ".join(row.get("qa_flags") or [])
    return f"{text} ({row['error']})" if row.get("error") else text


def frame_item(row: dict) -> str:
    where, problem = _where_frame(row), _problem(row)
    # Most errors already start with the file they are about; do not name it twice.
    named = any(problem.startswith(p) for p in (row.get("raw_path"), row.get("jpeg_path")) if p)
    return problem if named else f"{where}: {problem}"


def pair_item(row: dict) -> str:
    if row.get("frame_l") is None:
        return f"{row['sequence']} {row['zoom']}X: {_problem(row)}"
    low = row.get("raw_l_path") or f"{row['sequence']}/{row['frame_l']:05d}"
    high = row.get("jpeg_h_path") or f"{row['sequence']}/{row['frame_h']:05d}"
    return f"{low} -> {high} ({row['zoom']}X): {_problem(row)}"


def item_lines(frames: pa.Table, pairs: pa.Table) -> list[str]:
    """Every failed or flagged frame, then every failed or flagged pair, in manifest order."""
    bad = ("failed", "flagged")
    return [frame_item(r) for r in frames.to_pylist() if r["status"] in bad] + [
        pair_item(r) for r in pairs.to_pylist() if r["status"] in bad
    ]


@dataclasses.dataclass(frozen=True)
class Summary:
    sequences: int
    resumed: int
    frames: dict[str, int]
    pairs: dict[str, int]
    out: Path
    items: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.frames.get("failed", 0) + self.pairs.get("failed", 0) > 0

    @property
    def report(self) -> Path:
        return self.out / "report.html"

    def line(self) -> str:
        def counts(c: dict[str, int], statuses: tuple[str, ...]) -> str:
            return ", ".join(f"{c.get(k, 0)} {k}" for k in statuses)

        return (
            f"prep: {self.sequences} sequences ({self.resumed} already done); "
            f"frames: {counts(self.frames, PAIR_STATUSES[:3])}; "
            f"pairs: {counts(self.pairs, PAIR_STATUSES)} -> {self.out} (report: {self.report})"
        )

    def lines(self, limit: int = MAX_ITEMS) -> list[str]:
        """The summary line, then the failed and flagged items, at most `limit` of them."""
        shown = [f"  {item}" for item in self.items[:limit]]
        if len(self.items) > limit:
            shown.append(f"  ... and {len(self.items) - limit} more (see {self.report})")
        return [self.line(), *shown]
