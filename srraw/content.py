"""What a file holds, judged from its first bytes: so that a text file named 00003.ARW or an
empty JPEG is reported as what it is, not as damaged image data."""

from __future__ import annotations

import os
from pathlib import Path

from srraw.errors import SrrawError

_HEAD = 512
# Content a camera never writes under a RAW or JPEG name; RAW formats themselves are left to
# LibRaw (their signatures vary too much to list here).
_NOT_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"GIF8", "a GIF image"),
)
_JPEG = b"\xff\xd8\xff"


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(_HEAD)
    except OSError as exc:
        raise SrrawError(f"cannot read: {exc.strerror or exc}", path) from exc


def _text(head: bytes) -> str | None:
    """The opening words when the file is plain text (no image format starts that way)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # The 512-byte cut may split a character: judge the bytes before it.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not text or any(not (c.isprintable() or c in "\t\r\n") for c in text):
        return None
    words = " ".join(text.split())
    return words[:40] + ("..." if len(words) > 40 else "")


def _what(head: bytes) -> str | None:
    """What the file holds when it is recognisably not a camera image file, else None."""
    if not head:
        return "it is empty (0 bytes)"
    for magic, name in _NOT_IMAGES:
        if head.startswith(magic):
            return f"it holds {name}"
    if (text := _text(head)) is not None:
        return f"it holds text ({text!r})"
    return None


def check_raw_content(path: str | os.PathLike[str]) -> None:
    """Raise SrrawError when a file named as a RAW is empty, text, a JPEG or another format."""
    path = Path(path)
    head = _head(path)
    if head.startswith(_JPEG):
        raise SrrawError("not a RAW file: it holds a JPEG image", path)
    if (what := _what(head)) is not None:
        raise SrrawError(f"not a RAW file: {what}", path)


def check_jpeg_content(path: str | os.PathLike[str]) -> None:
    """Raise SrrawError when a file named as a JPEG does not start like one."""
    path = Path(path)
    head = _head(path)
    if head.startswith(_JPEG):
        return
    what = _what(head) or f"it starts with bytes {head[:4].hex(' ')}, not a JPEG's ff d8 ff"
    raise SrrawError(f"not a JPEG: {what}", path)
