"""`srraw simcam`: the simulated PTP/IP camera, driven through the real libgphoto2 (no mocks)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from srraw.errors import SrrawError
from srraw.exif import read_exif
from srraw.raw import read_raw
from srraw_capture.simcam import codes, ptpip
from srraw_capture.simcam.app import SimCam, SimCamConfig
from srraw_capture.simcam.datasets import (
    UINT16,
    Enumeration,
    ObjectInfo,
    PropDesc,
    ptp_string,
    read_ptp_string,
)
from tests.simcam_util import (
    FOLDER,
    ROOT,
    capture,
    collect_capture,
    connect,
    download,
    drain,
    free_bytes,
    set_value,
    start_simcam,
    value,
)

gp = pytest.importorskip("gphoto2")
SMALL = ("--size", "192x128")


# ---- framing and datasets (pure) ----------------------------------------------------------


def test_operation_request_and_response_framing():
    raw = ptpip.operation_request(codes.GET_OBJECT, 7, (3,))
    length, kind = ptpip.parse_header(raw[:8])
    assert (length, kind) == (len(raw) - 8, ptpip.OPERATION_REQUEST)
    request = ptpip.parse_operation_request(raw[8:])
    assert (request.code, request.transaction_id, request.params) == (codes.GET_OBJECT, 7, (3,))
    assert ptpip.operation_response(codes.OK, 7) == bytes.fromhex("0e000000 07000000 0120 07000000")


def test_data_phase_splits_and_ends_with_end_data():
    packets = list(ptpip.data_phase(9, bytes(range(10)) * 3, chunk_size=8))
    assert ptpip.parse_header(packets[0][:8])[1] == ptpip.START_DATA
    assert ptpip.parse_start_data(packets[0][8:]) == (9, 30)
    kinds = [ptpip.parse_header(p[:8])[1] for p in packets[1:]]
    assert kinds == [ptpip.DATA] * 3 + [ptpip.END_DATA]
    body = b"".join(ptpip.parse_data_packet(p[8:])[1] for p in packets[1:])
    assert body == bytes(range(10)) * 3
    assert len(list(ptpip.data_phase(1, b""))) == 2  # empty data: Start_Data + empty End_Data


def test_ptp_datasets_layout():
    assert ptp_string("") == b"\0"
    assert ptp_string("AB") == b"\x03A\0B\0\0\0"
    assert read_ptp_string(ptp_string("SIM_0001.DNG") + b"rest") == ("SIM_0001.DNG", 27)
    info = ObjectInfo(codes.STORAGE_ID, codes.FORMAT_RAW, 1234, "SIM_0001.DNG", parent=2)
    packed = info.pack()
    # libgphoto2 reads the filename's length byte at offset 52 (and guesses 64-bit sizes if 0).
    assert packed[52] == 13 and read_ptp_string(packed, 52)[0] == "SIM_0001.DNG"
    desc = PropDesc(codes.F_NUMBER, UINT16, 1, 1600, 800, Enumeration((800, 1600)))
    assert desc.pack() == bytes.fromhex("0750 0400 01 4006 2003 02 0200 2003 4006")
    assert desc.allows(800) and not desc.allows(900)


# ---- the control language, in process (no libgphoto2 here) -------------------------------


@pytest.fixture
def inproc(tmp_path):
    with SimCam(SimCamConfig(port=0, size=(192, 128), seed=3, idle_timeout=None)) as sim:
        yield sim


def test_control_commands(inproc):
    reply = inproc.command("zoom 70")
    assert reply.startswith("ok focal ")
    landed = float(reply.split()[-1])
    assert landed != 70 and abs(landed - 70) <= 70 * 0.02
    assert inproc.command("set f-number 8") == "ok f-number f/8"
    assert inproc.command("set shutterspeed 1/125") == "ok shutterspeed 1/125"
    assert inproc.command("set iso 400") == "ok iso 400"
    assert inproc.command("set iso 123").startswith("error 123 is not allowed for iso")
    assert inproc.command("zoom 500").startswith("error 500 mm is outside the lens")
    assert inproc.command("refuse iso busy") == "ok refusing iso with 0x2019 DeviceBusy"
    assert inproc.command("refuse f-number") == (
        "ok refusing f-number with 0x201c InvalidDevicePropValue"
    )
    assert inproc.command("frobnicate").startswith("error unknown command")
    status = json.loads(inproc.command("status").removeprefix("ok "))
    assert status["focal_mm"] == pytest.approx(landed, abs=0.01)
    assert (status["f_number"], status["exposure_time_s"], status["iso"]) == (8.0, 0.008, 400)
    assert status["faults"]["refuse"] == {"iso": "0x2019", "f-number": "0x201c"}
    assert status["objects"] == [] and status["free_bytes"] == 8 * 1024**3
    assert inproc.command("reset") == "ok reset"
    assert json.loads(inproc.command("status")[3:])["faults"]["refuse"] == {}
    # The control socket speaks the same language, one line per command.
    with socket.create_connection(("127.0.0.1", inproc.control_port), timeout=5) as sock:
        sock.sendall(b"scene 9\nhelp\n")
        lines = sock.makefile()
        replies = lines.readline(), lines.readline()
    assert replies[0] == "ok scene 9\n"
    assert replies[1].startswith("ok status | zoom MM")


def test_in_process_simcam_serves_libgphoto2_in_a_subprocess(inproc, tmp_path):
    inproc.command("zoom 35")
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.simcam_util", "smoke", inproc.port_path, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["complete"] and report["files"] == ["SIM_0001.DNG", "SIM_0001.JPG"]
    assert report["widgets"]["f-number"] == ["f/16", gp.GP_WIDGET_RADIO, 0]
    assert report["widgets"]["focallength"][1:] == [gp.GP_WIDGET_RANGE, 1]
    ring = inproc.camera.ring_mm
    assert report["widgets"]["focallength"][0] == pytest.approx(ring, abs=0.006)
    frame = read_raw(tmp_path / "SIM_0001.DNG")
    assert (frame.width, frame.height) == (192, 128)
    assert frame.exif.focal_length_mm == round(ring)


# ---- libgphoto2 against an `srraw simcam` subprocess --------------------------------------


@pytest.fixture(scope="module")
def simcam(tmp_path_factory):
    proc = start_simcam(*SMALL, "--seed", "5", home=tmp_path_factory.mktemp("simcam-home"))
    yield proc
    assert proc.stop() == 0


@pytest.fixture
def camera(simcam, tmp_path, monkeypatch):
    """A fresh libgphoto2 connection to a camera with no fault armed; HOME is a temp folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert simcam.command("reset all") == "ok reset all"
    cam = connect(simcam.port_path)
    yield cam
    with contextlib.suppress(gp.GPhoto2Error):  # a test may have broken it on purpose
        cam.exit()


