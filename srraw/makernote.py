"""The body's in-camera distortion-correction setting, as its maker note states it.

Many bodies undistort their JPEGs but never their RAWs, so the JPEG and the RAW of one frame may
not share a pixel grid. Where the maker note says what the body did, that is a prior for the
measured JPEG geometry (the measurement decides). `distortion_correction(path)` answers 'on',
'off' or None (no maker note, an unknown maker, or a maker note that does not say), for a JPEG,
a TIFF-based RAW (ARW, NEF, CR2, ...) or a DNG (maker note kept in Adobe's DNGPrivateData
'MakN' block). It never raises on damaged data: every read is bounds-checked and a failed one
is "does not say".

What is decoded, per maker (layouts as ExifTool 13.58 documents them in Sony.pm, Canon.pm,
Nikon.pm, DNG.pm; the code is our own). In each list the first statement present wins:

Sony (maker note "SONY DSC "/"SONY CAM "/"SONY MOBILE" + IFD at +12, or a bare IFD as in ARW;
offsets relative to the EXIF TIFF header; byte order guessed):
  1. 0x9405 (2048 bytes, Sony's byte substitution cipher c = b^3 mod 249), layout chosen by its
     first enciphered byte: "9405b" (first byte 3a b3 7e 9a 25 e1 76 8b; ILCE-7/7M2/7M3/7R/
     7RM2/7RM3/7RM4/7S/7SM2/9/5000/5100/6000/63x0/6500/6600, ILCA-68/77M2/99M2, RX10/RX100 III+)
     byte 0x005b DistortionCorrection, or "9405a" (1b 40 7d; SLT, NEX, ILCE-3000/3500) byte
     0x0601: 0 None -> 'off', 1 Applied -> 'on'. This says what the body *did* to this frame.
  2. 0x2013 DistortionCorrectionSetting (int32u): 0 Off -> 'off', 2 Auto -> 'on'; 0xffffffff
     (n/a, e.g. RX100) -> does not say. The menu setting: 'Auto' with a lens the body has no
     correction data for still leaves the JPEG uncorrected, hence 0x9405 first.
Canon (bare IFD, offsets relative to the EXIF TIFF header):
  1. Digital Lens Optimizer on (it corrects distortion too): 0x4016 int32[9] = 1, or 0x4018
     int32[10] = 1 Standard / 2 High. DLO off says nothing about distortion correction.
  2. 0x4016 (VignettingCorr2, "ImageCorrectActual") int32[7] DistortionCorrectionSetting 0/1.
  3. 0x4015 (VignettingCorr, lens packet; first byte 0) int16[3] DistortionCorrection 0/1.
  Each block is accepted only when its size word equals its length (as ExifTool validates it).
Nikon ("Nikon\\0\\x02" + its own TIFF header at +10, or a bare IFD):
  1. 0x002b DistortInfo byte 4 AutoDistortionControl: 0 Off, 1 On, 2 On (underwater).
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import struct
from collections.abc import Callable
from pathlib import Path

ON, OFF = "on", "off"

# Bytes per value of each TIFF field type (1 BYTE ... 13 IFD).
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_MAX_ENTRIES = 1000  # real maker notes hold ~100; more means we are reading noise

_MAKE, _EXIF_IFD, _MAKER_NOTE, _DNG_PRIVATE = 0x010F, 0x8769, 0x927C, 0xC634


def _sony_decipher_table() -> bytes:
    """Inverse of Sony's substitution c = b^3 mod 249 (a bijection on 0..248: x -> x^3 is one
    mod 3 and mod 83, and 249 = 3 * 83); bytes 249..255 are stored as they are."""
    table = bytearray(range(256))
    for plain in range(249):
        table[pow(plain, 3, 249)] = plain
    return bytes(table)


_SONY_DECIPHER = _sony_decipher_table()

# Tag 0x9405's layout by its first (enciphered) byte, and where DistortionCorrection sits in it.
_SONY_9405 = {
    **dict.fromkeys(b"\x3a\xb3\x7e\x9a\x25\xe1\x76\x8b", ("9405b", 0x005B)),
    **dict.fromkeys(b"\x1b\x40\x7d", ("9405a", 0x0601)),
}
_OFF_ON = {0: OFF, 1: ON}


@dataclasses.dataclass(frozen=True)
class _View:
    """TIFF-structured bytes: offsets count from `base`, reads must stay within [lo, hi)."""

    buf: bytes | mmap.mmap
    base: int
    order: str  # struct byte order: "<" (II) or ">" (MM)
    lo: int
    hi: int

    def read(self, pos: int, size: int) -> bytes | None:
        """`size` bytes at absolute position `pos`, or None when they are not all there."""
        if size < 0 or pos < self.lo or pos + size > self.hi:
            return None
        return bytes(self.buf[pos : pos + size])

    def unpack(self, fmt: str, pos: int) -> tuple | None:
        data = self.read(pos, struct.calcsize(self.order + fmt))
        return None if data is None else struct.unpack(self.order + fmt, data)

    def swapped(self) -> _View:
        return dataclasses.replace(self, order=">" if self.order == "<" else "<")


@dataclasses.dataclass(frozen=True)
class _Entry:
    """One IFD entry with its value bytes resolved (None when they lie outside the data)."""

    tag: int
    type: int
    count: int
    pos: int  # absolute position of the value bytes
    data: bytes | None

    def values(self, order: str, fmt: str) -> tuple | None:
        """The value bytes read as an array of `fmt` ('h', 'i', 'I', ...), as far as they go."""
        if self.data is None:
            return None
        size = struct.calcsize(fmt)
        n = len(self.data) // size
        return struct.unpack(f"{order}{n}{fmt}", self.data[: n * size]) if n else None


def _ifd(view: _View, pos: int) -> dict[int, _Entry] | None:
    """The entries of the IFD at absolute position `pos`, or None when it is not plausibly one."""
    head = view.unpack("H", pos)
    if head is None or not 0 < head[0] <= _MAX_ENTRIES:
        return None
    entries: dict[int, _Entry] = {}
    for i in range(head[0]):
        at = pos + 2 + 12 * i
        raw = view.unpack("HHI", at)
        if raw is None:
            break  # truncated: keep the entries read so far
        tag, type_, count = raw
        if type_ not in _TYPE_SIZE:
            continue
        size = _TYPE_SIZE[type_] * count
        if size <= 4:
            value_pos = at + 8
        else:
            offset = view.unpack("I", at + 8)
            value_pos = view.base + offset[0] if offset else -1
        entries.setdefault(tag, _Entry(tag, type_, count, value_pos, view.read(value_pos, size)))
    return entries


def _ifd_any_order(view: _View, pos: int) -> tuple[_View, dict[int, _Entry]] | None:
    """Maker notes do not always share the file's byte order (ExifTool guesses it too): take
    the order in which the IFD reads as one, with known field types in most entries."""
    for candidate in (view, view.swapped()):
        entries = _ifd(candidate, pos)
        count = candidate.unpack("H", pos)
        if entries and count and len(entries) * 2 >= count[0]:
            return candidate, entries
    return None


def _tiff_view(buf: bytes | mmap.mmap, start: int, end: int) -> _View | None:
    order = {b"II": "<", b"MM": ">"}.get(bytes(buf[start : start + 2]))
    # The magic number (42; 'RO' in ORF, 0x55 in RW2) is not checked: the IFDs decide.
    return None if order is None else _View(buf, start, order, start, end)


def _jpeg_exif(buf: bytes | mmap.mmap) -> _View | None:
    """The TIFF block of a JPEG's Exif APP1 segment (the first one; markers before SOS)."""
    pos = 2
    while pos + 4 <= len(buf):
        if buf[pos] != 0xFF:
            return None
        marker = buf[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # standalone markers: no length
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # SOS / EOI: no more metadata segments
            return None
        (length,) = struct.unpack_from(">H", buf, pos + 2)
        end = min(pos + 2 + length, len(buf))
        if marker == 0xE1 and bytes(buf[pos + 4 : pos + 10]) == b"Exif\0\0":
            return _tiff_view(buf, pos + 10, end)
        if length < 2:
            return None
        pos += 2 + length
    return None


def _text(entry: _Entry | None) -> str:
    if entry is None or entry.data is None:
        return ""
    return entry.data.split(b"\0", 1)[0].decode("latin-1").strip()


def _adobe_makn(view: _View, entry: _Entry) -> _View | None:
    """The maker note an Adobe DNG keeps in DNGPrivateData: "Adobe\\0", then chunks (4-byte
    name, 4-byte big-endian length, data); chunk 'MakN' holds the original byte order (2),
    the maker note's original file offset (4, big-endian) and the maker note itself. Offsets
    inside it still count from the original file's TIFF header, hence the shifted base; data
    the maker note pointed to outside its own block was not copied (reads there fail)."""
    data = entry.data
    if data is None or not data.startswith(b"Adobe\0"):
        return None
    at = 6
    while at + 8 <= len(data):
        name = data[at : at + 4]
        (size,) = struct.unpack_from(">I", data, at + 4)
        body = at + 8
        if name == b"MakN" and size >= 6 and body + size <= len(data):
            order = {b"II": "<", b"MM": ">"}.get(data[body : body + 2])
            if order is None:
                return None
            (original,) = struct.unpack_from(">I", data, body + 2)
            start = entry.pos + body + 6
            end = entry.pos + body + size
            return _View(view.buf, start - original, order, start, end)
        at = body + size
    return None


@dataclasses.dataclass(frozen=True)
class _MakerNote:
    maker: str  # "sony", "canon", "nikon"
    view: _View
    entries: dict[int, _Entry]


def _maker_note(view: _View, pos: int, size: int, make: str) -> _MakerNote | None:
    """Parse the maker note whose bytes start at absolute `pos`, by its header or the Make."""
    head = view.read(pos, min(size, 16)) or b""
    if head.startswith(b"Nikon\0\x02"):
        inner = _tiff_view(view.buf, pos + 10, view.hi)
        first = inner.unpack("I", pos + 14) if inner else None
        found = _ifd_any_order(inner, inner.base + first[0]) if inner and first else None
        return _MakerNote("nikon", *found) if found else None
    if head.startswith((b"SONY DSC ", b"SONY CAM ", b"SONY MOBILE")):
        maker, ifd_pos = "sony", pos + 12
    elif head.startswith((b"SONY PI", b"PREMI\0", b"\0\0SONY PIC\0", b"SEMC MS\0", b"Nikon\0")):
        return None  # other layouts (Olympus-style Sony compacts, Ericsson, Nikon type 2)
    elif make.startswith("SONY"):
        maker, ifd_pos = "sony", pos  # ARW / SR2: a bare IFD
    elif make.startswith("CANON"):
        maker, ifd_pos = "canon", pos
    elif make.startswith("NIKON"):
        maker, ifd_pos = "nikon", pos  # early Nikon bodies: a bare IFD
    else:
        return None
    found = _ifd_any_order(view, ifd_pos)
    return _MakerNote(maker, *found) if found else None


def _find_maker_note(buf: bytes | mmap.mmap) -> _MakerNote | None:
    is_jpeg = bytes(buf[:2]) == b"\xff\xd8"
    tiff = _jpeg_exif(buf) if is_jpeg else _tiff_view(buf, 0, len(buf))
    first = tiff.unpack("I", tiff.base + 4) if tiff else None
    ifd0 = _ifd(tiff, tiff.base + first[0]) if tiff and first else None
    if not ifd0:
        return None
    make = _text(ifd0.get(_MAKE)).upper()
    exif_pointer = ifd0.get(_EXIF_IFD)
    offset = exif_pointer.values(tiff.order, "I") if exif_pointer else None
    exif = _ifd(tiff, tiff.base + offset[0]) if offset else None
    note = exif.get(_MAKER_NOTE) if exif else None
    if note is not None and note.data is not None:
        return _maker_note(tiff, note.pos, len(note.data), make)
    private = ifd0.get(_DNG_PRIVATE)
    makn = _adobe_makn(tiff, private) if private else None
    return _maker_note(makn, makn.lo, makn.hi - makn.lo, make) if makn else None


def _binary(note: _MakerNote, tag: int, fmt: str, index: int, size_word: int | None = None):
    """Element `index` of tag `tag` read as an array of `fmt`, or None. With `size_word`, the
    block counts only if its element `size_word` equals its length in bytes."""
    entry = note.entries.get(tag)
    values = entry.values(note.view.order, fmt) if entry else None
    if values is None or index >= len(values) or (size_word or 0) >= len(values):
        return None
    if size_word is not None and values[size_word] != len(entry.data):
        return None
    return values[index]


def _sony(note: _MakerNote) -> list[tuple[str, str | None]]:
    statements: list[tuple[str, str | None]] = []
    cipher = note.entries.get(0x9405)
    if cipher is not None and cipher.data:
        layout, at = _SONY_9405.get(cipher.data[0], (None, len(cipher.data)))
        if at < len(cipher.data):
            applied = _OFF_ON.get(_SONY_DECIPHER[cipher.data[at]])
            statements.append((f"Sony {layout}[{at:#06x}] DistortionCorrection", applied))
    setting = {0: OFF, 2: ON}.get(_binary(note, 0x2013, "I", 0))
    statements.append(("Sony 0x2013 DistortionCorrectionSetting", setting))
    return statements


def _canon(note: _MakerNote) -> list[tuple[str, str | None]]:
    dlo = _binary(note, 0x4016, "i", 9, size_word=0) == 1 or _binary(
        note, 0x4018, "i", 10, size_word=0
    ) in (1, 2)
    packet = note.entries.get(0x4015)
    # Version byte 0; ExifTool sets aside one other structure that starts 00 40 dc 05.
    packet_ok = packet is not None and (packet.data or b"").startswith(b"\0")
    packet_ok = packet_ok and not packet.data.startswith(b"\x00\x40\xdc\x05")
    return [
        ("Canon DigitalLensOptimizer", ON if dlo else None),
        (
            "Canon 0x4016[7] DistortionCorrectionSetting",
            _OFF_ON.get(_binary(note, 0x4016, "i", 7, size_word=0)),
        ),
        (
            "Canon 0x4015[3] DistortionCorrection",
            _OFF_ON.get(_binary(note, 0x4015, "h", 3, size_word=1)) if packet_ok else None,
        ),
    ]


def _nikon(note: _MakerNote) -> list[tuple[str, str | None]]:
    info = note.entries.get(0x002B)
    control = info.data[4] if info is not None and info.data and len(info.data) > 4 else None
    return [("Nikon 0x002b[4] AutoDistortionControl", {0: OFF, 1: ON, 2: ON}.get(control))]


_READERS: dict[str, Callable[[_MakerNote], list[tuple[str, str | None]]]] = {
    "sony": _sony,
    "canon": _canon,
    "nikon": _nikon,
}


def _statements(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """What the maker note says, as (where, 'on'/'off'), most authoritative first; [] when it
    says nothing or cannot be read."""
    try:
        with Path(path).open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            note = _find_maker_note(buf)
            said = _READERS[note.maker](note) if note else []
    except (OSError, ValueError, struct.error, IndexError, OverflowError):
        return []  # unreadable, empty (mmap refuses 0 bytes) or damaged: it does not say
    return [(where, value) for where, value in said if value is not None]


def distortion_correction(path: str | os.PathLike[str]) -> str | None:
    """'on' when the body's maker note says it corrected distortion in camera (in the JPEG),
    'off' when it says it did not, None when there is no maker note or it does not say (see the
    module docstring for the tags read). Never raises on a damaged or unreadable file."""
    said = _statements(path)
    return said[0][1] if said else None
