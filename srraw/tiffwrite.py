"""Minimal little-endian TIFF writing: Bayer DNGs that LibRaw reads, and EXIF APP1 for JPEGs.

One IFD encoder serves both: a DNG is a TIFF file, and a JPEG's EXIF block is a small TIFF
file (header, IFD0, EXIF sub-IFD) behind an "Exif\\0\\0" APP1 marker.
"""

from __future__ import annotations

import datetime
import itertools
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from srraw.exif import Exif

SOFTWARE_NAME = "srraw"


@dataclass(frozen=True)
class DngMeta:
    """What a Bayer DNG needs besides the pixels."""

    exif: Exif
    cfa: str  # "RGGB" | "BGGR" | "GRBG" | "GBRG"
    black_level: tuple[int, int, int, int]  # per 2x2 position, reading order
    white_level: int
    as_shot_neutral: tuple[float, float, float]  # camera R, G, B neutral (= 1 / WB multiplier)
    color_matrix1: tuple[float, ...]  # 9 values, XYZ(D65) -> camera, row-major
    unique_camera_model: str | None = None  # default "<make> <model>"


# TIFF field types.
_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _UNDEFINED, _SRATIONAL = 1, 2, 3, 4, 5, 7, 10

# Tags (TIFF 6, TIFF/EP, EXIF 2.3, DNG 1.4).
NEW_SUBFILE_TYPE = 254
IMAGE_WIDTH = 256
IMAGE_LENGTH = 257
BITS_PER_SAMPLE = 258
COMPRESSION = 259
PHOTOMETRIC = 262
MAKE = 271
MODEL = 272
STRIP_OFFSETS = 273
ORIENTATION = 274
SAMPLES_PER_PIXEL = 277
ROWS_PER_STRIP = 278
STRIP_BYTE_COUNTS = 279
PLANAR_CONFIGURATION = 284
SOFTWARE = 305
DATE_TIME = 306
CFA_REPEAT_PATTERN_DIM = 33421
CFA_PATTERN = 33422
EXPOSURE_TIME = 33434
F_NUMBER = 33437
EXIF_IFD = 34665
ISO_SPEED_RATINGS = 34855
SENSITIVITY_TYPE = 34864
RECOMMENDED_EXPOSURE_INDEX = 34866
EXIF_VERSION = 36864
DATE_TIME_ORIGINAL = 36867
OFFSET_TIME_ORIGINAL = 36881
FOCAL_LENGTH = 37386
SUBSEC_TIME_ORIGINAL = 37521
PIXEL_X_DIMENSION = 40962
PIXEL_Y_DIMENSION = 40963
BODY_SERIAL_NUMBER = 42033
LENS_MODEL = 42036
DNG_VERSION = 50706
DNG_BACKWARD_VERSION = 50707
UNIQUE_CAMERA_MODEL = 50708
CFA_PLANE_COLOR = 50710
CFA_LAYOUT = 50711
BLACK_LEVEL_REPEAT_DIM = 50713
BLACK_LEVEL = 50714
WHITE_LEVEL = 50717
COLOR_MATRIX1 = 50721
AS_SHOT_NEUTRAL = 50728
CALIBRATION_ILLUMINANT1 = 50778

_PHOTOMETRIC_CFA = 32803
_D65 = 21
_CFA_COLORS = {"R": 0, "G": 1, "B": 2}
_CFA_LAYOUTS = ("RGGB", "BGGR", "GRBG", "GBRG")
_STRIP_BYTES = 1 << 20  # target strip size; readers buffer one strip at a time
_MAX_DENOMINATOR = 1_000_000


@dataclass(frozen=True)
class _Field:
    """One IFD entry with its value already packed little-endian."""

    tag: int
    type: int
    count: int
    data: bytes


def _packed(tag: int, type_: int, fmt: str, values: Sequence[int]) -> _Field:
    try:
        data = struct.pack(f"<{len(values)}{fmt}", *values)
    except struct.error as exc:
        raise ValueError(f"TIFF tag {tag}: {list(values)} out of range for its type") from exc
    return _Field(tag, type_, len(values), data)


def _bytes(tag: int, values: Sequence[int], type_: int = _BYTE) -> _Field:
    return _packed(tag, type_, "B", values)


def _shorts(tag: int, *values: int) -> _Field:
    return _packed(tag, _SHORT, "H", values)


def _longs(tag: int, *values: int) -> _Field:
    return _packed(tag, _LONG, "I", values)


