"""Interruptions lose nothing: each fault against the simulated camera, then a clean resume.

Every test checks that no frame is lost (frames on disk before the fault keep their bytes, the
sequence ends with every frame ok and its checksum journaled) and that the next
`srraw capture` on the same dataset resumes where the first one stopped.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.test_capture_helpers import (
    Capture,
    assert_sequence_complete,
    capture_args,
    captures,
    file_hashes,
    free_port,
    journal_records,
    run_capture,
    simcam,
)

gp = pytest.importorskip("gphoto2")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _frame_done(cap: Capture, frame: int, timeout: float = 60):
    """Wait for the status line of `frame` (of sequence 00001)."""
    return cap.wait_for(rf"^00001 frame {frame}/7(?: \(attempt \d+\))?: .* ok \(", timeout)


def _ok_frames(out: Path) -> int:
    df = captures(out)
    return int((df.status == "ok").sum())


def test_connection_dropped_mid_transfer(tmp_path, home):
    """The camera hangs up in the middle of a download. With no time to reconnect the run
    stops; the next run fetches that capture from the card (no retake). A second drop in the
    resumed run is reconnected in-session and fetched again."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa", "--reconnect-timeout", "0"), home)
        _frame_done(cap, 3)
        assert sim.command("drop-next-transfer") == "ok drop-next-transfer"
        rc = cap.finish()
        assert rc == 2, cap.output
        assert "lost the camera" in cap.stderr and "run the same command again" in cap.stderr
        before = file_hashes(out / "00001")
        assert len(before) == 6  # frames 1-3, RAW + JPEG
        assert _ok_frames(out) == 3  # captures.parquet rebuilt on the way out
        cap2 = Capture(capture_args(out, sim.port_path, "--no-qa"), home)
        cap2.wait_for(r"^resuming sequence 00001 at frame 4 \(3 of 7 frames on disk\)")
        cap2.wait_for(r"^00001 frame 4/7: fetching the capture left on the card")
        _frame_done(cap2, 5)
        sim.command("drop-next-transfer")
        rc2 = cap2.finish()
        status = json.loads(sim.command("status").removeprefix("ok "))
    finally:
        sim.stop()
    assert rc2 == 0, cap2.output
    assert "reconnecting" in cap2.output and "camera: reconnected to SimCam" in cap2.output
    assert cap2.output.count("fetching the capture left on the card") == 2, cap2.output
    assert_sequence_complete(out, "00001")
    after = file_hashes(out / "00001")
    assert {k: after[k] for k in before} == before  # frames 1-3 untouched
    assert list(captures(out).attempts) == [1] * 7  # nothing retaken: fetched from the card
    assert journal_records(out, "retake") == []
    assert status["objects"] == []  # every card file deleted once on disk


@pytest.mark.slow
def test_simulated_camera_killed_between_frames(tmp_path, home):
    """SIGKILL the camera after frame 3: the run tries to reconnect, gives up, says how to
    resume; a new camera process on the same port and the next run finish the sequence."""
    port = free_port()
    sim = simcam(home, "--port", str(port))
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa", "--reconnect-timeout", "2"), home)
        _frame_done(cap, 3)
        sim.proc.kill()
        sim.proc.wait(10)
        rc = cap.finish()
    finally:
        sim.stop()
    assert rc == 2, cap.output
    assert "lost the camera" in cap.stderr and "Traceback" not in cap.stderr
    assert "sequence 00001 has 3 of 7 frames on disk" in cap.stderr
    before = file_hashes(out / "00001")
    sim2 = simcam(home, "--port", str(port))
    try:
        cap2, rc2 = run_capture(out, sim2.port_path, home, "--no-qa")
    finally:
        sim2.stop()
    assert rc2 == 0, cap2.output
    assert "resuming sequence 00001 at frame 4 (3 of 7 frames on disk)" in cap2.output
    assert_sequence_complete(out, "00001")
    after = file_hashes(out / "00001")
    assert {k: after[k] for k in before} == before


