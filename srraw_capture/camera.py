"""The libgphoto2 boundary: one tethered body, its widgets, capture, download, delete.

Runs inside the camera worker process (`worker.py`), never in the controller: a libgphoto2 call
that hangs cannot be cancelled from Python, but a process can be killed. Every method returns
plain data (picklable) and raises `CameraError` with libgphoto2's code.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass, field

# libgphoto2 result codes the controller tells apart (gphoto2-result.h, gphoto2-port-result.h)
GP_ERROR = -1  # generic: a PTP/IP peer that closed the connection, StoreFull on capture
GP_ERROR_BAD_PARAMETERS = -2  # a refused or read-only property (whatever the PTP code)
GP_ERROR_NOT_SUPPORTED = -6
GP_ERROR_IO = -7  # connection refused / unplugged
GP_ERROR_TIMEOUT = -10
GP_ERROR_MODEL_NOT_FOUND = -105
GP_ERROR_CAMERA_BUSY = -110
# srraw's own code, not libgphoto2's: the trigger was accepted but the files did not come within
# the capture timeout. The link is fine and the body may still be writing them.
CAPTURE_TIMEOUT = -1010
# A busy body: -110 from a trigger, -2 from a property set (libgphoto2 answers -2 to DeviceBusy
# and to a refusal alike, so a refusal costs the whole back-off before it is reported).
BUSY_CODES = frozenset({GP_ERROR_CAMERA_BUSY, GP_ERROR_BAD_PARAMETERS})
BUSY_BACKOFF_S = (0.1, 0.2, 0.4, 0.8, 1.2)  # 2.7 s in all

# Codes after which the link is in doubt: close it and init again (libgphoto2 keeps answering
# -1 after a dropped PTP/IP connection until exit() and a new init).
LINK_CODES = frozenset({GP_ERROR, GP_ERROR_IO, GP_ERROR_TIMEOUT, -3, -35, -34, -52, -53})


class CameraError(Exception):
    """A libgphoto2 call failed: `code` is libgphoto2's result code, `op` what was asked."""

    def __init__(self, op: str, code: int, message: str) -> None:
        super().__init__(f"{op}: {message} [{code}]")
        self.op, self.code, self.message = op, code, message

    @property
    def link(self) -> bool:
        """True when the link should be re-initialised before the next call."""
        return self.code in LINK_CODES

    def __reduce__(self):  # picklable across the worker pipe
        return (CameraError, (self.op, self.code, self.message))


@dataclass(frozen=True)
class CameraInfo:
    model: str
    serial: str
    manufacturer: str
    port: str
    autodetected: bool


@dataclass(frozen=True)
class Widget:
    """One config widget as the controller sees it."""

    name: str
    kind: str  # "radio", "menu", "range", "text", "toggle", "date", "other"
    value: object
    readonly: bool
    choices: tuple[str, ...] = ()
    range: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class CardFile:
    folder: str
    name: str
    size: int
    mtime: int

    @property
    def path(self) -> str:
        return f"{self.folder.rstrip('/')}/{self.name}"

    @property
    def in_memory(self) -> bool:
        """A file libgphoto2 fetched from the camera's memory while capturing (Sony, Nikon and
        Canon SDRAM captures: `/capt_*`); deleting it only drops libgphoto2's copy."""
        return self.folder == "/" and self.name.startswith("capt")


@dataclass
class CaptureResult:
    files: list[CardFile]
    seconds: float  # trigger to the last expected file announced
    events: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Download:
    bytes: int
    sha256: str
    transfer_s: float  # libgphoto2 file_get alone
    write_s: float  # hashing, writing and fsync


_KINDS = {
    0: "window",
    1: "section",
    2: "text",
    3: "range",
    4: "toggle",
    5: "radio",
    6: "menu",
    7: "button",
    8: "date",
}


def normalize_port(port: str) -> str:
    """`ptpip:HOST:PORT` -> `ptpip:HOST:PORT:PORT` (libgphoto2 otherwise uses 15740 for events)."""
    if port.startswith("ptpip:"):
        parts = port.split(":")
        if len(parts) == 3 and parts[2].isdigit():
            return f"{port}:{parts[2]}"
    return port


def _gp():
    import gphoto2

    return gphoto2


