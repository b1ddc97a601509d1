"""Folders moved aside, never deleted: a reshoot swapped in, a sequence abandoned.

Each move is journalled first (`reshoot_swap`, `abandon`) and made after; a session killed in
between leaves the move in the journal, and `finish_moves` completes it on the next start.
A move is made only while its source exists and its destination does not, and an operation
only while its last source exists, so looking at every journalled move at every start is
harmless.
"""

from __future__ import annotations

import os
from pathlib import Path

from srraw.errors import SrrawError
from srraw.files import fsync_dir
from srraw_capture.journal import (
    STATE_DIR,
    DatasetLock,
    DatasetState,
    Journal,
    apply,
    load_state,
    new_session_id,
    rebuild_captures,
)

ABANDONED = f"{STATE_DIR}/abandoned"
REJECTED = f"{STATE_DIR}/rejected"
RESHOOTS = f"{STATE_DIR}/reshoot"
ORPHANS = f"{STATE_DIR}/orphans"  # files interrupted captures left on the card, when fetched


def finish_moves(root: Path, state: DatasetState) -> int:
    """Make the journalled moves not yet made; returns how many were made now.

    An operation whose last source is gone is complete, and is never replayed: a rejected
    take deleted by hand later must not pull the sequence now in place aside."""
    made = 0
    pending = [op for op in state.moves if (root / op[-1][0]).exists()]
    for src, dst in (move for op in pending for move in op):
        source, target = root / src, root / dst
        if not source.exists() or target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(source, target)
            fsync_dir(source.parent)
            fsync_dir(target.parent)
        except OSError as exc:
            raise SrrawError(f"cannot move {src} to {dst}: {exc.strerror or exc}", root) from exc
        made += 1
    return made


def abandon(root: Path, sequence: str) -> str:
    """Set a sequence aside: journalled, its folders moved under .srraw/abandoned; the text
    to print."""
    lock = DatasetLock(root)
    try:
        state = load_state(root)
        finish_moves(root, state)
        seq = state.sequences.get(sequence)
        if seq is None:
            known = ", ".join(sorted(state.sequences)) or "none"
            raise SrrawError(f"no sequence {sequence} in the journals (known: {known})", root)
        if seq.abandoned:
            raise SrrawError(f"sequence {sequence} is already set aside", root)
        session = new_session_id()
        aside = f"{ABANDONED}/{sequence}-{session}"
        folders = [f for f in dict.fromkeys([seq.name, seq.folder]) if (root / f).exists()]
        journal = Journal(root, session)
        try:
            apply(state, journal.append("abandon", sequence=sequence, aside=aside, folders=folders))
        finally:
            journal.close()
        finish_moves(root, state)
        rebuild_captures(root, state)
    finally:
        lock.release()
    frames = seq.ok_count()
    where = f"its files are in {aside}" if folders else "it had no files"
    return (
        f"sequence {sequence} set aside ({frames} of {len(seq.frames)} frames on disk; {where}, "
        "nothing deleted); the next run starts a new sequence"
    )
