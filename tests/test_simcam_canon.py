"""The Canon EOS personality of `srraw simcam`, driven through the real libgphoto2 (its EOS path:
SetRemoteMode / SetEventMode, properties from GetEvent 0x9116 records, SetDevicePropValueEx
0x9110, RemoteReleaseOn / Off, RequestObjectTransfer to the PC or ObjectAddedEx on the card)."""

from __future__ import annotations

import contextlib
import json
import struct

import pytest

from srraw.raw import read_raw
from srraw_capture.camera import GP_ERROR_BAD_PARAMETERS, Camera, CameraError
from srraw_capture.simcam import props
from srraw_capture.simcam.canon import (
    APERTURE_CODES,
    IMAGE_FORMATS,
    ISO_CODES,
    SHUTTER_CODES,
    pack_image_format,
    unpack_image_format,
)
from tests.simcam_util import capture, connect, download, drain, set_value, start_simcam, value

gp = pytest.importorskip("gphoto2")
CARD_FOLDER = "/store_00010001/DCIM/100CANON"


@pytest.fixture(scope="module")
def canon(tmp_path_factory):
    proc = start_simcam(
        "--size", "192x128", "--body", "canon-eos", home=tmp_path_factory.mktemp("c")
    )
    yield proc
    assert proc.stop() == 0


