"""The field problems of a day's shoot (issue 10), each against the simulated camera through the
real libgphoto2: a dataset stuck behind an unfinished sequence, a field check killed mid-way, a
reshoot killed mid-way, shots left on the card, a slow body, the battery, a busy body,
libgphoto2's own stderr, and what the photographer reads."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from srraw.files import sha256_file
from srraw_prep.discover import discover_folders
from tests.test_capture_helpers import (
    Capture,
    assert_sequence_complete,
    capture_args,
    captures,
    file_hashes,
    journal_records,
    run_capture,
    simcam,
)

gp = pytest.importorskip("gphoto2")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _kill(cap: Capture) -> None:
    """SIGKILL the controller, its camera worker and its field check: a laptop that dies."""
    os.killpg(cap.proc.pid, signal.SIGKILL)
    cap.proc.wait(30)


def _custom_rig(tmp_path: Path) -> Path:
    """The power-zoom simulated rig under another name, in a file of the user's own."""
    text = (ROOT / "rigs" / "simulated-power.toml").read_text()
    path = tmp_path / "rigs" / "my-body.toml"
    path.parent.mkdir()
    path.write_text(text.replace('name = "simulated-power"', 'name = "my-power"'))
    return path


def test_stuck_sequence_way_forward_and_abandon(tmp_path, home):
    """A rig fails at frame 3 (the body refuses the zoom): the unfinished sequence must not
    block the dataset. Another rig is refused with both ways forward; `--rig NAME` resolves the
    name it suggests; `--abandon` sets the sequence aside (files kept, journalled) and the next
    run starts a new sequence."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    rig = _custom_rig(tmp_path)
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa", rig=str(rig)), home)
        cap.wait_for(r"^00001 frame 2/7: .* ok \(")
        sim.command("refuse focallength invalid")
        assert cap.finish() == 2, cap.output
        kept = file_hashes(out / "00001")
        frames = len(kept) // 2
        assert 2 <= frames < 7
        sim.command("allow focallength")
        other, rc = run_capture(out, sim.port_path, home, "--no-qa")
        assert rc == 2, other.output
        error = other.stderr.strip().splitlines()[-1]
        assert f"sequence 00001 is unfinished ({frames} of 7 frames on disk)" in error, error
        assert "--rig my-power" in error and "--abandon 00001" in error, error
        assert "Traceback" not in other.stderr
        # The name it suggests resolves (the dataset keeps the profile it was shot with).
        abandon, rc = run_capture(out, sim.port_path, home, "--abandon", "00001", rig="my-power")
        assert rc == 0, abandon.output
        assert "sequence 00001 set aside" in abandon.output
        assert not (out / "00001").exists()
        (aside,) = (out / ".srraw" / "abandoned").iterdir()
        assert file_hashes(aside / "00001") == kept  # moved, never deleted
        assert [r["sequence"] for r in journal_records(out, "abandon")] == ["00001"]
        fresh, rc = run_capture(out, sim.port_path, home, "--no-qa")
    finally:
        sim.stop()
    assert rc == 0, fresh.output
    assert "resuming" not in fresh.output
    assert_sequence_complete(out, "00002")
    assert set(captures(out).sequence) == {"00002"}  # the set-aside sequence is no dataset row


def test_field_check_killed_is_redone_on_resume(tmp_path, home):
    """The laptop dies during the field check: the next run redoes it (and shoots nothing new
    for it), and captures.parquet carries its verdict."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path), home)
        cap.wait_for(r"^00001: field check \(srraw prep at low resolution\) \.\.\.$")
        _kill(cap)
        assert journal_records(out, "qa") == []
        again, rc = run_capture(out, sim.port_path, home)
    finally:
        sim.stop()
    assert rc == 0, again.output
    assert "resuming sequence 00001 at its field check" in again.output
    assert "00001: field check: usable (" in again.output, again.output
    assert "frame 1/7" not in again.output and not (out / "00002").exists()
    df = captures(out)
    assert df.qa_verdict.tolist() == ["usable"] * 7


