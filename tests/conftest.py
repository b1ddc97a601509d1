from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


# A shell that starts the tests in the background without job control (`cmd &` in a script)
# leaves SIGINT ignored, and every child inherits the ignore: the tests that press Ctrl-C on
# `srraw capture` would never interrupt it. Take SIGINT as a run from a terminal does.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real camera files; tests that need them skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real camera files not available: {SHARED_DATA} is absent")
    return SHARED_DATA


def shared_file(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"real camera file not available: {path} is absent")
    return path


def make_rig_text(cfa: str = "RGGB", width: int = 320, height: int = 212, **extra: str) -> str:
    """A small valid rig profile, for fast synthetic sequences."""
    text = f"""
name = "test-{cfa.lower()}"
description = "small test rig"

[body]
make = "srraw"
model = "TestCam"
cfa = "{cfa}"
sensor_width_px = {width}
sensor_height_px = {height}
black_level = 512
white_level = 16383

[lens]
model = "Test 24-240mm"
min_focal_mm = 24
max_focal_mm = 240

[sequence]
focal_lengths_mm = [240, 200, 150, 100, 70, 35, 24]
focal_tolerance_pct = 3.0

[exposure]
mode = "manual"
f_number = 16.0
exposure_time_s = "1/30"
iso = 200
iso_min = 100
iso_max = 400
raw_plus_jpeg = true

[zoom]
drive = "manual"
"""
    for old, new in extra.items():
        text = text.replace(old, new)
    return text


@pytest.fixture
def rig_file(tmp_path: Path):
    """Factory: write a small rig profile and return its path."""

    def write(cfa: str = "RGGB", name: str = "rig.toml", **extra: str) -> Path:
        path = tmp_path / name
        path.write_text(make_rig_text(cfa, **extra))
        return path

    return write


@pytest.fixture(scope="session")
def small_sequence(tmp_path_factory) -> Path:
    """One synthetic sequence on a small RGGB sensor, written once per test session."""
    from srraw.synth.cli import synthesize

    root = tmp_path_factory.mktemp("synth")
    rig = root / "rig.toml"
    rig.write_text(make_rig_text("RGGB", width=480, height=320))
    (folder,) = synthesize(str(rig), root / "dataset", 1, 7, None, progress=False)
    return folder


def run_srraw(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed CLI the way a user does (a fresh interpreter)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "srraw.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=300,
    )


@pytest.fixture
def small_disk(tmp_path):
    """A 400 KiB tmpfs (root only), unmounted after the test."""
    where = tmp_path / "disk"
    where.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(where)]
    if subprocess.run(mount, capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): full disk not tested")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)
