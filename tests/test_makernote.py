"""srraw.makernote: the body's distortion-correction setting from real and constructed maker notes.

The constructed maker notes follow the layouts ExifTool documents (Sony.pm, Canon.pm, Nikon.pm,
DNG.pm), built here byte by byte in either byte order, with Sony's cipher applied the way
ExifTool states it (c = b^3 mod 249), independently of the module's inverse table.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from srraw.exif import Exif
from srraw.makernote import _SONY_DECIPHER, _statements, distortion_correction
from srraw.tiffwrite import add_exif_to_jpeg
from tests.conftest import shared_file

SR_RAW_JPEG = (
    "zoom-learn-zoom/00134.JPG"  # SONY ILCE-7SM2, exiftool: "Distortion Correction Setting: Auto"
)

BYTE, ASCII, SHORT, LONG, UNDEFINED, SLONG = 1, 2, 3, 4, 7, 9


def _encipher(data: bytes) -> bytes:
    return bytes(pow(b, 3, 249) if b < 249 else b for b in data)


def _ifd(order: str, entries: list[tuple[int, int, int, bytes]], at: int) -> bytes:
    """An IFD that will sit at TIFF offset `at`, its out-of-line values right after it."""
    extra_at = at + 2 + 12 * len(entries) + 4
    table, extra = b"", b""
    for tag, type_, count, payload in sorted(entries):
        if len(payload) <= 4:
            value = payload.ljust(4, b"\0")
        else:
            value = struct.pack(order + "I", extra_at + len(extra))
            extra += payload + b"\0" * (len(payload) % 2)
        table += struct.pack(order + "HHI", tag, type_, count) + value
    return struct.pack(order + "H", len(entries)) + table + b"\0\0\0\0" + extra


def _ascii(tag: int, text: str) -> tuple[int, int, int, bytes]:
    data = text.encode() + b"\0"
    return (tag, ASCII, len(data), data)


def _long(order: str, tag: int, value: int) -> tuple[int, int, int, bytes]:
    return (tag, LONG, 1, struct.pack(order + "I", value))


def _tiff(order: str, make: str, maker_note, extra_ifd0=()) -> bytes:
    """A TIFF block: IFD0 (Make, Model, Exif pointer) -> Exif IFD -> MakerNote. `maker_note`
    is called with the note's TIFF offset (Sony and Canon notes point relative to the TIFF)."""
    mark = b"II*\0" if order == "<" else b"MM\0*"
    ifd0_entries = [
        _ascii(0x010F, make),
        _ascii(0x0110, "Body"),
        *extra_ifd0,
    ]
    placeholder = _ifd(order, [*ifd0_entries, _long(order, 0x8769, 0)], 8)
    exif_at = 8 + len(placeholder)
    ifd0 = _ifd(order, [*ifd0_entries, _long(order, 0x8769, exif_at)], 8)
    if maker_note is None:
        return mark + struct.pack(order + "I", 8) + ifd0 + _ifd(order, [], exif_at)
    note = maker_note(exif_at + 2 + 12 + 4)
    exif = _ifd(order, [(0x927C, UNDEFINED, len(note), note)], exif_at)
    return mark + struct.pack(order + "I", 8) + ifd0 + exif


def _sony_note(order: str, setting: int | None, applied: int | None, header: bool = True):
    """A Sony maker note: 0x2013 DistortionCorrectionSetting and/or an enciphered 0x9405b block
    (first byte 0x25, one of the 9405b version bytes) with DistortionCorrection at 0x005b."""

    def build(at: int) -> bytes:
        entries = [(0x2002, LONG, 1, struct.pack(order + "I", 0))]  # Rating, a neighbour
        if setting is not None:
            entries.append((0x2013, LONG, 1, struct.pack(order + "I", setting)))
        if applied is not None:
            plain = bytearray((7 + i) % 249 for i in range(256))  # arbitrary content
            plain[0x5B] = applied
            block = bytearray(_encipher(bytes(plain)))
            block[0] = 0x25
            entries.append((0x9405, UNDEFINED, len(block), bytes(block)))
        head = b"SONY DSC \0\0\0" if header else b""
        return head + _ifd(order, entries, at + len(head))

    return build


def _jpeg(path: Path, app1_tiff: bytes | None = None) -> Path:
    rng = np.random.default_rng(0)
    ok, encoded = cv2.imencode(".jpg", rng.integers(0, 255, (16, 24, 3), dtype=np.uint8))
    assert ok
    data = encoded.tobytes()
    if app1_tiff is not None:
        payload = b"Exif\0\0" + app1_tiff
        data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]
    path.write_bytes(data)
    return path


