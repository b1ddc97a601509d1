"""Nikon DSLR personality (`srraw simcam --body nikon`, a D850), as libgphoto2 2.5.34's
camlibs/ptp2 expects a Nikon to answer.

What libgphoto2 does with it (library.c fixup_cached_deviceinfo, camera_trigger_capture
"Nikon 2", camera_wait_for_event, nikon_wait_busy; ptp.c ptp_check_event,
ptp_nikon_check_event; config.c _get_ExpTime, _get_Nikon_FocalLength, _get_CaptureTarget):

- DeviceInfo: VendorExtensionID 0x0A, Manufacturer "Nikon Corporation"; the vendor
  properties come from GetVendorPropCodes 0x90CA and are read with the standard
  GetDevicePropDesc, set with SetDevicePropValue (then read back).
- Events are polled with Nikon GetEvent 0x90C7 (u16 count, then u16 code + u32 parameter
  each); once that answers, libgphoto2 reads no PTP/IP event packets.
- Capture: ChangeCameraMode 0x90C2 (1), DeviceReady 0x90C8 polls (DeviceBusy while busy),
  InitiateCaptureRecInMedia 0x9207 (0xFFFFFFFF, 1 = into SDRAM / 0 = onto the card), then
  DeviceReady until the exposure is over. SDRAM: ObjectAddedInSDRAM 0xC101 (0xFFFF0001) for
  each file, libgphoto2 fetches GetObjectInfo / GetObject of 0xFFFF0001 and names them
  `/capt0000.nef`, `/capt0001.jpg`; CaptureCompleteRecInSdram 0xC102. Card (libgphoto2's own
  `capturetarget` setting "Memory card"): ObjectAdded 0x4002 for each file on the card.
- Values: f-number "f/8", the shutter in 1/10000 s ("0.0333s"), focal length 0x5008 read-only
  (a RANGE in mm), minfocallength / maxfocallength from 0xD0E3 / 0xD0E4 ("24 mm").
"""

from __future__ import annotations

import struct
from typing import ClassVar

from srraw_capture.simcam import codes
from srraw_capture.simcam.datasets import UINT32, DeviceInfo, PropDesc, Range, pack_value
from srraw_capture.simcam.device import OPERATIONS, Reply, SimCamera, StoredObject
from srraw_capture.simcam.ptpip import OperationRequest
from srraw_capture.simcam.render import Capture, Shot

VENDOR_NIKON = 0x0A
MANUFACTURER = "Nikon Corporation"

INITIATE_CAPTURE_REC_IN_SDRAM = 0x90C0
CHANGE_CAMERA_MODE = 0x90C2
GET_EVENT = 0x90C7
DEVICE_READY = 0x90C8
GET_VENDOR_PROP_CODES = 0x90CA
INITIATE_CAPTURE_REC_IN_MEDIA = 0x9207
NIKON_OPERATIONS = (
    INITIATE_CAPTURE_REC_IN_SDRAM,
    CHANGE_CAMERA_MODE,
    GET_EVENT,
    DEVICE_READY,
    GET_VENDOR_PROP_CODES,
    INITIATE_CAPTURE_REC_IN_MEDIA,
)

OBJECT_ADDED_IN_SDRAM = 0xC101
CAPTURE_COMPLETE_REC_IN_SDRAM = 0xC102
IN_SDRAM_HANDLE = 0xFFFF0001

FOCAL_LENGTH_MIN = 0xD0E3
FOCAL_LENGTH_MAX = 0xD0E4
VENDOR_PROPS = (FOCAL_LENGTH_MIN, FOCAL_LENGTH_MAX)


