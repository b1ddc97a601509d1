"""srraw prep on synthetic sequences with known ground truth, and on every kind of bad input."""

import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import duckdb
import numpy as np
import pandas as pd
import pytest

from srraw.files import sha256_file
from srraw.manifest import read_manifest_df, schema_tag
from srraw.parallel import thread_map
from srraw.raw import read_raw
from srraw.synth.cli import synthesize
from srraw.synth.render import CAM_FROM_XYZ
from srraw.tiffwrite import DngMeta, encode_dng
from srraw_prep.config import PrepConfig
from srraw_prep.discover import discover
from srraw_prep.geometry import mean_corner_error
from srraw_prep.run import prep
from srraw_prep.sequence import process_sequence
from srraw_prep.split import hashed_split
from tests.conftest import ROOT, make_rig_text, run_srraw


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Three small synthetic sequences, written once for this module."""
    root = tmp_path_factory.mktemp("prep")
    rig = root / "rig.toml"
    rig.write_text(make_rig_text("GRBG", width=960, height=640))
    synthesize(str(rig), root / "data", 3, 11, None, progress=False)
    return root / "data"


def _copy(dataset: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(dataset, target, ignore=shutil.ignore_patterns("manifests"))
    return target


def _truth(folder: Path) -> dict:
    return json.loads((folder / "truth.json").read_text())


def test_h_to_l_matches_the_truth(dataset, tmp_path):
    summary = prep(dataset, tmp_path / "m", PrepConfig(zooms=(4,)), progress=False)
    assert not summary.failed
    pairs = read_manifest_df(tmp_path / "m" / "pairs.parquet", "pairs")
    assert len(pairs) >= 6  # 4X: ~3 pairs per sequence
    errors = []
    for row in pairs.itertuples():
        truth = _truth(dataset / row.sequence)["frames"]
        s_l = np.reshape(truth[row.frame_l - 1]["scene_to_frame"], (3, 3))
        s_h = np.reshape(truth[row.frame_h - 1]["scene_to_frame"], (3, 3))
        true = s_l @ np.linalg.inv(s_h)
        estimate = np.reshape(row.h_to_l, (3, 3))
        errors.append(mean_corner_error(estimate, true, (960, 640)))
        assert row.zoom == 4 and 3.4 <= row.nominal_ratio <= 4.6
        ring = (
            truth[row.frame_h - 1]["focal_effective_mm"]
            / truth[row.frame_l - 1]["focal_effective_mm"]
        )
        assert row.measured_scale == pytest.approx(ring, rel=0.003)
        assert row.scale_offset == pytest.approx(row.measured_scale / 4)
        assert row.box_x0 % 2 == 0 and row.box_y1 % 2 == 0 and row.box_x1 > row.box_x0
    assert max(errors) < 0.5, errors


def test_manifests_are_readable_and_reference_real_files(dataset, tmp_path):
    out = tmp_path / "m"
    prep(dataset, out, PrepConfig(zooms=(4,)), progress=False)
    assert schema_tag(out / "frames.parquet")[0] == "frames"
    frames = pd.read_parquet(out / "frames.parquet")
    assert len(frames) == 21 and set(frames["status"]) == {"ok"}
    assert set(frames["cfa"]) == {"GRBG"}
    for row in frames.head(3).itertuples():
        assert sha256_file(dataset / row.raw_path) == row.raw_sha256
        assert not Path(row.raw_path).is_absolute()
    count, splits = duckdb.sql(
        f"select count(*), count(distinct split) from '{out / 'pairs.parquet'}' group by sequence"
    ).fetchall()[0]
    assert count >= 2 and splits == 1  # one split per sequence, never per pair
    assert (out / "report.html").stat().st_size > 1000


def test_threads_measure_the_same_rows_as_one_thread(dataset):
    """Frames, chain alignments, flows and pair rows run in threads: the rows must not change."""
    _, sequences = discover(dataset)
    one = process_sequence(sequences[0], PrepConfig(), threads=1)
    two = process_sequence(sequences[0], PrepConfig(), threads=3)
    assert [r for r in one.pairs if r["status"] != "failed"]  # something was measured
    assert one.frames == two.frames
    assert one.pairs == two.pairs
    assert one.thumbs.keys() == two.thumbs.keys()


def test_thread_map_keeps_order_and_raises():
    assert thread_map(lambda v: v * v, range(7), 3) == [v * v for v in range(7)]

    def fail(v: int) -> int:
        if v == 4:
            raise ValueError("four")
        return v

    with pytest.raises(ValueError, match="four"):
        thread_map(fail, range(7), 3)


def test_split_is_per_sequence_deterministic_and_80_10_10():
    ids = [f"{i:05d}" for i in range(5000)]
    counts = pd.Series([hashed_split(s) for s in ids]).value_counts(normalize=True)
    assert counts["train"] == pytest.approx(0.8, abs=0.02)
    assert counts["val"] == pytest.approx(0.1, abs=0.015)
    assert [hashed_split(s) for s in ids[:50]] == [hashed_split(s) for s in ids[:50]]
    assert [hashed_split(s, seed=1) for s in ids[:50]] != [hashed_split(s) for s in ids[:50]]


@pytest.mark.slow  # several full preps of the module's dataset
def test_split_file_overrides_and_bad_split_file_is_one_line(dataset, tmp_path):
    split_file = tmp_path / "split.json"
    split_file.write_text(json.dumps({"00001": "test", "00002": "test", "00003": "val"}))
    out = tmp_path / "m"
    result = run_srraw(
        "prep",
        str(dataset),
        "--out",
        str(out),
        "--zoom",
        "4",
        "--split-file",
        str(split_file),
        "--jobs",
        "1",
    )
    assert result.returncode == 0, result.stderr
    pairs = read_manifest_df(out / "pairs.parquet")
    assert dict(pairs.groupby("sequence")["split"].first()) == {
        "00001": "test",
        "00002": "test",
        "00003": "val",
    }
    split_file.write_text(json.dumps({"00001": "testing"}))
    result = run_srraw("prep", str(dataset), "--out", str(out), "--split-file", str(split_file))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"Error: {split_file}: sequence 00001: split 'testing' is not one of ('train', 'val', 'test')"
    )


def _rewrite_dng(path: Path, **exif_changes) -> None:
    """Re-encode a DNG with other EXIF values (as if the body had been set differently)."""
    frame = read_raw(path)
    meta = DngMeta(
        exif=dataclasses.replace(frame.exif, **exif_changes),
        cfa=frame.cfa,
        black_level=tuple(int(b) for b in frame.black_levels),
        white_level=frame.white_level,
        as_shot_neutral=tuple(1 / w for w in frame.wb),
        color_matrix1=tuple(CAM_FROM_XYZ.ravel()),
    )
    path.write_bytes(encode_dng(frame.mosaic, meta))


def _strip_exif(jpeg: Path) -> None:
    image = cv2.imread(str(jpeg))
    jpeg.write_bytes(cv2.imencode(".jpg", image)[1].tobytes())


def test_every_bad_input_becomes_a_row_with_its_error(dataset, tmp_path):
    data = _copy(dataset, tmp_path)
    # 00001: a truncated RAW and a JPEG without EXIF beside a RAW that has it.
    raw = data / "00001" / "00006.DNG"
    raw.write_bytes(raw.read_bytes()[: raw.stat().st_size // 2])
    _strip_exif(data / "00001" / "00005.JPG")
    # 00002: a missing frame, a RAW without its JPEG, and a frame with no focal length anywhere.
    for name in ("00004.DNG", "00004.JPG", "00002.JPG"):
        (data / "00002" / name).unlink()
    _rewrite_dng(data / "00002" / "00007.DNG", focal_length_mm=None)
    _strip_exif(data / "00002" / "00007.JPG")
    # 00003: exposure changed on the body mid-sequence.
    _rewrite_dng(data / "00003" / "00003.DNG", exposure_time_s=1 / 60)
    # 00004: a sequence of one frame.
    (data / "00004").mkdir()
    for ext in ("DNG", "JPG"):
        shutil.copy(dataset / "00001" / f"00001.{ext}", data / "00004" / f"00001.{ext}")

    out = tmp_path / "m"
    result = run_srraw("prep", str(data), "--out", str(out), "--zoom", "4", "--jobs", "2")
    assert result.returncode == 1, result.stderr  # something failed, and it says so
    summary, *items = result.stdout.strip().splitlines()
    assert summary.startswith("prep: 4 sequences") and "failed" in summary
    assert summary.endswith(f"(report: {out / 'report.html'})")
    # Each failed or flagged item: one line under the summary naming its file and the problem.
    assert "  00001/00006.DNG: truncated or damaged RAW data" in "\n".join(items)
    assert "  00002/00004: frame 00004 missing: no RAW and no JPEG" in items
    frames = read_manifest_df(out / "frames.parquet").set_index(["sequence", "frame"])
    pairs = read_manifest_df(out / "pairs.parquet")

    def frame(seq, index):
        return frames.loc[(seq, index)]

    assert frame("00001", 6).status == "failed" and "truncated" in frame("00001", 6).error
    assert "00001/00006.DNG" in frame("00001", 6).error
    assert frame("00001", 5).status == "ok"  # EXIF from the RAW fills the stripped JPEG's gap
    assert frame("00001", 5).focal_length_mm > 0
    assert frame("00002", 4).error == "frame 00004 missing: no RAW and no JPEG"
    assert frame("00002", 2).error == "frame 00002: no JPEG beside 00002.DNG"
    assert (
        "no focal length in EXIF" in frame("00002", 7).error
        and "00002/00007.JPG" in frame("00002", 7).error
    )
    assert set(frames.loc["00003"]["status"]) == {"flagged"}
    assert all("exposure_mismatch" in flags for flags in frames.loc["00003"]["qa_flags"])
    one = pairs[pairs.sequence == "00004"]
    assert len(one) == 1 and one.iloc[0].status == "failed" and "only 1 frame" in one.iloc[0].error
    # A pair that needs a failed frame is a failed row naming it, not a missing row.
    lost = pairs[(pairs.sequence == "00001") & (pairs.frame_l == 6)]
    assert len(lost) == 1 and lost.iloc[0].status == "failed"
    assert lost.iloc[0].error.startswith("L frame 00006 failed:")
    flagged = pairs[(pairs.sequence == "00003") & (pairs.status == "flagged")]
    assert len(flagged) and all("exposure_mismatch" in f for f in flagged.qa_flags)
    bad = (frames.status != "ok").sum() + pairs.status.isin(["failed", "flagged"]).sum()
    assert len(items) == bad <= 20  # all of them: under the cap
    report = (out / "report.html").read_text()
    assert "only 1 frame" in report and "frame 00004 missing" in report


@pytest.mark.slow  # several full preps of the module's dataset
def test_alignment_that_cannot_converge_is_a_failed_row(dataset, tmp_path):
    data = _copy(dataset, tmp_path)
    folder = data / "00001"
    pairs_before = read_manifest_df(_prep_out(dataset, tmp_path / "first"), "pairs").query(
        "sequence == '00001'"
    )
    target = folder / f"{int(pairs_before.iloc[0].frame_h):05d}.JPG"
    # A featureless target: nothing for SIFT, phase correlation or ECC to hold on to.
    flat = np.full_like(cv2.imread(str(target)), 128)
    exif_source = target.read_bytes()
    start = exif_source.index(b"\xff\xe1")
    length = int.from_bytes(exif_source[start + 2 : start + 4], "big")
    body = cv2.imencode(".jpg", flat)[1].tobytes()
    target.write_bytes(body[:2] + exif_source[start : start + 2 + length] + body[2:])
    out = tmp_path / "m"
    summary = prep(data, out, PrepConfig(zooms=(4,)), progress=False)
    assert summary.failed
    pairs = read_manifest_df(out / "pairs.parquet").query("sequence == '00001'")
    failed = pairs[pairs.frame_h == pairs_before.iloc[0].frame_h]
    assert (failed.status == "failed").all()
    assert failed.error.str.contains(
        "ECC did not converge|no texture|featureless", regex=True
    ).all()


def _prep_out(dataset: Path, out: Path) -> Path:
    prep(dataset, out, PrepConfig(zooms=(4,)), progress=False)
    return out / "pairs.parquet"


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_manifests(dataset, tmp_path):
    reference = tmp_path / "reference"
    prep(dataset, reference, PrepConfig(zooms=(4, 8)), progress=False)
    out = tmp_path / "resumed"
    command = [
        sys.executable,
        "-m",
        "srraw.cli",
        "prep",
        str(dataset),
        "--out",
        str(out),
        "--jobs",
        "1",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((out / ".prep").glob("*/done.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = list((out / ".prep").glob("*/done.json"))
    assert 1 <= len(done) < 3, "the kill must land mid-run"
    assert not (out / "pairs.parquet").exists()
    result = run_srraw("prep", str(dataset), "--out", str(out), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert f"({len(done)} already done)" in result.stdout
    for table in ("frames", "pairs"):
        a = read_manifest_df(reference / f"{table}.parquet")
        b = read_manifest_df(out / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow  # several full preps of the module's dataset
def test_rerun_skips_done_sequences_and_redoes_changed_ones(dataset, tmp_path):
    data = _copy(dataset, tmp_path)
    out = tmp_path / "m"
    assert prep(data, out, PrepConfig(zooms=(4,)), progress=False).resumed == 0
    assert prep(data, out, PrepConfig(zooms=(4,)), progress=False).resumed == 3
    jpeg = data / "00002" / "00003.JPG"
    jpeg.write_bytes(jpeg.read_bytes())  # touched: new mtime
    assert prep(data, out, PrepConfig(zooms=(4,)), progress=False).resumed == 2
    assert (
        prep(data, out, PrepConfig(zooms=(4, 8)), progress=False).resumed == 0
    )  # settings changed


def test_missing_dataset_is_one_clear_line(tmp_path):
    result = run_srraw("prep", str(tmp_path / "nothing"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"Error: {tmp_path / 'nothing'}: no such dataset folder"
    (tmp_path / "empty").mkdir()
    result = run_srraw("prep", str(tmp_path / "empty"))
    assert result.returncode == 2 and "no sequences found" in result.stderr
