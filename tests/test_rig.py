"""Rig profiles: the shipped ones load, and every mistake is one line naming file and key."""

import pytest

from srraw.errors import SrrawError
from srraw.rig import load_rig, shipped_rigs
from tests.conftest import run_srraw


def test_shipped_rigs_load():
    names = {path.stem for path in shipped_rigs()}
    assert {"sony-a7s2-fe24-240", "simulated"} <= names
    for path in shipped_rigs():
        rig = load_rig(path)
        assert rig.name == path.stem


def test_srraw_rig_is_long_to_short_with_the_sr_raw_body():
    rig = load_rig("sony-a7s2-fe24-240")
    assert (rig.body.make, rig.body.model) == ("SONY", "ILCE-7SM2")
    assert rig.lens.model == "FE 24-240mm F3.5-6.3 OSS"
    assert len(rig.focal_lengths_mm) == 7
    assert list(rig.focal_lengths_mm) == sorted(rig.focal_lengths_mm, reverse=True)
    assert rig.exposure.mode == "manual" and rig.exposure.raw_plus_jpeg
    assert rig.exposure.exposure_time_s == pytest.approx(1 / 30)
    assert rig.within_tolerance(70, 71.5) and not rig.within_tolerance(70, 73)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "focal_lengths_mm",
            "focal_lenghts_mm",
            "[sequence] focal_lenghts_mm: unknown key (did you mean 'focal_lengths_mm'?)",
        ),
        (
            "f_number = 16.0",
            'f_number = "f16"',
            "[exposure] f_number: expected int or float, got 'f16'",
        ),
        (
            'exposure_time_s = "1/30"',
            'exposure_time_s = "1/thirty"',
            "[exposure] exposure_time_s: expected a fraction like '1/30', got '1/thirty'",
        ),
        (
            'drive = "manual"',
            'drive = "motor"',
            "[zoom] drive: expected one of manual, power, got 'motor'",
        ),
        ('drive = "manual"', 'drive = "power"', "[zoom] widget: required when drive = 'power'"),
        (
            "[240, 200,",
            "[300, 200,",
            "[sequence] focal_lengths_mm: 300 mm is outside the lens range 24-240 mm",
        ),
        ("iso = 200", "iso = 800", "[exposure] iso: 800 is outside iso_min..iso_max (100..400)"),
        (
            'cfa = "RGGB"',
            'cfa = "RGBW"',
            "[body] cfa: expected one of RGGB, BGGR, GRBG, GBRG, got 'RGBW'",
        ),
        ("[zoom]", "[zooom]", "[zooom]: unknown section (did you mean 'zoom'?)"),
        ('model = "Test 24-240mm"\n', "", "[lens] model: missing (required)"),
        ("focal_tolerance_pct = 3.0", "focal_tolerance_pct = 3.0 ]", "not valid TOML"),
    ],
)
def test_bad_profile_names_file_key_and_problem(rig_file, old, new, message):
    path = rig_file(**{old: new})
    text = path.read_text()
    assert (new in text) if new else (old not in text)  # the mistake really is in the file
    with pytest.raises(SrrawError) as info:
        load_rig(path)
    assert info.value.message.startswith(f"{path}: ")
    assert message in info.value.message


def test_typo_via_the_cli_is_one_line_and_non_zero(rig_file):
    path = rig_file(focal_tolerance_pct="focal_tolerence_pct")
    result = run_srraw("rig", "check", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"Error: {path}: [sequence] focal_tolerence_pct: unknown key "
        "(did you mean 'focal_tolerance_pct'?)"
    )
    assert result.stdout == ""


def test_rig_check_accepts_good_profiles(rig_file):
    result = run_srraw("rig", "check", str(rig_file()), "simulated")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok (") == 2


def test_unknown_rig_name_lists_the_shipped_ones():
    with pytest.raises(SrrawError, match=r"no such rig profile .*simulated"):
        load_rig("no-such-rig")


@pytest.mark.parametrize(
    ("name", "make", "top_mm"),
    [("nikon-d850-24-120", "NIKON CORPORATION", 120), ("canon-5d4-24-105", "Canon", 105)],
)
def test_vendor_rigs_beside_the_sony_one(name, make, top_mm):
    rig = load_rig(name)
    assert rig.body.make == make and rig.zoom.drive == "manual"
    plan = list(rig.focal_lengths_mm)
    assert plan == sorted(plan, reverse=True) and plan[0] == top_mm == rig.lens.max_focal_mm
    assert all(rig.lens.min_focal_mm <= f <= rig.lens.max_focal_mm for f in plan)
    assert rig.exposure.raw_plus_jpeg and rig.exposure.exposure_time_s == pytest.approx(1 / 30)
