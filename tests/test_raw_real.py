"""srraw's RAW and EXIF reading on real camera files from ../shared/data (several makers)."""

from fractions import Fraction
from pathlib import Path

import exifread
import numpy as np
import pytest
import rawpy

from srraw.cfa import layout_from_rawpy, pack, unpack
from srraw.errors import SrrawError
from srraw.exif import read_exif
from srraw.raw import as_shot_wb, libraw_exif, read_raw
from tests.conftest import run_srraw, shared_file

# file -> (CFA, black, white, EXIF focal length in mm as the file states it, make)
# The exiftool files carry real metadata but no pixel data (stripped by ExifTool's author).
METADATA_ONLY = {"exiftool/DNG.dng", "exiftool/Panasonic.rw2"}
REAL_RAWS = {
    "exiftool/DNG.dng": ("RGGB", 0, 4095, 55.0, "Canon"),
    "exiftool/Panasonic.rw2": ("BGGR", 15, 4095, 5.1, "Panasonic"),
    "gopro-gpr/GOPR0024.DNG": ("RGGB", 0, 16383, 3.0, "GoPro"),
    "gopro-gpr/GOPR9231.DNG": ("RGGB", 0, 16383, 3.0, "GoPro"),
    "tinydng/colorchart.dng": ("RGGB", 2056, 15000, None, "Canon"),
}


def _exifread_focal(path: Path) -> float | None:
    with path.open("rb") as fh:
        tags = exifread.process_file(fh, details=False)
    ratio = tags["EXIF FocalLength"].values[0]
    value = float(Fraction(ratio.num, ratio.den)) if ratio.den else 0.0
    return value or None


@pytest.mark.parametrize("name", sorted(set(REAL_RAWS) - METADATA_ONLY))
def test_real_raw_matches_rawpy_and_exif(shared_data, name):
    path = shared_file(name)
    cfa, black, white, focal, make = REAL_RAWS[name]
    frame = read_raw(path)
    with rawpy.imread(str(path)) as raw:
        np.testing.assert_array_equal(frame.mosaic, raw.raw_image_visible)
        letters = raw.color_desc.decode()
        assert frame.cfa == "".join(letters[i] for i in raw.raw_pattern.ravel())
        assert frame.black_levels == tuple(float(v) for v in raw.black_level_per_channel)
        assert frame.white_level == raw.white_level
        wb = np.asarray(raw.camera_whitebalance[:3], dtype=float)
        np.testing.assert_allclose(frame.wb, wb / wb[1], rtol=1e-6)
    assert frame.cfa == cfa
    assert set(frame.black_levels) == {float(black)}
    assert frame.white_level == white
    assert frame.mosaic.dtype == np.uint16 and frame.mosaic.shape == (frame.height, frame.width)
    assert frame.exif.focal_length_mm == focal
    assert frame.exif.focal_length_mm == _exifread_focal(path)
    assert frame.exif.make == make
    assert frame.color_matrix is not None and frame.color_matrix.shape == (3, 3)
    # Camera -> sRGB maps camera white to sRGB white (rows sum to one).
    np.testing.assert_allclose(frame.color_matrix.sum(axis=1), 1.0, atol=2e-3)


@pytest.mark.parametrize("name", sorted(METADATA_ONLY))
def test_metadata_only_raw(shared_data, name):
    """Real headers, stripped pixels: the CFA, WB and EXIF read as rawpy and the file say;
    the file itself is refused as truncated, because LibRaw then decodes (and derives black
    levels from) uninitialised memory without an error."""
    path = shared_file(name)
    cfa, _, white, focal, make = REAL_RAWS[name]
    with rawpy.imread(str(path)) as raw:
        assert layout_from_rawpy(raw.raw_pattern, raw.color_desc) == cfa
        wb = np.asarray(raw.camera_whitebalance[:3], dtype=float)
        np.testing.assert_allclose(as_shot_wb(raw), wb / wb[1], rtol=1e-6)
        assert raw.white_level == white
    exif = read_exif(path)
    assert exif.focal_length_mm == focal == _exifread_focal(path)
    assert exif.make == make
    with pytest.raises(
        SrrawError, match=r"truncated RAW: \d+ bytes cannot hold the \d+x\d+ mosaic"
    ):
        read_raw(path, pixels=False)


def test_fractional_focal_length_is_not_rounded(shared_data):
    exif = read_exif(shared_file("exiftool/Panasonic.rw2"))
    assert exif.focal_length_mm == pytest.approx(5.1, abs=1e-12)


