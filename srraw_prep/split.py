"""Train / val / test assignment per sequence: a seeded hash, 80:10:10, or a split file."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from srraw.errors import SrrawError

SPLITS = ("train", "val", "test")


def hashed_split(sequence: str, seed: int = 0, fractions: tuple[float, float] = (0.8, 0.9)) -> str:
    """Deterministic split of one sequence id: the same id always lands in the same split."""
    digest = hashlib.sha256(f"srraw-split:{seed}:{sequence}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "train" if u < fractions[0] else "val" if u < fractions[1] else "test"


def read_split_file(path: Path) -> dict[str, str]:
    """sequence -> split from a JSON object or a CSV with columns sequence,split."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SrrawError(f"cannot read split file: {exc.strerror or exc}", path) from exc
    if path.suffix.lower() == ".json":
        try:
            mapping = json.loads(text)
        except ValueError as exc:
            raise SrrawError(f"not valid JSON: {exc}", path) from exc
        if not isinstance(mapping, dict):
            raise SrrawError('expected a JSON object {"<sequence>": "train|val|test"}', path)
    else:
        rows = list(csv.DictReader(text.splitlines()))
        if rows and not {"sequence", "split"} <= set(rows[0]):
            raise SrrawError("expected CSV columns: sequence,split", path)
        mapping = {row["sequence"]: row["split"] for row in rows}
    for sequence, split in mapping.items():
        if split not in SPLITS:
            raise SrrawError(f"sequence {sequence}: split {split!r} is not one of {SPLITS}", path)
    return {str(k): v for k, v in mapping.items()}


def assign(
    sequences: list[str],
    seed: int,
    overrides: dict[str, str] | None = None,
    folders: dict[str, str] | None = None,
) -> dict[str, str]:
    """Each sequence's split: the split file's, else its split folder's, else the hash's."""
    overrides, folders = overrides or {}, folders or {}
    return {s: overrides.get(s) or folders.get(s) or hashed_split(s, seed) for s in sequences}


def unmatched(overrides: dict[str, str], sequences: list[str]) -> list[str]:
    """Split-file keys that name no sequence of the dataset (a typo or another dataset)."""
    known = set(sequences)
    return sorted(k for k in overrides if k not in known)
