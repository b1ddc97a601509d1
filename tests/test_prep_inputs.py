"""srraw prep as a new user meets it: what the terminal says, exit codes, layouts, bad inputs."""

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from srraw.manifest import read_manifest_df
from srraw_prep.config import PrepConfig
from srraw_prep.discover import discover
from srraw_prep.run import prep
from tests.conftest import ROOT, run_srraw, shared_file
from tests.test_prep import _rewrite_dng


def _sequence_copy(small_sequence: Path, target: Path) -> Path:
    shutil.copytree(small_sequence, target, ignore=shutil.ignore_patterns("manifests"))
    return target


def _frames(out: Path):
    return read_manifest_df(out / "frames.parquet").set_index(["sequence", "frame"])


def test_summary_lists_items_under_it_capped_with_the_report_named(tmp_path):
    from srraw_prep.summary import Summary

    items = tuple(f"00001/{i:05d}.DNG: truncated RAW" for i in range(1, 26))
    summary = Summary(1, 0, {"failed": 25}, {"absent": 2}, tmp_path, items)
    first, *rest = summary.lines(limit=20)
    assert first.endswith(f"(report: {tmp_path / 'report.html'})")
    assert "pairs: 0 ok, 0 flagged, 0 failed, 2 absent" in first
    assert rest[:20] == [f"  {item}" for item in items[:20]]
    assert rest[20:] == [f"  ... and 5 more (see {tmp_path / 'report.html'})"]
    assert Summary(1, 0, {"ok": 7}, {"absent": 2}, tmp_path).failed is False


def test_a_zoom_the_lens_cannot_reach_is_absent_and_exits_0(small_sequence, tmp_path):
    # 24-240 mm spans 10X: 16X cannot be made from any two frames.
    out = tmp_path / "m"
    result = run_srraw(
        "prep", str(small_sequence), "--out", str(out), "--zoom", "4", "--zoom", "16",
        "--jobs", "1", "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "%|" not in result.stderr  # --no-progress: no bar
    pairs = read_manifest_df(out / "pairs.parquet")
    absent = pairs[pairs.zoom == 16]
    assert len(absent) == 1 and absent.iloc[0].status == "absent"
    assert "no frame pair" in absent.iloc[0].error and "240" in absent.iloc[0].error
    assert set(pairs[pairs.zoom == 4].status) <= {"ok", "flagged"}
    assert "1 absent" in result.stdout.splitlines()[0]
    report = (out / "report.html").read_text()
    assert "Absent zooms" in report and absent.iloc[0].error in report


def test_zero_byte_jpeg_fails_its_frame_only_and_inspect_says_empty(small_sequence, tmp_path):
    data = _sequence_copy(small_sequence, tmp_path / "00001")
    (data / "00003.JPG").write_bytes(b"")
    out = tmp_path / "m"
    summary = prep(data, out, PrepConfig(zooms=(4,)), progress=False)
    assert summary.failed
    frames = _frames(out)
    bad = frames.loc[("00001", 3)]
    assert bad.status == "failed"
    assert bad.error == "00003.JPG: not a JPEG: it is empty (0 bytes)"
    assert set(frames.drop(("00001", 3)).status) == {"ok"}
    pairs = read_manifest_df(out / "pairs.parquet")
    assert len(pairs) >= 2 and set(pairs.status) >= {"ok", "failed"}
    lost = pairs[(pairs.frame_l == 3) | (pairs.frame_h == 3)]
    assert len(lost) and (lost.status == "failed").all()
    assert lost.error.str.contains("frame 00003 failed: 00003.JPG: not a JPEG").all()
    assert any("00003.JPG: not a JPEG: it is empty (0 bytes)" in i for i in summary.items)
    result = run_srraw("inspect", str(data / "00003.JPG"))
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"Error: {data / '00003.JPG'}: not a JPEG: it is empty (0 bytes)"
    )