def test_iso_kept_outside_exif_comes_from_libraw(shared_data):
    # RW2 keeps ISO in Panasonic's own IFD0 tag, not EXIF ISOSpeedRatings.
    path = shared_file("exiftool/Panasonic.rw2")
    assert read_exif(path).iso is None
    with rawpy.imread(str(path)) as raw:
        assert read_exif(path).merged(libraw_exif(raw)).iso == 80


def test_exposure_fields_of_real_dngs(shared_data):
    canon = read_exif(shared_file("exiftool/DNG.dng"))
    assert canon.model == "Canon EOS 350D DIGITAL"
    assert canon.exposure_time_s == pytest.approx(1 / 15)
    assert (canon.f_number, canon.iso) == (8.0, 400)
    assert canon.capture_time.isoformat() == "2005-08-03T18:59:18"
    gopro = read_raw(shared_file("gopro-gpr/GOPR9231.DNG"), pixels=False).exif
    assert (gopro.model, gopro.iso, gopro.f_number) == ("HERO7 Black", 252, 2.8)


def test_zeroed_exif_fields_read_as_unknown(shared_data):
    exif = read_raw(shared_file("tinydng/colorchart.dng"), pixels=False).exif
    assert exif.focal_length_mm is None
    assert exif.exposure_time_s is None and exif.f_number is None and exif.iso is None


def test_real_sony_jpeg_exif(shared_data):
    exif = read_exif(shared_file("zoom-learn-zoom/00134.JPG"))
    assert (exif.make, exif.model) == ("SONY", "ILCE-7SM2")
    assert exif.lens_model == "FE 24-240mm F3.5-6.3 OSS"
    assert exif.focal_length_mm == 35.0
    assert exif.exposure_time_s == pytest.approx(1 / 30)
    assert (exif.f_number, exif.iso, exif.orientation) == (16.0, 100, 1)


def test_exif_falls_back_to_the_paired_jpeg(shared_data, tmp_path):
    # A RAW with no lens model beside a JPEG that has one (SR-RAW: 00001.ARW + 00001.JPG).
    raw = tmp_path / "00001.dng"
    raw.symlink_to(shared_file("gopro-gpr/GOPR9231.DNG"))
    (tmp_path / "00001.JPG").symlink_to(shared_file("zoom-learn-zoom/00134.JPG"))
    frame = read_raw(raw, pixels=False)
    assert frame.jpeg_path == tmp_path / "00001.JPG"
    assert frame.exif.focal_length_mm == 3.0  # the RAW's own value wins
    assert frame.exif.lens_model == "FE 24-240mm F3.5-6.3 OSS"  # the gap filled from the JPEG


def test_real_bayer_data_packs_and_unpacks_exactly(shared_data):
    frame = read_raw(shared_file("gopro-gpr/GOPR0024.DNG"))
    packed = pack(frame.mosaic, frame.cfa, frame.black_levels, frame.white_level)
    assert packed.shape == (1500, 2000, 4)
    assert packed.min() >= 0.0 and packed.max() <= 1.0
    # Real sensor data: the greens agree with each other far better than with red or blue.
    g1, g2 = packed[..., 1].mean(), packed[..., 3].mean()
    assert abs(g1 - g2) / g1 < 0.02
    unpacked = unpack(packed, frame.cfa, frame.black_levels, frame.white_level)
    np.testing.assert_array_equal(unpacked, frame.mosaic)


def test_raw_libraw_cannot_read_is_one_clear_error(shared_data):
    path = shared_file("gopro-gpr/GOPR0024.GPR")
    with pytest.raises(SrrawError, match="unsupported format") as info:
        read_raw(path)
    assert str(path) in info.value.message


def test_truncated_raw_is_one_clear_line(shared_data, tmp_path):
    data = shared_file("gopro-gpr/GOPR0024.DNG").read_bytes()
    truncated = tmp_path / "00003.DNG"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SrrawError, match="truncated"):
        read_raw(truncated)
    result = run_srraw("inspect", str(truncated))
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert str(truncated) in result.stderr and "truncated" in result.stderr
    assert "Traceback" not in result.stderr


def test_inspect_prints_what_srraw_reads(shared_data):
    result = run_srraw("inspect", str(shared_file("gopro-gpr/GOPR9231.DNG")))
    assert result.returncode == 0, result.stderr
    assert "RAW 4000x3000 RGGB" in result.stdout and "iso: 252" in result.stdout
