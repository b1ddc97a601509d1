"""`srraw capture` against the simulated camera through the real libgphoto2 (ptpip port), and
the controller's pure parts (plan, journal replay, guide text)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from srraw.rig import load_rig
from srraw_capture import guide, journal, plan, qa
from srraw_capture.plan import Shot
from tests.conftest import run_srraw
from tests.test_capture_helpers import (
    Capture,
    Photographer,
    assert_sequence_complete,
    capture_args,
    captures,
    env_for,
    run_capture,
    simcam,
)

gp = pytest.importorskip("gphoto2")
RIG = load_rig("simulated")


# ---- pure parts ---------------------------------------------------------------------------


def test_widget_values_as_bodies_show_them():
    assert plan.parse_shutter("0.0333s") == pytest.approx(1 / 30, rel=1e-3)
    assert plan.parse_shutter("1/30") == pytest.approx(1 / 30)
    assert plan.parse_shutter('30"') == 30 and plan.parse_shutter("bulb") is None
    assert plan.parse_f_number("f/16") == 16 and plan.parse_f_number("F5.6") == 5.6
    assert plan.parse_iso("ISO 100") == 100 and plan.parse_iso("Auto ISO") is None
    assert plan.quality_kind("Unknown value 0007") == "raw+jpeg"  # generic PTP, the simcam
    assert plan.quality_kind("RAW + Large Fine JPEG") == "raw+jpeg"  # Canon EOS imageformat
    assert plan.quality_kind("NEF+Fine") == "raw+jpeg"  # Nikon
    assert plan.quality_kind("RAW") == "raw" and plan.quality_kind("Extra Fine") == "jpeg"
    assert plan.is_manual("M") and plan.is_manual("Manual") and not plan.is_manual("A")
    assert plan.parse_percent("3%") == 3 and plan.parse_percent("100") == 100
    assert plan.parse_percent("broken") is None and plan.parse_percent("250%") is None


def test_choosing_widget_values_for_the_plan():
    shutter = ("0.0400s", "0.0333s", "0.0250s", "1/125")
    assert plan.choose_value(RIG, "shutter", shutter) == "0.0333s"
    assert plan.choose_value(RIG, "shutter", ("1/60", "1/125")) is None  # no 1/30 on offer
    assert plan.choose_value(RIG, "aperture", ("f/11", "f/16", "f/22")) == "f/16"
    assert plan.choose_value(RIG, "iso", ("Auto", "100", "200")) == "100"
    assert plan.choose_value(RIG, "program", ("P", "A", "S", "M")) == "M"
    choices = ("Unknown value 0002", "Unknown value 0004", "Unknown value 0007")
    assert plan.choose_value(RIG, "quality", choices) == "Unknown value 0007"
    assert plan.value_matches(RIG, "iso", "400") and not plan.value_matches(RIG, "iso", "800")


def test_exif_checks_against_the_plan():
    assert plan.focal_problem(RIG, 24, 24.6, "EXIF") is None
    assert "25 mm is off the plan 24 mm" in plan.focal_problem(RIG, 24, 25, "EXIF")
    good = Shot(70, 1 / 30, 16, 100)
    assert plan.exposure_problems(RIG, good) == []
    problems = plan.exposure_problems(RIG, Shot(70, 1 / 125, 16, 100))
    assert problems == ["exposure time 1/125 s in EXIF, plan 1/30 s"]
    drift = plan.exposure_problems(RIG, Shot(70, 1 / 30, 16, 200), reference=good)
    assert drift == ["ISO 200 in EXIF, the sequence so far is ISO 100"]
    assert plan.frame_file_name(3, "SIM_0042.dng") == "00003.DNG"
    assert plan.file_kind("IMG_1.CR3") == "raw" and plan.file_kind("x.jpeg") == "jpeg"


def test_guide_text():
    assert (
        guide.guide_text(70, 52, False) == "turn the zoom to 70 mm: now 52 mm (turn longer (tele))"
    )
    assert guide.guide_text(70, 70.4, True) == "hold still: 70.4 mm"
    assert "does not report" in guide.guide_text(70, None, False)


def _journal(tmp_path: Path, records: list[dict], torn: str = "") -> Path:
    folder = tmp_path / journal.STATE_DIR
    folder.mkdir(parents=True)
    path = folder / "journal-20260101T000000000000Z-1.jsonl"
    text = "".join(json.dumps(r) + "\n" for r in records) + torn
    path.write_text(text)
    return path


def test_journal_replay_resumes_at_first_frame_not_on_disk(tmp_path):
    t = "2026-01-01T00:00:00+00:00"
    card = [{"folder": "/f", "name": "SIM_0003.DNG", "size": 10, "mtime": 1}]
    records = [
        {"type": "sequence", "sequence": "00001", "rig": "r", "focal_lengths_mm": [70, 35, 24]},
        {"type": "capture", "sequence": "00001", "frame": 1, "attempt": 1, "card": card},
        {"type": "frame", "sequence": "00001", "frame": 1, "t": t, "focal_asked_mm": 70.0},
        {"type": "capture", "sequence": "00001", "frame": 2, "attempt": 1, "card": card},
    ]
    # A power cut while appending leaves a torn last line: ignored (never acted on).
    _journal(tmp_path, records, torn='{"type": "frame", "sequ')
    state = journal.load_state(tmp_path)
    seq = state.unfinished()
    assert seq is not None and seq.name == "00001"
    frame = seq.next_frame()
    assert frame.frame == 2 and frame.card == card  # fetched from the card on resume
    assert seq.frames[1].card_on_disk == card  # on disk, deletion from the card not journaled
    assert state.next_name(tmp_path) == "00002"
    rows = journal.capture_rows(state)
    assert [(r["frame"], r["status"]) for r in rows] == [(1, "ok"), (2, "pending"), (3, "pending")]
    assert rows[2]["focal_asked_mm"] == 24.0
    path = journal.rebuild_captures(tmp_path, state)
    assert list(captures(path.parent).status) == ["ok", "pending", "pending"]


def test_journal_reshoot_resets_frames(tmp_path):
    t = "2026-01-01T00:00:00+00:00"
    records = [
        {"type": "sequence", "sequence": "00004", "rig": "r", "focal_lengths_mm": [70, 35]},
        {"type": "frame", "sequence": "00004", "frame": 1, "t": t},
        {"type": "frame", "sequence": "00004", "frame": 2, "t": t},
        {"type": "sequence_done", "sequence": "00004"},
    ]
    _journal(tmp_path, [*records, {"type": "reshoot", "sequence": "00004"}])
    state = journal.load_state(tmp_path)
    assert state.unfinished().name == "00004"
    assert state.unfinished().next_frame().frame == 1


def test_capture_help_imports_no_gphoto2_or_torch():
    code = (
        "import sys; from click.testing import CliRunner; import srraw.cli as c; "
        "r = CliRunner().invoke(c.main, ['capture', '--help']); assert r.exit_code == 0, r.output; "
        "bad = [m for m in sys.modules if m.startswith(('gphoto2', 'torch'))]; print(bad)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


# ---- against the simulated camera ---------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.mark.e2e
def test_end_to_end_two_sequences_then_prep(tmp_path, home):
    """simcam (power zoom) in the background, `srraw capture --yes` through libgphoto2's ptpip
    port, 2 sequences, captures.parquet correct, then `srraw prep` on the result."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap, rc = run_capture(out, sim.port_path, home, "--scenes", "2")
        assert rc == 0, cap.output
        status = json.loads(sim.command("status").removeprefix("ok "))
    finally:
        sim.stop()
    assert f"camera: SimCam serial SIM00000001 on {sim.port_path}" in cap.output
    assert cap.output.count("field check: usable") == 2, cap.output
    for sequence in ("00001", "00002"):
        assert_sequence_complete(out, sequence)
    df = captures(out)
    assert len(df) == 14
    assert list(df.focal_asked_mm[:7]) == list(RIG.focal_lengths_mm)
    for row in df.itertuples():
        assert RIG.within_tolerance(row.focal_asked_mm, row.focal_exif_mm)
        assert RIG.within_tolerance(row.focal_asked_mm, row.focal_camera_mm)
        assert row.focal_exif_mm == round(row.focal_camera_mm)  # EXIF: whole mm of the ring
        assert (row.f_number, row.iso) == (16.0, 100)
        assert row.exposure_time_s == pytest.approx(1 / 30)
        assert (row.camera_model, row.camera_serial, row.port) == (
            "SimCam",
            "SIM00000001",
            sim.port_path,
        )
        assert row.attempts == 1 and row.rig == "simulated-power"
    assert status["objects"] == [] and status["captures"] == 14  # deleted from the card
    # The journals alone rebuild the same manifest.
    before = df.to_json(orient="records", date_format="iso")
    (out / "captures.parquet").unlink()
    rebuilt = run_srraw("capture", "--rig", "simulated-power", "--out", str(out), "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert captures(out).to_json(orient="records", date_format="iso") == before
    assert set(df.qa_verdict) == {"usable"}
    # Large frames are field-checked on reduced proxies (same CFA, same EXIF) that prep reads;
    # 192x128 frames shrunk further are too small to judge, so only the path is checked here.
    proxied = qa.check_sequence(out, "00001", max_pixels=16_000)
    assert proxied.verdict in ("good", "flagged") and proxied.proxy_scale < 0.9
    assert sum(proxied.pairs.values()) == 3, proxied.lines()
    prep = run_srraw(
        "prep", str(out), "--out", str(tmp_path / "prep"), "--zoom", "4", "--jobs", "1"
    )
    assert prep.returncode == 0, prep.stderr
    assert "frames: 14 ok" in prep.stdout


def test_manual_zoom_guided_and_exif_focal_off_plan_is_retaken(tmp_path, home):
    """A manual rig: the photographer turns the ring when told. At 24 mm the ring first lands
    at 24.7 mm: the camera reads it within 3%, but EXIF rounds to 25 mm (4% off): retake, and
    the retake aims the camera reading so that EXIF lands on the plan."""
    sim = simcam(home, "--miss-pct", "0", power=False)
    out = tmp_path / "dataset"

    def aim(seq, frame, attempt, asked):
        return 24.7 if frame == 7 and attempt == 1 else asked

    try:
        cap = Capture(
            capture_args(out, sim.port_path, "--no-qa", "--settle", "0.2", rig="simulated"), home
        )
        photographer = Photographer(cap, sim, aim)
        rc = cap.finish()
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert "00001 frame 1/7: turn the zoom to 240 mm: now 24 mm (turn longer (tele))" in cap.output
    assert "EXIF focal length 25 mm is off the plan 24 mm" in cap.output
    assert "00001 frame 7/7 (attempt 2): turn the zoom to" in cap.output
    assert (7, 1, 24.7) in photographer.turned
    assert_sequence_complete(out, "00001")
    row = captures(out).iloc[6]
    assert (row.focal_asked_mm, row.focal_exif_mm, row.attempts) == (24.0, 24.0, 2)
    retakes = [
        json.loads(line)
        for path in (out / ".srraw").glob("journal-*.jsonl")
        for line in path.read_text().splitlines()
        if '"retake"' in line
    ]
    assert [(r["frame"], r["focal_exif_mm"]) for r in retakes] == [(7, 25.0)]


def test_body_settings_are_set_from_the_computer(tmp_path, home):
    sim = simcam(home)
    for line in ("set f-number 8", "set iso 800", "set expprogram A", "set imagequality JPEG"):
        assert sim.command(line).startswith("ok"), line
    out = tmp_path / "dataset"
    try:
        cap, rc = run_capture(out, sim.port_path, home, "--no-qa")
    finally:
        sim.stop()
    assert rc == 0, cap.output
    for change in ("exposure mode A -> M", "aperture f/8 -> f/16", "ISO 800 -> 100"):
        assert f"camera: set {change}" in cap.output
    assert "camera: set image quality JPEG -> RAW+JPEG" in cap.output
    assert_sequence_complete(out, "00001")


def test_refuses_to_start_when_a_setting_cannot_be_set(tmp_path, home):
    sim = simcam(home)
    sim.command("set shutterspeed 1/125")
    sim.command("refuse shutterspeed busy")
    out = tmp_path / "dataset"
    try:
        cap, rc = run_capture(out, sim.port_path, home, "--no-qa")
    finally:
        sim.stop()
    assert rc == 2, cap.output
    error = cap.stderr.strip().splitlines()[-1]
    assert error == (
        "Error: cannot start: shutter speed is 1/125 s and the body refused the computer's "
        "value ('shutterspeed' in libgphoto2): set the shutter speed on the camera, to 1/30 s"
    )
    assert "Traceback" not in cap.output
    assert not list(out.glob("0*"))


def test_no_camera_says_autodetect_misses_network_bodies(tmp_path, home):
    env = env_for(home)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "srraw.cli",
            "capture",
            "--rig",
            "simulated",
            "--out",
            str(tmp_path / "d"),
            "--yes",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "libgphoto2 found no camera" in result.stderr
    assert "--camera ptpip:HOST" in result.stderr and "Traceback" not in result.stderr


def test_field_check_rejects_a_moved_subject_and_reshoots(tmp_path, home):
    """The scene changes after frame 3 (the subject moved): the field check (srraw prep at
    low resolution) says the sequence is not usable, and --reshoot shoots it again."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--reshoot"), home)
        cap.wait_for(r"^00001 frame 3/7: .* ok \(")
        assert sim.command("scene 7") == "ok scene 7"
        cap.wait_for(r"^reshooting sequence 00001$")
        rc = cap.finish()
    finally:
        sim.stop()
    assert rc == 0, cap.output
    checks = [line for line in cap.lines if "field check:" in line]
    assert len(checks) == 2, cap.output
    assert "NOT usable" in checks[0] or "usable with doubts" in checks[0]
    assert "frames do not line up" in cap.output or "pair" in cap.output
    assert "field check: usable (" in checks[1]
    assert_sequence_complete(out, "00001")
    assert captures(out).attempts.tolist() == [1] * 7  # the reshoot starts the count afresh
