"""Files with the same content (sha256) under two names: a copy mistake, not two shots."""

from __future__ import annotations

from collections import defaultdict

FLAG = "duplicate_file"
_FRAME_FILES = ("raw", "jpeg")
_PAIR_FILES = ("raw_l", "jpeg_l", "jpeg_h")


def _flag(row: dict, detail: str | None = None) -> dict:
    if row["status"] == "failed" or FLAG in (row.get("qa_flags") or []):
        return row
    row = row | {"status": "flagged", "qa_flags": [*(row.get("qa_flags") or []), FLAG]}
    return row | {"error": detail} if detail else row


def flag_duplicates(frames: list[dict], pairs: list[dict]) -> tuple[list[dict], list[dict]]:
    """Flag every frame, and every pair, that uses a file whose sha256 another file shares."""
    names: dict[str, set[str]] = defaultdict(set)
    for row in frames:
        for kind in _FRAME_FILES:
            if row.get(f"{kind}_sha256") and row.get(f"{kind}_path"):
                names[row[f"{kind}_sha256"]].add(row[f"{kind}_path"])
    shared = {sha: sorted(paths) for sha, paths in names.items() if len(paths) > 1}
    if not shared:
        return frames, pairs

    def detail(row: dict) -> str | None:
        found = []
        for kind in _FRAME_FILES:
            path = row.get(f"{kind}_path")
            if (others := shared.get(row.get(f"{kind}_sha256"))) is not None:
                same = ", ".join(p for p in others if p != path)
                found.append(f"{path} has the same content (sha256) as {same}")
        return "; ".join(found) or None

    frames = [_flag(r, d) if (d := detail(r)) else r for r in frames]
    pairs = [
        _flag(r) if any(r.get(f"{k}_sha256") in shared for k in _PAIR_FILES) else r for r in pairs
    ]
    return frames, pairs
