"""Sony Alpha personality (`srraw simcam --body sony`, `--body sony-mode3`), as libgphoto2 2.5.34's
camlibs/ptp2 expects a body in PC Remote mode to answer.

What libgphoto2 does with it (library.c fixup_cached_deviceinfo, camera_sony_capture,
camera_trigger_capture and camera_wait_for_event; config.c _put_sony_value_*, _put_Sony_FNumber,
_put_Sony_ShutterSpeedMode2, _put_Sony_ISO; ptp.c ptp_sony_*; ptp-pack.c ptp_unpack_Sony_DPD):

- DeviceInfo: VendorExtensionID 0x11 and Manufacturer "Sony Corporation", operations 0x9201
  (SDIO_Connect), 0x9202 (GetExtDeviceInfo), 0x9205 (SetExtDevicePropValue), 0x9207
  (ControlDevice), 0x9209 (GetAllExtDevicePropInfo); no DeleteObject, no InitiateCapture.
- Init: 9201 phase 1 and 2, 9202 (asks protocol 0x12C; the body answers its own version, 0xC8 in
  mode 2, and its property and control codes), 9201 phase 3, 9205 PriorityMode.
- Every property read is one 0x9209 dump of every property (libgphoto2 caches it 2 s).
- Mode 2 (the SR-RAW body ILCE-7SM2) SETS BY STEPPING: 9207 on the property with a signed step
  (+1 / 0xFF, or a jump of N for ISO and the shutter table), then libgphoto2 polls 0x9209 every
  200 ms until the value moves. This body needs STEP_S per step. Mode 3 writes values directly
  with 9205 (f-number as 4 bytes) but libgphoto2 reads back from its 2 s cache.
- Capture: 9207 half press (0xD2C1 = 2), full press (0xD2C2 = 2), FocusFound 0xD213 polled
  (AF bodies), release; then ObjectInMemory 0xD215 rises to 0x8000 + N and libgphoto2 fetches
  GetObjectInfo / GetObject of handle 0xFFFFC001, one object per event poll (RAW, then JPEG),
  naming each `capt_<name>` in folder "/". The object leaves the body's memory once sent.
- Capture target (StillImageStoreDestination 0xD222, widget `capturetarget`): sdram (0x01,
  the default here), card (0x10), card+sdram (0x11). With the card in it, the files are also
  written to the card (DCIM/100MSDCF); a full card then refuses the release with StoreFull.
- No FocalLength property: libgphoto2 shows no focal length, EXIF is the only source.

The simulated files are DNG bytes under the body's names (DSC00001.ARW): the sensor is simulated.
"""

from __future__ import annotations

import struct
import time
from fractions import Fraction
from typing import ClassVar

from srraw_capture.simcam import codes, props
from srraw_capture.simcam.datasets import (
    INT8,
    UINT8,
    UINT16,
    UINT32,
    DeviceInfo,
    ObjectInfo,
    pack_value,
    u16_array,
)
from srraw_capture.simcam.device import OPERATIONS, Reply, SimCamera, StoredObject
from srraw_capture.simcam.ptpip import OperationRequest
from srraw_capture.simcam.render import Capture, Shot

VENDOR_SONY = 0x11
MANUFACTURER = "Sony Corporation"  # fixup_cached_deviceinfo compares it exactly

SDIO_CONNECT = 0x9201
SDIO_GET_EXT_DEVICE_INFO = 0x9202
SDIO_SET_EXT_DEVICE_PROP_VALUE = 0x9205
SDIO_CONTROL_DEVICE = 0x9207
SDIO_GET_ALL_EXT_DEVICE_PROP_INFO = 0x9209
SDIO_OPERATIONS = (
    SDIO_CONNECT,
    SDIO_GET_EXT_DEVICE_INFO,
    SDIO_SET_EXT_DEVICE_PROP_VALUE,
    SDIO_CONTROL_DEVICE,
    SDIO_GET_ALL_EXT_DEVICE_PROP_INFO,
)
# Standard operations a Sony body does not list: no delete, capture and settings go by SDIO.
NOT_LISTED = (
    codes.DELETE_OBJECT,
    codes.INITIATE_CAPTURE,
    codes.GET_DEVICE_PROP_DESC,
    codes.GET_DEVICE_PROP_VALUE,
    codes.SET_DEVICE_PROP_VALUE,
)

PROTOCOL_MODE2 = 0x00C8
PROTOCOL_MODE3 = 0x012C