def test_full_disk(small_disk, home):
    """The dataset on a 400 KiB tmpfs: the disk fills mid-sequence (ENOSPC from the kernel).
    The run stops with one line naming the file; the frame is still on the card (or was never
    taken: the journal record before the trigger did not fit). After the
    tmpfs grows, the next run resumes and loses nothing."""
    sim = simcam(home)
    out = small_disk / "dataset"
    try:
        cap, rc = run_capture(out, sim.port_path, home, "--no-qa")
        assert rc == 2, cap.output
        error = cap.stderr.strip().splitlines()[-1]
        assert "No space left on device" in error and "Traceback" not in cap.stderr, cap.stderr
        assert error.startswith("Error: ")
        on_disk = file_hashes(out / "00001")
        assert 2 <= len(on_disk) < 14
        status = json.loads(sim.command("status").removeprefix("ok "))
        # The frame that did not fit is still on the card, unless the disk filled on the
        # journal record before its trigger (then nothing was taken).
        assert status["objects"] or "cannot write the journal" in error, error
        subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
        cap2, rc2 = run_capture(out, sim.port_path, home, "--no-qa")
    finally:
        sim.stop()
    assert rc2 == 0, cap2.output
    assert "resuming sequence 00001 at frame" in cap2.output
    assert_sequence_complete(out, "00001")
    after = file_hashes(out / "00001")
    assert {k: after[k] for k in on_disk} == on_disk
    print(error)


def test_ctrl_c_in_the_middle(tmp_path, home):
    """SIGINT to the process group (a terminal's Ctrl-C) just after frame 3: exit 130 with how
    to resume, no partial files; the next run resumes and finishes."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa"), home)
        _frame_done(cap, 3)
        cap.interrupt()
        rc = cap.finish()
        assert rc == 130, cap.output
        assert "interrupted" in cap.stderr and "Run the same command again" in cap.stderr
        assert "Traceback" not in cap.stderr
        assert not list(out.glob("*/.*.tmp"))
        done = _ok_frames(out)
        assert 3 <= done < 7
        before = file_hashes(out / "00001")
        stops = journal_records(out, "stop")
        assert stops and stops[-1]["reason"] == "interrupted"
        cap2, rc2 = run_capture(out, sim.port_path, home, "--no-qa")
    finally:
        sim.stop()
    assert rc2 == 0, cap2.output
    assert f"resuming sequence 00001 at frame {done + 1}" in cap2.output
    assert_sequence_complete(out, "00001")
    after = file_hashes(out / "00001")
    assert {k: after[k] for k in before} == before


def test_exposure_changed_on_the_body_mid_sequence(tmp_path, home):
    """The photographer turns the shutter to 1/125 s after frame 3: detected (body setting or
    EXIF), set back from the computer, and every frame on disk has the plan's 1/30 s."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa"), home)
        _frame_done(cap, 3)
        assert sim.command("set shutterspeed 1/125") == "ok shutterspeed 1/125"
        rc = cap.finish()
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert "exposure changed on the body" in cap.output, cap.output
    assert_sequence_complete(out, "00001")
    df = captures(out)
    assert df.exposure_time_s.tolist() == pytest.approx([1 / 30] * 7)


def test_full_card_then_resume(tmp_path, home):
    """The card fills after frame 2 (captures answer StoreFull): the run says so and stops;
    with room again the next run resumes."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa"), home)
        _frame_done(cap, 2)
        sim.command("card-full")
        rc = cap.finish()
        assert rc == 2, cap.output
        assert "card is full" in cap.stderr, cap.output
        sim.command("card-free")
        cap2, rc2 = run_capture(out, sim.port_path, home, "--no-qa")
    finally:
        sim.stop()
    assert rc2 == 0, cap2.output
    assert "resuming sequence 00001" in cap2.output
    assert_sequence_complete(out, "00001")


def test_damaged_raw_is_retaken(tmp_path, home):
    sim = simcam(home)
    sim.command("corrupt-next")
    out = tmp_path / "dataset"
    try:
        cap, rc = run_capture(out, sim.port_path, home, "--no-qa")
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert "00001 frame 1/7: damaged file" in cap.output
    assert_sequence_complete(out, "00001")
    assert captures(out).attempts.tolist() == [2, 1, 1, 1, 1, 1, 1]


def test_resume_refuses_another_rig(tmp_path, home):
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa"), home)
        _frame_done(cap, 1)
        cap.interrupt()
        assert cap.finish() == 130
        cap2, rc2 = run_capture(out, sim.port_path, home, "--no-qa", rig="simulated")
    finally:
        sim.stop()
    assert rc2 == 2
    assert "shot with rig 'simulated-power': resume it with --rig simulated-power" in cap2.stderr
