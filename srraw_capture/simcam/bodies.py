"""Which simulated body answers: the generic PTP core or one vendor's personality.

Each personality is a SimCamera subclass in its own module (sony.py, canon.py, nikon.py) and answers as
libgphoto2's camlibs/ptp2 expects of that vendor; the control commands (status, zoom, set,
unplug, stall-next, corrupt-next, card-full, battery, busy-next, ...) work on all of them.
"""

from __future__ import annotations

from srraw.rig import Rig
from srraw_capture.simcam.canon import CanonEosCamera
from srraw_capture.simcam.device import CameraConfig, SimCamera
from srraw_capture.simcam.nikon import NikonCamera
from srraw_capture.simcam.render import Renderer
from srraw_capture.simcam.sony import SonyCamera, SonyMode3Camera

BODIES: dict[str, type[SimCamera]] = {
    "generic": SimCamera,
    "sony": SonyCamera,
    "sony-mode3": SonyMode3Camera,
    "canon-eos": CanonEosCamera,
    "nikon": NikonCamera,
}


def make_camera(config: CameraConfig, rig: Rig, renderer: Renderer) -> SimCamera:
    try:
        body = BODIES[config.body]
    except KeyError:
        raise ValueError(
            f"no simulated body {config.body!r} (known: {', '.join(BODIES)})"
        ) from None
    return body(config, rig, renderer)
