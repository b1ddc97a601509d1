"""Session journals: append-only, fsynced JSON lines; the dataset's capture state is their replay.

One journal per session, `DATASET/.srraw/journal-<session>.jsonl`. Records (field `type`):

    session        a controller started: rig, camera, port
    card_listing   the files on the card when it started (to tell later what srraw left there)
    sequence       a sequence started: its focal plan, the body it is shot with
    trigger        the shutter is about to be released for a frame attempt
    capture        a frame was taken: attempt, asked and camera focal length, the card files
    retake         that capture was rejected (EXIF off the plan, exposure changed, bad file)
    frame          the frame's files are safely on disk (renamed, fsynced): the captures row
    card_deleted   its card files were deleted after that
    frame_failed   the frame could not be taken (a failed row until it is retaken)
    orphan_fetched a file an interrupted capture left on the card, now safely on disk
    orphan_deleted ... and deleted from the card after that
    qa             the field QA verdict of a finished sequence
    reshoot        the photographer chose to shoot the sequence again: its frames are pending,
                   shot into a fresh folder (`folder`) while the first take stays in place
    reshoot_swap   the reshoot is complete: the first take goes `aside`, the new one in place
    abandon        the sequence is set aside (its folders moved under `aside`, never deleted)
    sequence_done  every frame of the sequence is on disk (`qa_due`: a field check follows)
    stop           the session ended, and why

Replaying every journal in session order gives `DatasetState`; `captures.parquet` is built
from that alone, so it can always be rebuilt. A torn last line (power cut while appending) is
ignored: the record it would have written was not yet acted on. Folder moves (reshoot_swap,
abandon) are journalled before they are made; `DatasetState.moves` lists them, and
`aside.finish_moves` completes any that an interruption left half done.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from srraw.errors import SrrawError
from srraw.files import fsync_dir

STATE_DIR = ".srraw"
CAPTURES = "captures.parquet"
RIGS_KEPT = f"{STATE_DIR}/rigs"  # copies of the rig profiles the dataset was shot with
# The field check's verdicts (qa.QaResult.verdict) in the photographer's words.
QA_VERDICTS = {
    "good": "usable",
    "flagged": "usable with doubts",
    "bad": "not usable",
    "error": "field check failed",
}


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def new_session_id() -> str:
    """Sortable by start time, unique per process."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"


class Journal:
    """Appends records to this session's journal; each is on disk when append() returns."""

    def __init__(self, root: Path, session: str) -> None:
        self.session = session
        folder = root / STATE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"journal-{session}.jsonl"
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            fsync_dir(folder)
        except OSError as exc:
            raise SrrawError(f"cannot write the journal: {exc.strerror or exc}", self.path) from exc

    def append(self, kind: str, **fields) -> dict:
        record = {"type": kind, "t": utc_now(), "session": self.session, **fields}
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        try:
            written = os.write(self._fd, line)
            if written != len(line):
                raise OSError(28, "short write (No space left on device?)")
            os.fsync(self._fd)
        except OSError as exc:
            raise SrrawError(f"cannot write the journal: {exc.strerror or exc}", self.path) from exc
        return record

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class DatasetLock:
    """One controller per dataset: an flock on DATASET/.srraw/lock."""

    def __init__(self, root: Path) -> None:
        folder = root / STATE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "lock"
        self._fh = open(self.path, "a+")  # noqa: SIM115 - held for the session
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            raise SrrawError("another srraw capture is running on this dataset", root) from None

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()


# ---- replay -------------------------------------------------------------------------------


@dataclass
class FrameState:
    frame: int
    focal_asked_mm: float
    status: str = "pending"  # pending | ok | failed
    error: str | None = None
    attempts: int = 0
    row: dict | None = None  # the `frame` record when ok
    card: list[dict] = field(default_factory=list)  # card files of the last unsettled capture
    capture: dict | None = None  # that capture record
    card_on_disk: list[dict] = field(default_factory=list)  # saved, not yet deleted from card

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class SequenceState:
    name: str
    rig: str
    focal_lengths_mm: list[float]
    camera_serial: str | None = None
    camera_model: str | None = None
    rig_file: str | None = None  # the profile it was shot with, kept in DATASET/.srraw/rigs
    done: bool = False
    qa: dict | None = None
    qa_due: bool = False  # finished, and a field check is owed (it was killed mid-way?)
    abandoned: bool = False
    reshoot_folder: str | None = None  # a reshoot in progress shoots here (relative)
    previous: dict[int, dict] | None = None  # the first take's rows while it is reshot
    previous_qa: dict | None = None  # and its field check
    retakes: int = 0  # captures of this take that were not kept
    frames: dict[int, FrameState] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        """Where its frames are being written, relative to the dataset root."""
        return self.reshoot_folder or self.name

    def next_frame(self) -> FrameState | None:
        """The first frame that is not safely on disk."""
        return next((f for _, f in sorted(self.frames.items()) if not f.ok), None)

    def ok_count(self) -> int:
        return sum(f.ok for f in self.frames.values())

    def verdict(self) -> str:
        """The field check's verdict in words, or why there is none."""
        if self.qa is not None:
            return QA_VERDICTS.get(self.qa.get("verdict", ""), str(self.qa.get("verdict")))
        return "field check owed (run again to redo it)" if self.qa_due else "not run"