def test_init_and_summary(camera):
    summary = str(camera.get_summary())
    assert "Manufacturer: srraw" in summary and "Model: SimCam" in summary
    assert "Generic Image Capture" in summary
    assert camera.get_abilities().model == "PTP/IP Camera"


def test_config_tree_has_the_exposure_widgets(camera):
    config = camera.get_config()
    expected = {
        "f-number": (gp.GP_WIDGET_RADIO, "f/16", False),
        "shutterspeed": (gp.GP_WIDGET_RADIO, "0.0333s", False),
        "iso": (gp.GP_WIDGET_RADIO, "100", False),
        "focallength": (gp.GP_WIDGET_RANGE, 24.0, True),
        "expprogram": (gp.GP_WIDGET_RADIO, "M", False),
        "imagequality": (gp.GP_WIDGET_RADIO, "Unknown value 0007", False),
        "batterylevel": (gp.GP_WIDGET_TEXT, "100%", True),
    }
    for name, (kind, current, readonly) in expected.items():
        widget = config.get_child_by_name(name)
        assert (widget.get_type(), widget.get_value(), bool(widget.get_readonly())) == (
            kind,
            current,
            readonly,
        ), name
    fnumbers = list(config.get_child_by_name("f-number").get_choices())
    assert fnumbers[0] == "f/3.5" and fnumbers[-1] == "f/22"
    shutter = list(config.get_child_by_name("shutterspeed").get_choices())
    assert shutter[0] == "30.0000s" and shutter[-1] == "0.0002s"  # 1/4000 in 1/10000 s units
    assert list(config.get_child_by_name("iso").get_choices())[-1] == "25600"
    assert config.get_child_by_name("focallength").get_range() == pytest.approx((24, 240, 0.01))


