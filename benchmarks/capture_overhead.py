"""Capture controller overhead and download throughput against the simulated camera.

A 7-frame sequence (--yes) through libgphoto2's ptpip port: per frame, the time the
controller adds beyond the camera's own capture (trigger -> files announced) and transfer
(libgphoto2 file_get); and the download path (file_get + sha256 + write + fsync + rename)
in MB/s against a plain libgphoto2 file_get of the same files.

--body generic: the simulated PTP body with a power zoom. --body sony: the SR-RAW body
(ILCE-7SM2, libgphoto2's Sony SDIO path), manual ring turned by the benchmark when the
controller asks, started off the plan (f/8, ISO 800) so that the once-per-session exposure
stepping is measured and reported apart from the frames. On Sony libgphoto2 fetches the files
from the camera's memory inside the capture, so "camera capture" includes that transfer.

Run: .venv/bin/python benchmarks/capture_overhead.py [--body sony] [--size 1536x1024]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from srraw.rig import load_rig
from srraw_capture.guide import Console
from srraw_capture.session import Options, Session
from srraw_capture.simcam.control import send_command
from srraw_capture.worker import CameraWorker

ROOT = Path(__file__).resolve().parents[1]
READY = re.compile(r"^simcam ready (\S+) control 127\.0\.0\.1:(\d+)$")


def start_simcam(size: str, home: Path, body: str) -> tuple[subprocess.Popen, str, int]:
    env = {**os.environ, "HOME": str(home), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "srraw.cli",
            "simcam",
            "--port",
            "0",
            "--size",
            size,
            *(("--zoom", "power") if body == "generic" else ("--body", body, "--miss-pct", "0.5")),
            "--seed",
            "1",
            "--exit-with-parent",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    match = READY.match(proc.stdout.readline().strip())
    if not match:
        proc.kill()
        sys.exit("simcam did not start")
    return proc, match[1], int(match[2])


class RingConsole(Console):
    """The photographer of a body without a live focal length: turns the simulated ring to
    what the controller asks, the moment it asks (as fast as a script can)."""

    def __init__(self, control_port: int) -> None:
        super().__init__(interactive=False, tty=False)
        self.control_port = control_port

    def guide_start(self, label: str, text: str) -> None:
        super().guide_start(label, text)
        if match := re.search(r"turn the zoom to ([\d.]+) mm", text):
            send_command(self.control_port, f"zoom {match[1]}")


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1536x1024", help="simulated frame size (WxH)")
    parser.add_argument("--repeats", type=int, default=5, help="plain file_get repeats")
    parser.add_argument(
        "--body", default="generic", choices=("generic", "sony", "sony-mode3"), help="simcam body"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="srraw-capture-bench-") as tmp:
        home = Path(tmp) / "home"
        (home / ".config").mkdir(parents=True)
        os.environ["HOME"] = str(home)
        sim, port, control = start_simcam(args.size, home, args.body)
        try:
            out = Path(tmp) / "dataset"
            if args.body != "generic":
                for command in ("set f-number 8", "set iso 800", "zoom 240"):
                    send_command(control, command)
            opts = Options(
                rig=load_rig("simulated-power" if args.body == "generic" else "simulated"),
                root=out,
                camera=port,
                yes=True,
                keep_on_card=True,  # the plain file_get below reads the same files
                qa=False,
                interactive=False,
            )
            start = time.monotonic()
            console = RingConsole(control)
            session = Session(opts, console)
            summary = session.run()
            wall = time.monotonic() - start
            frames = summary.frame_seconds
            records = [
                json.loads(line)
                for path in (out / ".srraw").glob("journal-*.jsonl")
                for line in path.read_text().splitlines()
            ]
            card = [c for r in records if r["type"] == "frame" for c in r["card"]]
            sizes = {c["name"]: c["size"] for c in card}
            # Plain libgphoto2 file_get of the same files, in the same kind of worker process.
            worker = CameraWorker(port)
            worker.start()
            worker.call("open")
            plain = []
            # Files fetched from the camera's memory (Sony) are gone once fetched: no replay.
            on_card = [item for item in card if not item["name"].startswith("capt")]
            for _ in range(args.repeats if on_card else 0):
                for item in on_card:
                    size, seconds = worker.call("download_plain", item["folder"], item["name"])
                    plain.append((size, seconds))
            worker.stop()
        finally:
            sim.terminate()
            sim.wait(10)
    overhead = [f["total"] - f.get("camera_capture", 0.0) - f["transfer"] for f in frames]
    ours_bytes = sum(sizes.values())
    ours_seconds = sum(f["download"] + f.get("commit", 0.0) for f in frames)
    transfer_seconds = sum(f["transfer"] for f in frames)
    plain_rate = sum(s for s, _ in plain) / sum(t for _, t in plain) / 1e6 if plain else 0.0
    raw_mb = med([c["size"] for c in card if c["name"].upper().endswith((".DNG", ".ARW"))]) / 1e6
    print(
        f"capture overhead, simulated camera --body {args.body} {args.size} "
        f"(RAW {raw_mb:.2f} MB + JPEG), 7 frames, {summary.retakes} retake(s)"
    )
    print(f"  sequence wall time            {wall:7.2f} s (connect and body set-up included)")
    print(
        f"  exposure set-up, once a session {summary.setup_s:7.2f} s "
        "(stepping bodies: not counted in the frames below)"
    )
    print(f"  per frame, median             {med([f['total'] for f in frames]):7.3f} s")
    print(
        f"    camera capture (trigger -> files announced) {med([f.get('camera_capture', 0) for f in frames]):7.3f} s"
    )
    print(
        f"    transfer (libgphoto2 file_get)              {med([f['transfer'] for f in frames]):7.3f} s"
    )
    print(
        f"    controller overhead beyond both             {med(overhead):7.3f} s  (max {max(overhead):.3f} s; goal < 0.5 s)"
    )
    for step in ("exposure", "zoom", "write", "verify", "commit", "journal", "delete"):
        key = step
        values = [f.get(key, 0.0) for f in frames]
        print(f"      {step:<10} {med(values):7.4f} s")
    print("  download path (file_get + sha256 + write + fsync + rename)")
    print(f"    ours                {ours_bytes / ours_seconds / 1e6:8.1f} MB/s")
    print(f"    file_get inside it  {ours_bytes / transfer_seconds / 1e6:8.1f} MB/s")
    if plain:
        print(f"    plain file_get      {plain_rate:8.1f} MB/s ({len(plain)} downloads)")
    else:
        print("    plain file_get      n/a: the body hands each file over once, from its memory")
    print(
        "reproduce: .venv/bin/python benchmarks/capture_overhead.py "
        f"--body {args.body} --size {args.size}"
    )


if __name__ == "__main__":
    main()