def _ascii(tag: int, text: str) -> _Field:
    raw = text.encode("utf-8")
    if b"\0" in raw:
        raise ValueError(f"TIFF tag {tag}: text {text!r} contains a NUL character")
    return _Field(tag, _ASCII, len(raw) + 1, raw + b"\0")  # the count includes the NUL


def _fraction(value: float) -> Fraction:
    # limit_denominator turns binary floats back into the short decimal fraction meant
    # (1/30 s -> 1/30, 70.4 mm -> 352/5), which then reads back as the same float.
    try:
        return Fraction(value).limit_denominator(_MAX_DENOMINATOR)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"cannot write {value!r} as a TIFF rational") from exc


def _rationals(tag: int, *values: float, signed: bool = False) -> _Field:
    pairs = [n for f in map(_fraction, values) for n in (f.numerator, f.denominator)]
    packed = _packed(tag, _SRATIONAL if signed else _RATIONAL, "i" if signed else "I", pairs)
    return _Field(tag, packed.type, len(values), packed.data)  # counts rationals, not integers


def _ifd_size(fields: Sequence[_Field]) -> int:
    """Bytes taken by an IFD together with the values that do not fit in its entries."""
    overflow = sum(len(f.data) + len(f.data) % 2 for f in fields if len(f.data) > 4)
    return 2 + 12 * len(fields) + 4 + overflow


def _encode_ifd(fields: Sequence[_Field], offset: int) -> bytes:
    """The IFD as placed at file offset `offset`, followed by its out-of-line values."""
    fields = sorted(fields, key=lambda f: f.tag)  # TIFF requires ascending tags
    tags = [f.tag for f in fields]
    if len(set(tags)) != len(tags):
        raise ValueError(f"duplicate TIFF tags in one IFD: {tags}")
    value_offset = offset + 2 + 12 * len(fields) + 4
    entries = [struct.pack("<H", len(fields))]
    values = []
    for field in fields:
        if len(field.data) <= 4:
            inline = field.data.ljust(4, b"\0")
        else:
            inline = struct.pack("<I", value_offset)
            padded = field.data + b"\0" * (len(field.data) % 2)  # keep offsets word-aligned
            values.append(padded)
            value_offset += len(padded)
        entries.append(struct.pack("<HHI", field.tag, field.type, field.count) + inline)
    entries.append(struct.pack("<I", 0))  # no next IFD
    return b"".join(entries + values)


def _tiff(ifd0: list[_Field], exif: list[_Field], strip_sizes: Sequence[int] = ()) -> bytes:
    """Header, IFD0 and its EXIF sub-IFD; the strips, if any, must follow these bytes directly."""

    def pointers(exif_offset: int, data_offset: int) -> list[_Field]:
        fields = [_longs(EXIF_IFD, exif_offset)]
        if strip_sizes:
            offsets = itertools.accumulate([data_offset, *strip_sizes[:-1]])
            fields += [_longs(STRIP_OFFSETS, *offsets), _longs(STRIP_BYTE_COUNTS, *strip_sizes)]
        return fields

    # Pointer values do not change the IFD sizes, so size with zeros, then fill them in.
    exif_offset = 8 + _ifd_size(ifd0 + pointers(0, 0))
    data_offset = exif_offset + _ifd_size(exif)
    header = b"II*\0" + struct.pack("<I", 8)
    out = (
        header
        + _encode_ifd(ifd0 + pointers(exif_offset, data_offset), 8)
        + _encode_ifd(exif, exif_offset)
    )
    assert len(out) == data_offset
    return out


def _exif_datetime(when: datetime.datetime) -> str:
    return when.strftime("%Y:%m:%d %H:%M:%S")


