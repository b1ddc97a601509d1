"""Canon EOS personality (`srraw simcam --body canon-eos`, a 5D Mark IV), as libgphoto2 2.5.34's
camlibs/ptp2 expects an EOS body to answer.

What libgphoto2 does with it (library.c fixup_cached_deviceinfo, camera_init,
camera_trigger_canon_eos_capture, camera_wait_for_event, delete_file_func, camera_exit;
config.c camera_prepare_canon_eos_capture, camera_canon_eos_update_capture_target,
_get/_put_Canon_Aperture/_ShutterSpeed/_ISO/_EOS_ImageFormat, _put_CaptureTarget;
ptp.c ptp_check_eos_events, ptp_canon_eos_setdevicepropvalue; ptp-pack.c
ptp_unpack_EOS_events, ptp_unpack_EOS_ImageFormat):

- DeviceInfo: VendorExtensionID 0x0B and a Manufacturer with "Canon" in it; listing
  SetRemoteMode 0x9114 and RemoteReleaseOn 0x9128 puts libgphoto2 on the EOS path (not
  "Canon EOS M...": that name takes the EOS M path). One standard property (DeviceFriendlyName
  0xD402); the others live in libgphoto2's EOS cache, filled by GetEvent records, set by 0x9110.
- Init (the first config read or capture): SetRemoteMode(1), SetEventMode(1), GetEvent until
  empty (the whole property set as records), RequestDevicePropValue 0x9127 for owner, artist,
  copyright and serial, GetDeviceInfoEx 0x9108, GetEvent again, then the capture destination
  D11C set to the PC (4) with PCHDDCapacity 0x911A, polled until AvailableShots D11B > 0;
  EOS GetStorageIDs 0x9101 / GetStorageInfo 0x9102.
- GetEvent 0x9116: records [u32 size][u32 type]..., ending with (8, 0). PropValueChanged 0xC189
  (property + value, u32 for u16/u32 properties, a NUL-terminated string, or the ImageFormat
  entry list), AvailListChanged 0xC18A (property, 3, count, values; after that property's
  0xC189), CameraStatusChanged 0xC18B (1 busy, 0 idle: libgphoto2's CAPTURE_COMPLETE),
  ObjectAddedEx 0xC181 (a file on the card), RequestObjectTransfer 0xC186 (a file for the PC).
- Values in Canon's codes: aperture 0x48 shown as "16" (no f/), shutter 0x60 "1/30", ISO
  0x48 "100" (0 "Auto"), AE mode 3 "Manual" (the mode dial: a write is answered and the
  dial's value sent back), image format "RAW + L", battery level "100%" / "75%" / ... "Low".
- SetDevicePropValueEx 0x9110: [u32 size][u32 property][value]; libgphoto2 keeps the value it
  sent in its cache at once; the body sends it back as a record.
- Capture (RemoteReleaseOn supported, so not 0x910F): focus mode MF (3), half press 9128(1),
  GetEvent, full press 9128(2) (the shutter), release 9129(2), GetEvent, 9129(1).
  Destination PC (libgphoto2's default "Internal RAM"): RequestObjectTransfer per file,
  GetPartialObject 0x101B in 1 MB pieces, TransferComplete 0x9117: `/capt0000.cr2`,
  `/capt0001.jpg`. Destination card ("Memory card"): ObjectAddedEx per file
  (DCIM/100CANON/IMG_0001.CR2, .JPG), GetObjectInfo / GetObject (GetPartialObject past 1 MB),
  DeleteObject 0x100B.
- No focal length: libgphoto2 shows none for EOS, EXIF is the only source.

The simulated files are DNG bytes under the body's names (IMG_0001.CR2): the sensor is simulated.
"""

from __future__ import annotations

import struct
from typing import ClassVar

from srraw_capture.simcam import codes, props
from srraw_capture.simcam.datasets import (
    STR,
    DeviceInfo,
    ObjectInfo,
    PropDesc,
    pack_value,
    u32_array,
)
from srraw_capture.simcam.device import OPERATIONS, Reply, SimCamera, StoredObject
from srraw_capture.simcam.ptpip import OperationRequest
from srraw_capture.simcam.render import Capture, Shot

VENDOR_CANON = 0x0B
MANUFACTURER = "Canon Inc."