EVENT_PROPERTY_CHANGED = 0xC203

FOCUS_MODE = 0x500A
SHUTTER_SPEED = 0xD20D
FOCUS_FOUND = 0xD213
OBJECT_IN_MEMORY = 0xD215
BATTERY_LEVEL = 0xD218
ISO = 0xD21E
STORE_DESTINATION = 0xD222
PRIORITY_MODE = 0xD25A
HALF_RELEASE = 0xD2C1
FULL_RELEASE = 0xD2C2

IN_MEMORY_HANDLE = 0xFFFFC001
IN_MEMORY_BASE = 0x8000

STORE_SDRAM, STORE_CARD, STORE_CARD_SDRAM = 0x01, 0x10, 0x11
AUTO_ISO = 0x00FFFFFF
FOCUS_MANUAL, FOCUS_AF_S = 1, 2

STEP_S = 0.35  # one step of a mode-2 body (a dial turned by the firmware); libgphoto2 polls 0.2 s
FOCUS_S = 0.05  # half press to focus found
PROCESS_S = 0.25  # after the exposure, before the files are in the body's memory

# libgphoto2's sony_shuttertable (config.c): what a mode-2 body steps through, slowest first.
SHUTTER_TABLE = (
    (30, 1), (25, 1), (20, 1), (15, 1), (13, 1), (10, 1), (8, 1), (6, 1), (5, 1), (4, 1),
    (32, 10), (25, 10), (2, 1), (16, 10), (13, 10), (1, 1), (8, 10), (6, 10), (5, 10), (4, 10),
    (1, 3), (1, 4), (1, 5), (1, 6), (1, 8), (1, 10), (1, 13), (1, 15), (1, 20), (1, 25),
    (1, 30), (1, 40), (1, 50), (1, 60), (1, 80), (1, 100), (1, 125), (1, 160), (1, 200),
    (1, 250), (1, 320), (1, 400), (1, 500), (1, 640), (1, 800), (1, 1000), (1, 1250),
    (1, 1600), (1, 2000), (1, 2500), (1, 3200), (1, 4000), (1, 5000), (1, 6400), (1, 8000),
)  # fmt: skip
ISO_VALUES = (AUTO_ISO, *props.ISO_SPEEDS)  # Auto ISO first, as the bodies list it
F_VALUES = tuple(props.fnumber_units(f) for f in props.F_NUMBERS)
# Sony CompressionSetting codes (config.c compressionsetting[]) and the generic ones of the core.
QUALITY_NAMES = {
    0x02: "Standard",
    0x03: "Fine",
    0x04: "Extra Fine",
    0x10: "RAW",
    0x13: "RAW+JPEG (Fine)",
    0x14: "RAW+JPEG (X.Fine)",
}
QUALITY_TO_CORE = {0x02: 0x02, 0x03: 0x02, 0x04: 0x02, 0x10: 0x04, 0x13: 0x07, 0x14: 0x07}
CORE_TO_QUALITY = {0x02: 0x03, 0x04: 0x10, 0x07: 0x13}

# The properties whose 9207 step moves a value (and which the core keeps in its own units).
STEPPED = (codes.F_NUMBER, SHUTTER_SPEED, ISO)
# Sony wire code -> the core's property, for `refuse PROP` and the busy fault.
CORE_CODE = {
    codes.F_NUMBER: codes.F_NUMBER,
    SHUTTER_SPEED: codes.EXPOSURE_TIME,
    ISO: codes.EXPOSURE_INDEX,
    codes.COMPRESSION_SETTING: codes.COMPRESSION_SETTING,
    codes.EXPOSURE_PROGRAM_MODE: codes.EXPOSURE_PROGRAM_MODE,
}


def shutter_word(numerator: int, denominator: int) -> int:
    return numerator << 16 | denominator


def nearest_shutter(seconds: float) -> int:
    """Index in SHUTTER_TABLE of the entry nearest `seconds` (by ratio)."""
    return min(
        range(len(SHUTTER_TABLE)),
        key=lambda i: abs(SHUTTER_TABLE[i][0] / SHUTTER_TABLE[i][1] / seconds - 1),
    )