def test_text_file_named_raw_says_it_is_not_a_raw(small_sequence, tmp_path):
    data = _sequence_copy(small_sequence, tmp_path / "00001")
    (data / "00003.DNG").unlink()
    (data / "00003.ARW").write_text("this is my shopping list\nmilk\n")
    out = tmp_path / "m"
    result = run_srraw(
        "prep", str(data), "--out", str(out), "--zoom", "4", "--jobs", "1", "--no-progress"
    )
    assert result.returncode == 1
    assert result.stderr == ""  # nothing but prep's own lines (exifread's logging stays quiet)
    assert "  00003.ARW: not a RAW file: it holds text" in result.stdout
    error = _frames(out).loc[("00001", 3)].error
    assert error == "00003.ARW: not a RAW file: it holds text ('this is my shopping list milk')"
    result = run_srraw("inspect", str(data / "00003.ARW"))
    assert result.returncode == 2
    assert "not a RAW file: it holds text" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_read_only_dataset_without_out_is_refused_up_front(small_sequence, tmp_path):
    data = _sequence_copy(small_sequence, tmp_path / "ro" / "00001").parent
    command = [sys.executable, "-m", "srraw.cli", "prep", str(data), "--jobs", "1"]
    if os.geteuid() == 0:  # root writes anywhere; an unmapped user namespace does not
        if not shutil.which("unshare"):
            pytest.skip("running as root without unshare(1): cannot make a folder read-only")
        command = ["unshare", "-U", *command]
    (data / "00001").chmod(0o555)
    data.chmod(0o555)
    try:
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    finally:
        data.chmod(0o755)
        (data / "00001").chmod(0o755)
    if "unshare" in command[0] and "Operation not permitted" in result.stderr:
        pytest.skip("user namespaces are not available here")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"Error: {data / 'manifests'}: cannot write the manifests here (Permission denied); "
        "pass --out FOLDER to write the manifests elsewhere"
    )
    assert not (data / "manifests").exists()


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _workers(pids: list[int]) -> list[int]:
    def cmdline(pid: int) -> bytes:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""

    return [p for p in pids if b"spawn_main" in cmdline(p)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the workers")
def test_pool_workers_die_with_a_parent_killed_by_sigkill():
    # Two workers each busy for 10 minutes: only dying with the parent ends them in time.
    script = (
        "import time\n"
        "from srraw.parallel import run_local\n"
        "for _ in run_local(time.sleep, [(600,), (600,), (600,)], 2): pass\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while len(_workers(kids := _children(proc.pid))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_workers(kids)) == 2, kids  # kids: the workers and the resource tracker
        time.sleep(1.0)  # let the workers run their initializer and pick up a task
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 60
        while any(map(_alive, kids)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [k for k in kids if _alive(k)], "workers outlived their parent"
    finally:
        for pid in [proc.pid, *kids]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_sequence_ids_are_folder_names_and_split_folders_are_honoured(small_sequence, tmp_path):
    data = tmp_path / "data"
    for split, name in (("train", "00017"), ("test", "00018"), ("val", "00019")):
        _sequence_copy(small_sequence, data / split / name)
    split_file = tmp_path / "split.json"
    split_file.write_text(json.dumps({"00019": "train", "00099": "val", "train/00017": "val"}))
    out = tmp_path / "m"
    result = run_srraw(
        "prep", str(data), "--out", str(out), "--zoom", "4", "--jobs", "2",
        "--split-file", str(split_file), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"prep: warning: --split-file names sequences that are not in {data}: 00099, train/00017"
    )
    pairs = read_manifest_df(out / "pairs.parquet")
    # test/ stays test (never hashed into train); the split file wins over the val/ folder.
    assert dict(pairs.groupby("sequence")["split"].first()) == {
        "00017": "train",
        "00018": "test",
        "00019": "train",
    }
    assert pairs.jpeg_h_path.str.startswith(("train/00017/", "test/00018/", "val/00019/")).all()
    # One sequence folder given as DATASET: its own name, not '.'.
    _, (only,) = discover(data / "test" / "00018")
    assert only.sequence == "00018" and only.split is None
    # Two folders with one name keep their paths, so ids stay unique.
    _sequence_copy(small_sequence, data / "val" / "00017")
    ids = [s.sequence for s in discover(data)[1]]
    assert ids == ["00018", "00019", "train/00017", "val/00017"]


def test_shot_mismatches_names_each_field_both_files_record():
    from srraw.exif import Exif, shot_mismatches

    when = dt.datetime(2026, 5, 1, 12, 0, 0)
    sony = Exif(make="SONY", model="ILCE-7SM2", serial="123", capture_time=when)
    assert shot_mismatches(sony, Exif(make="Sony ", model="ilce-7sm2", capture_time=when)) == []
    assert shot_mismatches(
        sony, Exif(serial="124", capture_time=when + dt.timedelta(seconds=5))
    ) == [
        "serial '123' vs '124'",
        "capture time 2026-05-01 12:00:00 vs 2026-05-01 12:00:05",
    ]
    # A JPEG may be smaller (crop, downscale, turned by 90 degrees), never larger than the sensor.
    assert shot_mismatches(sony, sony, (4256, 2848), (4240, 2832)) == []
    assert shot_mismatches(sony, sony, (4256, 2848), (2832, 4240)) == []
    assert shot_mismatches(sony, sony, (4000, 3000), (4240, 2832)) == [
        "JPEG 4240x2832 is larger than the RAW's 4000x3000 sensor area"
    ]


def test_raw_and_jpeg_of_another_shot_fail_the_frame(small_sequence, tmp_path):
    data = _sequence_copy(small_sequence, tmp_path / "00001")
    _rewrite_dng(data / "00002.DNG", serial="OTHER-BODY")
    out = tmp_path / "m"
    prep(data, out, PrepConfig(zooms=(4,)), progress=False)
    frames = _frames(out)
    error = frames.loc[("00001", 2)].error
    assert frames.loc[("00001", 2)].status == "failed"
    assert error.startswith("00002.DNG and 00002.JPG are not the same shot: serial 'OTHER-BODY' vs")
    assert set(frames.drop(("00001", 2)).status) == {"ok"}


def test_gopro_dng_beside_a_sony_jpeg_is_not_one_frame(tmp_path):
    data = tmp_path / "00001"
    data.mkdir()
    shutil.copy(shared_file("gopro-gpr/GOPR0024.DNG"), data / "00001.DNG")
    shutil.copy(shared_file("zoom-learn-zoom/00134.JPG"), data / "00001.JPG")
    out = tmp_path / "m"
    prep(data, out, PrepConfig(zooms=(4,)), progress=False)
    row = _frames(out).loc[("00001", 1)]
    assert row.status == "failed"
    assert row.error.startswith(
        "00001.DNG and 00001.JPG are not the same shot: make 'GoPro' vs 'SONY'"
    )
    assert "model" in row.error and "larger than the RAW's" in row.error


def test_duplicate_files_across_frames_are_flagged(small_sequence, tmp_path):
    data = _sequence_copy(small_sequence, tmp_path / "00001")
    for ext in ("DNG", "JPG"):  # frame 00003 is a copy of 00002: one shot under two names
        shutil.copy(data / f"00002.{ext}", data / f"00003.{ext}")
    out = tmp_path / "m"
    summary = prep(data, out, PrepConfig(zooms=(8,)), progress=False)  # 24 mm -> 200 mm
    frames = _frames(out)
    for index, other in ((2, "00003.JPG"), (3, "00002.JPG")):
        row = frames.loc[("00001", index)]
        assert row.status == "flagged" and "duplicate_file" in row.qa_flags
        assert f"JPG has the same content (sha256) as {other}" in row.error
    assert set(frames.drop([("00001", 2), ("00001", 3)]).status) == {"ok"}
    pairs = read_manifest_df(out / "pairs.parquet")
    uses = pairs.jpeg_h_path.isin(["00002.JPG", "00003.JPG"]) | pairs.frame_l.isin([2, 3])
    assert uses.any()
    assert all("duplicate_file" in flags for flags in pairs[uses].qa_flags)
    assert any(i.startswith("00002.DNG: flagged: duplicate_file (") for i in summary.items)


def test_an_internal_error_still_gives_the_sequence_its_pair_rows(small_sequence, tmp_path):
    from srraw_prep import run, state

    (seq,) = discover(small_sequence)[1]
    cfg = PrepConfig(zooms=(4, 8))
    result = run._internal_error(seq, cfg, RuntimeError("boom"))
    assert [p["zoom"] for p in result.pairs] == [4, 8]
    assert all(p["status"] == "failed" and "boom" in p["error"] for p in result.pairs)
    state.save(tmp_path, seq, cfg, result)
    assert state.load(tmp_path, seq.sequence)[1].num_rows == 2