EOS_GET_STORAGE_IDS = 0x9101
EOS_GET_STORAGE_INFO = 0x9102
GET_DEVICE_INFO_EX = 0x9108
REMOTE_RELEASE = 0x910F
SET_DEVICE_PROP_VALUE_EX = 0x9110
SET_REMOTE_MODE = 0x9114
SET_EVENT_MODE = 0x9115
GET_EVENT = 0x9116
TRANSFER_COMPLETE = 0x9117
PC_HDD_CAPACITY = 0x911A
KEEP_DEVICE_ON = 0x911D
REQUEST_DEVICE_PROP_VALUE = 0x9127
REMOTE_RELEASE_ON = 0x9128
REMOTE_RELEASE_OFF = 0x9129
EOS_OPERATIONS = (
    EOS_GET_STORAGE_IDS,
    EOS_GET_STORAGE_INFO,
    GET_DEVICE_INFO_EX,
    REMOTE_RELEASE,
    SET_DEVICE_PROP_VALUE_EX,
    SET_REMOTE_MODE,
    SET_EVENT_MODE,
    GET_EVENT,
    TRANSFER_COMPLETE,
    PC_HDD_CAPACITY,
    KEEP_DEVICE_ON,
    REQUEST_DEVICE_PROP_VALUE,
    REMOTE_RELEASE_ON,
    REMOTE_RELEASE_OFF,
)
# Standard operations an EOS body does not list here: capture, settings and events go by 0x91xx.
NOT_LISTED = (codes.INITIATE_CAPTURE, codes.SET_DEVICE_PROP_VALUE)
# The one standard (MTP) property listed: with none, libgphoto2's get_single_config of a
# widget the body lacks (focallength) answers OK with no widget instead of an error.
DEVICE_FRIENDLY_NAME = 0xD402

OBJECT_ADDED_EX = 0xC181
REQUEST_OBJECT_TRANSFER = 0xC186
PROP_VALUE_CHANGED = 0xC189
AVAIL_LIST_CHANGED = 0xC18A
CAMERA_STATUS_CHANGED = 0xC18B
EOS_EVENTS = (
    OBJECT_ADDED_EX,
    REQUEST_OBJECT_TRANSFER,
    PROP_VALUE_CHANGED,
    AVAIL_LIST_CHANGED,
    CAMERA_STATUS_CHANGED,
)

APERTURE = 0xD101
SHUTTER_SPEED = 0xD102
ISO_SPEED = 0xD103
AE_MODE = 0xD105
FOCUS_MODE = 0xD108
BATTERY_POWER = 0xD111
OWNER = 0xD115
AVAILABLE_SHOTS = 0xD11B
CAPTURE_DESTINATION = 0xD11C
IMAGE_FORMAT = 0xD120
SERIAL_NUMBER = 0xD1AF
EVF_OUTPUT_DEVICE = 0xD1B0
ARTIST = 0xD1D0
COPYRIGHT = 0xD1D1
LENS_NAME = 0xD1D8

DEST_CARD, DEST_PC = 2, 4  # CaptureDestination; libgphoto2 takes the listed value != 4 as card
FOCUS_MF = 3  # libgphoto2 skips the focus wait for manual focus
FORMAT_CR2 = 0xB103  # PTP_OFC_CANON_CRW3: libgphoto2 names the download .cr2
PC_SHOTS = 9999  # AvailableShots once the PC offered its disk (PCHDDCapacity)


def third_stops(first: int, count: int) -> tuple[int, ...]:
    """Canon's exposure codes in third stops: a whole stop is 8, its thirds +3 and +5."""
    scale = [base + step for base in range(0, 256, 8) for step in (0, 3, 5)]
    start = scale.index(first)
    return tuple(scale[start : start + count])