class Camera:
    """One libgphoto2 Camera, opened on a port path or the first autodetected body."""

    def __init__(self, port: str | None) -> None:
        self.asked_port = normalize_port(port) if port else None
        self.camera = None
        self.info: CameraInfo | None = None

    # ---- connection ----------------------------------------------------------------------

    def _call(self, op: str, fn, *args):
        gp = _gp()
        try:
            return fn(*args)
        except gp.GPhoto2Error as exc:
            raise CameraError(op, exc.code, exc.string) from None

    def open(self) -> CameraInfo:
        """Init the camera; returns what it is and where."""
        gp = _gp()
        self.close()
        ports = gp.PortInfoList()
        ports.load()
        abilities = gp.CameraAbilitiesList()
        abilities.load()
        autodetected = self.asked_port is None
        model_name = None
        port = self.asked_port
        if port is None:
            found = list(self._call("autodetect", gp.Camera.autodetect))
            if not found:
                raise CameraError(
                    "autodetect",
                    GP_ERROR_MODEL_NOT_FOUND,
                    "libgphoto2 found no camera (autodetect sees USB bodies only; for a "
                    "network body give --camera ptpip:HOST or ptpip:HOST:PORT)",
                )
            model_name, port = found[0]
        elif port.startswith("ptpip:"):
            model_name = "PTP/IP Camera"
        camera = gp.Camera()
        index = ports.lookup_path(port)
        if index < 0:
            raise CameraError("open", index, f"libgphoto2 knows no port {port!r}")
        camera.set_port_info(ports[index])
        if model_name:
            model_index = abilities.lookup_model(model_name)
            if model_index >= 0:
                camera.set_abilities(abilities[model_index])
        self._call("init", camera.init)
        self.camera = camera
        model = self._text("cameramodel") or model_name or "unknown"
        serial = self._text("serialnumber") or ""
        maker = self._text("manufacturer") or ""
        self.info = CameraInfo(model, serial, maker, port, autodetected)
        return self.info

    def _text(self, name: str) -> str | None:
        try:
            value = self.camera.get_single_config(name).get_value()
        except Exception:
            return None
        return str(value).strip() or None

    def widget_names(self) -> list[str]:
        """Every config widget libgphoto2 offers for this body (gp_camera_list_config)."""
        names = self._call("list config", self._cam().list_config)
        return [names.get_name(i) for i in range(names.count())]

    def vendor_path(self) -> str:
        """Which of libgphoto2's vendor code paths this body is on (see plan.vendor_path)."""
        from srraw_capture.plan import vendor_path

        assert self.info is not None
        return vendor_path(self.info.manufacturer, set(self.widget_names()))

    def close(self) -> None:
        """exit() the camera; errors are ignored (the link may already be gone)."""
        if self.camera is not None:
            with contextlib.suppress(Exception):
                self.camera.exit()
        self.camera = None

    def _cam(self):
        if self.camera is None:
            raise CameraError("camera", GP_ERROR_IO, "not connected")
        return self.camera

    # ---- widgets -------------------------------------------------------------------------

    def read_widget(self, name: str) -> Widget | None:
        """A widget by name, or None if the body has no such widget."""
        gp = _gp()
        try:
            widget = self._cam().get_single_config(name)
        except gp.GPhoto2Error as exc:
            if exc.code in (GP_ERROR_BAD_PARAMETERS, GP_ERROR_NOT_SUPPORTED):
                return None
            raise CameraError(f"read {name}", exc.code, exc.string) from None
        kind = _KINDS.get(widget.get_type(), "other")
        choices: tuple[str, ...] = ()
        value_range = None
        if kind in ("radio", "menu"):
            choices = tuple(str(widget.get_choice(i)) for i in range(widget.count_choices()))
        elif kind == "range":
            value_range = tuple(float(v) for v in widget.get_range())
        return Widget(
            name, kind, widget.get_value(), bool(widget.get_readonly()), choices, value_range
        )

    def read_widgets(self, names: list[str]) -> dict[str, Widget | None]:
        return {name: self.read_widget(name) for name in names}

    def _busy_retry(self, op: str, fn, *args):
        """A call a busy body answers DeviceBusy to, retried with back-off."""
        for pause in BUSY_BACKOFF_S:
            try:
                return self._call(op, fn, *args)
            except CameraError as exc:
                if exc.code not in BUSY_CODES:
                    raise
            time.sleep(pause)
        return self._call(op, fn, *args)

    def set_widget(self, name: str, value: object) -> None:
        """set_single_config one widget (the whole-tree set_config hides refusals); a busy
        body gets the back-off before the refusal is believed."""
        camera = self._cam()
        widget = self._call(f"read {name}", camera.get_single_config, name)
        self._call(f"set {name}", widget.set_value, value)
        try:
            self._busy_retry(f"set {name}", camera.set_single_config, name, widget)
        except CameraError as exc:
            if exc.code != GP_ERROR or not self._link_answers():
                raise
            # libgphoto2's Canon EOS path returns a refused SetDevicePropValueEx as -1
            # (translate_ptp_result), the code of a dropped link; the link answered: a refusal.
            raise CameraError(
                f"set {name}", GP_ERROR_BAD_PARAMETERS, f"the body refused it ({exc.message})"
            ) from None

    def _link_answers(self) -> bool:
        """One event poll (GetEvent on EOS): False when the link is gone."""
        try:
            self._call("wait_for_event", self._cam().wait_for_event, 1)
        except CameraError:
            return False
        return True

    def read_focal(self, name: str) -> float | None:
        """The focal-length widget, fresh: read pending events first (they refresh libgphoto2's
        2 s property cache only if no other operation runs in between)."""
        self.drain_events()
        widget = self.read_widget(name)
        if widget is None:
            return None
        try:
            return float(str(widget.value).lower().removesuffix("mm").strip())
        except ValueError:
            return None

    def drain_events(self, limit: int = 50) -> list[str]:
        """Read queued events (returns at once on PTP/IP when none is pending)."""
        gp = _gp()
        camera = self._cam()
        seen = []
        for _ in range(limit):
            kind, data = self._call("wait_for_event", camera.wait_for_event, 1)
            if kind == gp.GP_EVENT_TIMEOUT:
                break
            seen.append(f"{kind}:{data}")
        return seen

    # ---- capture, files ------------------------------------------------------------------

    def capture(self, expected: int, timeout: float) -> CaptureResult:
        """trigger_capture, then events until `expected` new files are announced.

        camera.capture() has no timeout and returns only the last file of RAW+JPEG, so poll
        wait_for_event (it returns at once on PTP/IP) against our own deadline.
        """
        gp = _gp()
        camera = self._cam()
        self.drain_events()
        start = time.monotonic()
        self._busy_retry("capture", camera.trigger_capture)
        added: list[tuple[str, str]] = []
        events: list[str] = []
        complete = False
        deadline = start + timeout
        while time.monotonic() < deadline:
            kind, data = self._call("wait_for_event", camera.wait_for_event, 50)
            if kind == gp.GP_EVENT_FILE_ADDED:
                added.append((data.folder, data.name))
            elif kind == gp.GP_EVENT_CAPTURE_COMPLETE:
                complete = True
            elif kind == gp.GP_EVENT_TIMEOUT:
                if len(added) >= expected and complete:
                    break
                if (
                    len(added) >= expected
                    and time.monotonic() - start > 0.5 + min(timeout, 30) / 20
                ):
                    break  # some bodies never send CaptureComplete
                time.sleep(0.01)
                continue
            else:
                events.append(f"{kind}:{data}")
            if len(added) >= expected and complete:
                break
        seconds = time.monotonic() - start
        if len(added) < expected:
            raise CameraError(
                "capture",
                CAPTURE_TIMEOUT,
                f"{len(added)} of {expected} files announced within {timeout:g} s of the trigger",
            )
        files = [self.file_info(folder, name) for folder, name in added]
        return CaptureResult(files, seconds, events)

    def list_files(self, folder: str = "/") -> list[tuple[str, str]]:
        """Every file on the card as (folder, name), walking the folders from `folder`."""
        camera = self._cam()
        found = []
        names = self._call("list files", camera.folder_list_files, folder)
        found += [(folder, name) for name, _ in names]
        for sub, _ in self._call("list folders", camera.folder_list_folders, folder):
            found += self.list_files(f"{folder.rstrip('/')}/{sub}")
        return found

    def file_info(self, folder: str, name: str) -> CardFile:
        card = CardFile(folder, name, 0, 0)
        try:
            info = self._call("file info", self._cam().file_get_info, folder, name)
        except CameraError:
            if not card.in_memory:
                raise
            # libgphoto2's Nikon SDRAM capture (library.c, wait_for_event "downloadnow") keeps
            # the file in memory but sets no file info: read it from the file itself.
            gp = _gp()
            camera_file = self._call(
                f"download {name}", self._cam().file_get, folder, name, gp.GP_FILE_TYPE_NORMAL
            )
            size = len(memoryview(camera_file.get_data_and_size()))
            return CardFile(folder, name, size, int(camera_file.get_mtime()))
        return CardFile(folder, name, int(info.file.size), int(info.file.mtime))

    def download(self, folder: str, name: str, dest: str) -> Download:
        """file_get into `dest` (an existing temporary file): write, fsync, sha256."""
        gp = _gp()
        start = time.monotonic()
        camera_file = self._call(
            f"download {name}", self._cam().file_get, folder, name, gp.GP_FILE_TYPE_NORMAL
        )
        # Keep camera_file referenced while its buffer is read: a view of a freed CameraFile
        # returns bytes 24-31 overwritten.
        data = camera_file.get_data_and_size()
        view = memoryview(data)
        transfer = time.monotonic() - start
        digest = hashlib.sha256(view).hexdigest()
        with open(dest, "wb") as fh:
            fh.write(view)
            fh.flush()
            os.fsync(fh.fileno())
        size = len(view)
        del view, data, camera_file
        return Download(size, digest, transfer, time.monotonic() - start - transfer)

    def download_plain(self, folder: str, name: str) -> tuple[int, float]:
        """A plain file_get (the benchmark's reference): (bytes, seconds)."""
        gp = _gp()
        start = time.monotonic()
        camera_file = self._call("download", self._cam().file_get, folder, name, 1)
        size = len(memoryview(camera_file.get_data_and_size()))
        del camera_file, gp
        return size, time.monotonic() - start

    def delete(self, folder: str, name: str) -> None:
        self._call(f"delete {name}", self._cam().file_delete, folder, name)

    def exists(self, card: CardFile) -> bool:
        """The file is still on the card with the size and time it had when captured."""
        try:
            found = self.file_info(card.folder, card.name)
        except CameraError as exc:
            if exc.link:
                raise
            return False
        return found.size == card.size and found.mtime == card.mtime

    def free_bytes(self) -> int | None:
        try:
            storages = self._call("storage info", self._cam().get_storageinfo)
        except CameraError as exc:
            if exc.link:
                raise
            return None
        if not storages:
            return None
        return sum(int(s.freekbytes) * 1024 for s in storages)