def test_reshoot_killed_midway_never_mixes_frames(tmp_path, home):
    """The subject moves after frame 3, the field check rejects the sequence and --reshoot
    shoots it again; the laptop dies at the reshoot's frame 3. The folder still holds the first
    take whole (prep sees no mix); the next run finishes the reshoot, and only then are the old
    frames moved aside (kept, not deleted) and the new ones put in their place."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--reshoot"), home)
        cap.wait_for(r"^00001 frame 3/7: .* ok \(")
        assert sim.command("scene 7") == "ok scene 7"
        cap.wait_for(r"^reshooting sequence 00001$")
        cap.wait_for(r"^00001 frame 3/7: .* ok \(")
        _kill(cap)
        first = {(r["frame"], r["raw_sha256"]) for r in journal_records(out, "frame")[:7]}
        on_disk = {(int(p.stem), sha256_file(p)) for p in sorted((out / "00001").glob("0*.DNG"))}
        assert on_disk == first  # the first take, whole: no new frame beside old ones
        (seq,) = discover_folders(out)
        assert seq.sequence == "00001" and len(seq.frames) == 7
        again, rc = run_capture(out, sim.port_path, home)
    finally:
        sim.stop()
    assert rc == 0, again.output
    assert "field check: usable (" in again.output, again.output
    assert_sequence_complete(out, "00001")
    second = {(r["frame"], r["raw_sha256"]) for r in journal_records(out, "frame")[7:]}
    assert {(r.frame, r.raw_sha256) for r in captures(out).itertuples()} == second
    assert not second & first
    rejected = list((out / ".srraw" / "rejected").glob("*/0*.DNG"))
    assert {(int(p.stem), sha256_file(p)) for p in rejected} == first
    assert [s.sequence for s in discover_folders(out)] == ["00001"]


def _status(sim) -> dict:
    return json.loads(sim.command("status").removeprefix("ok "))


def test_shots_left_on_the_card_are_reported_and_fetched_on_request(tmp_path, home):
    """Frame 3's files come after --capture-timeout (a slow body): the run stops with a line
    that names the option, not "did not take the picture". The next run retakes frame 3 and
    reports the files left on the card; --fetch-orphans fetches them and only then deletes them
    from the card."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa", "--capture-timeout", "1"), home)
        cap.wait_for(r"^00001 frame 1/7: .* ok \(")
        sim.command("capture-delay 4 1")
        assert cap.finish() == 2, cap.output
        error = cap.stderr.strip().splitlines()[-1]
        assert "--capture-timeout" in error and "did not take the picture" not in error, error
        deadline = time.monotonic() + 30
        while len(_status(sim)["objects"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        late = sorted(_status(sim)["objects"])
        assert len(late) == 2, late  # the body did take it, after the timeout
        again, rc = run_capture(out, sim.port_path, home, "--no-qa")
        assert rc == 0, again.output
        assert_sequence_complete(out, "00001")
        report = [line for line in again.lines if "left on the card" in line]
        assert report and all(name in report[0] for name in late), again.output
        assert sorted(_status(sim)["objects"]) == late  # reported, not deleted
        fetch, rc = run_capture(out, sim.port_path, home, "--fetch-orphans")
        status = _status(sim)
    finally:
        sim.stop()
    assert rc == 0, fetch.output
    fetched = sorted((out / ".srraw" / "orphans").glob("*/*"))
    assert sorted(p.name for p in fetched) == late
    for rec in journal_records(out, "orphan_fetched"):
        assert sha256_file(out / rec["path"]) == rec["sha256"]
    assert len(journal_records(out, "orphan_fetched")) == 2
    assert status["objects"] == []  # deleted from the card once safely on disk
    assert "frame 1/7" not in fetch.output  # fetching shoots nothing


@pytest.mark.slow
def test_a_slow_body_is_waited_for(tmp_path, home):
    """A body that takes 35 s from the trigger to its files (12 MP, long exposure) outlives the
    old fixed 30 s timeout; the default now waits for a body whose capture time is not known
    yet, then sets the limit from the measured time."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    sim.command("capture-delay 35 1")
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa"), home, timeout=240)
        rc = cap.finish()
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert_sequence_complete(out, "00001")
    first = journal_records(out, "capture")[0]
    assert first["capture_s"] >= 35


def test_busy_body_is_retried_and_a_low_battery_is_said(tmp_path, home):
    """The battery is at 3% when the run starts: said at once. After frame 2 the body answers
    DeviceBusy to the next two property sets (the power zoom): retried with back-off, the
    sequence completes."""
    sim = simcam(home)
    assert sim.command("battery 3").startswith("ok")
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa"), home)
        cap.wait_for(r"^00001 frame 2/7: .* ok \(")
        assert sim.command("busy-next 2").startswith("ok")
        rc = cap.finish()
        status = _status(sim)
    finally:
        sim.stop()
    assert rc == 0, cap.output
    assert "warning: battery at 3%" in cap.output, cap.output
    assert status["faults"]["busy_next"] == 0  # the body did answer busy twice
    assert_sequence_complete(out, "00001")


def test_libgphoto2_stderr_is_folded_into_the_one_line_error(tmp_path, home):
    """The camera is unplugged mid-sequence and stays away: libgphoto2's own complaints
    ("connect cmd: Connection refused" and the like) come inside srraw's one-line error, not
    as lines before it; the whole of them is kept in the dataset's camera log."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa", "--reconnect-timeout", "2"), home)
        cap.wait_for(r"^00001 frame 2/7: .* ok \(")
        sim.command("unplug")
        rc = cap.finish()
    finally:
        sim.stop()
    assert rc == 2, cap.output
    lines = cap.stderr.strip().splitlines()
    assert len(lines) == 1, cap.stderr
    assert lines[0].startswith("Error: lost the camera") and "libgphoto2: " in lines[0], lines
    (log,) = (out / ".srraw").glob("camera-*.log")
    assert "Connection refused" in log.read_text()


# ---- what the photographer reads ----------------------------------------------------------


def test_readme_background_simcam_does_not_read_the_terminal():
    """`srraw simcam ... &` in a shell stops on its first read of the terminal (SIGTTIN):
    every documented background start says --no-stdin."""
    for doc in (ROOT / "README.md", ROOT / "srraw_capture" / "README.md"):
        for line in doc.read_text().splitlines():
            command = line.split("#")[0].strip()
            if "srraw simcam" in command and command.endswith("&"):
                assert "--no-stdin" in command, f"{doc.name}: {line}"


def test_capture_help_lists_every_shipped_rig():
    from click.testing import CliRunner

    import srraw.cli

    result = CliRunner().invoke(srraw.cli.main, ["capture", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for path in (ROOT / "rigs").glob("*.toml"):
        assert path.stem in result.output, path.stem


def test_rig_show_prints_a_profile_that_reads_back(tmp_path):
    import dataclasses
    import tomllib

    from srraw.rig import load_rig, parse_rig
    from tests.conftest import run_srraw

    for name in ("simulated-power", "sony-a7s2-fe24-240"):
        shown = run_srraw("rig", "show", name)
        assert shown.returncode == 0, shown.stderr
        assert "{" not in shown.stdout and "Body(" not in shown.stdout, shown.stdout
        assert 'focal_widget = ""' not in shown.stdout
        again = parse_rig(tomllib.loads(shown.stdout), tmp_path / "x.toml")
        assert dataclasses.replace(again, path=None) == dataclasses.replace(
            load_rig(name), path=None
        )


def test_sony_rig_says_where_its_focal_length_comes_from():
    text = (ROOT / "rigs" / "sony-a7s2-fe24-240.toml").read_text()
    zoom = text[text.index("[zoom]") :]
    assert "reads FocalLength" not in zoom and "EXIF" in zoom, zoom


def test_rig_check_refuses_an_aperture_the_lens_does_not_have(tmp_path):
    from tests.conftest import run_srraw

    text = (ROOT / "rigs" / "sony-a7s2-fe24-240.toml").read_text()
    bad = tmp_path / "fast.toml"
    bad.write_text(text.replace("f_number = 16.0", "f_number = 1.4"))
    result = run_srraw("rig", "check", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"Error: {bad}: [exposure] f_number: f/1.4 is "), (
        result.stderr
    )
    assert "F3.5" in result.stderr and "Traceback" not in result.stderr
    good = run_srraw("rig", "check", "sony-a7s2-fe24-240")
    assert good.returncode == 0, good.stderr


def test_field_check_says_a_failed_alignment_in_words(tmp_path):
    """prep's pair error carries OpenCV's own text; the field check says it in a sentence."""
    import cv2
    import numpy as np

    from srraw.manifest import write_manifest
    from srraw_capture import qa
    from srraw_prep.align import AlignError, _ecc

    flat = np.zeros((64, 64), np.float32)
    with pytest.raises(AlignError) as real:
        _ecc(flat, flat, np.eye(3), cv2.MOTION_EUCLIDEAN)
    assert "OpenCV" in str(real.value)  # what prep writes into pairs.parquet
    rows = [
        {
            "sequence": "00001",
            "zoom": 4,
            "frame_l": 6,
            "frame_h": 3,
            "status": "failed",
            "error": str(real.value),
            "qa_flags": [],
        },
        {
            "sequence": "00001",
            "zoom": 4,
            "frame_l": 7,
            "frame_h": 4,
            "status": "ok",
            "qa_flags": [],
            "ecc_rho": 0.97,
        },
    ]
    pairs = write_manifest("pairs", rows, tmp_path / "pairs.parquet")
    result = qa.summarize(pairs, tmp_path / "frames.parquet")
    text = "\n".join(result.lines())
    assert "OpenCV" not in text and "error: (" not in text, text
    assert "frames 6 and 3 do not line up" in text, text


def test_ctrl_c_at_the_start_prompt_is_a_clean_exit_130(tmp_path, home):
    """Interactive (stdin a terminal): Ctrl-C at 'Enter to start' prints how to go on and
    exits 130, not click's 'Aborted!' with 1."""
    import pty
    import subprocess
    import sys

    from tests.test_capture_helpers import env_for

    sim = simcam(home)
    out = tmp_path / "dataset"
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "srraw.cli",
                "capture",
                "--rig",
                "simulated-power",
                "--out",
                str(out),
                "--camera",
                sim.port_path,
                "--no-qa",
            ],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env_for(home),
            start_new_session=True,
        )
        seen = b""
        deadline = time.monotonic() + 60
        while b"Enter to start" not in seen and time.monotonic() < deadline:
            seen += proc.stdout.read1(4096)
        assert b"Enter to start" in seen, seen
        os.killpg(proc.pid, signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
        os.close(slave)
        sim.stop()
    assert proc.returncode == 130, (seen + rest, err)
    assert b"Aborted!" not in err and b"Traceback" not in err, err
    assert b"Run the same command again" in err, err


def test_summary_counts_the_frames_on_disk(tmp_path, home):
    """Interrupted after frame 3, resumed: the session summary counts the sequence's frames on
    disk (7), not only those this run took, with its retakes and verdict."""
    sim = simcam(home)
    out = tmp_path / "dataset"
    try:
        cap = Capture(capture_args(out, sim.port_path, "--no-qa"), home)
        cap.wait_for(r"^00001 frame 3/7: .* ok \(")
        cap.interrupt()
        assert cap.finish() == 130
        again, rc = run_capture(out, sim.port_path, home, "--no-qa")
    finally:
        sim.stop()
    assert rc == 0, again.output
    assert "00001: 7 of 7 frames on disk, 0 retake(s), verdict: not run" in again.output
    assert "capture: 1 sequence(s), 7 frame(s) on disk" in again.output, again.output


def test_abandon_a_sequence_with_no_frame_needs_no_camera(tmp_path):
    """The issue's case: a rig that failed at frame 1 left sequence 00001 with 0 frames;
    --abandon sets it aside without a camera, and nothing blocks the dataset any more."""
    from srraw_capture import journal
    from tests.conftest import run_srraw

    out = tmp_path / "dataset"
    (out / journal.STATE_DIR).mkdir(parents=True)
    record = {
        "type": "sequence",
        "sequence": "00001",
        "rig": "gone-rig",
        "focal_lengths_mm": [70, 35],
    }
    (out / journal.STATE_DIR / "journal-20260101T000000000000Z-1.jsonl").write_text(
        json.dumps(record) + "\n"
    )
    assert journal.load_state(out).unfinished().name == "00001"
    result = run_srraw("capture", "--rig", "simulated", "--out", str(out), "--abandon", "00001")
    assert result.returncode == 0, result.stderr
    assert "sequence 00001 set aside (0 of 2 frames on disk; it had no files" in result.stdout
    state = journal.load_state(out)
    assert state.unfinished() is None and state.next_name(out) == "00002"
    again = run_srraw("capture", "--rig", "simulated", "--out", str(out), "--abandon", "00009")
    assert again.returncode == 2 and "no sequence 00009 in the journals" in again.stderr


def test_folder_moves_finish_once_and_never_replay(tmp_path):
    """A swap cut short between its journal record and its renames is finished on the next
    start; a finished one is never replayed (a rejected take deleted by hand later must not
    pull the sequence in place aside)."""
    from srraw_capture import aside, journal

    reshoot, rejected = ".srraw/reshoot/00001-s2", ".srraw/rejected/00001-s2"
    records = [
        {"type": "sequence", "sequence": "00001", "rig": "r", "focal_lengths_mm": [70, 35]},
        {"type": "reshoot", "sequence": "00001", "folder": reshoot},
        {"type": "reshoot_swap", "sequence": "00001", "folder": reshoot, "aside": rejected},
    ]
    (tmp_path / ".srraw").mkdir()
    (tmp_path / ".srraw" / "journal-20260101T000000000000Z-1.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records)
    )
    for folder, text in (("00001", "first take"), (reshoot, "reshoot")):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "00001.DNG").write_text(text)
    state = journal.load_state(tmp_path)
    assert aside.finish_moves(tmp_path, state) == 2
    assert (tmp_path / "00001" / "00001.DNG").read_text() == "reshoot"
    assert (tmp_path / rejected / "00001.DNG").read_text() == "first take"
    for path in (tmp_path / rejected).iterdir():
        path.unlink()
    (tmp_path / rejected).rmdir()  # the photographer frees the space
    assert aside.finish_moves(tmp_path, journal.load_state(tmp_path)) == 0
    assert (tmp_path / "00001" / "00001.DNG").read_text() == "reshoot"
