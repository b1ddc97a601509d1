"""The simulated camera: a generic PTP body with a zoom lens that speaks PTP/IP on 127.0.0.1.

libgphoto2 (python `gphoto2`, its `ptpip` port, its generic ptp2 driver) talks to it exactly as
to a network camera: model "PTP/IP Camera", port path `ptpip:127.0.0.1:PORT:PORT` (write the
port twice: the event port defaults to 15740 even when a command port is given).

Start it
--------
As a process (what tests of the capture controller should do: libgphoto2 and the simcam must
not share a Python process, see below)::

    srraw simcam --port 0 --size 192x128 --exit-with-parent
    -> simcam ready ptpip:127.0.0.1:PORT:PORT control 127.0.0.1:CPORT     (first stdout line)

In process (for tests that drive libgphoto2 from a subprocess)::

    from srraw_capture.simcam.app import SimCam, SimCamConfig
    with SimCam(SimCamConfig(port=0, size=(192, 128), seed=1)) as sim:
        sim.port_path              # "ptpip:127.0.0.1:PORT:PORT"
        sim.command("zoom 70")     # "ok focal 69.23", the same language as the control socket

Commands (stdin, the control socket, or `SimCam.command`) are listed in `control.py`; replies
are one line, `ok ...` or `error ...`; `send_command(cport, line)` in `control.py` is a client.
It stops on `quit`, SIGTERM/SIGINT, stdin EOF (stdin not a TTY; `--no-stdin` to ignore stdin),
`--idle-timeout` seconds with neither a PTP/IP connection nor a command (default 600, 0 never),
and, with `--exit-with-parent`, when the process that started it exits.

Personalities (`--body`)
------------------------
`generic` (below) is the shared core (`device.py`); `sony`, `sony-mode3` (`sony.py`) and `nikon`
(`nikon.py`) answer as libgphoto2's Sony SDIO and Nikon paths expect (`bodies.py` picks one);
srraw_capture/README.md says what each does and what the controller makes of it.

What libgphoto2 2.5.34 makes of it (checked with python-gphoto2 2.6.4)
----------------------------------------------------------------------
DeviceInfo: manufacturer "srraw", model "SimCam", serial SIM{seed:08d} (the EXIF serial too),
no vendor extension, so libgphoto2 stays on its generic PTP paths. One storage
`/store_00010001` (SD card, free space real; `card-full` reports 0), files in
`/store_00010001/DCIM/100SRRAW`: `SIM_nnnn.DNG` (format 0xB101) then `SIM_nnnn.JPG` (0x3801).

=============  =====================  ===========  ==========================================
widget         property               type         value as libgphoto2 shows it
=============  =====================  ===========  ==========================================
f-number       FNumber 0x5007         RADIO        "f/16"; choices f/3.5 ... f/22 (thirds)
shutterspeed   ExposureTime 0x500D    RADIO        "0.0333s" (1/30); "30.0000s" ... "0.0002s"
                                                   (1/4000), 1/10000 s units; set accepts
                                                   "1/125" and picks the nearest choice
iso            ExposureIndex 0x500F   RADIO        "100"; 100 ... 25600 (thirds)
focallength    FocalLength 0x5008     RANGE        float mm, 24.0-240.0 step 0.01; read-only
                                                   (manual zoom) unless `--zoom power`
expprogram     ExposureProgram 0x500E RADIO        "M" (also P, A, S; the simcam renders the
                                                   set exposure whatever the program)
imagequality   Compression 0x5004     RADIO        "Unknown value 0007" = RAW+JPEG (0004 RAW,
                                                   0002 JPEG): libgphoto2 has no generic names
batterylevel   BatteryLevel 0x5001    TEXT         "100%", read-only
=============  =====================  ===========  ==========================================

Sections: f-number, shutterspeed, focallength, expprogram, imagequality under
`capturesettings`; iso under `imgsettings`; batterylevel under `status`. Every property also
appears under `other` by its hex code ("5007": MENU of raw values, "5008": RANGE in 1/100 mm).

libgphoto2 behaviour a controller must live with (found against this simcam)
----------------------------------------------------------------------------
- Capture: `trigger_capture()` returns at once; then poll `wait_for_event(ms)` (it returns at
  once on PTP/IP) for FILE_ADDED (DNG, then JPG) and CAPTURE_COMPLETE. A second
  `trigger_capture()` while the body is still writing gives -110 (DeviceBusy). Folder listings
  are cached: new files appear in `folder_list_files` only once their events were read.
- Download: keep the CameraFile referenced while copying its data:
  `bytes(camera.file_get(...).get_data_and_size())` reads freed memory and returns a file with
  bytes 24-31 overwritten (LibRaw then refuses the DNG). Files over 1 MiB come with
  GetPartialObject in 1 MiB pieces, smaller ones with GetObject.
- Property cache: libgphoto2 caches property descriptions for 2 s (`cachetime`). After the ring
  moves, `get_single_config("focallength")` can return the old value for up to 2 s. Reading
  events (wait_for_event) before the next read refreshes it, but only if no other operation
  ran in between (each operation swallows pending events without refreshing the cache).
- Refusals: `set_single_config` on a refused property fails with -2 (Bad parameters), whatever
  the PTP code (InvalidDevicePropValue and DeviceBusy alike); so does a read-only widget.
  A whole-tree `set_config` returns OK even when a value was refused: read back.
- Errors: an operation the camera never answers fails after 2.5 s with -10; a connection closed
  by the camera gives -1 for that and every later call (re-init to recover); connecting while
  unplugged gives -7; StoreFull on capture gives -1.
- python-gphoto2 keeps the GIL in some calls (`get_summary`, `get_storageinfo`): a simcam
  in the same Python process cannot answer them (-10). Run the simcam as a subprocess.
- Settings: libgphoto2 writes its PTP/IP GUID to `$HOME/.config/gphoto/settings` only if
  `$HOME/.config` exists (it creates one directory level only); tests set HOME to a temp dir.
"""