@pytest.fixture
def camera(canon, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # libgphoto2 keeps capturetarget there
    (tmp_path / ".config").mkdir()
    assert canon.command("reset all") == "ok reset all"
    cam = connect(canon.port_path)
    yield cam
    with contextlib.suppress(gp.GPhoto2Error):
        cam.exit()


def _status(sim) -> dict:
    return json.loads(sim.command("status").removeprefix("ok "))


def test_canon_codes_are_the_ones_libgphoto2_names():
    # config.c canon_aperture / canon_shutterspeed / canon_isospeed: f/16 0x48, 1/30 0x60, 100 0x48
    assert APERTURE_CODES[props.F_NUMBERS.index(16)] == 0x48
    assert APERTURE_CODES[props.F_NUMBERS.index(4.0)] == 0x28
    assert SHUTTER_CODES[props.SHUTTER_SPEEDS.index(props.Fraction(1, 30))] == 0x60
    assert SHUTTER_CODES[0] == 0x10 and SHUTTER_CODES[-1] == 0x98  # 30 s, 1/4000
    assert ISO_CODES[0] == 0x48 and ISO_CODES[props.ISO_SPEEDS.index(400)] == 0x58
    # ImageFormat entries (ptp-pack.c): RAW + L is RAW (6, L, lossless) then JPEG (1, L, fine).
    packed = pack_image_format(0x0C03)
    assert struct.unpack("<9I", packed) == (2, 0x10, 6, 0, 4, 0x10, 1, 0, 3)
    assert all(unpack_image_format(pack_image_format(v)) == v for v in IMAGE_FORMATS)


def test_libgphoto2_takes_the_eos_path(camera, canon):
    assert (value(camera, "manufacturer"), value(camera, "cameramodel")) == (
        "Canon Inc.",
        "Canon EOS 5D Mark IV",
    )
    # Canon's own value formats (config.c): the aperture without f/, ISO 'Auto' first.
    assert value(camera, "aperture") == "16"
    assert value(camera, "shutterspeed") == "1/30"
    iso = camera.get_single_config("iso")
    assert iso.get_value() == "100" and iso.get_choice(0) == "Auto"
    fmt = camera.get_single_config("imageformat")
    assert fmt.get_value() == "RAW + L"
    assert "RAW" in [fmt.get_choice(i) for i in range(fmt.count_choices())]
    assert value(camera, "autoexposuremode") == "Manual"
    assert value(camera, "capturetarget") == "Internal RAM"  # libgphoto2's default: the PC
    with pytest.raises(gp.GPhoto2Error):
        camera.get_single_config("focallength")  # EOS reports none: EXIF decides
    names = camera.list_config()
    assert "eosremoterelease" in [names.get_name(i) for i in range(names.count())]
    status = _status(canon)
    assert (status["remote_mode"], status["event_mode"]) == (1, 1)
    assert status["events_served"] >= 2  # the bulk, then an empty answer
    assert status["capturetarget"] == "sdram"  # D11C moved to the PC by libgphoto2
    canon.command("battery 7")
    drain(camera, 1)
    assert value(camera, "batterylevel") == "Low"


def test_sets_go_through_0x9110_and_come_back_as_records(camera, canon):
    set_value(camera, "aperture", "8")
    set_value(camera, "shutterspeed", "1/125")
    set_value(camera, "iso", "Auto")
    set_value(camera, "imageformat", "RAW")
    status = _status(canon)
    assert (status["f_number"], status["exposure_time"]) == (8.0, "1/125")
    assert status["settings"]["imagequality"] == "RAW"
    assert value(camera, "iso") == "Auto"
    set_value(camera, "iso", "400")
    assert _status(canon)["iso"] == 400
    # A change on the body reaches libgphoto2 through the next GetEvent.
    canon.command("set f-number 11")
    assert value(camera, "aperture") == "11"
    # The mode dial: libgphoto2 keeps what it sent, the body's record puts it back.
    set_value(camera, "autoexposuremode", "P")
    assert value(camera, "autoexposuremode") == "Manual"
    assert _status(canon)["settings"]["expprogram"] == "M"


def test_capture_to_the_pc_then_onto_the_card(camera, canon, tmp_path):
    canon.command("zoom 70")
    files, complete, _ = capture(camera)
    assert complete  # CameraStatusChanged 0
    assert files == [("/", "capt0000.cr2"), ("/", "capt0001.jpg")]
    raw = tmp_path / "frame.CR2"
    raw.write_bytes(download(camera, *files[0]))
    frame = read_raw(raw)
    assert (frame.width, frame.height) == (192, 128)
    assert abs(frame.exif.focal_length_mm - 70) <= 2
    status = _status(canon)
    assert status["memory"] == [] and status["objects"] == []  # TransferComplete, nothing on card
    set_value(camera, "capturetarget", "Memory card")
    assert _status(canon)["capturetarget"] == "card"
    files, complete, _ = capture(camera)
    index = _status(canon)["captures"]
    assert complete
    assert files == [
        (CARD_FOLDER, f"IMG_{index:04d}.CR2"),
        (CARD_FOLDER, f"IMG_{index:04d}.JPG"),
    ]
    assert download(camera, *files[1])[:2] == b"\xff\xd8"
    camera.file_delete(*files[0])
    assert _status(canon)["objects"] == [f"IMG_{index:04d}.JPG"]


def test_busy_card_full_and_unplug(camera, canon):
    assert value(camera, "aperture") == "16"  # EOS capture prepared: the next 0x9128 is the release
    canon.command("busy-next")
    with pytest.raises(gp.GPhoto2Error) as busy:
        camera.trigger_capture()
    assert busy.value.code == gp.GP_ERROR_CAMERA_BUSY
    files, complete, _ = capture(camera)
    assert complete and len(files) == 2
    set_value(camera, "capturetarget", "Memory card")
    canon.command("card-full")
    with pytest.raises(gp.GPhoto2Error):
        camera.trigger_capture()
    canon.command("card-free")
    canon.command("unplug")
    # A config read comes from libgphoto2's EOS cache; the GetEvent poll meets the closed link.
    assert value(camera, "aperture") == "16"
    with pytest.raises(gp.GPhoto2Error):
        camera.wait_for_event(10)
    canon.command("plug")
    with contextlib.suppress(gp.GPhoto2Error):
        camera.exit()  # the EOS exit sequence meets the closed link
    again = connect(canon.port_path)
    assert value(again, "manufacturer") == "Canon Inc."
    again.exit()


def test_a_refused_set_is_a_refusal_not_a_dropped_link(canon, tmp_path, monkeypatch):
    """libgphoto2's EOS path returns a refused 0x9110 as -1, the code of a dropped link: the
    controller's camera probes the link (GetEvent) and reports a refusal, so no reconnect."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert canon.command("reset all") == "ok reset all"
    canon.command("refuse shutterspeed")
    camera = Camera(canon.port_path)
    try:
        camera.open()
        with pytest.raises(CameraError) as refused:
            camera.set_widget("shutterspeed", "1/125")
        assert refused.value.code == GP_ERROR_BAD_PARAMETERS and not refused.value.link
        canon.command("allow shutterspeed")
        camera.set_widget("shutterspeed", "1/125")
        assert _status(canon)["exposure_time"] == "1/125"
    finally:
        camera.close()