def test_set_exposure_and_read_back(camera, simcam):
    set_value(camera, "f-number", "f/8")
    set_value(camera, "shutterspeed", "1/125")
    set_value(camera, "iso", "200")
    assert value(camera, "f-number") == "f/8"
    assert value(camera, "shutterspeed") == "0.0080s"
    assert value(camera, "iso") == "200"
    status = json.loads(simcam.command("status")[3:])
    assert (status["f_number"], status["exposure_time"], status["iso"]) == (8.0, "1/125", 200)
    # The photographer changes the ISO on the body: libgphoto2 hears of it as an event.
    assert simcam.command("set iso 400") == "ok iso 400"
    events = drain(camera)
    assert any("PTP Property 0000500f changed" in str(data) for _, data in events)
    assert value(camera, "iso") == "400"


def test_zoom_ring_lands_near_and_focallength_follows(camera, simcam):
    reply = simcam.command("zoom 70")
    landed = float(reply.removeprefix("ok focal "))
    assert landed != 70 and abs(landed - 70) <= 70 * 0.02
    # DevicePropChanged refreshes libgphoto2's 2 s property cache once the events are read.
    drain(camera)
    assert value(camera, "focallength") == pytest.approx(landed, abs=0.006)
    with pytest.raises(gp.GPhoto2Error):
        set_value(camera, "focallength", 100.0)  # manual zoom: read-only