# Canon codes in the order of the core's values (props.F_NUMBERS, SHUTTER_SPEEDS, ISO_SPEEDS):
# f/3.5 0x25 .. f/22 0x50; 30 s 0x10 .. 1/4000 0x98; ISO 100 0x48 .. 25600 0x88.
APERTURE_CODES = third_stops(0x25, len(props.F_NUMBERS))
SHUTTER_CODES = third_stops(0x10, len(props.SHUTTER_SPEEDS))
ISO_CODES = third_stops(0x48, len(props.ISO_SPEEDS))
ISO_AUTO = 0x00
F_VALUES = tuple(props.fnumber_units(f) for f in props.F_NUMBERS)
T_VALUES = tuple(props.SHUTTER_BY_UNITS)
# The core's PROGRAMS (1 M, 2 P, 3 A, 4 S) as config.c canon_eos_autoexposuremode codes.
AE_CODES = {1: 3, 2: 0, 3: 2, 4: 1}
# BatteryPower D111 (config.c _get_Canon_EOS_BatteryLevel): 2 100%, 4 75%, 1 50%, 5 25%, 0 Low.
BATTERY_STEPS = ((88, 2), (63, 4), (38, 1), (13, 5), (0, 0))

# ImageFormat: libgphoto2's condensed u16 (ptp-pack.c) -> the entries the body sends, each
# (type 1 JPEG / 6 RAW, size 0 L / 1 M, compression 2 normal / 3 fine / 4 lossless), and what
# the core renders (props.IMAGE_FORMATS: 0x02 JPEG, 0x04 RAW, 0x07 RAW+JPEG).
IMAGE_FORMATS = {
    0x03FF: (((1, 0, 3),), 0x02),  # "L"
    0x02FF: (((1, 0, 2),), 0x02),  # "cL"
    0x13FF: (((1, 1, 3),), 0x02),  # "M"
    0x0CFF: (((6, 0, 4),), 0x04),  # "RAW"
    0x0C03: (((6, 0, 4), (1, 0, 3)), 0x07),  # "RAW + L"
    0x0C02: (((6, 0, 4), (1, 0, 2)), 0x07),  # "RAW + cL"
    0x1C03: (((6, 1, 4), (1, 0, 3)), 0x07),  # "mRAW + L"
}
CORE_TO_FORMAT = {0x02: 0x03FF, 0x04: 0x0CFF, 0x07: 0x0C03}
# Canon property -> the core's property, for `refuse PROP` and for body-side changes.
CORE_CODE = {
    APERTURE: codes.F_NUMBER,
    SHUTTER_SPEED: codes.EXPOSURE_TIME,
    ISO_SPEED: codes.EXPOSURE_INDEX,
    AE_MODE: codes.EXPOSURE_PROGRAM_MODE,
    IMAGE_FORMAT: codes.COMPRESSION_SETTING,
    BATTERY_POWER: codes.BATTERY_LEVEL,
}
CANON_CODE = {core: canon for canon, core in CORE_CODE.items()}
U16_PROPS = (APERTURE, SHUTTER_SPEED, ISO_SPEED, AE_MODE, BATTERY_POWER)
STRING_PROPS = (OWNER, SERIAL_NUMBER, ARTIST, COPYRIGHT, LENS_NAME)


def pack_image_format(value: int) -> bytes:
    """The entry list of one ImageFormat: u32 count, then (0x10, type, size, compression) each."""
    entries = IMAGE_FORMATS[value][0]
    return struct.pack("<I", len(entries)) + b"".join(
        struct.pack("<4I", 0x10, *entry) for entry in entries
    )


def unpack_image_format(data: bytes) -> int | None:
    """The condensed u16 of an entry list as libgphoto2 sends it in 0x9110; None if unknown."""
    if len(data) < 4:
        return None
    (count,) = struct.unpack_from("<I", data)
    if count not in (1, 2) or len(data) < 4 + 16 * count:
        return None
    entries = tuple(struct.unpack_from("<4I", data, 4 + 16 * i)[1:] for i in range(count))
    return next((k for k, (e, _) in IMAGE_FORMATS.items() if e == entries), None)


def record(kind: int, payload: bytes) -> bytes:
    return struct.pack("<II", 8 + len(payload), kind) + payload


def object_record(kind: int, handle: int, info: ObjectInfo, parent: int) -> bytes:
    """ObjectAddedEx (handle, storage, format, size at 0x1C, parent, name at 0x28) or
    RequestObjectTransfer (handle, format, size at 0x14, name at 0x1C), offsets from the record."""
    name = info.filename.encode("ascii") + b"\0"
    if kind == OBJECT_ADDED_EX:
        body = struct.pack(
            "<IIIIIIIII", handle, info.storage_id, info.object_format, 0, 0, info.size, parent, 0, 0
        )
        return record(kind, body[:0x20] + name)
    body = struct.pack("<IIIIII", handle, info.object_format, 0, info.size, 0, 0)
    return record(kind, body[:0x14] + name)


