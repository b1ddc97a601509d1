"""Find the sequences of a dataset: SR-RAW folders (00001.ARW + 00001.JPG, ...) or the
captures manifest that `srraw capture` writes."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from srraw.errors import SrrawError
from srraw.manifest import read_manifest_df

RAW_SUFFIXES = frozenset(
    s.lower()
    for s in (".ARW", ".DNG", ".NEF", ".CR2", ".CR3", ".RW2", ".ORF", ".RAF", ".PEF", ".SRW")
)
JPEG_SUFFIXES = frozenset((".jpg", ".jpeg"))
FRAME_STEM = re.compile(r"^\d{5}$")
CAPTURES_NAME = "captures.parquet"
SPLIT_FOLDERS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class FrameInput:
    index: int
    raw: Path | None
    jpeg: Path | None


@dataclasses.dataclass(frozen=True)
class SequenceInput:
    sequence: str  # the sequence folder's name (its path from the root where names repeat)
    root: Path
    frames: tuple[FrameInput, ...]
    split: str | None = None  # from a train/, val/ or test/ folder above the sequence

    def files(self) -> list[Path]:
        return [p for f in self.frames for p in (f.raw, f.jpeg) if p is not None]

    def fingerprint(self) -> list[tuple[str, int, int]]:
        """(relative path, size, mtime_ns) of every input file: what resuming compares."""
        out = []
        for path in self.files():
            st = path.stat()
            out.append((path.relative_to(self.root).as_posix(), st.st_size, st.st_mtime_ns))
        return out


def _frames_in(folder: Path, names: list[str]) -> dict[int, dict[str, Path]]:
    found: dict[int, dict[str, Path]] = {}
    for name in names:
        stem, suffix = os.path.splitext(name)
        kind = (
            "raw"
            if suffix.lower() in RAW_SUFFIXES
            else "jpeg"
            if suffix.lower() in JPEG_SUFFIXES
            else None
        )
        if kind and FRAME_STEM.match(stem):
            found.setdefault(int(stem), {})[kind] = folder / name
    return found


def _sequence(
    root: Path, sequence: str, found: dict[int, dict[str, Path]], split: str | None = None
) -> SequenceInput:
    # Frames are numbered 1..N; a gap is a missing frame and becomes a failed row.
    last = max(found)
    frames = tuple(
        FrameInput(i, found.get(i, {}).get("raw"), found.get(i, {}).get("jpeg"))
        for i in range(1, last + 1)
    )
    return SequenceInput(sequence, root, frames, split)


def _split_folder(relative: Path) -> str | None:
    """train, val or test when the sequence lies under a folder of that name (nearest wins)."""
    return next((p for p in reversed(relative.parent.parts) if p in SPLIT_FOLDERS), None)


def discover_folders(root: Path) -> list[SequenceInput]:
    """Every folder under root holding frames named 00001.<raw|jpg>, sorted by id.

    A sequence's id is its folder's name (the root's own name when the root is one sequence);
    folders that share a name take their path from the root instead, so ids stay unique.
    """
    folders = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found = _frames_in(Path(dirpath), sorted(filenames))
        if found:
            folders.append((Path(dirpath), found))
    names = [folder.name for folder, _ in folders]
    sequences = []
    for folder, found in folders:
        relative = folder.relative_to(root)
        sequence = folder.name if names.count(folder.name) == 1 else relative.as_posix()
        sequences.append(_sequence(root, sequence, found, _split_folder(relative)))
    return sorted(sequences, key=lambda s: s.sequence)


def discover_captures(manifest: Path, root: Path) -> list[SequenceInput]:
    """Sequences listed in a captures manifest (frames in any status; missing files stay missing)."""
    df = read_manifest_df(manifest, "captures")
    sequences = []
    for sequence, group in df.groupby("sequence", sort=True):
        found: dict[int, dict[str, Path]] = {}
        for row in group.itertuples():
            entry = found.setdefault(int(row.frame), {})
            for kind in ("raw", "jpeg"):
                rel = getattr(row, f"{kind}_path")
                if isinstance(rel, str) and rel:
                    entry[kind] = root / rel
        sequences.append(_sequence(root, str(sequence), found))
    return sequences


def discover(dataset: Path) -> tuple[Path, list[SequenceInput]]:
    """(dataset root, sequences) from a dataset folder or a captures.parquet path."""
    dataset = dataset.resolve()  # workers (Dask, other hosts) need absolute paths
    if dataset.is_file():
        root = dataset.parent
        return root, discover_captures(dataset, root)
    if not dataset.is_dir():
        raise SrrawError("no such dataset folder", dataset)
    if (dataset / CAPTURES_NAME).is_file():
        return dataset, discover_captures(dataset / CAPTURES_NAME, dataset)
    sequences = discover_folders(dataset)
    if not sequences:
        raise SrrawError(
            "no sequences found (expected folders of 00001.<RAW> + 00001.JPG)", dataset
        )
    return dataset, sequences
