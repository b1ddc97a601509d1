"""The Nikon personality of `srraw simcam`, driven through the real libgphoto2 (its Nikon path:
GetVendorPropCodes, GetEvent polling, DeviceReady, InitiateCaptureRecInMedia into SDRAM or
onto the card)."""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from tests.simcam_util import (
    capture,
    collect_capture,
    connect,
    drain,
    set_value,
    start_simcam,
    value,
)

gp = pytest.importorskip("gphoto2")


@pytest.fixture(scope="module")
def nikon(tmp_path_factory):
    proc = start_simcam("--size", "192x128", "--body", "nikon", home=tmp_path_factory.mktemp("n"))
    yield proc
    assert proc.stop() == 0


@pytest.fixture
def camera(nikon, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # libgphoto2 keeps capturetarget there
    (tmp_path / ".config").mkdir()
    assert nikon.command("reset all") == "ok reset all"
    cam = connect(nikon.port_path)
    yield cam
    with contextlib.suppress(gp.GPhoto2Error):
        cam.exit()


def _status(sim) -> dict:
    return json.loads(sim.command("status").removeprefix("ok "))


def test_libgphoto2_takes_the_nikon_path(camera, nikon):
    assert (value(camera, "manufacturer"), value(camera, "cameramodel")) == (
        "Nikon Corporation",
        "D850",
    )
    # Nikon's value formats (config.c): shutter in 1/10000 s, names for the image quality,
    # the focal length live but read-only, the lens range from the vendor properties.
    assert value(camera, "shutterspeed") == "0.0333s"
    assert value(camera, "imagequality") == "NEF+Fine"
    focal = camera.get_single_config("focallength")
    assert focal.get_type() == gp.GP_WIDGET_RANGE and focal.get_readonly() == 1
    nikon.command("zoom 70")
    drain(camera, 1)
    assert abs(value(camera, "focallength") - 70) <= 70 * 0.02
    assert (value(camera, "minfocallength"), value(camera, "maxfocallength")) == ("24 mm", "240 mm")
    set_value(camera, "shutterspeed", "1/125")
    assert value(camera, "shutterspeed") == "0.0080s"
    assert _status(nikon)["exposure_time"] == "1/125"


def test_capture_into_sdram_then_onto_the_card(camera, nikon):
    assert value(camera, "capturetarget") == "Internal RAM"  # libgphoto2's default: sdram
    files, complete, _ = capture(camera)
    assert complete and [f for f, _ in files] == ["/", "/"]
    assert [n[-4:] for _, n in files] == [".nef", ".jpg"]  # capt0000.nef, capt0001.jpg
    assert _status(nikon)["memory"] == [] and _status(nikon)["objects"] == []
    set_value(camera, "capturetarget", "Memory card")
    files, complete, _ = capture(camera)
    assert complete
    assert [n for _, n in files] == ["DSC_0002.NEF", "DSC_0002.JPG"]
    assert files[0][0].endswith("/DCIM/100ND850")
    camera.file_delete(*files[0])
    assert _status(nikon)["objects"] == ["DSC_0002.JPG"]


def test_busy_while_capturing_and_card_full(camera, nikon):
    nikon.command("capture-delay 1 1")
    started = time.monotonic()
    camera.trigger_capture()  # libgphoto2 polls DeviceReady until the body is not busy
    assert time.monotonic() - started >= 1
    files, complete, _ = collect_capture(camera)
    assert complete and len(files) == 2
    set_value(camera, "capturetarget", "Memory card")
    nikon.command("card-full")
    with pytest.raises(gp.GPhoto2Error):
        camera.trigger_capture()
