"""`srraw capture` through the vendor personalities of the simulated camera, with the real
libgphoto2 taking each vendor's code path: a whole RAW+JPEG sequence, then the faults of
tests/test_capture_faults.py on the Sony body (the SR-RAW ILCE-7SM2, SDIO mode 2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from srraw.rig import load_rig
from tests.test_capture_helpers import (
    Capture,
    PlannedRing,
    assert_sequence_complete,
    capture_args,
    captures,
    env_for,
    file_hashes,
    free_port,
    journal_records,
    simcam,
)

gp = pytest.importorskip("gphoto2")
RIG = load_rig("simulated")
PLAN = list(RIG.focal_lengths_mm)
BODY_ARGS = ("--miss-pct", "0.5")  # the ring lands close enough that EXIF's whole mm passes


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _sim(home: Path, body: str, *more: str):
    sim = simcam(home, "--body", body, *BODY_ARGS, *more, power=False)
    sim.command(f"zoom {PLAN[0]}")
    return sim


def _start(out: Path, sim, home: Path, *more: str) -> Capture:
    cap = Capture(capture_args(out, sim.port_path, *more, rig="simulated"), home)
    PlannedRing(cap, sim, PLAN)
    return cap


def _status(sim) -> dict:
    return json.loads(sim.command("status").removeprefix("ok "))


def _frame_done(cap: Capture, frame: int, timeout: float = 60):
    return cap.wait_for(rf"^00001 frame {frame}/7(?: \(attempt \d+\))?: .* ok \(", timeout)


def test_sony_sequence_steps_the_exposure_and_downloads_from_the_camera_memory(tmp_path, home):
    """The SR-RAW body: exposure stepped into place once (with a progress line), the capture
    target set to keep a copy on the card, 7 frames RAW+JPEG fetched from the camera's memory
    (nothing to delete: journaled), focal length from EXIF, then the field check."""
    sim = _sim(home, "sony")
    sim.command("set f-number 8")  # six steps from the plan's f/16
    sim.command("set iso 800")
    out = tmp_path / "dataset"
    try:
        cap = _start(out, sim, home)
        rc = cap.finish()
        status = _status(sim)
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert f"camera: ILCE-7SM2 serial SIM00000001 on {sim.port_path}" in cap.output
    assert "camera: setting aperture f/8 -> f/16 on the body (Sony bodies may step" in cap.output
    assert "camera: set ISO 800 -> 100" in cap.output
    stepped = [line for line in cap.lines if line.startswith("camera: set aperture f/8 -> f/16 (")]
    assert stepped, cap.output  # the seconds it took are said
    assert "camera: capture target sdram -> card+sdram (a copy stays on the card)" in cap.output
    assert "focal length: judged from each frame's EXIF" in cap.output
    assert "field check: usable" in cap.output, cap.output
    assert_sequence_complete(out, "00001", raw_ext="ARW")
    df = captures(out)
    for row in df.itertuples():
        assert RIG.within_tolerance(row.focal_asked_mm, row.focal_exif_mm)
        assert (row.f_number, row.iso, row.camera_model) == (16.0, 100, "ILCE-7SM2")
        assert row.exposure_time_s == pytest.approx(1 / 30)
    (setup,) = journal_records(out, "body_setup")
    assert setup["setup_s"] > 6 * 0.3 and setup["capture_target"] == "card+sdram"
    session = journal_records(out, "session")[0]
    assert session["vendor"] == "sony" and session["vendor_path"].startswith("Sony SDIO")
    kept = journal_records(out, "nothing_to_delete")
    assert [r["frame"] for r in kept] == list(range(1, 8))
    assert all("a copy stays on the card" in r["reason"] for r in kept)
    assert journal_records(out, "card_deleted") == []
    assert status["memory"] == []  # everything fetched
    assert len(status["objects"]) == 14 + 2 * len(journal_records(out, "retake"))  # card copies


# What each body's run must show: model, raw extension, capture target line, live focal.
MATRIX = {
    "sony-mode3": ("ILCE-7M4", "ARW", "sdram -> card+sdram", False),
    "canon-eos": ("Canon EOS 5D Mark IV", "CR2", "Internal RAM -> Memory card", False),
    "nikon": ("D850", "NEF", "Internal RAM -> Memory card", True),
}


@pytest.mark.slow
@pytest.mark.parametrize("body", sorted(MATRIX))
def test_sequence_through_each_body(tmp_path, home, body):
    """The same run on the other personalities: exposure set once and verified, the capture
    target that keeps the frames on the card, 7 frames RAW+JPEG, focal length live where the
    body reports it (Nikon) and from EXIF otherwise."""
    model, raw_ext, target, live = MATRIX[body]
    sim = _sim(home, body)
    sim.command("set f-number 8")
    sim.command("set iso 800")
    out = tmp_path / "dataset"
    try:
        cap = _start(out, sim, home, "--no-qa")
        rc = cap.finish()
        status = _status(sim)
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert f"camera: {model} serial" in cap.output
    assert "camera: set aperture f/8 -> f/16" in cap.output
    assert f"camera: capture target {target} (" in cap.output, cap.output
    assert ("judged from each frame's EXIF" in cap.output) is not live
    assert_sequence_complete(out, "00001", raw_ext=raw_ext)
    df = captures(out)
    assert set(df.f_number) == {16.0} and set(df.iso) == {100}
    assert bool(df.focal_camera_mm.notna().all()) is live
    if live:
        for row in df.itertuples():
            assert RIG.within_tolerance(row.focal_asked_mm, row.focal_camera_mm)
    on_card = journal_records(out, "card_deleted")
    in_memory = journal_records(out, "nothing_to_delete")
    assert len(on_card) + len(in_memory) == 7
    if body in ("nikon", "canon-eos"):  # on the card, fetched from there, deleted once on disk
        assert len(on_card) == 7 and status["objects"] == []


CANON_RIG = load_rig("canon-5d4-24-105")


@pytest.mark.slow
def test_canon_eos_sequence_through_getevent_records(tmp_path, home):
    """The Canon rig on the EOS personality: exposure set through 0x9110 and read back from
    GetEvent records (aperture shown as "11", no f/), the capture target moved from the PC
    ("Internal RAM", libgphoto2's default) to the card, 7 frames RAW+JPEG (.CR2 names) found
    through ObjectAddedEx records, fetched and deleted from the card, focal length from EXIF."""
    plan = list(CANON_RIG.focal_lengths_mm)
    sim = simcam(home, "--body", "canon-eos", "--rig", CANON_RIG.name, *BODY_ARGS, power=False)
    sim.command(f"zoom {plan[0]}")
    sim.command("set f-number 8")
    sim.command("set iso 800")
    sim.command("battery 7")  # EOS steps: 100%, 75%, 50%, 25%, then 'Low' with no number
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa", rig=CANON_RIG.name), home)
        PlannedRing(cap, sim, plan)
        rc = cap.finish()
        status = _status(sim)
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert f"camera: Canon EOS 5D Mark IV serial SIM00000001 on {sim.port_path}" in cap.output
    assert "camera: set aperture f/8 -> f/11" in cap.output, cap.output
    assert "camera: set ISO 800 -> 100" in cap.output, cap.output
    assert "camera: capture target Internal RAM -> Memory card (" in cap.output, cap.output
    assert "focal length: judged from each frame's EXIF" in cap.output
    assert cap.output.count("warning: battery low (the body reports no percentage)") == 1
    assert_sequence_complete(out, "00001", raw_ext="CR2")
    df = captures(out)
    assert set(df.f_number) == {11.0} and set(df.iso) == {100}
    assert df.focal_camera_mm.isna().all()
    for row in df.itertuples():
        assert CANON_RIG.within_tolerance(row.focal_asked_mm, row.focal_exif_mm)
    session = journal_records(out, "session")[0]
    assert session["vendor"] == "canon" and session["vendor_path"].startswith("Canon EOS")
    assert len(journal_records(out, "card_deleted")) == 7
    assert status["objects"] == [] and status["memory"] == []
    assert (status["capturetarget"], status["f_number"]) == ("card", 11.0)


@pytest.mark.slow
def test_sony_controller_killed_mid_capture_then_resumed(tmp_path, home):
    """SIGKILL to the controller and its camera worker while frame 4 is being captured and
    fetched (the camera frozen so that the kill lands inside that step): nothing on disk is
    lost and the next run resumes at frame 4."""
    sim = _sim(home, "sony")
    out = tmp_path / "dataset"
    try:
        cap = _start(out, sim, home, "--no-qa")
        _frame_done(cap, 3)
        sim.command("freeze")
        cap.wait_for(r"^00001 frame 4/7: turn the zoom")
        os.killpg(cap.proc.pid, signal.SIGKILL)
        cap.finish()
        sim.command("thaw")
        before = file_hashes(out / "00001")
        assert len(before) == 6
        cap2 = _start(out, sim, home, "--no-qa")
        rc = cap2.finish()
    finally:
        sim.stop()
    assert rc == 0, cap2.output
    assert "resuming sequence 00001 at frame 4 (3 of 7 frames on disk)" in cap2.output
    assert_sequence_complete(out, "00001", raw_ext="ARW")
    # The card copies of frames fetched from the camera's memory are theirs, not orphans;
    # only the interrupted frame 4's copy (if the shutter fired before the freeze) may be.
    orphans = [line for line in cap2.lines if line.startswith("card: ")]
    assert not [n for n in (1, 2, 3) for line in orphans if f"DSC{n:05d}" in line], orphans
    after = file_hashes(out / "00001")
    assert {k: after[k] for k in before} == before


@pytest.mark.slow
def test_sony_camera_killed_then_resumed(tmp_path, home):
    port = free_port()
    sim = _sim(home, "sony", "--port", str(port))
    out = tmp_path / "dataset"
    try:
        cap = _start(out, sim, home, "--no-qa", "--reconnect-timeout", "2")
        _frame_done(cap, 3)
        sim.proc.kill()
        sim.proc.wait(10)
        rc = cap.finish()
    finally:
        sim.stop()
    assert rc == 2, cap.output
    assert "lost the camera" in cap.stderr and "Traceback" not in cap.stderr
    assert "sequence 00001 has 3 of 7 frames on disk" in cap.stderr
    sim2 = _sim(home, "sony", "--port", str(port))
    sim2.command(f"zoom {PLAN[3]}")
    try:
        cap2 = _start(out, sim2, home, "--no-qa")
        rc2 = cap2.finish()
    finally:
        sim2.stop()
    assert rc2 == 0, cap2.output
    assert_sequence_complete(out, "00001", raw_ext="ARW")


@pytest.mark.slow
def test_sony_unplugged_and_plugged_back_in_session(tmp_path, home):
    sim = _sim(home, "sony")
    out = tmp_path / "dataset"
    try:
        cap = _start(out, sim, home, "--no-qa", "--reconnect-timeout", "30")
        _frame_done(cap, 3)
        sim.command("unplug")
        cap.wait_for(r"reconnecting", timeout=60)
        sim.command("plug")
        rc = cap.finish()
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert "camera: reconnected to ILCE-7SM2" in cap.output
    assert_sequence_complete(out, "00001", raw_ext="ARW")


@pytest.mark.slow
def test_sony_card_full_then_resume(tmp_path, home):
    """The capture target keeps a copy on the card, so a full card refuses the release
    (StoreFull): the run says the card is full; after room is made it resumes."""
    sim = _sim(home, "sony")
    out = tmp_path / "dataset"
    try:
        cap = _start(out, sim, home, "--no-qa", "--reconnect-timeout", "2")
        _frame_done(cap, 3)
        sim.command("card-full")
        rc = cap.finish()
        assert rc == 2, cap.output
        assert "card is full" in cap.stderr, cap.output
        sim.command("card-free")
        sim.command(f"zoom {PLAN[3]}")
        cap2 = _start(out, sim, home, "--no-qa")
        rc2 = cap2.finish()
    finally:
        sim.stop()
    assert rc2 == 0, cap2.output
    assert "resuming sequence 00001 at frame 4" in cap2.output
    assert_sequence_complete(out, "00001", raw_ext="ARW")


@pytest.mark.slow
def test_sony_exposure_changed_on_the_body_is_stepped_back(tmp_path, home):
    sim = _sim(home, "sony")
    out = tmp_path / "dataset"
    try:
        cap = _start(out, sim, home, "--no-qa")
        _frame_done(cap, 3)
        sim.command("set f-number 11")
        rc = cap.finish()
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert "exposure changed on the body" in cap.output, cap.output
    assert_sequence_complete(out, "00001", raw_ext="ARW")
    assert set(captures(out).f_number) == {16.0}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ("generic", "generic PTP"),
        ("sony", "Sony SDIO"),
        ("canon-eos", "Canon EOS (GetEvent"),
        ("nikon", "Nikon (vendor properties"),
    ],
)
def test_doctor_names_the_vendor_path_libgphoto2_took(home, body, path):
    sim = simcam(home, "--body", body, power=False)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "srraw.cli", "doctor", "--camera", sim.port_path],
            capture_output=True,
            text=True,
            env=env_for(home),
            timeout=120,
        )
    finally:
        sim.stop()
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("vendor path"))
    assert line.split(None, 2)[2].startswith(path), result.stdout


FAULT_BODIES = [("sony", "ARW"), ("canon-eos", "CR2"), ("nikon", "NEF")]


@pytest.mark.slow
@pytest.mark.parametrize(("body", "raw_ext"), FAULT_BODIES)
def test_link_dropped_mid_transfer_loses_nothing(tmp_path, home, body, raw_ext):
    """The camera hangs up inside a download (Sony: inside libgphoto2's fetch from the camera's
    memory; Nikon: from the card): reconnected in-session, the frame fetched again or retaken,
    frames on disk untouched."""
    sim = _sim(home, body)
    out = tmp_path / "dataset"
    try:
        cap = _start(out, sim, home, "--no-qa")
        _frame_done(cap, 3)
        sim.command("drop-next-transfer")
        rc = cap.finish()
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert "reconnecting" in cap.output, cap.output
    assert_sequence_complete(out, "00001", raw_ext=raw_ext)


@pytest.mark.slow
@pytest.mark.parametrize(("body", "raw_ext"), FAULT_BODIES)
def test_damaged_raw_is_retaken_and_ctrl_c_resumes(tmp_path, home, body, raw_ext):
    sim = _sim(home, body)
    sim.command("corrupt-next")
    out = tmp_path / "dataset"
    try:
        cap = _start(out, sim, home, "--no-qa")
        _frame_done(cap, 2)
        cap.interrupt()
        rc = cap.finish()
        assert rc == 130, cap.output
        assert "Traceback" not in cap.stderr and not list(out.glob("*/.*.tmp"))
        cap2 = _start(out, sim, home, "--no-qa")
        rc2 = cap2.finish()
    finally:
        sim.stop()
    assert "00001 frame 1/7: damaged file" in cap.output, cap.output
    assert rc2 == 0, cap2.output
    assert "resuming sequence 00001 at frame" in cap2.output
    assert_sequence_complete(out, "00001", raw_ext=raw_ext)
    assert captures(out).attempts.tolist()[0] == 2


@pytest.mark.slow
def test_sony_full_disk_then_resume(small_disk, home):
    """The dataset's disk fills mid-sequence on the Sony body: one line naming the file; the
    frame was only in libgphoto2's memory (a copy on the card), so the resumed run retakes
    it; frames on disk keep their bytes."""
    sim = _sim(home, "sony", "--size", "256x192")  # ~100 kB a frame: the disk fills mid-way
    out = small_disk / "dataset"
    try:
        cap = _start(out, sim, home, "--no-qa")
        rc = cap.finish()
        assert rc == 2, cap.output
        error = cap.stderr.strip().splitlines()[-1]
        assert "No space left on device" in error and "Traceback" not in cap.stderr, cap.stderr
        assert "stays on the camera's card" not in error, error  # it was never on a card path
        on_disk = file_hashes(out / "00001")
        assert 2 <= len(on_disk) < 14
        subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
        cap2 = _start(out, sim, home, "--no-qa")
        rc2 = cap2.finish()
    finally:
        sim.stop()
    assert rc2 == 0, cap2.output
    assert "resuming sequence 00001 at frame" in cap2.output
    assert_sequence_complete(out, "00001", raw_ext="ARW")
    after = file_hashes(out / "00001")
    assert {k: after[k] for k in on_disk} == on_disk
