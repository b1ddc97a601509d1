"""Camera I/O in a child process: every call has a deadline, and a hung call kills the child.

A Python thread cannot cancel a libgphoto2 call that hangs; a process can be killed and started
again. The child ignores SIGINT, so Ctrl-C reaches only the controller, which then closes the
camera cleanly instead of tearing down a transfer half way.

libgphoto2 writes its own complaints to stderr ("connect cmd: Connection refused", up to dozens
of lines on a dropped link). The child's stderr goes to a log file instead, and the lines a
failed call wrote are folded into its CameraError, so the photographer reads one line.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from typing import Any

from srraw_capture.camera import GP_ERROR_TIMEOUT, CameraError

DEFAULT_DEADLINE = 30.0


FOLDED_LINES = 3  # libgphoto2 lines folded into an error (the last distinct ones)


def _stderr_to(log: str | None) -> None:
    """The child's stderr (libgphoto2 writes there) into the log file, appended."""
    if log is None:
        return
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def _written_since(log: str | None, offset: int) -> str:
    """What libgphoto2 wrote to the log since `offset`, as one short clause."""
    if log is None:
        return ""
    try:
        with open(log, "rb") as fh:
            fh.seek(offset)
            text = fh.read(65536).decode(errors="replace")
    except OSError:
        return ""
    lines = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    return "; ".join(lines[-FOLDED_LINES:])


def _log_size(log: str | None) -> int:
    try:
        return os.path.getsize(log) if log else 0
    except OSError:
        return 0


def _serve(conn, port: str | None, home: str | None, log: str | None = None) -> None:
    """Child: run Camera methods sent as (name, args) and answer ("ok", value) / ("err", exc)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _stderr_to(log)
    if home:
        os.environ["HOME"] = home
    from srraw_capture.camera import Camera

    camera = Camera(port)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        if request is None:
            break
        name, args = request
        offset = _log_size(log)
        try:
            conn.send(("ok", getattr(camera, name)(*args)))
        except CameraError as exc:
            if said := _written_since(log, offset):
                exc = CameraError(exc.op, exc.code, f"{exc.message} (libgphoto2: {said})")
            conn.send(("err", exc))
        except OSError as exc:  # writing the download: ENOSPC and the like
            conn.send(("oserr", (exc.errno, exc.strerror or str(exc), exc.filename)))
        except Exception as exc:
            conn.send(("err", CameraError(name, -1, f"{type(exc).__name__}: {exc}")))
    camera.close()


class WorkerGone(CameraError):
    """The worker did not answer within the deadline (killed) or died."""


class CameraWorker:
    """The controller's handle on the camera: Camera's methods, each with a deadline."""

    def __init__(self, port: str | None, log: str | None = None) -> None:
        self.port = port
        self.log = log  # the child's stderr (libgphoto2's own messages) goes here
        self._ctx = mp.get_context("spawn")
        self._proc = None
        self._conn = None

    def start(self) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_serve,
            args=(child, self.port, os.environ.get("HOME"), self.log),
            name="srraw-camera",
            daemon=True,
        )
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def call(self, name: str, *args: Any, deadline: float = DEFAULT_DEADLINE) -> Any:
        """Run Camera.<name>(*args) in the child; kill it if no answer within `deadline` s."""
        if not self.alive:
            self.kill()
            self.start()
        assert self._conn is not None
        try:
            self._conn.send((name, args))
            end = time.monotonic() + deadline
            while not self._conn.poll(min(0.5, max(0.0, end - time.monotonic()))):
                if time.monotonic() >= end or not self.alive:
                    break
            else:
                kind, value = self._conn.recv()
                if kind == "ok":
                    return value
                if kind == "oserr":
                    errno, strerror, filename = value
                    raise OSError(errno, strerror, filename)
                raise value
        except (EOFError, BrokenPipeError, ConnectionResetError):
            pass
        died = not self.alive
        self.kill()
        what = "stopped" if died else f"did not answer within {deadline:g} s (killed)"
        raise WorkerGone(name, GP_ERROR_TIMEOUT, f"the camera process {what}")

    def kill(self) -> None:
        """Stop the child at once (a hung libgphoto2 call)."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(5)
        self._proc = self._conn = None

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the child to close the camera and exit; kill it if it does not."""
        if self._conn is not None and self.alive:
            with contextlib.suppress(OSError, BrokenPipeError):
                self._conn.send(None)
            assert self._proc is not None
            self._proc.join(timeout)
        self.kill()
