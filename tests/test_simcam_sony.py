"""The Sony personalities of `srraw simcam`, driven through the real libgphoto2 (its Sony path:
SDIO handshake, 0x9209 dumps, stepping, capture into the body's memory)."""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from srraw.raw import read_raw
from srraw_capture.simcam.sony import SHUTTER_TABLE, sony_dpd
from tests.simcam_util import capture, connect, drain, set_value, start_simcam, value

gp = pytest.importorskip("gphoto2")
SMALL = ("--size", "192x128")


def _status(sim) -> dict:
    return json.loads(sim.command("status").removeprefix("ok "))


def _capture(camera) -> list[tuple[str, str]]:
    """trigger_capture, then events until CAPTURE_COMPLETE: the files libgphoto2 fetched."""
    drain(camera, 1)
    files, complete, _ = capture(camera)
    assert complete, files
    return files


@pytest.fixture(scope="module", params=["sony", pytest.param("sony-mode3", marks=pytest.mark.slow)])
def sony(request, tmp_path_factory):
    proc = start_simcam(*SMALL, "--body", request.param, home=tmp_path_factory.mktemp("sony-home"))
    proc.body = request.param
    yield proc
    assert proc.stop() == 0


@pytest.fixture
def camera(sony, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert sony.command("reset all") == "ok reset all"
    cam = connect(sony.port_path)
    yield cam
    with contextlib.suppress(gp.GPhoto2Error):
        cam.exit()


def test_sony_dpd_record_layout():
    record = sony_dpd(0x5007, 4, 1600, enum=(400, 1600))
    # code, type, getset, isenabled, default, current, form 2, count, values
    assert record.hex() == "0750040000014006400602020090014006"


def test_libgphoto2_takes_the_sony_path(camera, sony):
    assert value(camera, "manufacturer") == "Sony Corporation"
    assert value(camera, "cameramodel") == ("ILCE-7SM2" if sony.body == "sony" else "ILCE-7M4")
    # Sony value formats (config.c): f/16, the shutter as a fraction, ISO plain, names for
    # the image quality; the capture target; no focal length (Sony has no FocalLength).
    assert value(camera, "f-number") == "f/16"
    assert value(camera, "shutterspeed") == "1/30"
    iso = camera.get_single_config("iso")
    assert iso.get_value() == "100" and iso.get_choice(0) == "Auto ISO"
    assert value(camera, "imagequality") == "RAW+JPEG (Fine)"
    assert value(camera, "capturetarget") == "sdram"
    assert camera.get_single_config("expprogram").get_readonly() == 1  # the mode dial
    with pytest.raises(gp.GPhoto2Error):
        camera.get_single_config("focallength")
    sony.command("battery 7")
    time.sleep(2.1)  # libgphoto2's property cache
    assert value(camera, "batterylevel") == "7%"


def test_exposure_set_by_stepping_in_mode_2_directly_in_mode_3(camera, sony):
    before = _status(sony)["dumps"]
    start = time.monotonic()
    set_value(camera, "f-number", "f/8")  # f/16 -> f/8: six third-stop steps
    took = time.monotonic() - start
    dumps = _status(sony)["dumps"] - before
    if sony.body == "sony":
        assert took > 6 * 0.3 and dumps >= 6, (took, dumps)
        assert value(camera, "f-number") == "f/8"
    else:
        assert took < 1.0 and dumps <= 2, (took, dumps)
        # Mode 3: the write went straight in, but libgphoto2 reads back its 2 s cache.
        assert value(camera, "f-number") == "f/16"
        time.sleep(2.1)
        assert value(camera, "f-number") == "f/8"
    assert _status(sony)["f_number"] == 8.0
    set_value(camera, "shutterspeed", "1/125")
    set_value(camera, "iso", "Auto ISO")
    set_value(camera, "iso", "400")
    time.sleep(2.1)
    assert (value(camera, "shutterspeed"), value(camera, "iso")) == ("1/125", "400")
    status = _status(sony)
    assert (status["exposure_time"], status["iso"]) == ("1/125", 400)


def test_capture_lands_in_the_body_memory_raw_then_jpeg(camera, sony, tmp_path):
    sony.command("zoom 70")
    files = _capture(camera)
    index = _status(sony)["captures"]
    assert files == [("/", f"capt_DSC{index:05d}.ARW"), ("/", f"capt_DSC{index:05d}.JPG")]
    folder, name = files[0]
    data = camera.file_get(folder, name, gp.GP_FILE_TYPE_NORMAL)
    path = tmp_path / "frame.ARW"
    path.write_bytes(bytes(memoryview(data.get_data_and_size())))
    del data
    frame = read_raw(path)
    assert (frame.width, frame.height) == (192, 128)
    assert abs(frame.exif.focal_length_mm - 70) <= 2
    status = _status(sony)
    assert status["memory"] == [] and status["objects"] == []  # sdram only: nothing on card
    camera.file_delete(folder, name)  # a capt_ file: libgphoto2 only forgets it


def test_capture_target_card_and_sdram_through_the_raw_widget(camera, sony):
    # libgphoto2's `capturetarget` put has no data type and sends an empty value: refused.
    with pytest.raises(gp.GPhoto2Error):
        set_value(camera, "capturetarget", "card+sdram")
    set_value(camera, "d222", "17")
    time.sleep(2.1)
    assert value(camera, "capturetarget") == "card+sdram"
    files = _capture(camera)
    assert len(files) == 2
    status = _status(sony)
    assert [n[-3:] for n in status["objects"]] == ["ARW", "JPG"]  # a copy on the card
    # A full card refuses the release when the card is a target.
    sony.command("card-full")
    with pytest.raises(gp.GPhoto2Error):
        camera.trigger_capture()


def test_busy_next_and_unplug(camera, sony):
    sony.command("busy-next")
    with pytest.raises(gp.GPhoto2Error) as busy:
        camera.trigger_capture()
    assert busy.value.code == gp.GP_ERROR_CAMERA_BUSY
    assert len(_capture(camera)) == 2
    sony.command("unplug")
    time.sleep(2.1)  # past libgphoto2's property cache: the read goes to the body
    with pytest.raises(gp.GPhoto2Error):
        value(camera, "f-number")
    sony.command("plug")
    camera.exit()
    again = connect(sony.port_path)
    assert value(again, "manufacturer") == "Sony Corporation"
    again.exit()


def test_shutter_table_is_libgphoto2s():
    assert SHUTTER_TABLE[0] == (30, 1) and (1, 8000) in SHUTTER_TABLE
    assert SHUTTER_TABLE.index((1, 30)) - SHUTTER_TABLE.index((1, 125)) == -6


def test_every_personality_is_offered_on_the_command_line():
    from srraw_capture.simcam.bodies import BODIES
    from srraw_capture.simcam.cli import simcam

    (option,) = [p for p in simcam.params if p.name == "body"]
    assert list(option.type.choices) == list(BODIES)
