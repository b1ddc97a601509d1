"""A running simulated camera: the body, its PTP/IP server, its control socket, its lifetime.

    with SimCam(SimCamConfig(port=0, size=(192, 128))) as cam:
        cam.port_path        # "ptpip:127.0.0.1:PORT:PORT", for libgphoto2
        cam.command("zoom 70")   # "ok focal 69.23"

It stops by itself after `idle_timeout` seconds with no PTP/IP connection and no control
command, when its parent process dies (`exit_with_parent`), or on `quit`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

from srraw.rig import load_rig
from srraw_capture.simcam.bodies import make_camera
from srraw_capture.simcam.control import ControlServer, execute
from srraw_capture.simcam.device import CameraConfig, Faults
from srraw_capture.simcam.render import Renderer
from srraw_capture.simcam.server import HOST, PtpIpServer

log = logging.getLogger("srraw.simcam")

WATCH_S = 0.25  # how often the lifetime watchdog looks


@dataclass(frozen=True)
class SimCamConfig:
    """Everything `srraw simcam` takes on its command line."""

    port: int = 15740  # 0: pick a free port
    control_port: int = 0  # 0: pick a free port
    rig: str = "simulated"
    seed: int = 0
    zoom: str = "manual"
    size: tuple[int, int] | None = None
    miss_pct: float = 2.0
    card_bytes: int = 8 * 1024**3
    body: str = "generic"  # generic | sony | sony-mode3 | canon-eos | nikon (simcam/bodies.py)
    idle_timeout: float | None = 600.0  # None: never
    exit_with_parent: bool = False
    parent_pid: int | None = None  # the process to outlive not; default: our parent now

    def camera(self) -> CameraConfig:
        return CameraConfig(
            rig=self.rig,
            seed=self.seed,
            zoom=self.zoom,
            size=self.size,
            miss_pct=self.miss_pct,
            card_bytes=self.card_bytes,
            body=self.body,
        )


class SimCam:
    """The simulated camera, started by `start()` (or `with`), stopped by `stop()`."""

    def __init__(self, config: SimCamConfig = SimCamConfig()) -> None:
        if config.zoom not in ("manual", "power"):
            raise ValueError(f"zoom must be 'manual' or 'power', not {config.zoom!r}")
        if config.size is not None and (config.size[0] % 2 or config.size[1] % 2):
            raise ValueError(f"frame size must be even (Bayer 2x2), not {config.size}")
        self.config = config
        rig = load_rig(config.rig)
        self.camera = make_camera(config.camera(), rig, Renderer(rig, config.seed, config.size))
        self.server = PtpIpServer(self.camera, config.port)
        self.control: ControlServer | None = None
        self.stop_reason: str | None = None
        self._stopped = threading.Event()
        self._stop_lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._last_command = time.monotonic()
        self._parent = config.parent_pid or os.getppid()
        self._watchdog: threading.Thread | None = None

    # ---- lifetime ------------------------------------------------------------------------

    def start(self) -> SimCam:
        self.server.start()
        try:
            self.control = ControlServer(self.command, self.config.control_port).start()
        except OSError:
            self.server.stop()
            raise
        self._watchdog = threading.Thread(target=self._watch, name="simcam-watchdog", daemon=True)
        self._watchdog.start()
        log.info("%s", self.ready_line)
        return self

    def __enter__(self) -> SimCam:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def request_stop(self, reason: str = "quit") -> None:
        """Ask the camera to stop (safe from any thread, the control handlers included)."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop_requested.set()

    def stop(self, reason: str = "stopped") -> None:
        with self._stop_lock:
            if self._stopped.is_set():
                return
            self.request_stop(reason)
            self.server.stop()
            if self.control is not None:
                self.control.stop()
            self.camera.wait_idle(timeout=5)
            self._stopped.set()
        log.info("simcam stopped: %s", self.stop_reason)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is requested (then stop); True once stopped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop_requested.wait(WATCH_S):
            if deadline is not None and time.monotonic() > deadline:
                return False
        self.stop()
        return True

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def _watch(self) -> None:
        """Stop when idle too long or when the parent process is gone."""
        idle = self.config.idle_timeout
        while not self._stop_requested.wait(WATCH_S):
            if self.config.exit_with_parent and os.getppid() != self._parent:
                self.request_stop("parent process exited")
            elif idle is not None and not self.server.connected:
                last = max(self.server.last_activity, self._last_command)
                if time.monotonic() - last > idle:
                    self.request_stop(f"idle for {idle:g} s")
        # A stop requested from a handler thread finishes here, off the handler's thread.
        threading.Thread(target=self.stop, name="simcam-stop", daemon=True).start()

    # ---- what tests and people use -------------------------------------------------------

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def control_port(self) -> int:
        return self.control.port if self.control else 0

    @property
    def port_path(self) -> str:
        """The libgphoto2 port path; the port is written twice (the event port defaults to 15740)."""
        return f"ptpip:{HOST}:{self.port}:{self.port}"

    @property
    def ready_line(self) -> str:
        return f"simcam ready {self.port_path} control {HOST}:{self.control_port}"

    def command(self, line: str) -> str:
        """Run one control command (as on stdin or the control socket); returns the reply."""
        self._last_command = time.monotonic()
        reply = execute(self, line)
        log.info("control: %s -> %s", line.strip(), reply if len(reply) < 200 else reply[:200])
        return reply

    def status(self) -> dict:
        return {
            **self.camera.status(),
            "port": self.port,
            "control_port": self.control_port,
            "connected": self.server.connected,
            "plugged": self.server.plugged,
            "frozen": self.server.frozen,
        }

    def unplug(self) -> None:
        self.server.unplug()

    def plug(self) -> None:
        self.server.plug()

    def freeze(self) -> None:
        self.server.freeze()

    def thaw(self) -> None:
        self.server.thaw()

    def reset_faults(self) -> None:
        """Clear every armed fault: plugged, thawed, card with room, nothing refused."""
        self.camera.faults = Faults()
        self.server.thaw()
        self.server.plug()