@dataclass
class DatasetState:
    sequences: dict[str, SequenceState] = field(default_factory=dict)
    sessions: list[dict] = field(default_factory=list)
    # Journalled folder renames, one list per operation (a reshoot swap, an abandon).
    moves: list[list[tuple[str, str]]] = field(default_factory=list)
    capture_s: dict[str, float] = field(default_factory=dict)  # serial -> slowest capture
    listings: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # session -> card
    open_triggers: set[tuple] = field(default_factory=set)  # triggers no capture followed
    claimed: set[tuple[str, str]] = field(default_factory=set)  # card files srraw accounted for
    memory_sessions: set[str] = field(default_factory=set)  # captures came from camera memory

    def orphans(self, card: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Card files an interrupted capture left: new since the start of a session whose
        trigger no capture record followed, and claimed by no frame."""
        # A body whose captures come from its memory keeps card copies by design (Sony
        # card+sdram): they are claimed by no frame, so its sessions are not judged.
        sessions = {key[0] for key in self.open_triggers} - self.memory_sessions
        new: set[tuple[str, str]] = set()
        for session in sessions:
            if session in self.listings:
                new |= {tuple(c) for c in card} - self.listings[session]
        # A body that hands the files over from its memory (Sony, libgphoto2's `/capt_NAME`)
        # may also write a copy to its card under NAME: that copy belongs to its frame.
        copies = {name.removeprefix("capt_") for folder, name in self.claimed if folder == "/"}
        return sorted(c for c in new - self.claimed if c[1] not in copies)

    def unfinished(self, qa: bool = True) -> SequenceState | None:
        """The sequence a new session resumes: started and not done, or done with its field
        check still owed (with `qa`); never one set aside. The latest if several."""
        open_ = [
            s
            for s in self.sequences.values()
            if not s.abandoned and (not s.done or (qa and s.qa_due and s.qa is None))
        ]
        return open_[-1] if open_ else None

    def next_name(self, root: Path) -> str:
        """The next free sequence number, past the journals and any folder already there."""
        used = [int(n) for n in self.sequences if n.isdigit()]
        with contextlib.suppress(OSError):
            used += [int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit()]
        return f"{max(used, default=0) + 1:05d}"


def _frame(state: DatasetState, record: dict) -> FrameState | None:
    seq = state.sequences.get(record.get("sequence", ""))
    if seq is None:
        return None
    return seq.frames.get(int(record.get("frame", 0)))


def _trigger_key(record: dict) -> tuple:
    return (
        record.get("session"),
        record.get("sequence"),
        record.get("frame"),
        record.get("attempt"),
    )


def apply(state: DatasetState, record: dict) -> None:
    """Fold one journal record into the state."""
    kind = record.get("type")
    if kind == "session":
        state.sessions.append(record)
    elif kind == "card_listing":
        state.listings[record["session"]] = {(f, n) for f, n in record["files"]}
    elif kind in ("orphan_fetched", "orphan_deleted"):
        state.claimed.add((record["folder"], record["name"]))
    elif kind == "sequence":
        name = record["sequence"]
        focals = [float(f) for f in record["focal_lengths_mm"]]
        seq = state.sequences.get(name)
        if seq is None:  # a resumed sequence is announced again: keep its frames
            seq = SequenceState(name, record.get("rig", ""), focals)
            seq.frames = {i + 1: FrameState(i + 1, f) for i, f in enumerate(focals)}
            state.sequences[name] = seq
        seq.camera_serial = seq.camera_serial or record.get("camera_serial")
        seq.camera_model = seq.camera_model or record.get("camera_model")
        seq.rig_file = seq.rig_file or record.get("rig_file")
    elif kind == "reshoot":
        seq = state.sequences.get(record["sequence"])
        if seq is not None:
            if record.get("folder"):
                if seq.previous is None:
                    seq.previous = {i: f.row for i, f in seq.frames.items() if f.row}
                    seq.previous_qa = seq.qa
                seq.reshoot_folder = record["folder"]
            seq.done, seq.qa, seq.qa_due, seq.retakes = False, None, False, 0
            for frame in seq.frames.values():
                frame.status, frame.error, frame.row, frame.attempts = "pending", None, None, 0
    elif kind == "reshoot_swap":
        if seq := state.sequences.get(record["sequence"]):
            _swap_paths(seq, record["folder"])
            state.moves.append([(seq.name, record["aside"]), (record["folder"], seq.name)])
    elif kind == "abandon":
        if seq := state.sequences.get(record["sequence"]):
            seq.abandoned = True
            moves = [(f, f"{record['aside']}/{Path(f).name}") for f in record["folders"]]
            if moves:
                state.moves.append(moves)
    elif kind == "sequence_done":
        if seq := state.sequences.get(record["sequence"]):
            seq.done, seq.qa_due = True, bool(record.get("qa_due"))
    elif kind == "qa":
        if seq := state.sequences.get(record["sequence"]):
            seq.qa, seq.qa_due = record, False
    elif (frame := _frame(state, record)) is not None:
        if kind == "trigger":
            state.open_triggers.add(_trigger_key(record))
        elif kind == "capture":
            frame.attempts = max(frame.attempts, int(record.get("attempt", 0)))
            frame.card, frame.capture = list(record.get("card", [])), record
            state.open_triggers.discard(_trigger_key(record))
            state.claimed |= {(c["folder"], c["name"]) for c in frame.card}
            if any(c["folder"] == "/" and c["name"].startswith("capt") for c in frame.card):
                state.memory_sessions.add(record.get("session", ""))
            serial, seconds = record.get("camera_serial") or "", record.get("capture_s")
            if seconds is not None:
                state.capture_s[serial] = max(state.capture_s.get(serial, 0.0), float(seconds))
        elif kind == "retake":
            frame.card, frame.capture = [], None
            if seq := state.sequences.get(record.get("sequence", "")):
                seq.retakes += 1
        elif kind == "frame":
            frame.status, frame.error, frame.row = "ok", None, record
            frame.card_on_disk = list(frame.card)
            frame.card, frame.capture = [], None
        elif kind in ("card_deleted", "nothing_to_delete"):
            frame.card_on_disk = []
        elif kind == "frame_failed" and not frame.ok:
            frame.status, frame.error = "failed", record.get("error")


def _swap_paths(seq: SequenceState, folder: str) -> None:
    """The reshoot's rows now name the sequence folder (its files were moved there)."""
    for frame in seq.frames.values():
        if frame.row is None:
            continue
        row = dict(frame.row)
        for key in ("raw_path", "jpeg_path"):
            if isinstance(row.get(key), str) and row[key].startswith(folder + "/"):
                row[key] = seq.name + row[key][len(folder) :]
        frame.row = row
    seq.reshoot_folder, seq.previous, seq.previous_qa = None, None, None


def journal_files(root: Path) -> list[Path]:
    return sorted((root / STATE_DIR).glob("journal-*.jsonl"))


def read_records(path: Path) -> list[dict]:
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise SrrawError(f"cannot read the journal: {exc.strerror or exc}", path) from exc
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            if number == len(lines):
                continue  # torn last line: never acted on
            raise SrrawError(f"line {number}: damaged journal record", path) from None
    return records


def load_state(root: Path) -> DatasetState:
    """Replay every session journal of the dataset, oldest session first."""
    state = DatasetState()
    for path in journal_files(root):
        for record in read_records(path):
            apply(state, record)
    return state


# ---- captures.parquet -------------------------------------------------------------------

_ROW_KEYS = (
    "rig",
    "camera_model",
    "camera_serial",
    "port",
    "focal_asked_mm",
    "focal_camera_mm",
    "focal_exif_mm",
    "exposure_time_s",
    "f_number",
    "iso",
    "raw_path",
    "raw_sha256",
    "raw_bytes",
    "jpeg_path",
    "jpeg_sha256",
    "jpeg_bytes",
    "attempts",
)


def _ok_row(row: dict) -> dict:
    out = {k: row.get(k) for k in _ROW_KEYS}
    out["status"], out["captured_at"] = "ok", dt.datetime.fromisoformat(row["t"])
    return out


def capture_rows(state: DatasetState) -> list[dict]:
    """One captures row per planned frame of every sequence: ok, pending or failed.

    A sequence set aside has no rows; one being reshot keeps its first take's rows (those
    files are still in its folder) until the reshoot is complete and swapped in."""
    rows = []
    for name in sorted(state.sequences):
        seq = state.sequences[name]
        if seq.abandoned:
            continue
        qa = seq.previous_qa if seq.previous else seq.qa
        verdict = {
            "qa_verdict": QA_VERDICTS.get(qa.get("verdict", ""), qa.get("verdict")) if qa else None,
            "qa_problems": list(qa.get("problems") or []) if qa else None,
        }
        for index in sorted(seq.frames):
            frame = seq.frames[index]
            row: dict = {"sequence": name, "frame": index, "status": frame.status, **verdict}
            if seq.previous and index in seq.previous:
                row.update(_ok_row(seq.previous[index]))
            elif frame.ok and frame.row is not None:
                row.update(_ok_row(frame.row))
            else:
                row.update(
                    rig=seq.rig,
                    camera_model=seq.camera_model,
                    camera_serial=seq.camera_serial,
                    focal_asked_mm=frame.focal_asked_mm,
                    attempts=frame.attempts,
                    error=frame.error,
                )
            rows.append(row)
    return rows


def rebuild_captures(root: Path, state: DatasetState | None = None) -> Path:
    """(Re)write DATASET/captures.parquet from the journals, atomically."""
    from srraw.manifest import write_manifest

    state = state if state is not None else load_state(root)
    return write_manifest("captures", capture_rows(state), root / CAPTURES)
