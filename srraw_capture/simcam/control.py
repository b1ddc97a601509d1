"""The control language (one command per line, one reply line) and its TCP socket on 127.0.0.1.

Replies start with `ok` or `error`. Commands:

    status                      JSON: focal, settings, files on the card, free bytes, captures
    zoom MM                     turn the zoom ring towards MM; it lands near: `ok focal 69.23`
    scene [SEED]                point the camera at a new scene (next seed if none given)
    set PROP VALUE              change a setting on the body: f-number 8 | shutterspeed 1/125 |
                                iso 400 | expprogram M | imagequality RAW+JPEG | battery 40
    battery PCT                 the battery level the body reports (0-100)
    busy-next [N]               the next N (default 1) property sets or captures answer
                                DeviceBusy 0x2019, as a body that is still writing does
    unplug / plug               close both connections and refuse new ones / accept again
    drop-next-transfer          hang up in the middle of the next GetObject data phase
    stall-next                  never answer the next operation
    refuse PROP [invalid|busy|denied|0xCODE]
                                SetDevicePropValue on PROP answers that code (default
                                InvalidDevicePropValue 0x201C; busy = DeviceBusy 0x2019)
    allow PROP                  stop refusing PROP
    capture-delay SECONDS [COUNT]
                                captures take SECONDS longer from the trigger to the files
                                (the next COUNT captures; every one without COUNT; 0 stops)
    corrupt-next                the next captured RAW is cut short and damaged
    card-full / card-free       the card reports no free space (captures: StoreFull) / room again
    freeze / thaw               stop answering anything / answer again
    reset [all]                 clear every armed fault (all: settings back to the rig's plan
                                and the zoom to its widest end too; files stay on the card)
    quit                        stop the simulated camera
    help                        this list
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from srraw_capture.simcam import codes, props

if TYPE_CHECKING:
    from srraw_capture.simcam.app import SimCam

log = logging.getLogger("srraw.simcam")

REFUSE_CODES = {
    "invalid": codes.INVALID_DEVICE_PROP_VALUE,
    "busy": codes.DEVICE_BUSY,
    "denied": codes.ACCESS_DENIED,
    "error": codes.GENERAL_ERROR,
}
MAX_LINE = 1024
HELP = (
    "status | zoom MM | scene [SEED] | set PROP VALUE | battery PCT | busy-next [N] | "
    "unplug | plug | drop-next-transfer | "
    "stall-next | refuse PROP [invalid|busy|denied|0xCODE] | allow PROP | "
    "capture-delay SECONDS [COUNT] | corrupt-next | "
    "card-full | card-free | freeze | thaw | reset [all] | quit | help"
)


class CommandError(ValueError):
    """A command that cannot be carried out; its message becomes the `error` reply."""


def _prop(name: str) -> int:
    try:
        return props.property_code(name)
    except KeyError:
        known = ", ".join(sorted(set(props.WIDGET_NAMES.values())))
        raise CommandError(f"unknown property {name!r} (known: {known})") from None


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CommandError(f"{what} must be a number, not {text!r}") from None


def execute(sim: SimCam, line: str) -> str:
    """Run one command line against a running simulated camera; returns the reply line."""
    words = line.split()
    if not words:
        return "error empty command (try: help)"
    command, args = words[0].lower(), words[1:]
    handler = _COMMANDS.get(command)
    if handler is None:
        return f"error unknown command {command!r} (try: help)"
    try:
        return handler(sim, args)
    except CommandError as exc:
        return f"error {exc}"
    except ValueError as exc:
        return f"error {exc}"


def _arity(args: list[str], low: int, high: int, usage: str) -> None:
    if not low <= len(args) <= high:
        raise CommandError(f"usage: {usage}")


def _status(sim: SimCam, args: list[str]) -> str:
    _arity(args, 0, 0, "status")
    return "ok " + json.dumps(sim.status(), sort_keys=True)


def _zoom(sim: SimCam, args: list[str]) -> str:
    _arity(args, 1, 1, "zoom MM")
    landed = sim.camera.turn_ring(_number(args[0].lower().removesuffix("mm"), "zoom"))
    return f"ok focal {landed:.2f}"


def _scene(sim: SimCam, args: list[str]) -> str:
    _arity(args, 0, 1, "scene [SEED]")
    seed = int(_number(args[0], "seed")) if args else sim.camera.renderer.scene_seed + 1
    sim.camera.point_at(seed)
    return f"ok scene {seed}"


def _set(sim: SimCam, args: list[str]) -> str:
    _arity(args, 2, 2, "set PROP VALUE")
    code = _prop(args[0])
    if code == codes.FOCAL_LENGTH:
        raise CommandError("the focal length is the zoom ring: use `zoom MM`")
    try:
        value = props.parse_body_value(code, args[1])
    except (ValueError, KeyError, ZeroDivisionError):
        raise CommandError(f"cannot read {args[1]!r} as {props.WIDGET_NAMES[code]}") from None
    sim.camera.set_on_body(code, value)
    return f"ok {props.WIDGET_NAMES[code]} {props.describe_value(code, value)}"


def _battery(sim: SimCam, args: list[str]) -> str:
    _arity(args, 1, 1, "battery PCT")
    level = _number(args[0].removesuffix("%"), "battery")
    if not 0 <= level <= 100:
        raise CommandError(f"battery level must be 0-100, not {args[0]}")
    sim.camera.set_on_body(codes.BATTERY_LEVEL, round(level))
    return f"ok batterylevel {round(level)}%"


def _busy_next(sim: SimCam, args: list[str]) -> str:
    _arity(args, 0, 1, "busy-next [N]")
    count = int(_number(args[0], "busy-next count")) if args else 1
    if count < 0:
        raise CommandError("busy-next count must be 0 or more")
    sim.camera.faults.busy_next = count
    return f"ok busy-next {count}"


def _refuse(sim: SimCam, args: list[str]) -> str:
    _arity(args, 1, 2, "refuse PROP [invalid|busy|denied|0xCODE]")
    code = _prop(args[0])
    how = args[1].lower() if len(args) > 1 else "invalid"
    if how in REFUSE_CODES:
        response = REFUSE_CODES[how]
    else:
        try:
            response = int(how, 16)
        except ValueError:
            raise CommandError(
                f"refuse with invalid, busy, denied or a hex code, not {how!r}"
            ) from None
        if not 0x2002 <= response <= 0x2FFF:
            raise CommandError(f"0x{response:04x} is not a PTP error response code")
    sim.camera.faults.refuse[code] = response
    name = codes.RESPONSE_NAMES.get(response, "vendor code")
    return f"ok refusing {props.WIDGET_NAMES[code]} with 0x{response:04x} {name}"


def _allow(sim: SimCam, args: list[str]) -> str:
    _arity(args, 1, 1, "allow PROP")
    code = _prop(args[0])
    sim.camera.faults.refuse.pop(code, None)
    return f"ok allowing {props.WIDGET_NAMES[code]}"


def _capture_delay(sim: SimCam, args: list[str]) -> str:
    _arity(args, 1, 2, "capture-delay SECONDS [COUNT]")
    seconds = _number(args[0], "SECONDS")
    if not 0 <= seconds <= 600:
        raise CommandError("SECONDS must be within 0..600")
    count = int(_number(args[1], "COUNT")) if len(args) > 1 else None
    faults = sim.camera.faults
    faults.capture_delay_s, faults.capture_delay_count = seconds, count
    which = "every capture" if count is None else f"the next {count} capture(s)"
    return f"ok capture delay {seconds:g} s for {which}"


def _flag(attribute: str, value: bool, reply: str) -> Callable[[SimCam, list[str]], str]:
    def run(sim: SimCam, args: list[str]) -> str:
        _arity(args, 0, 0, reply)
        setattr(sim.camera.faults, attribute, value)
        return f"ok {reply}"

    return run


def _action(method: str, reply: str) -> Callable[[SimCam, list[str]], str]:
    def run(sim: SimCam, args: list[str]) -> str:
        _arity(args, 0, 0, reply)
        getattr(sim, method)()
        return f"ok {reply}"

    return run


def _reset(sim: SimCam, args: list[str]) -> str:
    _arity(args, 0, 1, "reset [all]")
    if args and args[0].lower() != "all":
        raise CommandError("usage: reset [all]")
    sim.reset_faults()
    if args:
        sim.camera.restore_settings()
        return "ok reset all"
    return "ok reset"


def _help(sim: SimCam, args: list[str]) -> str:
    return "ok " + HELP


_COMMANDS: dict[str, Callable[[SimCam, list[str]], str]] = {
    "status": _status,
    "zoom": _zoom,
    "scene": _scene,
    "set": _set,
    "battery": _battery,
    "busy-next": _busy_next,
    "unplug": _action("unplug", "unplugged"),
    "plug": _action("plug", "plugged"),
    "drop-next-transfer": _flag("drop_next_transfer", True, "drop-next-transfer"),
    "stall-next": _flag("stall_next", True, "stall-next"),
    "refuse": _refuse,
    "allow": _allow,
    "capture-delay": _capture_delay,
    "corrupt-next": _flag("corrupt_next", True, "corrupt-next"),
    "card-full": _flag("card_full", True, "card-full"),
    "card-free": _flag("card_full", False, "card-free"),
    "freeze": _action("freeze", "frozen"),
    "thaw": _action("thaw", "thawed"),
    "reset": _reset,
    "quit": _action("request_stop", "bye"),
    "help": _help,
}


class ControlServer:
    """Line-based control socket on 127.0.0.1: one command per line, one reply line each."""

    def __init__(self, execute_line: Callable[[str], str], port: int = 0) -> None:
        self._execute = execute_line
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(4)
        self._sock.settimeout(0.25)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._accept_loop, name="simcam-control", daemon=True
        )

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.25)
            threading.Thread(
                target=self._client, args=(conn,), name="simcam-control-client", daemon=True
            ).start()

    def _client(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.decode(errors="replace").strip()
                    reply = self._execute(line) if line else "error empty command (try: help)"
                    try:
                        conn.settimeout(10)
                        conn.sendall((reply + "\n").encode())
                        conn.settimeout(0.25)
                    except OSError:
                        return
                if len(buf) > MAX_LINE:
                    with contextlib.suppress(OSError):
                        conn.sendall(b"error line too long\n")
                    return


def send_command(port: int, line: str, timeout: float = 10.0) -> str:
    """Send one command to a simcam control socket and return its reply line."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(line.strip().encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    return buf.decode(errors="replace").strip()