def test_capture_downloads_raw_and_jpeg_with_true_exif(camera, simcam, tmp_path):
    landed = float(simcam.command("zoom 100").split()[-1])
    set_value(camera, "shutterspeed", "1/60")
    set_value(camera, "f-number", "f/11")
    drain(camera)
    files, complete, _ = capture(camera)
    assert complete
    assert [Path(name).suffix for _, name in files] == [".DNG", ".JPG"]
    assert {folder for folder, _ in files} == {FOLDER}
    assert files[0][1][:-4] == files[1][1][:-4]  # SIM_nnnn.DNG + SIM_nnnn.JPG
    for folder, name in files:
        (tmp_path / name).write_bytes(download(camera, folder, name))
    dng, jpg = (tmp_path / name for _, name in files)
    frame = read_raw(dng, jpeg=None)
    assert (frame.width, frame.height, frame.cfa) == (192, 128, "RGGB")
    assert frame.exif.focal_length_mm == round(landed)
    assert frame.exif.exposure_time_s == pytest.approx(1 / 60)
    assert (frame.exif.f_number, frame.exif.iso) == (11.0, 100)
    assert (frame.exif.make, frame.exif.model) == ("srraw", "SimCam")
    assert read_exif(jpg).focal_length_mm == round(landed)
    image = cv2.imdecode(np.frombuffer(jpg.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (128, 192, 3)


def test_file_delete_frees_card_space(camera):
    files, complete, _ = capture(camera)
    assert complete
    before = free_bytes(camera)
    sizes = [len(download(camera, folder, name)) for folder, name in files]
    for folder, name in files:
        camera.file_delete(folder, name)
    after = free_bytes(camera)
    assert after - before == pytest.approx(sum(sizes), abs=2048)  # libgphoto2 counts in KiB


def test_unplug_fails_then_reinit_after_plug_works(camera, simcam, monkeypatch):
    assert simcam.command("unplug") == "ok unplugged"
    with pytest.raises(gp.GPhoto2Error):
        camera.get_storageinfo()
    with pytest.raises(gp.GPhoto2Error) as refused:
        connect(simcam.port_path)
    assert refused.value.code == gp.GP_ERROR_IO  # connection refused
    assert simcam.command("plug") == "ok plugged"
    again = connect(simcam.port_path)
    assert free_bytes(again) > 0
    again.exit()


def test_drop_next_transfer_fails_and_retry_after_reinit_succeeds(camera, simcam):
    files, complete, _ = capture(camera)
    assert complete
    folder, name = files[0]
    simcam.command("drop-next-transfer")
    with pytest.raises(gp.GPhoto2Error):
        download(camera, folder, name)
    retry = connect(simcam.port_path)
    data = download(retry, folder, name)
    retry.exit()
    assert data[:4] == b"II*\0" and len(data) > 192 * 128 * 2


def test_stall_next_makes_libgphoto2_time_out(camera, simcam):
    simcam.command("stall-next")
    start = time.monotonic()
    with pytest.raises(gp.GPhoto2Error) as stalled:
        camera.get_storageinfo()
    assert stalled.value.code == gp.GP_ERROR_TIMEOUT
    assert 2 <= time.monotonic() - start < 6
    assert free_bytes(camera) > 0  # the connection goes on


def test_freeze_stops_all_answers_until_thaw(camera, simcam):
    assert simcam.command("freeze") == "ok frozen"
    with pytest.raises(gp.GPhoto2Error) as frozen:
        camera.get_storageinfo()
    assert frozen.value.code == gp.GP_ERROR_TIMEOUT
    assert simcam.command("thaw") == "ok thawed"
    # The late answer to the frozen operation is skipped by libgphoto2 (old transaction id).
    assert free_bytes(camera) > 0
    assert value(camera, "iso") == "100"


def test_card_full_refuses_capture(camera, simcam):
    simcam.command("card-full")
    assert free_bytes(camera) == 0
    with pytest.raises(gp.GPhoto2Error):
        camera.trigger_capture()
    assert simcam.command("card-free") == "ok card-free"
    assert free_bytes(camera) > 0


def test_refused_property_set_is_an_error_and_keeps_the_old_value(camera, simcam):
    set_value(camera, "f-number", "f/16")
    simcam.command("refuse f-number")
    with pytest.raises(gp.GPhoto2Error):
        set_value(camera, "f-number", "f/8")
    assert value(camera, "f-number") == "f/16"
    simcam.command("refuse iso busy")
    with pytest.raises(gp.GPhoto2Error):
        set_value(camera, "iso", "800")
    assert value(camera, "iso") != "800"


def test_busy_while_capturing_and_corrupt_raw(camera, simcam, tmp_path):
    simcam.command("corrupt-next")
    camera.trigger_capture()
    with pytest.raises(gp.GPhoto2Error) as busy:
        camera.trigger_capture()  # the first one is still rendering
    assert busy.value.code == gp.GP_ERROR_CAMERA_BUSY
    files, complete, _ = collect_capture(camera)
    assert complete
    folder, name = files[0]
    path = tmp_path / name
    path.write_bytes(download(camera, folder, name))
    with pytest.raises(SrrawError):
        read_raw(path, jpeg=None)


def test_battery_level_and_busy_next(camera, simcam):
    """`battery N` is what libgphoto2 reads; `busy-next N` makes the next N sets or captures
    answer DeviceBusy (the controller's retry with back-off is tested against it)."""
    assert simcam.command("battery 3") == "ok batterylevel 3%"
    assert value(camera, "batterylevel") == "3%"
    assert simcam.command("battery 101").startswith("error battery level must be 0-100")
    assert simcam.command("busy-next 2") == "ok busy-next 2"
    for _ in range(2):
        with pytest.raises(gp.GPhoto2Error):
            set_value(camera, "iso", "200")
    assert json.loads(simcam.command("status")[3:])["faults"]["busy_next"] == 0
    set_value(camera, "iso", "200")
    assert value(camera, "iso") == "200"
    simcam.command("busy-next")
    with pytest.raises(gp.GPhoto2Error) as busy:
        camera.trigger_capture()
    assert busy.value.code == gp.GP_ERROR_CAMERA_BUSY
    files, complete, _ = capture(camera)
    assert complete and len(files) == 2


def test_power_zoom_moves_the_ring_over_ptp(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    proc = start_simcam(*SMALL, "--zoom", "power", "--miss-pct", "1", home=tmp_path / "sim")
    try:
        cam = connect(proc.port_path)
        assert not cam.get_single_config("focallength").get_readonly()
        set_value(cam, "focallength", 150.0)
        drain(cam)
        landed = value(cam, "focallength")
        assert landed != 150 and abs(landed - 150) <= 1.5
        cam.exit()
    finally:
        assert proc.stop() == 0


# ---- lifetime and safety ------------------------------------------------------------------


def _listening_addresses(pid: int) -> list[str]:
    """Local addresses of the TCP sockets process `pid` listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    addresses = []
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                addresses.append(cols[1])
    return addresses


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")
def test_listens_on_loopback_only(simcam):
    addresses = _listening_addresses(simcam.proc.pid)
    ports = {int(a.split(":")[1], 16) for a in addresses}
    assert ports == {simcam.port, simcam.control_port}
    assert all(a.split(":")[0] == "0100007F" for a in addresses), addresses


def test_stdin_commands_and_eof_stop(tmp_path):
    proc = start_simcam(*SMALL, home=tmp_path)
    proc.proc.stdin.write("zoom 70\n")
    proc.proc.stdin.flush()
    assert proc.next_line().startswith("ok focal ")
    assert proc.stop() == 0
    assert proc.next_line() == "simcam stopped: stdin closed"


def test_sigterm_stops(tmp_path):
    proc = start_simcam(*SMALL, home=tmp_path)
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(timeout=10) == 0
    assert proc.next_line() == "simcam stopped: SIGTERM"


def test_idle_timeout_stops(tmp_path):
    proc = start_simcam(*SMALL, "--idle-timeout", "1", home=tmp_path)
    start = time.monotonic()
    assert proc.proc.wait(timeout=15) == 0
    assert time.monotonic() - start < 10
    assert proc.next_line() == "simcam stopped: idle for 1 s"


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status  # exited, not yet reaped by whoever adopted it


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_exits_when_its_parent_dies(tmp_path):
    out = tmp_path / "simcam.out"
    parent = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, '-m', 'srraw.cli', 'simcam', '--port', '0',"
        f" '--size', '192x128', '--no-stdin', '--exit-with-parent'],"
        f" stdout=open({str(out)!r}, 'w'), stderr=subprocess.DEVNULL)\n"
        "import time\n"
        f"while 'ready' not in open({str(out)!r}).read() and child.poll() is None:\n"
        "    time.sleep(0.05)\n"
        "print(child.pid, flush=True)\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-c", parent],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=30,
    )
    pid = int(result.stdout.strip())
    deadline = time.monotonic() + 30
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not _gone(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("simcam outlived its parent by 30 s")
    assert out.read_text().splitlines()[-1] == "simcam stopped: parent process exited"


def test_libgphoto2_virtual_usb_camera_smoke(tmp_path):
    """libgphoto2's own virtual camera (VCAMERADIR, read before gphoto2 is imported)."""
    card = tmp_path / "card" / "DCIM" / "100TEST"
    card.mkdir(parents=True)
    _, jpeg = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))
    (card / "IMG_0001.JPG").write_bytes(jpeg.tobytes())
    code = (
        "import gphoto2 as gp\n"
        "cam = gp.Camera()\n"
        "cam.init()\n"
        "print(cam.get_abilities().model)\n"
        "print(cam.folder_list_files('/store_00010001/DCIM/100TEST')[0][0])\n"
        "cam.exit()\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "VCAMERADIR": str(tmp_path / "card")}
    env["PYTHONWARNINGS"] = "ignore"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[1] == "IMG_0001.JPG"


def test_capture_delay_makes_a_slow_body(camera, simcam):
    """capture-delay: the files come that much later after the trigger (the next COUNT)."""
    reply = simcam.command("capture-delay 1.5 1")
    assert reply == "ok capture delay 1.5 s for the next 1 capture(s)"
    start = time.monotonic()
    files, complete, _ = capture(camera)
    assert complete and len(files) == 2 and time.monotonic() - start >= 1.5
    start = time.monotonic()
    files, complete, _ = capture(camera)
    assert complete and len(files) == 2 and time.monotonic() - start < 1.5
