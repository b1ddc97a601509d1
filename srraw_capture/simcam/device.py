"""The simulated camera body: state, PTP operation handlers, the zoom ring, faults. No sockets.

`SimCamera.handle(request, data)` answers one PTP operation with a `Reply`; events (ObjectAdded,
CaptureComplete, DevicePropChanged) go to `on_event`, which the PTP/IP server wires to the event
connection. A capture renders in a worker thread, as a body writes to its card after the
shutter: InitiateCapture answers at once, the objects are announced once they exist.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from srraw.rig import Rig
from srraw_capture.simcam import codes, props
from srraw_capture.simcam.datasets import (
    ASSOCIATION_GENERIC_FOLDER,
    DatasetError,
    DeviceInfo,
    ObjectInfo,
    StorageInfo,
    pack_value,
    u32_array,
    unpack_value,
)
from srraw_capture.simcam.ptpip import OperationRequest
from srraw_capture.simcam.render import Capture, Renderer, Shot

log = logging.getLogger("srraw.simcam")

EventSink = Callable[[int, int, tuple[int, ...]], None]

OPERATIONS = (
    codes.GET_DEVICE_INFO,
    codes.OPEN_SESSION,
    codes.CLOSE_SESSION,
    codes.GET_STORAGE_IDS,
    codes.GET_STORAGE_INFO,
    codes.GET_NUM_OBJECTS,
    codes.GET_OBJECT_HANDLES,
    codes.GET_OBJECT_INFO,
    codes.GET_OBJECT,
    codes.DELETE_OBJECT,
    codes.INITIATE_CAPTURE,
    codes.GET_DEVICE_PROP_DESC,
    codes.GET_DEVICE_PROP_VALUE,
    codes.SET_DEVICE_PROP_VALUE,
    codes.GET_PARTIAL_OBJECT,
)
EVENTS = (
    codes.OBJECT_ADDED,
    codes.DEVICE_PROP_CHANGED,
    codes.STORE_FULL_EVENT,
    codes.CAPTURE_COMPLETE,
)
DCIM_HANDLE, FOLDER_HANDLE, FIRST_FILE_HANDLE = 1, 2, 3
FOLDER_NAME = "100SRRAW"
NO_SESSION_NEEDED = (codes.GET_DEVICE_INFO, codes.OPEN_SESSION)
# What a busy body refuses (busy-next): changing a setting or taking a picture.
BUSY_OPERATIONS = frozenset({codes.SET_DEVICE_PROP_VALUE, codes.INITIATE_CAPTURE})


@dataclass(frozen=True)
class CameraConfig:
    """How the simulated body is built."""

    rig: str = "simulated"
    seed: int = 0
    zoom: str = "manual"  # "manual": FocalLength read-only; "power": SetDevicePropValue moves it
    size: tuple[int, int] | None = None  # rendered frame size; default the rig's sensor
    miss_pct: float = 2.0  # the ring lands within +-miss_pct of where it is aimed
    card_bytes: int = 8 * 1024**3
    body: str = "generic"  # which personality answers (simcam/bodies.py)


@dataclass(frozen=True)
class Reply:
    """What to answer: a response code and parameters, perhaps data; or a fault to act out."""

    code: int
    params: tuple[int, ...] = ()
    data: bytes | None = None
    stall: bool = False  # never answer (stall-next)
    drop_after: int | None = None  # close the connections after this many data bytes


@dataclass
class StoredObject:
    handle: int
    info: ObjectInfo
    data: bytes = b""


@dataclass
class Faults:
    """Faults armed from the control channel; the `next` ones fire once."""

    stall_next: bool = False
    drop_next_transfer: bool = False
    corrupt_next: bool = False
    card_full: bool = False
    busy_next: int = 0  # this many property sets / captures answer DeviceBusy
    capture_delay_s: float = 0.0  # extra seconds from the trigger to the files (a slow body)
    capture_delay_count: int | None = None  # captures still delayed (None: every one)
    refuse: dict[int, int] = field(default_factory=dict)  # property code -> response code


class SimCamera:
    """A generic PTP camera body with one card, a zoom lens and the exposure controls."""

    BUSY_OPERATIONS: ClassVar[frozenset[int]] = BUSY_OPERATIONS
    FOLDER_NAME: ClassVar[str] = FOLDER_NAME
    RAW_EXTENSION: ClassVar[str] = "DNG"
    RAW_FORMAT: ClassVar[int] = codes.FORMAT_RAW

    def __init__(self, config: CameraConfig, rig: Rig, renderer: Renderer) -> None:
        self.config = config
        self.rig = rig
        self.renderer = renderer
        self.faults = Faults()
        self.on_event: EventSink | None = None
        self.session_open = False
        self.captures = 0
        self._lock = threading.RLock()
        self._capturing: threading.Thread | None = None
        self._zoom_rng = random.Random(config.seed * 7919 + 17)
        self.ring_mm = self.asked_mm = float(rig.lens.min_focal_mm)
        self.props = self._factory_props()
        self.objects: dict[int, StoredObject] = {}
        self._next_handle = FIRST_FILE_HANDLE
        for handle, name, parent in (
            (DCIM_HANDLE, "DCIM", 0),
            (FOLDER_HANDLE, self.FOLDER_NAME, DCIM_HANDLE),
        ):
            info = ObjectInfo(
                codes.STORAGE_ID,
                codes.FORMAT_ASSOCIATION,
                0,
                name,
                parent=parent,
                association_type=ASSOCIATION_GENERIC_FOLDER,
            )
            self.objects[handle] = StoredObject(handle, info)

    def _factory_props(self) -> dict[int, props.Prop]:
        """The rig's exposure plan, the lens at its widest (snapped to allowed values)."""
        lens, exposure = self.rig.lens, self.rig.exposure
        return props.make_props(
            exposure.f_number,
            exposure.exposure_time_s,
            exposure.iso,
            lens.min_focal_mm,
            (lens.min_focal_mm, lens.max_focal_mm),
            power_zoom=self.config.zoom == "power",
        )

    def restore_settings(self) -> None:
        """Settings back to the rig's plan and the zoom to its widest (announced by events)."""
        factory = self._factory_props()
        with self._lock:
            changed = [c for c, p in factory.items() if p.value != self.props[c].value]
            for code in changed:
                self.props[code].value = factory[code].value
            self.ring_mm = self.asked_mm = float(self.rig.lens.min_focal_mm)
        for code in changed:
            self._emit(codes.DEVICE_PROP_CHANGED, 0, (code,))

    # ---- state a person or a test reads -------------------------------------------------

    def device_info(self) -> DeviceInfo:
        return DeviceInfo(
            manufacturer="srraw",  # neutral: libgphoto2 picks vendor code paths by this name
            model=self.rig.body.model,  # the model string does not switch code paths
            device_version="1.0",
            serial_number=f"SIM{self.config.seed:08d}",
            operations=OPERATIONS,
            events=EVENTS,
            properties=tuple(self.props),
            capture_formats=(codes.FORMAT_RAW, codes.FORMAT_EXIF_JPEG),
            image_formats=(codes.FORMAT_ASSOCIATION, codes.FORMAT_RAW, codes.FORMAT_EXIF_JPEG),
        )

    def used_bytes(self) -> int:
        return sum(len(o.data) for o in self.objects.values())

    def free_bytes(self) -> int:
        if self.faults.card_full:
            return 0
        return max(0, self.config.card_bytes - self.used_bytes())

    def capture_bytes_estimate(self) -> int:
        """Room one capture needs: a 16-bit mosaic plus a JPEG."""
        width, height = self.renderer.size
        return width * height * 2 + width * height // 2 + 65536

    def storage_info(self) -> StorageInfo:
        free = self.free_bytes()
        return StorageInfo(
            max_capacity=self.config.card_bytes,
            free_bytes=free,
            free_images=free // self.capture_bytes_estimate(),
            description="SD",
            volume_label="SIMCAM",
        )

    def files(self) -> list[StoredObject]:
        return [
            o for o in self.objects.values() if o.info.object_format != codes.FORMAT_ASSOCIATION
        ]

    def value(self, code: int) -> int:
        return self.props[code].value

    def settings_text(self) -> dict[str, str]:
        return {
            props.WIDGET_NAMES[code]: props.describe_value(code, p.value)
            for code, p in self.props.items()
        }

    def status(self) -> dict:
        with self._lock:
            return {
                "focal_mm": round(self.ring_mm, 3),
                "focal_asked_mm": round(self.asked_mm, 3),
                "f_number": self.value(codes.F_NUMBER) / 100,
                "exposure_time_s": float(self._exposure_seconds()),
                "exposure_time": props.describe_value(
                    codes.EXPOSURE_TIME, self.value(codes.EXPOSURE_TIME)
                ),
                "iso": self.value(codes.EXPOSURE_INDEX),
                "settings": self.settings_text(),
                "zoom": self.config.zoom,
                "scene": self.renderer.scene_seed,
                "size": list(self.renderer.size),
                "objects": [o.info.filename for o in self.files()],
                "free_bytes": self.free_bytes(),
                "captures": self.captures,
                "capturing": self._capturing is not None,
                "session_open": self.session_open,
                "faults": {
                    "stall_next": self.faults.stall_next,
                    "drop_next_transfer": self.faults.drop_next_transfer,
                    "corrupt_next": self.faults.corrupt_next,
                    "card_full": self.faults.card_full,
                    "busy_next": self.faults.busy_next,
                    "capture_delay_s": self.faults.capture_delay_s,
                    "refuse": {
                        props.WIDGET_NAMES[c]: f"0x{r:04x}" for c, r in self.faults.refuse.items()
                    },
                },
            }

    # ---- the body's own controls ---------------------------------------------------------

    def turn_ring(self, asked_mm: float) -> float:
        """Aim the zoom ring at `asked_mm`; it lands near it (within miss_pct), in the lens range."""
        lens = self.rig.lens
        if not lens.min_focal_mm <= asked_mm <= lens.max_focal_mm:
            raise ValueError(
                f"{asked_mm:g} mm is outside the lens ({lens.min_focal_mm:g}-{lens.max_focal_mm:g} mm)"
            )
        miss = self.config.miss_pct / 100
        with self._lock:
            landed = asked_mm * (1 + self._zoom_rng.uniform(-miss, miss))
            landed = min(max(landed, lens.min_focal_mm), lens.max_focal_mm)
            self.asked_mm, self.ring_mm = asked_mm, landed
            self.props[codes.FOCAL_LENGTH].value = round(landed * 100)
        self._emit(codes.DEVICE_PROP_CHANGED, 0, (codes.FOCAL_LENGTH,))
        return landed

    def set_on_body(self, code: int, value: int) -> None:
        """Change a setting the way the photographer would, on the body (announced by event)."""
        prop = self.props[code]
        if not prop.desc().allows(value):
            raise ValueError(
                f"{props.describe_value(code, value)} is not allowed for {props.WIDGET_NAMES[code]}"
            )
        with self._lock:
            prop.value = value
        self._emit(codes.DEVICE_PROP_CHANGED, 0, (code,))

    def point_at(self, seed: int) -> None:
        with self._lock:
            self.renderer.point_at(seed)

    def session_closed(self) -> None:
        """The initiator went away (connection closed): the PTP session ends with it."""
        self.session_open = False

    def wait_idle(self, timeout: float) -> bool:
        """Wait for a running capture to finish; False if it is still running."""
        thread = self._capturing
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # ---- PTP operations ------------------------------------------------------------------

    def handle(self, request: OperationRequest, data: bytes | None = None) -> Reply:
        """Answer one operation (`data`: what the initiator sent in its data phase)."""
        with self._lock:
            if self.faults.stall_next:
                self.faults.stall_next = False
                log.info("stalling operation 0x%04x (stall-next)", request.code)
                return Reply(0, stall=True)
            handler = self._HANDLERS.get(request.code)
            if handler is None:
                return Reply(codes.OPERATION_NOT_SUPPORTED)
            if not self.session_open and request.code not in NO_SESSION_NEEDED:
                return Reply(codes.SESSION_NOT_OPEN)
            if self.faults.busy_next and request.code in self.BUSY_OPERATIONS:
                self.faults.busy_next -= 1
                log.info("answering 0x%04x with DeviceBusy (busy-next)", request.code)
                return Reply(codes.DEVICE_BUSY)
            return handler(self, request, data)

    def _get_device_info(self, request: OperationRequest, data: bytes | None) -> Reply:
        return Reply(codes.OK, data=self.device_info().pack())

    def _open_session(self, request: OperationRequest, data: bytes | None) -> Reply:
        if request.param(0) == 0:
            return Reply(codes.INVALID_PARAMETER)
        if self.session_open:
            return Reply(codes.SESSION_ALREADY_OPEN, (request.param(0),))
        self.session_open = True
        return Reply(codes.OK)

    def _close_session(self, request: OperationRequest, data: bytes | None) -> Reply:
        self.session_open = False
        return Reply(codes.OK)

    def _check_storage(self, storage: int) -> bool:
        return storage in (codes.STORAGE_ID, codes.ALL)

    def _get_storage_ids(self, request: OperationRequest, data: bytes | None) -> Reply:
        return Reply(codes.OK, data=u32_array([codes.STORAGE_ID]))

    def _get_storage_info(self, request: OperationRequest, data: bytes | None) -> Reply:
        if request.param(0) != codes.STORAGE_ID:
            return Reply(codes.INVALID_STORAGE_ID)
        return Reply(codes.OK, data=self.storage_info().pack())

    def _select(self, request: OperationRequest) -> list[int] | Reply:
        """Handles matching GetObjectHandles / GetNumObjects (storage, format, parent)."""
        storage, fmt, parent = request.param(0), request.param(1), request.param(2)
        if not self._check_storage(storage):
            return Reply(codes.INVALID_STORAGE_ID)
        if parent not in (0, codes.ALL):
            parent_obj = self.objects.get(parent)
            if parent_obj is None or parent_obj.info.object_format != codes.FORMAT_ASSOCIATION:
                return Reply(codes.INVALID_PARENT_OBJECT)
        handles = []
        for handle, obj in sorted(self.objects.items()):
            if fmt not in (0, codes.ALL) and obj.info.object_format != fmt:
                continue
            if parent == codes.ALL and obj.info.parent != 0:
                continue  # 0xFFFFFFFF: the root only
            if parent not in (0, codes.ALL) and obj.info.parent != parent:
                continue
            handles.append(handle)
        return handles

    def _get_object_handles(self, request: OperationRequest, data: bytes | None) -> Reply:
        handles = self._select(request)
        if isinstance(handles, Reply):
            return handles
        return Reply(codes.OK, data=u32_array(handles))

    def _get_num_objects(self, request: OperationRequest, data: bytes | None) -> Reply:
        handles = self._select(request)
        if isinstance(handles, Reply):
            return handles
        return Reply(codes.OK, (len(handles),))

    def _get_object_info(self, request: OperationRequest, data: bytes | None) -> Reply:
        obj = self.objects.get(request.param(0))
        if obj is None:
            return Reply(codes.INVALID_OBJECT_HANDLE)
        return Reply(codes.OK, data=obj.info.pack())

    def _transfer(self, payload: bytes) -> Reply:
        """A data-in reply, cut short when drop-next-transfer is armed."""
        if self.faults.drop_next_transfer:
            self.faults.drop_next_transfer = False
            log.info("dropping the connection mid-transfer (drop-next-transfer)")
            return Reply(codes.OK, data=payload, drop_after=len(payload) // 2)
        return Reply(codes.OK, data=payload)

    def _get_object(self, request: OperationRequest, data: bytes | None) -> Reply:
        obj = self.objects.get(request.param(0))
        if obj is None or obj.info.object_format == codes.FORMAT_ASSOCIATION:
            return Reply(codes.INVALID_OBJECT_HANDLE)
        return self._transfer(obj.data)

    def _get_partial_object(self, request: OperationRequest, data: bytes | None) -> Reply:
        obj = self.objects.get(request.param(0))
        if obj is None or obj.info.object_format == codes.FORMAT_ASSOCIATION:
            return Reply(codes.INVALID_OBJECT_HANDLE)
        return self.partial(obj, request)

    def partial(self, obj: StoredObject, request: OperationRequest) -> Reply:
        """GetPartialObject (handle, offset, count) of `obj`: the piece, its length as param 1."""
        offset, count = request.param(1), request.param(2)
        if offset > len(obj.data):
            return Reply(codes.INVALID_PARAMETER)
        piece = obj.data[offset : offset + count]
        reply = self._transfer(piece)
        return Reply(reply.code, (len(piece),), reply.data, drop_after=reply.drop_after)

    def _delete_object(self, request: OperationRequest, data: bytes | None) -> Reply:
        handle, fmt = request.param(0), request.param(1)
        if handle == codes.ALL:
            for obj in self.files():
                if fmt in (0, obj.info.object_format):
                    del self.objects[obj.handle]
            return Reply(codes.OK)
        obj = self.objects.get(handle)
        if obj is None:
            return Reply(codes.INVALID_OBJECT_HANDLE)
        if obj.info.object_format == codes.FORMAT_ASSOCIATION:
            return Reply(codes.OBJECT_WRITE_PROTECTED)  # the DCIM folders stay
        del self.objects[handle]
        return Reply(codes.OK)

    def _exposure_seconds(self) -> float:
        units = self.value(codes.EXPOSURE_TIME)
        return float(props.SHUTTER_BY_UNITS.get(units, units / 10000))

    def _initiate_capture(self, request: OperationRequest, data: bytes | None) -> Reply:
        return self.start_capture(request.transaction_id)

    def start_capture(self, transaction_id: int) -> Reply:
        """The shutter: the shot is taken now (ring, exposure); rendered and stored after."""
        if self._capturing is not None:
            return Reply(codes.DEVICE_BUSY)
        if self.needs_card() and self.free_bytes() < self.capture_bytes_estimate():
            return Reply(codes.STORE_FULL)
        self.captures += 1
        shot = Shot(
            index=self.captures,
            focal_asked_mm=self.asked_mm,
            focal_ring_mm=self.ring_mm,
            f_number=self.value(codes.F_NUMBER) / 100,
            exposure_time_s=self._exposure_seconds(),
            iso=self.value(codes.EXPOSURE_INDEX),
            when=dt.datetime.now().replace(microsecond=0),
        )
        corrupt, self.faults.corrupt_next = self.faults.corrupt_next, False
        thread = threading.Thread(
            target=self._capture,
            args=(
                shot,
                transaction_id,
                corrupt,
                self.value(codes.COMPRESSION_SETTING),
                self._take_capture_delay(),
            ),
            name=f"simcam-capture-{shot.index}",
            daemon=True,
        )
        self._capturing = thread
        thread.start()
        return Reply(codes.OK)

    def _take_capture_delay(self) -> float:
        """The extra time this capture takes (a slow body: long exposures, 12 MP to the card)."""
        faults = self.faults
        if faults.capture_delay_count is not None:
            if faults.capture_delay_count <= 0:
                return 0.0
            faults.capture_delay_count -= 1
        return faults.capture_delay_s

    def _capture(
        self, shot: Shot, transaction_id: int, corrupt: bool, quality: int, delay_s: float = 0.0
    ) -> None:
        """Render, store the files, then announce them: ObjectAdded each, CaptureComplete."""
        if delay_s > 0:
            time.sleep(delay_s)  # still busy: InitiateCapture answers DeviceBusy meanwhile
        try:
            capture = self.renderer.render(shot)
        except Exception:
            log.exception("rendering capture %d failed", shot.index)
            with self._lock:
                self._capturing = None
            return
        added = self.deliver(shot, capture, corrupt, quality, transaction_id)
        log.info(
            "capture %d at %.2f mm (EXIF %g mm), %s, %d file(s)",
            shot.index,
            shot.focal_ring_mm,
            capture.focal_exif_mm,
            ", ".join(f"{k} {v}" for k, v in self.settings_text().items() if k != "focallength"),
            len(added),
        )

    def deliver(
        self, shot: Shot, capture: Capture, corrupt: bool, quality: int, transaction_id: int
    ) -> list[int]:
        """The rendered shot onto the card, announced: ObjectAdded each, CaptureComplete."""
        added = self._store(self.shot_files(shot, capture, corrupt, quality), capture, shot)
        with self._lock:
            self._capturing = None
        for handle in added:
            self._emit(codes.OBJECT_ADDED, transaction_id, (handle,))
        self._emit(codes.CAPTURE_COMPLETE, transaction_id, ())
        return added

    def needs_card(self) -> bool:
        """Whether a capture is written to the card (and so refused when the card is full)."""
        return True

    def file_stem(self, index: int) -> str:
        return f"SIM_{(index - 1) % 9999 + 1:04d}"

    def shot_files(
        self, shot: Shot, capture: Capture, corrupt: bool, quality: int
    ) -> list[tuple[str, int, bytes]]:
        """(name, object format, bytes) of each file the image quality asks for."""
        stem = self.file_stem(shot.index)
        dng = capture.dng
        if corrupt:
            # A card write cut short: half the file, and the TIFF header scrambled.
            dng = b"\0" * 16 + dng[16 : len(dng) // 2]
        files = []
        if quality in (0x04, props.RAW_PLUS_JPEG):
            files.append((f"{stem}.{self.RAW_EXTENSION}", self.RAW_FORMAT, dng))
        if quality in (0x02, props.RAW_PLUS_JPEG):
            files.append((f"{stem}.JPG", codes.FORMAT_EXIF_JPEG, capture.jpeg))
        return files

    def object_info(self, name: str, fmt: int, size: int, capture: Capture, shot: Shot, **kw):
        return ObjectInfo(
            codes.STORAGE_ID,
            fmt,
            size,
            name,
            width=capture.width,
            height=capture.height,
            bit_depth=16 if fmt != codes.FORMAT_EXIF_JPEG else 24,
            capture_date=shot.when,
            **kw,
        )

    def _store(self, files, capture: Capture, shot: Shot) -> list[int]:
        added = []
        with self._lock:
            for name, fmt, payload in files:
                handle = self._next_handle
                self._next_handle += 1
                info = self.object_info(
                    name, fmt, len(payload), capture, shot, parent=FOLDER_HANDLE
                )
                self.objects[handle] = StoredObject(handle, info, payload)
                added.append(handle)
        return added

    def _get_device_prop_desc(self, request: OperationRequest, data: bytes | None) -> Reply:
        prop = self.props.get(request.param(0))
        if prop is None:
            return Reply(codes.DEVICE_PROP_NOT_SUPPORTED)
        return Reply(codes.OK, data=prop.desc().pack())

    def _get_device_prop_value(self, request: OperationRequest, data: bytes | None) -> Reply:
        prop = self.props.get(request.param(0))
        if prop is None:
            return Reply(codes.DEVICE_PROP_NOT_SUPPORTED)
        desc = prop.desc()
        return Reply(codes.OK, data=pack_value(desc.datatype, desc.current))

    def _set_device_prop_value(self, request: OperationRequest, data: bytes | None) -> Reply:
        code = request.param(0)
        prop = self.props.get(code)
        if prop is None:
            return Reply(codes.DEVICE_PROP_NOT_SUPPORTED)
        if code in self.faults.refuse:
            return Reply(self.faults.refuse[code])
        if not prop.writable:
            return Reply(codes.ACCESS_DENIED)
        try:
            value = unpack_value(prop.datatype, data or b"")
        except (DatasetError, struct.error):
            return Reply(codes.INVALID_DEVICE_PROP_FORMAT)
        if not prop.desc().allows(value):
            return Reply(codes.INVALID_DEVICE_PROP_VALUE)
        if code == codes.FOCAL_LENGTH:
            # A power zoom aims the ring; it stops near the asked focal length, not on it.
            self.turn_ring(value / 100)
            return Reply(codes.OK)
        prop.value = int(value)
        return Reply(codes.OK)

    def _emit(self, code: int, transaction_id: int, params: tuple[int, ...]) -> None:
        sink = self.on_event
        if sink is not None:
            sink(code, transaction_id, params)

    _HANDLERS: ClassVar[dict[int, Callable[[SimCamera, OperationRequest, bytes | None], Reply]]] = {
        codes.GET_DEVICE_INFO: _get_device_info,
        codes.OPEN_SESSION: _open_session,
        codes.CLOSE_SESSION: _close_session,
        codes.GET_STORAGE_IDS: _get_storage_ids,
        codes.GET_STORAGE_INFO: _get_storage_info,
        codes.GET_NUM_OBJECTS: _get_num_objects,
        codes.GET_OBJECT_HANDLES: _get_object_handles,
        codes.GET_OBJECT_INFO: _get_object_info,
        codes.GET_OBJECT: _get_object,
        codes.GET_PARTIAL_OBJECT: _get_partial_object,
        codes.DELETE_OBJECT: _delete_object,
        codes.INITIATE_CAPTURE: _initiate_capture,
        codes.GET_DEVICE_PROP_DESC: _get_device_prop_desc,
        codes.GET_DEVICE_PROP_VALUE: _get_device_prop_value,
        codes.SET_DEVICE_PROP_VALUE: _set_device_prop_value,
    }