class NikonCamera(SimCamera):
    """A Nikon D850 on PTP/IP: standard properties, Nikon events, capture into SDRAM or card."""

    MODEL: ClassVar[str] = "D850"
    FOLDER_NAME: ClassVar[str] = "100ND850"
    RAW_EXTENSION: ClassVar[str] = "NEF"
    BUSY_OPERATIONS: ClassVar[frozenset[int]] = frozenset(
        {codes.SET_DEVICE_PROP_VALUE, INITIATE_CAPTURE_REC_IN_MEDIA}
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[tuple[int, int]] = []  # what the next GetEvent 0x90C7 returns
        self.sdram: list[StoredObject] = []
        self.to_sdram = True
        self.camera_mode = 0

    def device_info(self) -> DeviceInfo:
        operations = tuple(c for c in OPERATIONS if c != codes.INITIATE_CAPTURE)
        return DeviceInfo(
            manufacturer=MANUFACTURER,
            model=self.MODEL,
            device_version="V1.10",
            serial_number=f"SIM{self.config.seed:08d}",
            operations=operations + NIKON_OPERATIONS,
            events=(codes.OBJECT_ADDED, codes.CAPTURE_COMPLETE, OBJECT_ADDED_IN_SDRAM),
            properties=tuple(self.props),
            capture_formats=(codes.FORMAT_EXIF_JPEG,),
            image_formats=(self.RAW_FORMAT, codes.FORMAT_EXIF_JPEG),
            vendor_extension_id=VENDOR_NIKON,
            vendor_extension_desc="Nikon PTP Extensions",
        )

    def vendor_desc(self, code: int) -> PropDesc:
        lens = self.rig.lens
        mm = lens.min_focal_mm if code == FOCAL_LENGTH_MIN else lens.max_focal_mm
        value = round(mm * 100)
        return PropDesc(code, UINT32, 0, value, value, Range(value, value, 1))

    def status(self) -> dict:
        status = super().status()
        with self._lock:
            status.update(
                body=f"nikon ({self.MODEL})",
                memory=[o.info.filename for o in self.sdram],
                capturetarget="sdram" if self.to_sdram else "card",
                pending_events=len(self.events),
            )
        return status

    def _emit(self, code: int, transaction_id: int, params: tuple[int, ...]) -> None:
        # A Nikon is polled with GetEvent; nothing goes out on the PTP/IP event connection.
        with self._lock:
            self.events.append((code, params[0] if params else 0))

    def session_closed(self) -> None:
        super().session_closed()
        self.camera_mode = 0

    # ---- operations ----------------------------------------------------------------------

    def _get_vendor_prop_codes(self, request: OperationRequest, data: bytes | None) -> Reply:
        return Reply(
            codes.OK, data=struct.pack(f"<I{len(VENDOR_PROPS)}H", len(VENDOR_PROPS), *VENDOR_PROPS)
        )

    def _get_event(self, request: OperationRequest, data: bytes | None) -> Reply:
        events, self.events = self.events, []
        payload = struct.pack("<H", len(events)) + b"".join(
            struct.pack("<HI", code, param) for code, param in events
        )
        return Reply(codes.OK, data=payload)

    def _device_ready(self, request: OperationRequest, data: bytes | None) -> Reply:
        return Reply(codes.DEVICE_BUSY if self._capturing is not None else codes.OK)

    def _change_camera_mode(self, request: OperationRequest, data: bytes | None) -> Reply:
        self.camera_mode = request.param(0)
        return Reply(codes.OK)

    def _capture_in_media(self, request: OperationRequest, data: bytes | None) -> Reply:
        self.to_sdram = request.param(1, 1) == 1
        return self.start_capture(request.transaction_id)

    def _capture_in_sdram(self, request: OperationRequest, data: bytes | None) -> Reply:
        self.to_sdram = True
        return self.start_capture(request.transaction_id)

    def _get_device_prop_desc(self, request: OperationRequest, data: bytes | None) -> Reply:
        if request.param(0) in VENDOR_PROPS:
            return Reply(codes.OK, data=self.vendor_desc(request.param(0)).pack())
        return super()._get_device_prop_desc(request, data)

    def _get_device_prop_value(self, request: OperationRequest, data: bytes | None) -> Reply:
        if request.param(0) in VENDOR_PROPS:
            desc = self.vendor_desc(request.param(0))
            return Reply(codes.OK, data=pack_value(desc.datatype, desc.current))
        return super()._get_device_prop_value(request, data)

    def _in_sdram(self, request: OperationRequest) -> StoredObject | None:
        if request.param(0) == IN_SDRAM_HANDLE and self.sdram:
            return self.sdram[0]
        return None

    def _get_object_info(self, request: OperationRequest, data: bytes | None) -> Reply:
        if request.param(0) == IN_SDRAM_HANDLE:
            obj = self._in_sdram(request)
            if obj is None:
                return Reply(codes.INVALID_OBJECT_HANDLE)
            return Reply(codes.OK, data=obj.info.pack())
        return super()._get_object_info(request, data)

    def _get_object(self, request: OperationRequest, data: bytes | None) -> Reply:
        if request.param(0) != IN_SDRAM_HANDLE:
            return super()._get_object(request, data)
        obj = self._in_sdram(request)
        if obj is None:
            return Reply(codes.INVALID_OBJECT_HANDLE)
        reply = self._transfer(obj.data)
        if reply.drop_after is None:
            self.sdram.pop(0)
        return reply

    def _delete_object(self, request: OperationRequest, data: bytes | None) -> Reply:
        if request.param(0) == IN_SDRAM_HANDLE:
            if self.sdram:
                self.sdram.pop(0)
            return Reply(codes.OK)
        return super()._delete_object(request, data)

    # ---- capture -------------------------------------------------------------------------

    def needs_card(self) -> bool:
        return not self.to_sdram

    def file_stem(self, index: int) -> str:
        return f"DSC_{(index - 1) % 9999 + 1:04d}"

    def deliver(
        self, shot: Shot, capture: Capture, corrupt: bool, quality: int, transaction_id: int
    ) -> list[int]:
        if not self.to_sdram:
            return super().deliver(shot, capture, corrupt, quality, transaction_id)
        files = self.shot_files(shot, capture, corrupt, quality)
        with self._lock:
            for name, fmt, payload in files:
                info = self.object_info(name, fmt, len(payload), capture, shot)
                info = type(info)(**{**info.__dict__, "storage_id": 0})
                self.sdram.append(StoredObject(IN_SDRAM_HANDLE, info, payload))
            self._capturing = None
        for _ in files:
            self._emit(OBJECT_ADDED_IN_SDRAM, transaction_id, (IN_SDRAM_HANDLE,))
        self._emit(CAPTURE_COMPLETE_REC_IN_SDRAM, transaction_id, ())
        return []

    _HANDLERS: ClassVar = {
        **{c: h for c, h in SimCamera._HANDLERS.items() if c != codes.INITIATE_CAPTURE},
        codes.GET_DEVICE_PROP_DESC: _get_device_prop_desc,
        codes.GET_DEVICE_PROP_VALUE: _get_device_prop_value,
        codes.GET_OBJECT_INFO: _get_object_info,
        codes.GET_OBJECT: _get_object,
        codes.DELETE_OBJECT: _delete_object,
        GET_VENDOR_PROP_CODES: _get_vendor_prop_codes,
        GET_EVENT: _get_event,
        DEVICE_READY: _device_ready,
        CHANGE_CAMERA_MODE: _change_camera_mode,
        INITIATE_CAPTURE_REC_IN_MEDIA: _capture_in_media,
        INITIATE_CAPTURE_REC_IN_SDRAM: _capture_in_sdram,
    }
