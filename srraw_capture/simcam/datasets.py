"""PTP datasets (ISO 15740): strings, arrays, DeviceInfo, StorageInfo, ObjectInfo, DevicePropDesc.

Pure encoding, little-endian as PTP/IP carries it.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

# Data type codes.
INT8, UINT8, INT16, UINT16, INT32, UINT32, INT64, UINT64 = 1, 2, 3, 4, 5, 6, 7, 8
STR = 0xFFFF
_FORMATS = {INT8: "b", UINT8: "B", INT16: "h", UINT16: "H", INT32: "i", UINT32: "I"}
_FORMATS |= {INT64: "q", UINT64: "Q"}

# DevicePropDesc GetSet and form flags.
GET = 0
GET_SET = 1
FORM_NONE, FORM_RANGE, FORM_ENUM = 0, 1, 2

# Storage and object constants.
STORAGE_REMOVABLE_RAM = 0x0004
FILESYSTEM_DCF = 0x0003
ACCESS_READ_WRITE = 0x0000
ASSOCIATION_GENERIC_FOLDER = 0x0001


class DatasetError(ValueError):
    """Bytes that do not decode as the dataset asked for."""


def ptp_string(text: str) -> bytes:
    """u8 length in UCS-2 characters counting the NUL, the characters, the NUL; empty is one 0."""
    if not text:
        return b"\0"
    encoded = text.encode("utf-16-le")
    chars = len(encoded) // 2 + 1
    if chars > 255:
        raise ValueError(f"PTP strings hold at most 254 characters: {text[:20]!r}...")
    return bytes([chars]) + encoded + b"\0\0"


def read_ptp_string(data: bytes, offset: int = 0) -> tuple[str, int]:
    """(text, offset after it)."""
    if offset >= len(data):
        raise DatasetError("string runs past the data")
    chars = data[offset]
    end = offset + 1 + 2 * chars
    if end > len(data):
        raise DatasetError("string runs past the data")
    text = data[offset + 1 : end].decode("utf-16-le", errors="replace")
    return text.rstrip("\0"), end


def u16_array(values: Sequence[int]) -> bytes:
    return struct.pack(f"<I{len(values)}H", len(values), *values)


def u32_array(values: Sequence[int]) -> bytes:
    return struct.pack(f"<I{len(values)}I", len(values), *values)


def pack_value(datatype: int, value: int | str) -> bytes:
    """One property value of the given data type."""
    if datatype == STR:
        return ptp_string(str(value))
    fmt = _FORMATS.get(datatype)
    if fmt is None:
        raise ValueError(f"unsupported PTP data type 0x{datatype:04x}")
    return struct.pack("<" + fmt, value)


def unpack_value(datatype: int, data: bytes) -> int | str:
    """One property value as an initiator sends it in SetDevicePropValue."""
    if datatype == STR:
        return read_ptp_string(data)[0]
    fmt = _FORMATS.get(datatype)
    if fmt is None:
        raise DatasetError(f"unsupported PTP data type 0x{datatype:04x}")
    size = struct.calcsize(fmt)
    if len(data) < size:
        raise DatasetError(f"value of {len(data)} bytes, type 0x{datatype:04x} needs {size}")
    return struct.unpack_from("<" + fmt, data)[0]


def ptp_datetime(when: dt.datetime | None) -> str:
    """PTP's DateTime string, YYYYMMDDThhmmss."""
    return when.strftime("%Y%m%dT%H%M%S") if when else ""


@dataclass(frozen=True)
class DeviceInfo:
    manufacturer: str
    model: str
    device_version: str
    serial_number: str
    operations: Sequence[int]
    events: Sequence[int]
    properties: Sequence[int]
    capture_formats: Sequence[int]
    image_formats: Sequence[int]
    vendor_extension_id: int = 0  # none: libgphoto2 keeps to its generic PTP code paths
    vendor_extension_desc: str = ""

    def pack(self) -> bytes:
        return b"".join(
            [
                struct.pack("<HIH", 100, self.vendor_extension_id, 0),
                ptp_string(self.vendor_extension_desc),
                struct.pack("<H", 0),  # functional mode: standard
                u16_array(self.operations),
                u16_array(self.events),
                u16_array(self.properties),
                u16_array(self.capture_formats),
                u16_array(self.image_formats),
                ptp_string(self.manufacturer),
                ptp_string(self.model),
                ptp_string(self.device_version),
                ptp_string(self.serial_number),
            ]
        )


@dataclass(frozen=True)
class StorageInfo:
    max_capacity: int
    free_bytes: int
    free_images: int
    description: str
    volume_label: str
    storage_type: int = STORAGE_REMOVABLE_RAM
    filesystem_type: int = FILESYSTEM_DCF
    access: int = ACCESS_READ_WRITE

    def pack(self) -> bytes:
        return (
            struct.pack(
                "<HHHQQI",
                self.storage_type,
                self.filesystem_type,
                self.access,
                self.max_capacity,
                self.free_bytes,
                self.free_images,
            )
            + ptp_string(self.description)
            + ptp_string(self.volume_label)
        )


@dataclass(frozen=True)
class ObjectInfo:
    storage_id: int
    object_format: int
    size: int
    filename: str
    parent: int = 0
    width: int = 0
    height: int = 0
    bit_depth: int = 0
    association_type: int = 0
    capture_date: dt.datetime | None = None

    def pack(self) -> bytes:
        return (
            struct.pack(
                "<IHHIHIIIIIIIHII",
                self.storage_id,
                self.object_format,
                0,  # protection status: none
                min(self.size, 0xFFFFFFFF),
                0,  # thumb format: no thumbnail
                0,  # thumb size
                0,  # thumb width
                0,  # thumb height
                self.width,
                self.height,
                self.bit_depth,
                self.parent,
                self.association_type,
                0,  # association desc
                0,  # sequence number
            )
            + ptp_string(self.filename)
            + ptp_string(ptp_datetime(self.capture_date))
            + ptp_string(ptp_datetime(self.capture_date))
            + ptp_string("")  # keywords
        )


@dataclass(frozen=True)
class Range:
    minimum: int
    maximum: int
    step: int


@dataclass(frozen=True)
class Enumeration:
    values: tuple[int | str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PropDesc:
    code: int
    datatype: int
    getset: int
    default: int | str
    current: int | str
    form: Range | Enumeration | None = None

    def pack(self) -> bytes:
        parts = [
            struct.pack("<HHB", self.code, self.datatype, self.getset),
            pack_value(self.datatype, self.default),
            pack_value(self.datatype, self.current),
        ]
        if isinstance(self.form, Range):
            parts.append(bytes([FORM_RANGE]))
            parts += [
                pack_value(self.datatype, v)
                for v in (self.form.minimum, self.form.maximum, self.form.step)
            ]
        elif isinstance(self.form, Enumeration):
            parts.append(bytes([FORM_ENUM]) + struct.pack("<H", len(self.form.values)))
            parts += [pack_value(self.datatype, v) for v in self.form.values]
        else:
            parts.append(bytes([FORM_NONE]))
        return b"".join(parts)

    def allows(self, value: int | str) -> bool:
        """Whether a SetDevicePropValue to `value` is within the form."""
        if isinstance(self.form, Enumeration):
            return value in self.form.values
        if isinstance(self.form, Range):
            return isinstance(value, int) and self.form.minimum <= value <= self.form.maximum
        return True