def sony_dpd(
    code: int,
    datatype: int,
    value: int,
    *,
    getset: int = 0,
    enabled: int = 1,
    enum: tuple[int, ...] | None = None,
    value_range: tuple[int, int, int] | None = None,
) -> bytes:
    """One record of the 0x9209 dump: code, type, getset, isenabled, default, current, form."""
    parts = [
        struct.pack("<HHBB", code, datatype, getset, enabled),
        pack_value(datatype, value),
        pack_value(datatype, value),
    ]
    if enum is not None:
        parts.append(b"\x02" + struct.pack("<H", len(enum)))
        parts += [pack_value(datatype, v) for v in enum]
    elif value_range is not None:
        parts.append(b"\x01")
        parts += [pack_value(datatype, v) for v in value_range]
    else:
        parts.append(b"\x00")
    return b"".join(parts)


class SonyCamera(SimCamera):
    """An ILCE body in PC Remote mode, SDIO protocol mode 2 (stepping) or 3 (direct writes)."""

    MODE: ClassVar[int] = 2
    MODEL: ClassVar[str] = "ILCE-7SM2"
    FOLDER_NAME: ClassVar[str] = "100MSDCF"
    RAW_EXTENSION: ClassVar[str] = "ARW"
    RAW_FORMAT: ClassVar[int] = 0xB101  # PTP_OFC_SONY_RAW
    BUSY_OPERATIONS: ClassVar[frozenset[int]] = frozenset(
        {SDIO_SET_EXT_DEVICE_PROP_VALUE, SDIO_CONTROL_DEVICE}
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.auto_iso = False
        self.quality_code = CORE_TO_QUALITY[self.value(codes.COMPRESSION_SETTING)]
        self.store_destination = STORE_SDRAM
        self.focus_mode = FOCUS_AF_S
        self.focus_found = 1
        self.half_pressed = False
        self.memory: list[StoredObject] = []  # captured objects not yet fetched, oldest first
        self.steps: list[tuple[float, int, int]] = []  # (due, property, step) not yet applied
        self.dumps = 0  # 0x9209 calls: what a mode-2 set or a capture costs

    # ---- what the body reports -----------------------------------------------------------

    def device_info(self) -> DeviceInfo:
        operations = tuple(c for c in OPERATIONS if c in self._HANDLERS) + SDIO_OPERATIONS
        return DeviceInfo(
            manufacturer=MANUFACTURER,
            model=self.MODEL,
            device_version="1.00",
            serial_number=f"SIM{self.config.seed:08d}",
            operations=operations,
            events=(EVENT_PROPERTY_CHANGED,),
            properties=(),  # the real list comes from 0x9202
            capture_formats=(self.RAW_FORMAT, codes.FORMAT_EXIF_JPEG),
            image_formats=(self.RAW_FORMAT, codes.FORMAT_EXIF_JPEG),
            vendor_extension_id=VENDOR_SONY,
            vendor_extension_desc="Sony PTP Extensions",
        )

    def property_codes(self) -> tuple[int, ...]:
        return (
            codes.COMPRESSION_SETTING,
            codes.F_NUMBER,
            FOCUS_MODE,
            codes.EXPOSURE_PROGRAM_MODE,
            SHUTTER_SPEED,
            FOCUS_FOUND,
            OBJECT_IN_MEMORY,
            BATTERY_LEVEL,
            ISO,
            STORE_DESTINATION,
            PRIORITY_MODE,
        )

    def control_codes(self) -> tuple[int, ...]:
        return (HALF_RELEASE, FULL_RELEASE)

    def shutter_index(self) -> int:
        return nearest_shutter(float(self._exposure_seconds()))

    def wire_value(self, code: int) -> int:
        """A property as the body encodes it on the wire."""
        if code == codes.F_NUMBER:
            return self.value(codes.F_NUMBER)
        if code == SHUTTER_SPEED:
            return shutter_word(*SHUTTER_TABLE[self.shutter_index()])
        if code == ISO:
            return AUTO_ISO if self.auto_iso else self.value(codes.EXPOSURE_INDEX)
        if code == codes.COMPRESSION_SETTING:
            return self.quality_code
        if code == codes.EXPOSURE_PROGRAM_MODE:
            return self.value(codes.EXPOSURE_PROGRAM_MODE)
        if code == BATTERY_LEVEL:
            return self.value(codes.BATTERY_LEVEL)
        if code == STORE_DESTINATION:
            return self.store_destination
        if code == OBJECT_IN_MEMORY:
            return IN_MEMORY_BASE | len(self.memory) if self.memory else 0
        if code == FOCUS_FOUND:
            return self.focus_found
        if code == FOCUS_MODE:
            return self.focus_mode
        raise KeyError(code)

    def dump(self) -> bytes:
        """The 0x9209 answer: u32 count, u32 0, then every property record."""
        settable = 1 if self.MODE == 3 else 0  # mode 2: getset 0, isenabled 1 makes it settable
        records = [
            sony_dpd(codes.F_NUMBER, UINT16, self.wire_value(codes.F_NUMBER), getset=settable,
                     enum=F_VALUES),
            sony_dpd(SHUTTER_SPEED, UINT32, self.wire_value(SHUTTER_SPEED), getset=settable,
                     enum=tuple(shutter_word(*s) for s in SHUTTER_TABLE) if self.MODE == 3
                     else None),
            sony_dpd(ISO, UINT32, self.wire_value(ISO), getset=settable, enum=ISO_VALUES),
            sony_dpd(codes.COMPRESSION_SETTING, UINT8, self.quality_code, getset=settable,
                     enum=tuple(QUALITY_NAMES)),
            # The mode dial: display only (libgphoto2 then makes the widget read-only).
            sony_dpd(codes.EXPOSURE_PROGRAM_MODE, UINT16,
                     self.wire_value(codes.EXPOSURE_PROGRAM_MODE), enabled=2,
                     enum=tuple(props.PROGRAMS)),
            sony_dpd(FOCUS_MODE, UINT16, self.focus_mode, getset=settable, enum=(1, 2, 3)),
            sony_dpd(FOCUS_FOUND, UINT8, self.focus_found, enabled=2),
            sony_dpd(OBJECT_IN_MEMORY, UINT16, self.wire_value(OBJECT_IN_MEMORY), enabled=2),
            sony_dpd(BATTERY_LEVEL, INT8, self.wire_value(BATTERY_LEVEL), enabled=2,
                     value_range=(1, 100, 1)),
            sony_dpd(STORE_DESTINATION, UINT16, self.store_destination, getset=settable,
                     enum=(STORE_SDRAM, STORE_CARD_SDRAM, STORE_CARD)),
            sony_dpd(HALF_RELEASE, UINT16, 1, getset=0x81),
            sony_dpd(FULL_RELEASE, UINT16, 1, getset=0x81),
        ]  # fmt: skip
        return struct.pack("<II", len(records), 0) + b"".join(records)

    def status(self) -> dict:
        status = super().status()
        with self._lock:
            status.update(
                body=f"sony mode {self.MODE} ({self.MODEL})",
                memory=[o.info.filename for o in self.memory],
                capturetarget={1: "sdram", 0x10: "card", 0x11: "card+sdram"}[
                    self.store_destination
                ],
                imagequality=QUALITY_NAMES[self.quality_code],
                pending_steps=len(self.steps),
                dumps=self.dumps,
            )
        return status

    # ---- the body's own controls ---------------------------------------------------------

    def set_on_body(self, code: int, value: int) -> None:
        super().set_on_body(code, value)
        with self._lock:
            if code == codes.COMPRESSION_SETTING:
                self.quality_code = CORE_TO_QUALITY[value]
            if code == codes.EXPOSURE_INDEX:
                self.auto_iso = False
        if code in CORE_CODE.values():
            wire = next(w for w, c in CORE_CODE.items() if c == code)
            self._emit(EVENT_PROPERTY_CHANGED, 0, (wire,))

    def restore_settings(self) -> None:
        super().restore_settings()
        with self._lock:
            self.auto_iso = False
            self.quality_code = CORE_TO_QUALITY[self.value(codes.COMPRESSION_SETTING)]
            self.store_destination = STORE_SDRAM
            self.steps.clear()

    def _emit(self, code: int, transaction_id: int, params: tuple[int, ...]) -> None:
        # Sony bodies announce property changes with their own event; the generic ones the
        # core raises (FocalLength moved, ObjectAdded) have no Sony counterpart here.
        if code == EVENT_PROPERTY_CHANGED:
            super()._emit(code, transaction_id, params)

    # ---- PTP operations ------------------------------------------------------------------

    def handle(self, request: OperationRequest, data: bytes | None = None) -> Reply:
        with self._lock:
            self._apply_due_steps()
        return super().handle(request, data)

    def _sdio_connect(self, request: OperationRequest, data: bytes | None) -> Reply:
        # libgphoto2 reads a data phase here (and throws it away); it must not be empty.
        return Reply(codes.OK, data=struct.pack("<II", 0, 0))

    def _get_ext_device_info(self, request: OperationRequest, data: bytes | None) -> Reply:
        version = PROTOCOL_MODE3 if self.MODE == 3 else PROTOCOL_MODE2
        payload = (
            struct.pack("<H", version)
            + u16_array(self.property_codes())
            + u16_array(self.control_codes())
        )
        return Reply(codes.OK, data=payload)

    def _get_all_ext_device_prop_info(self, request: OperationRequest, data: bytes | None) -> Reply:
        self.dumps += 1
        return Reply(codes.OK, data=self.dump())

    def _refusal(self, code: int) -> int | None:
        core = CORE_CODE.get(code)
        return self.faults.refuse.get(core) if core is not None else None

    def _set_ext_device_prop_value(self, request: OperationRequest, data: bytes | None) -> Reply:
        """9205: a value written directly (mode 3 settings; both modes for PriorityMode,
        CompressionSetting and the capture target)."""
        code = request.param(0)
        raw = data or b""
        if (refused := self._refusal(code)) is not None:
            return Reply(refused)
        if code == PRIORITY_MODE:
            return Reply(codes.OK)
        if code == STORE_DESTINATION and len(raw) < 2:
            # libgphoto2's `capturetarget` put has no data type (config.c: type 0), so it sends
            # an empty value; its raw widget `d222` sends the u16.
            return Reply(codes.INVALID_DEVICE_PROP_FORMAT)
        if code == STORE_DESTINATION:
            value = struct.unpack_from("<H", raw)[0]
            if value not in (STORE_SDRAM, STORE_CARD, STORE_CARD_SDRAM):
                return Reply(codes.INVALID_DEVICE_PROP_VALUE)
            self.store_destination = value
            return Reply(codes.OK)
        if code == codes.COMPRESSION_SETTING and raw:
            if raw[0] not in QUALITY_NAMES:
                return Reply(codes.INVALID_DEVICE_PROP_VALUE)
            self.quality_code = raw[0]
            self.props[codes.COMPRESSION_SETTING].value = QUALITY_TO_CORE[raw[0]]
            return Reply(codes.OK)
        if self.MODE == 3 and code in STEPPED and len(raw) >= 4:
            # Mode 3 sends these as u32, the f-number too (it is a u16 property).
            return self._write_direct(code, struct.unpack_from("<I", raw)[0])
        return Reply(codes.ACCESS_DENIED)

    def _write_direct(self, code: int, value: int) -> Reply:
        if code == codes.F_NUMBER and value in F_VALUES:
            self.props[codes.F_NUMBER].value = value
        elif code == SHUTTER_SPEED and value in [shutter_word(*s) for s in SHUTTER_TABLE]:
            self._set_shutter(Fraction(value >> 16, value & 0xFFFF))
        elif code == ISO and value in ISO_VALUES:
            self._set_iso(value)
        else:
            return Reply(codes.INVALID_DEVICE_PROP_VALUE)
        return Reply(codes.OK)

    def _set_shutter(self, seconds: Fraction) -> None:
        self.props[codes.EXPOSURE_TIME].value = props.shutter_units(seconds)

    def _set_iso(self, value: int) -> None:
        self.auto_iso = value == AUTO_ISO
        if not self.auto_iso:
            self.props[codes.EXPOSURE_INDEX].value = value

    def _control_device(self, request: OperationRequest, data: bytes | None) -> Reply:
        """9207: the buttons (half and full press), or a step of a setting (mode 2)."""
        code = request.param(0)
        raw = data or b""
        if code in (HALF_RELEASE, FULL_RELEASE):
            if len(raw) < 2:
                return Reply(codes.INVALID_DEVICE_PROP_FORMAT)
            pressed = struct.unpack_from("<H", raw)[0] == 2
            if code == HALF_RELEASE:
                self.half_pressed = pressed
                self.focus_found = 1
                if pressed:
                    self.steps.append((time.monotonic() + FOCUS_S, FOCUS_FOUND, 2))
                return Reply(codes.OK)
            if pressed:
                return self.start_capture(request.transaction_id)
            return Reply(codes.OK)
        if code in STEPPED:
            if (refused := self._refusal(code)) is not None:
                return Reply(refused)
            if not raw:
                return Reply(codes.INVALID_DEVICE_PROP_FORMAT)
            step = struct.unpack_from("<b", raw)[0]
            # The firmware turns its dial one request at a time, each in STEP_S.
            last = max([due for due, _, _ in self.steps] + [time.monotonic()])
            self.steps.append((last + STEP_S, code, step))
            return Reply(codes.OK)
        return Reply(codes.DEVICE_PROP_NOT_SUPPORTED)

    def _apply_due_steps(self) -> None:
        now = time.monotonic()
        due = [s for s in self.steps if s[0] <= now]
        if not due:
            return
        self.steps = [s for s in self.steps if s[0] > now]
        for _, code, step in due:
            if code == FOCUS_FOUND:
                if self.half_pressed:
                    self.focus_found = step
            elif code == codes.F_NUMBER:
                index = F_VALUES.index(props.nearest(F_VALUES, self.value(codes.F_NUMBER)))
                self.props[codes.F_NUMBER].value = F_VALUES[_clamp(index + step, F_VALUES)]
            elif code == SHUTTER_SPEED:
                numerator, denominator = SHUTTER_TABLE[
                    _clamp(self.shutter_index() + step, SHUTTER_TABLE)
                ]
                self._set_shutter(Fraction(numerator, denominator))
            elif code == ISO:
                index = ISO_VALUES.index(self.wire_value(ISO))
                self._set_iso(ISO_VALUES[_clamp(index + step, ISO_VALUES)])

    # ---- capture and the objects in the body's memory ------------------------------------

    def needs_card(self) -> bool:
        return bool(self.store_destination & STORE_CARD)

    def file_stem(self, index: int) -> str:
        return f"DSC{(index - 1) % 99999 + 1:05d}"

    def deliver(
        self, shot: Shot, capture: Capture, corrupt: bool, quality: int, transaction_id: int
    ) -> list[int]:
        time.sleep(PROCESS_S)
        files = self.shot_files(shot, capture, corrupt, quality)
        added = self._store(files, capture, shot) if self.needs_card() else []
        with self._lock:
            if self.store_destination & STORE_SDRAM:
                for name, fmt, payload in files:
                    info = self.object_info(name, fmt, len(payload), capture, shot, storage=0)
                    self.memory.append(StoredObject(IN_MEMORY_HANDLE, info, payload))
            self._capturing = None
        self._emit(EVENT_PROPERTY_CHANGED, transaction_id, (OBJECT_IN_MEMORY,))
        return added

    def object_info(self, name, fmt, size, capture, shot, storage=codes.STORAGE_ID, **kw):
        info = super().object_info(name, fmt, size, capture, shot, **kw)
        return ObjectInfo(**{**info.__dict__, "storage_id": storage})

    def _in_memory(self, request: OperationRequest) -> StoredObject | None:
        if request.param(0) == IN_MEMORY_HANDLE and self.memory:
            return self.memory[0]
        return None

    def _get_object_info(self, request: OperationRequest, data: bytes | None) -> Reply:
        obj = self._in_memory(request)
        if obj is not None:
            return Reply(codes.OK, data=obj.info.pack())
        if request.param(0) == IN_MEMORY_HANDLE:
            return Reply(codes.INVALID_OBJECT_HANDLE)
        return super()._get_object_info(request, data)

    def _get_object(self, request: OperationRequest, data: bytes | None) -> Reply:
        obj = self._in_memory(request)
        if obj is None:
            if request.param(0) == IN_MEMORY_HANDLE:
                return Reply(codes.INVALID_OBJECT_HANDLE)
            return super()._get_object(request, data)
        reply = self._transfer(obj.data)
        if reply.drop_after is None:
            self.memory.pop(0)  # sent whole: the body lets go of it
        return reply

    _HANDLERS: ClassVar = {
        **{c: h for c, h in SimCamera._HANDLERS.items() if c not in NOT_LISTED},
        codes.GET_OBJECT_INFO: _get_object_info,
        codes.GET_OBJECT: _get_object,
        SDIO_CONNECT: _sdio_connect,
        SDIO_GET_EXT_DEVICE_INFO: _get_ext_device_info,
        SDIO_SET_EXT_DEVICE_PROP_VALUE: _set_ext_device_prop_value,
        SDIO_CONTROL_DEVICE: _control_device,
        SDIO_GET_ALL_EXT_DEVICE_PROP_INFO: _get_all_ext_device_prop_info,
    }


class SonyMode3Camera(SonyCamera):
    """A newer Alpha (ILCE-7M4) speaking SDIO protocol 3: values written directly."""

    MODE: ClassVar[int] = 3
    MODEL: ClassVar[str] = "ILCE-7M4"


def _clamp(index: int, values: tuple) -> int:
    return min(max(index, 0), len(values) - 1)