def _exif_utc_offset(offset: datetime.timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _ifd0_fields(meta: Exif) -> list[_Field]:
    """IFD0 tags shared by the DNG and the JPEG (the EXIF pointer is added by _tiff)."""
    orientation = 1 if meta.orientation is None else meta.orientation
    if not 1 <= orientation <= 8:
        raise ValueError(f"EXIF orientation must be 1..8, got {orientation}")
    fields = [_ascii(tag, text) for tag, text in ((MAKE, meta.make), (MODEL, meta.model)) if text]
    fields += [_shorts(ORIENTATION, orientation), _ascii(SOFTWARE, SOFTWARE_NAME)]
    if meta.capture_time is not None:
        fields.append(_ascii(DATE_TIME, _exif_datetime(meta.capture_time)))
    return fields


def _exif_fields(meta: Exif, image_size: tuple[int, int] | None = None) -> list[_Field]:
    """EXIF sub-IFD tags; image_size is (width, height) of the JPEG, when known."""
    fields = [_bytes(EXIF_VERSION, b"0230", _UNDEFINED)]
    if meta.exposure_time_s is not None:
        fields.append(_rationals(EXPOSURE_TIME, meta.exposure_time_s))
    if meta.f_number is not None:
        fields.append(_rationals(F_NUMBER, meta.f_number))
    if meta.iso is not None:
        # ISOSpeedRatings is a SHORT; EXIF 2.3 says write 65535 above that and give the real
        # value as the recommended exposure index.
        fields.append(_shorts(ISO_SPEED_RATINGS, min(meta.iso, 65535)))
        if meta.iso > 65535:
            fields.append(_shorts(SENSITIVITY_TYPE, 2))
            fields.append(_longs(RECOMMENDED_EXPOSURE_INDEX, meta.iso))
    if meta.capture_time is not None:
        when = meta.capture_time
        fields.append(_ascii(DATE_TIME_ORIGINAL, _exif_datetime(when)))
        if when.microsecond:
            fields.append(_ascii(SUBSEC_TIME_ORIGINAL, f"{when.microsecond:06d}"))
        if when.utcoffset() is not None:
            fields.append(_ascii(OFFSET_TIME_ORIGINAL, _exif_utc_offset(when.utcoffset())))
    if meta.focal_length_mm is not None:
        fields.append(_rationals(FOCAL_LENGTH, meta.focal_length_mm))
    if image_size is not None:
        fields.append(_longs(PIXEL_X_DIMENSION, image_size[0]))
        fields.append(_longs(PIXEL_Y_DIMENSION, image_size[1]))
    if meta.serial is not None:
        fields.append(_ascii(BODY_SERIAL_NUMBER, meta.serial))
    if meta.lens_model is not None:
        fields.append(_ascii(LENS_MODEL, meta.lens_model))
    return fields


def _check_mosaic(mosaic: np.ndarray) -> None:
    if not isinstance(mosaic, np.ndarray):
        raise ValueError(f"mosaic must be a numpy array, got {type(mosaic).__name__}")
    if mosaic.dtype.kind != "u" or mosaic.itemsize != 2:
        raise ValueError(f"mosaic must be uint16, got {mosaic.dtype}")
    if mosaic.ndim != 2:
        raise ValueError(f"mosaic must be 2-D, got shape {mosaic.shape}")
    height, width = mosaic.shape
    if height == 0 or width == 0 or height % 2 or width % 2:
        raise ValueError(f"mosaic height and width must be even and non-zero, got {mosaic.shape}")


def _dng_fields(meta: DngMeta, width: int, height: int, rows_per_strip: int) -> list[_Field]:
    if meta.cfa not in _CFA_LAYOUTS:
        expected = ", ".join(_CFA_LAYOUTS)
        raise ValueError(f"unknown CFA layout {meta.cfa!r}; expected one of {expected}")
    if len(meta.black_level) != 4:
        raise ValueError(f"black_level needs 4 values, one per 2x2 position: {meta.black_level}")
    if not 0 < meta.white_level <= 65535:
        raise ValueError(f"white_level must be in 1..65535, got {meta.white_level}")
    if any(not 0 <= b < meta.white_level for b in meta.black_level):
        raise ValueError(f"black levels {meta.black_level} must be in 0..white_level-1")
    if len(meta.as_shot_neutral) != 3 or any(not v > 0 for v in meta.as_shot_neutral):
        raise ValueError(f"as_shot_neutral needs 3 positive values, got {meta.as_shot_neutral}")
    if len(meta.color_matrix1) != 9:
        raise ValueError(f"color_matrix1 needs 9 values, got {len(meta.color_matrix1)}")
    exif = meta.exif
    camera_model = meta.unique_camera_model or f"{exif.make} {exif.model}"
    return [
        *_ifd0_fields(exif),
        _longs(NEW_SUBFILE_TYPE, 0),  # the full-resolution main image
        _longs(IMAGE_WIDTH, width),
        _longs(IMAGE_LENGTH, height),
        _shorts(BITS_PER_SAMPLE, 16),
        _shorts(COMPRESSION, 1),
        _shorts(PHOTOMETRIC, _PHOTOMETRIC_CFA),
        _shorts(SAMPLES_PER_PIXEL, 1),
        _longs(ROWS_PER_STRIP, rows_per_strip),
        _shorts(PLANAR_CONFIGURATION, 1),
        _shorts(CFA_REPEAT_PATTERN_DIM, 2, 2),
        _bytes(CFA_PATTERN, [_CFA_COLORS[c] for c in meta.cfa]),
        _bytes(DNG_VERSION, [1, 4, 0, 0]),
        _bytes(DNG_BACKWARD_VERSION, [1, 1, 0, 0]),
        _ascii(UNIQUE_CAMERA_MODEL, camera_model),
        _bytes(CFA_PLANE_COLOR, [0, 1, 2]),
        _shorts(CFA_LAYOUT, 1),
        _shorts(BLACK_LEVEL_REPEAT_DIM, 2, 2),
        _longs(BLACK_LEVEL, *(int(b) for b in meta.black_level)),
        _longs(WHITE_LEVEL, int(meta.white_level)),
        _rationals(COLOR_MATRIX1, *meta.color_matrix1, signed=True),
        _rationals(AS_SHOT_NEUTRAL, *meta.as_shot_neutral),
        _shorts(CALIBRATION_ILLUMINANT1, _D65),
    ]


def encode_dng(mosaic: np.ndarray, meta: DngMeta) -> bytes:
    """A Bayer mosaic (2-D uint16, even shape) as the bytes of an uncompressed little-endian DNG."""
    _check_mosaic(mosaic)
    height, width = mosaic.shape
    row_bytes = 2 * width
    rows_per_strip = max(1, min(height, _STRIP_BYTES // row_bytes))
    strip_sizes = [
        row_bytes * min(rows_per_strip, height - top) for top in range(0, height, rows_per_strip)
    ]
    header = _tiff(
        _dng_fields(meta, width, height, rows_per_strip), _exif_fields(meta.exif), strip_sizes
    )
    # The strips lie back to back, so the whole image goes out as one little-endian buffer.
    return header + np.ascontiguousarray(mosaic, dtype="<u2").tobytes()


def write_dng(path: str | os.PathLike[str], mosaic: np.ndarray, meta: DngMeta) -> None:
    """Write a Bayer mosaic as a DNG file (the caller picks a temporary name for atomicity)."""
    with open(path, "wb") as fh:
        fh.write(encode_dng(mosaic, meta))


def exif_app1(meta: Exif, image_size: tuple[int, int] | None = None) -> bytes:
    """A complete JPEG APP1 Exif segment (marker included); image_size is (width, height)."""
    payload = b"Exif\0\0" + _tiff(_ifd0_fields(meta), _exif_fields(meta, image_size))
    if len(payload) + 2 > 0xFFFF:
        raise ValueError(f"EXIF block of {len(payload)} bytes does not fit in one APP1 segment")
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


# Start-of-frame markers carry the image size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])  # no length field
_APP0, _APP1, _SOS = 0xE0, 0xE1, 0xDA


def add_exif_to_jpeg(jpeg_bytes: bytes, meta: Exif) -> bytes:
    """The JPEG with an Exif APP1 right after SOI, replacing any APP0 (JFIF) and APP1 segments."""
    if not jpeg_bytes.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG: no SOI marker")
    kept: list[bytes] = []
    image_size = None
    pos = 2
    while True:
        if pos + 2 > len(jpeg_bytes) or jpeg_bytes[pos] != 0xFF:
            raise ValueError(f"malformed JPEG: no marker at byte {pos}")
        marker = jpeg_bytes[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == _SOS:  # entropy-coded data follows; copy the rest verbatim
            break
        if marker in _STANDALONE_MARKERS:
            kept.append(jpeg_bytes[pos : pos + 2])
            pos += 2
            continue
        if pos + 4 > len(jpeg_bytes):
            raise ValueError("malformed JPEG: truncated segment header")
        (length,) = struct.unpack_from(">H", jpeg_bytes, pos + 2)
        end = pos + 2 + length
        if length < 2 or end > len(jpeg_bytes):
            raise ValueError(f"malformed JPEG: bad segment length at byte {pos}")
        if marker in _SOF_MARKERS and length >= 7:
            height, width = struct.unpack_from(">HH", jpeg_bytes, pos + 5)
            image_size = (width, height)
        if marker not in (_APP0, _APP1):
            kept.append(jpeg_bytes[pos:end])
        pos = end
    return b"\xff\xd8" + exif_app1(meta, image_size) + b"".join(kept) + jpeg_bytes[pos:]