def test_real_sr_raw_jpeg_says_on():
    path = shared_file(SR_RAW_JPEG)
    assert distortion_correction(path) == "on"
    assert distortion_correction(str(path)) == "on"
    # Both Sony statements decode and agree: what the body did (enciphered 0x9405b, byte
    # 0x005b: "Applied") and its menu setting (0x2013: 2 = "Auto").
    assert _statements(path) == [
        ("Sony 9405b[0x005b] DistortionCorrection", "on"),
        ("Sony 0x2013 DistortionCorrectionSetting", "on"),
    ]


def test_truncated_sr_raw_jpeg_never_raises(tmp_path):
    data = shared_file(SR_RAW_JPEG).read_bytes()
    seen = {}
    for cut in (0, 1, 2, 3, 11, 100, 500, 940, 1000, 1500, 3000, 9000, 9700, 20000, 38000, 48000):
        copy = tmp_path / f"cut{cut}.JPG"
        copy.write_bytes(data[:cut])
        seen[cut] = distortion_correction(copy)
    # A cut never invents a statement: only "on" (what survives of the real note) or nothing.
    assert set(seen.values()) <= {"on", None}
    assert seen[0] is None and seen[100] is None  # before the maker note
    assert seen[48000] == "on"  # the whole Exif segment (47.7 kB) survived


def test_damaged_sr_raw_maker_note_never_raises(tmp_path):
    data = bytearray(shared_file(SR_RAW_JPEG).read_bytes()[:48000])
    rng = np.random.default_rng(12)
    copy = tmp_path / "damaged.JPG"
    for _ in range(40):
        damaged = bytearray(data)
        for at in rng.integers(12, 47000, size=30):
            damaged[at] = int(rng.integers(0, 256))
        copy.write_bytes(bytes(damaged))
        assert distortion_correction(copy) in ("on", "off", None)


def test_jpeg_without_exif_or_maker_note(tmp_path):
    assert distortion_correction(_jpeg(tmp_path / "plain.jpg")) is None
    # The JPEGs srraw writes itself (synth, simcam) carry EXIF but no maker note.
    plain = (tmp_path / "plain.jpg").read_bytes()
    ours = tmp_path / "ours.jpg"
    ours.write_bytes(add_exif_to_jpeg(plain, Exif(make="SONY", model="ILCE-7SM2")))
    assert distortion_correction(ours) is None
    assert distortion_correction(_jpeg(tmp_path / "nonote.jpg", _tiff("<", "SONY", None))) is None


def test_not_images_and_missing_files(tmp_path):
    (tmp_path / "empty.JPG").write_bytes(b"")
    (tmp_path / "text.ARW").write_text("not a raw file\n")
    for name in ("empty.JPG", "text.ARW", "missing.JPG"):
        assert distortion_correction(tmp_path / name) is None
    assert distortion_correction(tmp_path) is None  # a folder


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize(
    ("setting", "applied", "expected"),
    [
        (0, None, "off"),  # Off
        (2, None, "on"),  # Auto
        (0xFFFFFFFF, None, None),  # n/a (RX100)
        (2, 0, "off"),  # Auto, but not applied (a lens the body has no data for)
        (0, 1, "on"),
        (None, 1, "on"),
        (None, 0, "off"),
    ],
)
def test_constructed_sony_jpeg(tmp_path, order, setting, applied, expected):
    tiff = _tiff(order, "SONY", _sony_note(order, setting, applied))
    assert distortion_correction(_jpeg(tmp_path / "sony.JPG", tiff)) == expected


def test_sony_maker_note_in_the_other_byte_order(tmp_path):
    # A little-endian note inside a big-endian TIFF: the note's order is guessed from its IFD.
    tiff = _tiff(">", "SONY", _sony_note("<", 0, None))
    assert distortion_correction(_jpeg(tmp_path / "mixed.JPG", tiff)) == "off"


def test_sony_arw_with_a_bare_maker_note(tmp_path):
    path = tmp_path / "00001.ARW"
    path.write_bytes(_tiff("<", "SONY", _sony_note("<", 0, 0, header=False)) + b"\0" * 4096)
    assert distortion_correction(path) == "off"
    # The same bare IFD under another maker's name is not read as Sony's.
    path.write_bytes(_tiff("<", "FUJIFILM", _sony_note("<", 0, 0, header=False)))
    assert distortion_correction(path) is None


