"""report.html: a panel per zoom factor with ticked, labelled charts, the error estimate
calibrated against truth.json on synthetic data, rendered in a real browser (Debian's
headless Chromium)."""

import re
import shutil
import subprocess

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from srraw.pairmap import PairMap, sample_grid
from srraw.synth.cli import synthesize
from srraw.synth.truth import load_truth, true_h_to_l
from srraw_prep.charts import nice_ticks
from srraw_prep.config import PrepConfig
from srraw_prep.report import render
from srraw_prep.run import prep
from srraw_prep.truth_error import pair_true_error
from tests.conftest import make_rig_text

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def prepped(tmp_path_factory):
    """Two synthetic sequences (00001 a depth scene, 00002 a smooth one), one frame missing, prepped at 4X
    and 8X: (dataset, manifest folder, prep summary)."""
    root = tmp_path_factory.mktemp("report")
    rig = root / "rig.toml"
    rig.write_text(make_rig_text(width=480, height=320))
    data = root / "data"
    synthesize(str(rig), data, 2, 0, None, progress=False, scene_kind="mixed")
    # One failure too, so the failures table has a row.
    (data / "00002" / "00004.JPG").unlink()
    summary = prep(data, root / "m", PrepConfig(zooms=(4, 8)), progress=False)
    return data, root / "m", summary


def _thumb(out):
    from srraw_prep import state

    return lambda seq, name: state.thumb(out, seq, name)


def _panels(page: str) -> dict[int, str]:
    found = re.findall(
        r"<section class='zoom' id='zoom-(\d+)' data-zoom='\d+'>(.*?)</section>", page
    )
    return {int(z): body for z, body in found}


def test_nice_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0.13, 0.92) == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert nice_ticks(0, 37, 4) == [0, 10, 20, 30]
    assert nice_ticks(-3.2, 4.9) == pytest.approx([-2, 0, 2, 4])
    assert nice_ticks(5.0, 5.0) == [5.0]


def test_true_error_is_zero_for_the_true_map_and_one_l_pixel_off_when_shifted(prepped):
    data = prepped[0]
    truth = load_truth(data / "00001")
    size_h = (480, 320)

    def true_map(points):
        return true_h_to_l(truth, 6, 2, points)

    grid = sample_grid(true_map, size_h)
    matrix = np.array([[0.25, 0, 180], [0, 0.25, 120], [0, 0, 1.0]])  # about 4X
    exact = pair_true_error(truth, 6, 2, PairMap(matrix, size_h, grid))
    assert exact.mean_px < 0.02 and exact.scene_kind == truth["scene_kind"]
    shifted = pair_true_error(truth, 6, 2, PairMap(matrix, size_h, grid + np.array([1.0, 0.0])))
    scale = np.sqrt(abs(np.linalg.det(PairMap(matrix, size_h, grid).h_to_l[:2, :2])))
    assert shifted.mean_px == pytest.approx(1 / scale, rel=0.02)


def test_report_has_a_panel_per_zoom_with_labelled_ticked_axes(prepped):
    _, out, summary = prepped
    page = (out / "report.html").read_text()
    panels = _panels(page)
    assert sorted(panels) == [4, 8]
    for zoom, body in panels.items():
        assert f"{zoom}X pairs" in body and f"{zoom}X residual p95" in body
        assert "residual misalignment p95 (target px)" in body  # axis label with its unit
        assert "EXIF focal ratio f_H / f_L (x)" in body and "measured scale (x)" in body
        assert len(re.findall(r"class='tick'", body)) > 20  # tick values, not only min/max
        # Synthetic data: true errors from truth.json; no error estimate in this prep yet.
        assert "mean true error (target px)" in body
        # prep writes error_estimate_px (pairs 1.3): the calibration plot is there, no skip note.
        assert "calibration-skipped" not in body and "calibration" in body
        assert "Worst pairs by error estimate" in body
    # The terminal's summary line says where the report is.
    assert str(out / "report.html") in summary.lines()[0]


def test_calibration_plot_and_worst_pairs_use_the_error_estimate_when_present(prepped):
    data, out, _ = prepped
    frames = pq.read_table(out / "frames.parquet")
    pairs = pq.read_table(out / "pairs.parquet")
    rows = pairs.to_pylist()
    # A made-up estimate: pair i's is i px, so the ranking is known.
    usable = ("ok", "flagged")
    estimate = [float(i) if r["status"] in usable else None for i, r in enumerate(rows)]
    index = pairs.schema.get_field_index("error_estimate_px")
    column = pa.array(estimate, pa.float64())
    with_estimate = (
        pairs.set_column(index, "error_estimate_px", column)
        if index >= 0
        else pairs.append_column("error_estimate_px", column)
    )
    page = render(frames, with_estimate, _thumb(out), dataset_root=data)
    for zoom, body in _panels(page).items():
        ok = [i for i, r in enumerate(rows) if r["zoom"] == zoom and r["status"] in usable]
        assert "calibration-skipped" not in body
        calibration = re.search(
            r"<figure class='chart' data-chart='scatter'>(?:(?!</figure>).)*calibration(?:(?!</figure>).)*</figure>",
            body,
        )
        assert calibration and "error estimate (target px)" in calibration.group(0)
        assert calibration.group(0).count("class='point'") == len(ok)
        assert "Worst pairs by error estimate" in body
        worst = rows[max(ok)]
        first = re.search(r"<div class='pair'><div><b>([^<]+)</b> ([^<]+)<br>", body)
        assert first.groups() == (
            worst["sequence"],
            f"{zoom}X {worst['frame_l']:05d} -> {worst['frame_h']:05d}",
        )
    # Without a dataset root (real data, no truth), no calibration at all.
    plain = render(frames, with_estimate, _thumb(out))
    assert "calibration" not in plain and "true error" not in plain


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)"
)
def test_report_renders_in_headless_chromium(prepped, tmp_path):
    _, out, _ = prepped
    report = out / "report.html"
    html = report.read_text()
    assert "data:image/jpeg;base64," in html and "<svg" in html  # self-contained
    assert "no JPEG beside 00004.DNG" in html

    def chromium(*args):
        result = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}",
                *args,
                report.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    # The DOM the browser built: a panel per zoom, each with its charts drawn as SVG.
    dom = chromium("--dump-dom")
    panels = _panels(dom.replace('"', "'"))
    assert sorted(panels) == [4, 8]
    for body in panels.values():
        assert body.count("<svg") >= 5 and "<rect" in body and "<circle" in body
    shot = tmp_path / "report.png"
    chromium("--window-size=1280,2400", f"--screenshot={shot}")
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (2400, 1280)
    # Rendered, not blank: charts, overlays and text give a busy page, top to bottom.
    for band in (image[:1200], image[1200:]):
        assert band.std() > 20
        assert (band < 128).mean() > 0.01
    # The charts' bars are drawn (the blue of the histograms).
    blue = (image[..., 0] > 180) & (image[..., 2] < 110) & (image[..., 1] > 100)
    assert blue.mean() > 0.002