class CanonEosCamera(SimCamera):
    """A Canon EOS 5D Mark IV on PTP/IP: EOS GetEvent records, 0x9110 sets, RemoteReleaseOn."""

    MODEL: ClassVar[str] = "Canon EOS 5D Mark IV"
    FOLDER_NAME: ClassVar[str] = "100CANON"
    RAW_EXTENSION: ClassVar[str] = "CR2"
    RAW_FORMAT: ClassVar[int] = FORMAT_CR2
    BUSY_OPERATIONS: ClassVar[frozenset[int]] = frozenset(
        {SET_DEVICE_PROP_VALUE_EX, REMOTE_RELEASE_ON, REMOTE_RELEASE}
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.records: list[bytes] = []  # what the next GetEvent 0x9116 returns
        self.memory: dict[int, StoredObject] = {}  # files waiting for the PC to fetch them
        self.image_format = CORE_TO_FORMAT[self.value(codes.COMPRESSION_SETTING)]
        self.auto_iso = False
        self.destination = DEST_CARD  # a body on its own writes to its card
        self.remote_mode = self.event_mode = 0
        self.half_pressed = False
        self.events_served = 0

    # ---- what the body reports -----------------------------------------------------------

    def device_info(self) -> DeviceInfo:
        operations = tuple(c for c in OPERATIONS if c not in NOT_LISTED) + EOS_OPERATIONS
        return DeviceInfo(
            manufacturer=MANUFACTURER,
            model=self.MODEL,
            device_version="3-1.1.2",
            serial_number=f"SIM{self.config.seed:08d}",
            operations=operations,
            events=EOS_EVENTS,
            properties=(DEVICE_FRIENDLY_NAME,),  # the rest comes through GetEvent
            capture_formats=(self.RAW_FORMAT, codes.FORMAT_EXIF_JPEG),
            image_formats=(codes.FORMAT_ASSOCIATION, self.RAW_FORMAT, codes.FORMAT_EXIF_JPEG),
            vendor_extension_id=VENDOR_CANON,
            vendor_extension_desc="Canon PTP Extensions",
        )

    def wire_value(self, code: int) -> int | str:
        """A property as the body encodes it in its records."""
        if code == APERTURE:
            value = props.nearest(F_VALUES, self.value(codes.F_NUMBER))
            return APERTURE_CODES[F_VALUES.index(value)]
        if code == SHUTTER_SPEED:
            value = props.nearest(T_VALUES, self.value(codes.EXPOSURE_TIME))
            return SHUTTER_CODES[T_VALUES.index(value)]
        if code == ISO_SPEED:
            if self.auto_iso:
                return ISO_AUTO
            value = props.nearest(props.ISO_SPEEDS, self.value(codes.EXPOSURE_INDEX))
            return ISO_CODES[props.ISO_SPEEDS.index(value)]
        if code == AE_MODE:
            return AE_CODES.get(self.value(codes.EXPOSURE_PROGRAM_MODE), 3)
        if code == BATTERY_POWER:
            level = self.value(codes.BATTERY_LEVEL)
            return next(c for floor, c in BATTERY_STEPS if level >= floor)
        if code == IMAGE_FORMAT:
            return self.image_format
        if code == CAPTURE_DESTINATION:
            return self.destination
        if code == AVAILABLE_SHOTS:
            return PC_SHOTS if self.destination == DEST_PC else self.storage_info().free_images
        if code == FOCUS_MODE:
            return FOCUS_MF
        if code == EVF_OUTPUT_DEVICE:
            return 0
        if code == SERIAL_NUMBER:
            return f"{self.config.seed:012d}"
        if code == LENS_NAME:
            return self.rig.lens.model
        if code in (OWNER, ARTIST, COPYRIGHT):
            return ""
        raise KeyError(code)

    def avail_list(self, code: int) -> tuple[int, ...] | None:
        return {
            APERTURE: APERTURE_CODES,
            SHUTTER_SPEED: SHUTTER_CODES,
            ISO_SPEED: (ISO_AUTO, *ISO_CODES),
            IMAGE_FORMAT: tuple(IMAGE_FORMATS),
            CAPTURE_DESTINATION: (DEST_CARD, DEST_PC),
        }.get(code)

    def value_record(self, code: int) -> bytes:
        value = self.wire_value(code)
        if code == IMAGE_FORMAT:
            payload = pack_image_format(int(value))
        elif isinstance(value, str):
            payload = value.encode("ascii", "replace") + b"\0"
        else:
            payload = struct.pack("<I", value)
        return record(PROP_VALUE_CHANGED, struct.pack("<I", code) + payload)

    def avail_record(self, code: int) -> bytes:
        values = self.avail_list(code) or ()
        if code == IMAGE_FORMAT:
            data = b"".join(pack_image_format(v) for v in values)
        else:
            data = b"".join(struct.pack("<I", v) for v in values)
        return record(AVAIL_LIST_CHANGED, struct.pack("<III", code, 3, len(values)) + data)

    def all_properties(self) -> list[bytes]:
        """The bulk a first GetEvent returns: every value, each list after its value."""
        out = []
        for code in (
            APERTURE,
            SHUTTER_SPEED,
            ISO_SPEED,
            AE_MODE,
            FOCUS_MODE,
            BATTERY_POWER,
            AVAILABLE_SHOTS,
            CAPTURE_DESTINATION,
            IMAGE_FORMAT,
            EVF_OUTPUT_DEVICE,
            *STRING_PROPS,
        ):
            out.append(self.value_record(code))
            if self.avail_list(code) is not None:
                out.append(self.avail_record(code))
        return out

    def status(self) -> dict:
        status = super().status()
        with self._lock:
            status.update(
                body=f"canon-eos ({self.MODEL})",
                memory=[o.info.filename for o in self.memory.values()],
                capturetarget="card" if self.destination == DEST_CARD else "sdram",
                imageformat=f"0x{self.image_format:04x}",
                remote_mode=self.remote_mode,
                event_mode=self.event_mode,
                pending_events=len(self.records),
                events_served=self.events_served,
            )
        return status

    # ---- the body's own controls ---------------------------------------------------------

    def set_on_body(self, code: int, value: int) -> None:
        with self._lock:
            if code == codes.COMPRESSION_SETTING:
                self.image_format = CORE_TO_FORMAT[value]
            if code == codes.EXPOSURE_INDEX:
                self.auto_iso = False
        super().set_on_body(code, value)

    def restore_settings(self) -> None:
        with self._lock:
            self.auto_iso = False
            self.image_format = CORE_TO_FORMAT[self.rig_quality()]
        super().restore_settings()

    def rig_quality(self) -> int:
        return self._factory_props()[codes.COMPRESSION_SETTING].value

    def _emit(self, code: int, transaction_id: int, params: tuple[int, ...]) -> None:
        # An EOS body is polled with GetEvent; nothing goes out on the PTP/IP event connection.
        if code == codes.DEVICE_PROP_CHANGED and params and params[0] in CANON_CODE:
            with self._lock:
                self.records.append(self.value_record(CANON_CODE[params[0]]))

    def session_closed(self) -> None:
        super().session_closed()
        with self._lock:
            self.records.clear()
            self.memory.clear()  # never fetched: the frame is retaken
            self.remote_mode = self.event_mode = 0
            self.destination = DEST_CARD  # without a PC the body saves to its card
            self.half_pressed = False

    # ---- operations ----------------------------------------------------------------------

    def _get_device_info_ex(self, request: OperationRequest, data: bytes | None) -> Reply:
        listed = (*CORE_CODE, FOCUS_MODE, AVAILABLE_SHOTS, CAPTURE_DESTINATION, *STRING_PROPS)
        body = u32_array(EOS_EVENTS) + u32_array(listed) + u32_array(())
        return Reply(codes.OK, data=struct.pack("<I", 4 + len(body)) + body)

    def _friendly_name(self) -> PropDesc:
        return PropDesc(DEVICE_FRIENDLY_NAME, STR, 0, self.MODEL, self.MODEL)

    def _get_device_prop_desc(self, request: OperationRequest, data: bytes | None) -> Reply:
        if request.param(0) != DEVICE_FRIENDLY_NAME:
            return Reply(codes.DEVICE_PROP_NOT_SUPPORTED)
        return Reply(codes.OK, data=self._friendly_name().pack())

    def _get_device_prop_value(self, request: OperationRequest, data: bytes | None) -> Reply:
        if request.param(0) != DEVICE_FRIENDLY_NAME:
            return Reply(codes.DEVICE_PROP_NOT_SUPPORTED)
        return Reply(codes.OK, data=pack_value(STR, self.MODEL))

    def _set_remote_mode(self, request: OperationRequest, data: bytes | None) -> Reply:
        self.remote_mode = request.param(0)
        return Reply(codes.OK)

    def _set_event_mode(self, request: OperationRequest, data: bytes | None) -> Reply:
        self.event_mode = request.param(0)
        if self.event_mode:
            self.records.extend(self.all_properties())
        return Reply(codes.OK)

    def _get_event(self, request: OperationRequest, data: bytes | None) -> Reply:
        pending, self.records = self.records, []
        self.events_served += 1
        return Reply(codes.OK, data=b"".join(pending) + struct.pack("<II", 8, 0))

    def _ok(self, request: OperationRequest, data: bytes | None) -> Reply:
        return Reply(codes.OK)

    def _pc_hdd_capacity(self, request: OperationRequest, data: bytes | None) -> Reply:
        self.records.append(self.value_record(AVAILABLE_SHOTS))
        return Reply(codes.OK)

    def _request_device_prop_value(self, request: OperationRequest, data: bytes | None) -> Reply:
        try:
            self.records.append(self.value_record(request.param(0)))
        except KeyError:
            return Reply(codes.GENERAL_ERROR)  # what libgphoto2 expects of a missing one
        return Reply(codes.OK)

    def _eos_storage_ids(self, request: OperationRequest, data: bytes | None) -> Reply:
        return Reply(codes.OK, data=u32_array([codes.STORAGE_ID]))

    def _eos_storage_info(self, request: OperationRequest, data: bytes | None) -> Reply:
        return Reply(codes.OK, data=self.storage_info().pack())

    def _set_device_prop_value_ex(self, request: OperationRequest, data: bytes | None) -> Reply:
        """9110: [u32 size][u32 property][value]; the accepted value is sent back as a record."""
        raw = data or b""
        if len(raw) < 12:
            return Reply(codes.INVALID_DEVICE_PROP_FORMAT)
        code = struct.unpack_from("<I", raw, 4)[0]
        value_bytes = raw[8:]
        core = CORE_CODE.get(code)
        if core is not None and core in self.faults.refuse:
            return Reply(self.faults.refuse[core])
        (word,) = struct.unpack_from("<I", value_bytes)
        if code == IMAGE_FORMAT:
            fmt = unpack_image_format(value_bytes)
            if fmt is None:
                return Reply(codes.INVALID_DEVICE_PROP_VALUE)
            self.image_format = fmt
            self.props[codes.COMPRESSION_SETTING].value = IMAGE_FORMATS[fmt][1]
        elif code in (APERTURE, SHUTTER_SPEED, ISO_SPEED):
            if (reply := self._set_exposure(code, word & 0xFFFF)) is not None:
                return reply
        elif code == CAPTURE_DESTINATION:
            if word not in (DEST_CARD, DEST_PC):
                return Reply(codes.INVALID_DEVICE_PROP_VALUE)
            self.destination = word
            self.records.append(self.value_record(AVAILABLE_SHOTS))
        elif code == AE_MODE:
            pass  # the mode dial decides: the answer is OK, the record below says the dial's value
        elif code not in (EVF_OUTPUT_DEVICE, OWNER, ARTIST, COPYRIGHT):
            return Reply(codes.DEVICE_PROP_NOT_SUPPORTED)
        self.records.append(self.value_record(code))
        return Reply(codes.OK)

    def _set_exposure(self, code: int, value: int) -> Reply | None:
        table, core, values = {
            APERTURE: (APERTURE_CODES, codes.F_NUMBER, F_VALUES),
            SHUTTER_SPEED: (SHUTTER_CODES, codes.EXPOSURE_TIME, T_VALUES),
            ISO_SPEED: (ISO_CODES, codes.EXPOSURE_INDEX, props.ISO_SPEEDS),
        }[code]
        if code == ISO_SPEED and value == ISO_AUTO:
            self.auto_iso = True
            return None
        if value not in table:
            return Reply(codes.INVALID_DEVICE_PROP_VALUE)
        self.props[core].value = values[table.index(value)]
        if code == ISO_SPEED:
            self.auto_iso = False
        return None

    def _remote_release_on(self, request: OperationRequest, data: bytes | None) -> Reply:
        """9128: 1 half press (focus; MF here), 2 full press (the shutter), 3 both at once."""
        press = request.param(0)
        if press == 1:
            self.half_pressed = True
            return Reply(codes.OK)
        return self._shutter(request)

    def _remote_release_off(self, request: OperationRequest, data: bytes | None) -> Reply:
        if request.param(0) in (1, 3):
            self.half_pressed = False
        return Reply(codes.OK)

    def _remote_release(self, request: OperationRequest, data: bytes | None) -> Reply:
        """910F, older bodies' one-step release: response parameter 0 OK, 7 card full."""
        reply = self._shutter(request)
        if reply.code == codes.STORE_FULL:
            return Reply(codes.OK, (7,))
        return Reply(reply.code, (0,)) if reply.code == codes.OK else reply

    def _shutter(self, request: OperationRequest) -> Reply:
        reply = self.start_capture(request.transaction_id)
        if reply.code == codes.OK:
            self.records.append(record(CAMERA_STATUS_CHANGED, struct.pack("<I", 1)))
        return reply

    def _transfer_complete(self, request: OperationRequest, data: bytes | None) -> Reply:
        self.memory.pop(request.param(0), None)
        return Reply(codes.OK)

    def _get_partial_object(self, request: OperationRequest, data: bytes | None) -> Reply:
        obj = self.memory.get(request.param(0))
        if obj is None:
            return super()._get_partial_object(request, data)
        return self.partial(obj, request)  # a file waiting for the PC (RequestObjectTransfer)

    # ---- capture -------------------------------------------------------------------------

    def needs_card(self) -> bool:
        return self.destination == DEST_CARD

    def file_stem(self, index: int) -> str:
        return f"IMG_{(index - 1) % 9999 + 1:04d}"

    def deliver(
        self, shot: Shot, capture: Capture, corrupt: bool, quality: int, transaction_id: int
    ) -> list[int]:
        files = self.shot_files(shot, capture, corrupt, quality)
        added: list[int] = []
        with self._lock:
            if self.destination == DEST_CARD:
                added = self._store(files, capture, shot)
                for handle in added:
                    obj = self.objects[handle]
                    self.records.append(
                        object_record(OBJECT_ADDED_EX, handle, obj.info, obj.info.parent)
                    )
            else:
                for name, fmt, payload in files:
                    handle = self._next_handle
                    self._next_handle += 1
                    info = self.object_info(name, fmt, len(payload), capture, shot)
                    self.memory[handle] = StoredObject(handle, info, payload)
                    self.records.append(object_record(REQUEST_OBJECT_TRANSFER, handle, info, 0))
            self.records.append(self.value_record(AVAILABLE_SHOTS))
            self.records.append(record(CAMERA_STATUS_CHANGED, struct.pack("<I", 0)))
            self._capturing = None
        return added

    _HANDLERS: ClassVar = {
        **{c: h for c, h in SimCamera._HANDLERS.items() if c not in NOT_LISTED},
        codes.GET_PARTIAL_OBJECT: _get_partial_object,
        codes.GET_DEVICE_PROP_DESC: _get_device_prop_desc,
        codes.GET_DEVICE_PROP_VALUE: _get_device_prop_value,
        EOS_GET_STORAGE_IDS: _eos_storage_ids,
        EOS_GET_STORAGE_INFO: _eos_storage_info,
        GET_DEVICE_INFO_EX: _get_device_info_ex,
        REMOTE_RELEASE: _remote_release,
        SET_DEVICE_PROP_VALUE_EX: _set_device_prop_value_ex,
        SET_REMOTE_MODE: _set_remote_mode,
        SET_EVENT_MODE: _set_event_mode,
        GET_EVENT: _get_event,
        TRANSFER_COMPLETE: _transfer_complete,
        PC_HDD_CAPACITY: _pc_hdd_capacity,
        KEEP_DEVICE_ON: _ok,
        REQUEST_DEVICE_PROP_VALUE: _request_device_prop_value,
        REMOTE_RELEASE_ON: _remote_release_on,
        REMOTE_RELEASE_OFF: _remote_release_off,
    }
