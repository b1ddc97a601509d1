"""Card -> disk without loss: temporary name, fsync, sha256, verify, rename, fsync the folder.

Nothing half-written ever carries a frame's name: the camera worker writes each file to a
temporary name beside its final one (`.00003.DNG.<random>.tmp`), fsyncs it and hashes the bytes
it wrote; the controller verifies the frame (RAW decodes, EXIF matches the plan) and only then
renames the files into place. The card copy is deleted later, once the journal says the frame
is on disk.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from srraw.errors import SrrawError
from srraw.files import fsync_dir, relative_to_root
from srraw_capture.camera import CardFile
from srraw_capture.plan import file_kind, frame_file_name

TMP_SUFFIX = ".tmp"
_UMASK = os.umask(0)
os.umask(_UMASK)


@dataclass
class Fetched:
    """Files of one frame downloaded to temporary names (not yet renamed)."""

    folder: Path
    temps: dict[str, Path] = field(default_factory=dict)  # kind -> temporary path
    finals: dict[str, Path] = field(default_factory=dict)  # kind -> final path
    sha256: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    transfer_s: float = 0.0
    write_s: float = 0.0

    def discard(self) -> None:
        for tmp in self.temps.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self.temps.clear()

    def commit(self) -> None:
        """Rename every file into place (each already fsynced), then fsync the folder."""
        for kind, tmp in list(self.temps.items()):
            os.replace(tmp, self.finals[kind])
            del self.temps[kind]
        fsync_dir(self.folder)

    def columns(self, root: Path) -> dict:
        out: dict = {}
        for kind in ("raw", "jpeg"):
            if kind in self.finals:
                out[f"{kind}_path"] = relative_to_root(self.finals[kind], root)
                out[f"{kind}_sha256"] = self.sha256[kind]
                out[f"{kind}_bytes"] = self.sizes[kind]
        return out


def _temp_beside(final: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=TMP_SUFFIX, dir=final.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; frames get normal permissions
    os.close(fd)
    return Path(name)


def _download(call, item: CardFile, final: Path):
    """One card file into a temporary name beside `final`: (temporary path, Download)."""
    tmp = _temp_beside(final)
    try:
        deadline = 30 + item.size / 2e6  # 2 MB/s is slow even for USB 2
        got = call("download", item.folder, item.name, str(tmp), deadline=deadline)
        if got.bytes != item.size:
            raise SrrawError(
                f"downloaded {got.bytes} bytes of {item.name}, the card has {item.size}", final
            )
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return tmp, got


def fetch_file(call, item: CardFile, final: Path):
    """One card file safely to `final` (temporary name, fsync, sha256, rename): its Download."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp, got = _download(call, item, final)
    except OSError as exc:
        raise SrrawError(f"cannot write: {exc.strerror or exc}", final) from exc
    os.replace(tmp, final)
    fsync_dir(final.parent)
    return got


def fetch_frame(call, folder: Path, frame: int, card: list[CardFile]) -> Fetched:
    """Download a frame's card files to temporary names in `folder` through the camera worker.

    `call(name, *args, deadline=...)` runs a Camera method in the worker. On any error the
    temporary files are removed; an OSError writing them (a full disk) becomes SrrawError.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fetched = Fetched(folder)
    final = folder
    try:
        for item in card:
            kind = file_kind(item.name)
            if kind is None or kind in fetched.temps:
                continue  # sidecars and the like are left on the card
            final = folder / frame_file_name(frame, item.name)
            tmp, got = _download(call, item, final)
            fetched.temps[kind], fetched.finals[kind] = tmp, final
            fetched.sha256[kind], fetched.sizes[kind] = got.sha256, got.bytes
            fetched.transfer_s += got.transfer_s
            fetched.write_s += got.write_s
    except OSError as exc:
        fetched.discard()
        where = (
            "the frame came from the camera's memory and is retaken"
            if card and all(c.in_memory for c in card)
            else "the frame stays on the camera's card"
        )
        raise SrrawError(
            f"cannot write: {exc.strerror or exc} ({where}: "
            "make room and run the same command again to resume)",
            final,
        ) from exc
    except BaseException:
        fetched.discard()
        raise
    return fetched


def remove_stale_temps(root: Path) -> int:
    """Temporary files a killed session left beside frames; returns how many were removed."""
    count = 0
    patterns = (f"[0-9]*/.*{TMP_SUFFIX}", f".srraw/reshoot/*/.*{TMP_SUFFIX}")
    for path in (p for pattern in patterns for p in root.glob(pattern)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            count += 1
    return count


class Timer:
    """Wall time of named steps of one frame (for the status line and the benchmark)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.steps: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str):
        begin = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.monotonic() - begin

    def total(self) -> float:
        return time.monotonic() - self.start
