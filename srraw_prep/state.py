"""Per-sequence results kept beside the manifests, so that an interrupted run resumes.

<out>/.prep/<sequence>/ holds frames.parquet, pairs.parquet, the report thumbnails and
done.json, written last: a sequence counts as done only when done.json matches its inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

import srraw
from srraw.files import atomic_write_bytes
from srraw.manifest import read_manifest, write_manifest
from srraw_prep.config import PrepConfig
from srraw_prep.discover import SequenceInput
from srraw_prep.sequence import SequenceResult

STATE_DIR = ".prep"


def sequence_dir(out: Path, sequence: str) -> Path:
    return out / STATE_DIR / sequence.replace("/", "__")


def _marker(seq: SequenceInput, cfg: PrepConfig) -> dict:
    # The srraw version is part of it: a new release may measure differently.
    return {"fingerprint": seq.fingerprint(), "config": cfg.digest(), "srraw": srraw.__version__}


def is_done(out: Path, seq: SequenceInput, cfg: PrepConfig) -> bool:
    """Done before, with the same input files (path, size, mtime) and the same settings."""
    done = sequence_dir(out, seq.sequence) / "done.json"
    try:
        recorded = json.loads(done.read_text())
    except (OSError, ValueError):
        return False
    if recorded.get("timings", {}).get("error"):
        return False  # an internal error is retried on every run
    current = json.loads(json.dumps(_marker(seq, cfg)))  # tuples -> lists, as stored
    return {k: recorded.get(k) for k in current} == current


def save(out: Path, seq: SequenceInput, cfg: PrepConfig, result: SequenceResult) -> None:
    folder = sequence_dir(out, seq.sequence)
    write_manifest("frames", result.frames, folder / "frames.parquet")
    write_manifest("pairs", result.pairs, folder / "pairs.parquet")
    for name, data in result.thumbs.items():
        atomic_write_bytes(folder / "thumbs" / name, data)
    marker = _marker(seq, cfg) | {"timings": result.timings}
    atomic_write_bytes(folder / "done.json", json.dumps(marker).encode())


def load(out: Path, sequence: str) -> tuple[pa.Table, pa.Table]:
    """A done sequence's frames and pairs tables."""
    folder = sequence_dir(out, sequence)
    return (
        read_manifest(folder / "frames.parquet", "frames"),
        read_manifest(folder / "pairs.parquet", "pairs"),
    )


def thumb(out: Path, sequence: str, name: str) -> Path:
    return sequence_dir(out, sequence) / "thumbs" / name
