"""Helpers for the simulated-camera tests: start `srraw simcam`, talk to it through libgphoto2.

python-gphoto2 keeps the GIL in some calls (get_summary, get_storageinfo), so libgphoto2 and a
simcam must never share a process: tests run `srraw simcam` as a subprocess and libgphoto2 in
the test process, or the other way round (`python -m tests.simcam_util smoke ...`).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from srraw_capture.simcam.control import send_command

ROOT = Path(__file__).resolve().parents[1]
READY = re.compile(r"^simcam ready (ptpip:127\.0\.0\.1:(\d+):\2) control 127\.0\.0\.1:(\d+)$")
FOLDER = "/store_00010001/DCIM/100SRRAW"


@dataclass
class SimcamProcess:
    """A running `srraw simcam` subprocess and what its ready line said."""

    proc: subprocess.Popen
    port_path: str
    port: int
    control_port: int
    lines: queue.Queue = field(default_factory=queue.Queue)  # later stdout lines

    def command(self, line: str) -> str:
        return send_command(self.control_port, line)

    def next_line(self, timeout: float = 10) -> str:
        return self.lines.get(timeout=timeout)

    def stop(self) -> int:
        """Close stdin (the camera stops on EOF); kill it if it does not within 10 s."""
        if self.proc.stdin and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def start_simcam(*args: str, home: Path, timeout: float = 60) -> SimcamProcess:
    """Start `srraw simcam --port 0 ARGS` with HOME=home; wait for its ready line."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home), "PYTHONWARNINGS": "ignore"}
    log = open(home / "simcam.log", "ab")  # noqa: SIM115 (the child owns it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "srraw.cli", "simcam", "--port", "0", "-v", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=ROOT,
        env=env,
    )
    log.close()
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    try:
        first = lines.get(timeout=timeout)
    except queue.Empty:
        proc.kill()
        raise RuntimeError(f"simcam printed no ready line in {timeout} s") from None
    match = READY.match(first or "")
    if not match:
        proc.kill()
        log_text = (home / "simcam.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"unexpected first line {first!r}; log:\n{log_text}")
    return SimcamProcess(proc, match[1], int(match[2]), int(match[3]), lines)


# ---- libgphoto2 side ---------------------------------------------------------------------

_lists: dict = {}


def _gp():
    import gphoto2

    return gphoto2


def connect(port_path: str):
    """A libgphoto2 Camera on the PTP/IP port path, initialised (model "PTP/IP Camera")."""
    gp = _gp()
    if not _lists:
        ports = gp.PortInfoList()
        ports.load()
        abilities = gp.CameraAbilitiesList()
        abilities.load()
        _lists.update(ports=ports, abilities=abilities)
    ports, abilities = _lists["ports"], _lists["abilities"]
    camera = gp.Camera()
    camera.set_port_info(ports[ports.lookup_path(port_path)])
    camera.set_abilities(abilities[abilities.lookup_model("PTP/IP Camera")])
    camera.init()
    return camera


def drain(camera, timeout: float = 5.0) -> list[tuple[int, object]]:
    """Read events until libgphoto2 reports a timeout; returns (type, data) pairs."""
    gp = _gp()
    events = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kind, data = camera.wait_for_event(20)
        if kind == gp.GP_EVENT_TIMEOUT:
            break
        events.append((kind, data))
    return events


def capture(camera, timeout: float = 20.0) -> tuple[list[tuple[str, str]], bool, list]:
    """trigger_capture, then events until CAPTURE_COMPLETE: (files added, complete, others)."""
    camera.trigger_capture()
    return collect_capture(camera, timeout)


def collect_capture(camera, timeout: float = 20.0) -> tuple[list[tuple[str, str]], bool, list]:
    """Events until CAPTURE_COMPLETE (wait_for_event returns at once on PTP/IP, so poll)."""
    gp = _gp()
    files, others = [], []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kind, data = camera.wait_for_event(100)
        if kind == gp.GP_EVENT_FILE_ADDED:
            files.append((data.folder, data.name))
        elif kind == gp.GP_EVENT_CAPTURE_COMPLETE:
            return files, True, others
        elif kind != gp.GP_EVENT_TIMEOUT:
            others.append((kind, data))
    return files, False, others


def download(camera, folder: str, name: str) -> bytes:
    """The file's bytes. Keep the CameraFile referenced while copying: get_data_and_size() is a
    view into its buffer, and `bytes(camera.file_get(...).get_data_and_size())` reads freed
    memory (the allocator overwrites bytes 24-31: a DNG that LibRaw then refuses)."""
    gp = _gp()
    camera_file = camera.file_get(folder, name, gp.GP_FILE_TYPE_NORMAL)
    data = bytes(camera_file.get_data_and_size())
    del camera_file
    return data


def value(camera, widget: str):
    return camera.get_single_config(widget).get_value()


def set_value(camera, widget: str, new) -> None:
    config = camera.get_single_config(widget)
    config.set_value(new)
    camera.set_single_config(widget, config)


def free_bytes(camera) -> int:
    return camera.get_storageinfo()[0].freekbytes * 1024


def smoke(port_path: str, out: Path) -> dict:
    """Init, read the exposure widgets, capture, download: what the in-process test checks."""
    camera = connect(port_path)
    widgets = {}
    for name in ("f-number", "shutterspeed", "iso", "focallength", "expprogram"):
        widget = camera.get_single_config(name)
        widgets[name] = [widget.get_value(), widget.get_type(), widget.get_readonly()]
    files, complete, _ = capture(camera)
    for folder, name in files:
        (out / name).write_bytes(download(camera, folder, name))
    camera.exit()
    return {"widgets": widgets, "files": [name for _, name in files], "complete": complete}


if __name__ == "__main__":
    # python -m tests.simcam_util smoke PORT_PATH OUT_DIR: one JSON line on stdout.
    if len(sys.argv) != 4 or sys.argv[1] != "smoke":
        sys.exit("usage: python -m tests.simcam_util smoke PORT_PATH OUT_DIR")
    print(json.dumps(smoke(sys.argv[2], Path(sys.argv[3]))))
