"""Camera I/O in a child process: every call has a deadline, and a hung call kills the child.

A Python thread cannot cancel a libgphoto2 call that hangs; a process can be killed and started
again. The child ignores SIGINT, so Ctrl-C reaches only the controller, which then closes the
camera cleanly instead of tearing down a transfer half way.
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


def _serve(conn, port: str | None, home: str | None) -> None:
    """Child: run Camera methods sent as (name, args) and answer ("ok", value) / ("err", exc)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
        try:
            conn.send(("ok", getattr(camera, name)(*args)))
        except CameraError as exc:
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

    def __init__(self, port: str | None) -> None:
        self.port = port
        self._ctx = mp.get_context("spawn")
        self._proc = None
        self._conn = None

    def start(self) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_serve,
            args=(child, self.port, os.environ.get("HOME")),
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