def _adobe_makn(order: str, note: bytes, original_offset: int) -> tuple[int, int, int, bytes]:
    makn = (b"II" if order == "<" else b"MM") + struct.pack(">I", original_offset) + note
    private = b"Adobe\0" + b"MakN" + struct.pack(">I", len(makn)) + makn
    return (0xC634, BYTE, len(private), private)


@pytest.mark.parametrize("order", ["<", ">"])
def test_dng_keeps_the_maker_note_in_adobe_private_data(tmp_path, order):
    # The note as it sat in the original ARW at offset 5000; its out-of-line 0x9405 block still
    # points there, so it is found only if offsets are shifted to the MakN copy.
    original = 5000
    note = _sony_note(order, 2, 0, header=False)(original)
    tiff = _tiff(order, "SONY", None, extra_ifd0=[_adobe_makn(order, note, original)])
    path = tmp_path / "00001.DNG"
    path.write_bytes(tiff)
    assert distortion_correction(path) == "off"  # from 0x9405 ("None"), not 0x2013 (Auto)


def test_real_raws_of_other_makers_do_not_say():
    # Canon 350D (maker note in DNG MakN, from before lens correction), Panasonic RW2, GoPro.
    for name in ("exiftool/DNG.dng", "exiftool/Panasonic.rw2", "gopro-gpr/GOPR0024.DNG"):
        assert distortion_correction(shared_file(name)) is None


def _canon_note(order: str, distortion: int, dlo: int, size_ok: bool = True):
    def build(at: int) -> bytes:
        values = [0] * 10
        values[0] = 4 * len(values) if size_ok else 12
        values[7], values[9] = distortion, dlo
        block = struct.pack(f"{order}10i", *values)
        return _ifd(order, [(0x4016, SLONG, len(values), block)], at)

    return build


@pytest.mark.parametrize(
    ("distortion", "dlo", "size_ok", "expected"),
    [(0, 0, True, "off"), (1, 0, True, "on"), (0, 1, True, "on"), (1, 0, False, None)],
)
def test_constructed_canon_cr2(tmp_path, distortion, dlo, size_ok, expected):
    path = tmp_path / "IMG_0001.CR2"
    path.write_bytes(_tiff("<", "Canon", _canon_note("<", distortion, dlo, size_ok)))
    assert distortion_correction(path) == expected


@pytest.mark.parametrize(("control", "expected"), [(0, "off"), (1, "on"), (2, "on"), (7, None)])
def test_constructed_nikon_jpeg(tmp_path, control, expected):
    def build(at: int) -> bytes:
        # "Nikon\0" + version + 2 bytes, then its own big-endian TIFF header: offsets count
        # from that header, not from the file's.
        inner = _ifd(">", [(0x002B, UNDEFINED, 16, b"0100" + bytes([control]) + b"\0" * 11)], 8)
        return b"Nikon\0\x02\x10\0\0" + b"MM\0*" + struct.pack(">I", 8) + inner

    tiff = _tiff("<", "NIKON CORPORATION", build)
    assert distortion_correction(_jpeg(tmp_path / "DSC_0001.JPG", tiff)) == expected


def test_sony_decipher_inverts_the_documented_cipher():
    table = _SONY_DECIPHER
    assert bytes(table[c] for c in _encipher(bytes(range(256)))) == bytes(range(256))
    # The first bytes of 00134.JPG's 0x9405 block as stored and as `exiftool -v3` deciphers them.
    assert bytes(table[c] for c in bytes.fromhex("253f14ea00700070b40078")) == bytes.fromhex(
        "8ec08c0c00100010ae00e1"
    )


def test_every_cut_of_constructed_files_is_safe(tmp_path):
    files = {
        "sony.JPG": _jpeg(tmp_path / "s.jpg", _tiff(">", "SONY", _sony_note(">", 2, 1))),
        "canon.CR2": _tiff("<", "Canon", _canon_note("<", 1, 0)),
        "sony.DNG": _tiff("<", "SONY", None, [_adobe_makn("<", _sony_note("<", 0, 0)(900), 900)]),
    }
    path = tmp_path / "cut"
    for name, data in files.items():
        data = data.read_bytes() if isinstance(data, Path) else data
        for cut in range(len(data)):
            path.write_bytes(data[:cut])
            assert distortion_correction(path) in ("on", "off", None), (name, cut)
