"""report.html renders in a real browser (Debian's headless Chromium), screenshot taken."""

import shutil
import subprocess

import cv2
import pytest

from srraw.synth.cli import synthesize
from srraw_prep.config import PrepConfig
from srraw_prep.run import prep

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)"
)
def test_report_renders_in_headless_chromium(rig_file, tmp_path):
    data = tmp_path / "data"
    synthesize(str(rig_file(width=480, height=320)), data, 2, 3, None, progress=False)
    # One failure too, so the failures table has a row.
    (data / "00002" / "00004.JPG").unlink()
    prep(data, tmp_path / "m", PrepConfig(zooms=(4,)), progress=False)
    report = tmp_path / "m" / "report.html"
    html = report.read_text()
    assert "data:image/jpeg;base64," in html and "<svg" in html  # self-contained
    assert "no JPEG beside 00004.DNG" in html
    shot = tmp_path / "report.png"
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
            "--window-size=1280,2000",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (2000, 1280)
    # Rendered, not blank: charts, overlays and text give a busy page.
    assert image.std() > 20
    assert (image < 128).mean() > 0.01
