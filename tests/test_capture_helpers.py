"""Helpers for the `srraw capture` tests (no tests here): run the controller as a user does, read
its lines as they come, play the photographer on the simulated camera's control socket."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from srraw.files import sha256_file
from srraw.manifest import read_manifest_df
from tests.simcam_util import ROOT, SimcamProcess, start_simcam

SMALL = ("--size", "192x128")
GUIDE = re.compile(r"^(\d{5}) frame (\d+)/\d+(?: \(attempt (\d+)\))?: turn the zoom to ([\d.]+) mm")
STATUS = re.compile(r"^(\d{5}) frame (\d+)/(\d+)(?: \(attempt \d+\))?: .* ok \(")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def simcam(home: Path, *args: str, power: bool = True, seed: int = 1) -> SimcamProcess:
    zoom = ("--zoom", "power") if power else ()
    return start_simcam(*SMALL, "--exit-with-parent", "--seed", str(seed), *zoom, *args, home=home)


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(home), "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}


class Capture:
    """A running `srraw capture`, its stdout lines collected as they come."""

    def __init__(self, args: list[str], home: Path, timeout: float = 120) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        self._err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - read in finish()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "srraw.cli", "capture", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            cwd=ROOT,
            env=env_for(home),
            start_new_session=True,  # its own process group: Ctrl-C goes to it and its worker
        )
        self.timeout = timeout
        self.stderr = ""
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str | re.Pattern, timeout: float = 60) -> re.Match:
        """The next stdout line matching `pattern` (lines before it are kept in .lines)."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        end = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            if match := regex.search(line):
                return match
        self.proc.kill()
        raise AssertionError(
            f"no line matching {regex.pattern!r}; output:\n" + "\n".join(self.lines)
        )

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the whole process group, as a terminal sends it."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def finish(self) -> int:
        try:
            self.proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("capture did not finish:\n" + "\n".join(self.lines)) from None
        self._reader.join(10)
        self._err.seek(0)
        self.stderr = self._err.read()
        return self.proc.returncode

    @property
    def output(self) -> str:
        return "\n".join(self.lines) + "\n" + self.stderr


def capture_args(out: Path, port: str, *more: str, rig: str = "simulated-power") -> list[str]:
    return ["--rig", rig, "--out", str(out), "--camera", port, "--yes", *more]


def run_capture(out: Path, port: str, home: Path, *more: str, rig: str = "simulated-power"):
    cap = Capture(capture_args(out, port, *more, rig=rig), home)
    return cap, cap.finish()


class Photographer:
    """Turns the simulated zoom ring whenever the controller asks (a manual-zoom rig).

    `aim(sequence, frame, attempt, asked)` gives where to turn the ring (default: as asked).
    """

    def __init__(self, cap: Capture, sim: SimcamProcess, aim=None) -> None:
        self.cap, self.sim = cap, sim
        self.aim = aim or (lambda seq, frame, attempt, asked: asked)
        self.turned: list[tuple[int, int, float]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        seen = 0
        while self.cap.proc.poll() is None or seen < len(self.cap.lines):
            if seen >= len(self.cap.lines):
                time.sleep(0.02)
                continue
            line = self.cap.lines[seen]
            seen += 1
            match = GUIDE.match(line)
            if match:
                seq, frame, attempt = match[1], int(match[2]), int(match[3] or 1)
                target = self.aim(seq, frame, attempt, float(match[4]))
                time.sleep(0.1)  # a person takes a moment
                self.sim.command(f"zoom {target:.3f}")
                self.turned.append((frame, attempt, target))


def captures(out: Path):
    return read_manifest_df(out / "captures.parquet", "captures")


def assert_sequence_complete(
    out: Path, sequence: str, frames: int = 7, raw_ext: str = "DNG"
) -> None:
    """Every frame ok, on disk, with the journaled checksum; no temporary files left."""
    df = captures(out)
    rows = df[df.sequence == sequence].sort_values("frame")
    assert list(rows.frame) == list(range(1, frames + 1))
    assert set(rows.status) == {"ok"}, rows[["frame", "status", "error"]]
    for row in rows.itertuples():
        for kind in ("raw", "jpeg"):
            path = out / getattr(row, f"{kind}_path")
            assert path.is_file(), path
            assert sha256_file(path) == getattr(row, f"{kind}_sha256")
            assert path.stat().st_size == getattr(row, f"{kind}_bytes")
        assert row.raw_path == f"{sequence}/{row.frame:05d}.{raw_ext}"
        assert row.jpeg_path == f"{sequence}/{row.frame:05d}.JPG"
    assert not list(out.glob("*/.*.tmp")), "temporary files left behind"


def journal_records(out: Path, kind: str) -> list[dict]:
    """Every journal record of one type, oldest session first."""
    return [
        rec
        for path in sorted((out / ".srraw").glob("journal-*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip() and (rec := json.loads(line))["type"] == kind
    ]


def file_hashes(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.glob("0*.*"))}


def needs_gphoto2():
    return pytest.importorskip("gphoto2")


class PlannedRing:
    """The photographer of a body that reports no focal length (Sony, Canon EOS): with `--yes`
    the controller shoots as soon as it says "turn the zoom", so the ring is turned ahead, to
    the next frame's focal length as soon as a frame is ok, and again on a retake."""

    def __init__(self, cap: Capture, sim: SimcamProcess, plan: list[float]) -> None:
        self.cap, self.sim, self.plan = cap, sim, plan
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        seen = 0
        while self.cap.proc.poll() is None or seen < len(self.cap.lines):
            if seen >= len(self.cap.lines):
                time.sleep(0.01)
                continue
            line = self.cap.lines[seen]
            seen += 1
            if match := re.match(r"^\d{5} frame (\d+)/\d+(?: \(attempt \d+\))?: ", line):
                frame = int(match[1])
                if " ok (" in line and frame < len(self.plan):
                    self._turn(self.plan[frame])
                elif "retaking" in line or "fetching" in line:
                    self._turn(self.plan[frame - 1])
            elif line.startswith("resuming sequence"):
                at = re.search(r"at frame (\d+)", line)
                if at:
                    self._turn(self.plan[int(at[1]) - 1])

    def _turn(self, mm: float) -> None:
        with contextlib.suppress(OSError):  # a test may have killed the camera meanwhile
            self.sim.command(f"zoom {mm}")
