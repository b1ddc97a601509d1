"""`srraw simcam`: run the simulated PTP/IP camera on 127.0.0.1 (heavy imports inside)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

import click

from srraw.errors import SrrawError


def _size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        width, height = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected WIDTHxHEIGHT, e.g. 192x128, not {value!r}") from None
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise click.BadParameter(f"{value}: width and height must be even and at least 16")
    return width, height


def _read_stdin(cam, stream) -> None:
    """Commands from stdin, replies to stdout; EOF stops the camera when stdin is not a TTY."""
    for line in stream:
        if cam.stopped:
            return
        if line.strip():
            click.echo(cam.command(line))
    if not stream.isatty():
        cam.request_stop("stdin closed")


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=15740,
    show_default=True,
    help="PTP/IP port on 127.0.0.1 (0: pick a free one).",
)
@click.option(
    "--control-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Control socket port on 127.0.0.1 (0: pick a free one).",
)
@click.option(
    "--rig",
    "rig_spec",
    default="simulated",
    show_default=True,
    help="Rig profile (TOML path or shipped name): sensor, lens range, exposure.",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Scene, zoom-ring misses and hand motion.",
)
@click.option(
    "--zoom",
    type=click.Choice(["manual", "power"]),
    default="manual",
    show_default=True,
    help="manual: FocalLength is read-only, turn the ring with `zoom MM`; "
    "power: SetDevicePropValue on FocalLength moves it.",
)
@click.option(
    "--body",
    type=click.Choice(["generic", "sony", "sony-mode3", "canon-eos", "nikon"]),
    default="generic",
    show_default=True,
    help="Which body answers libgphoto2: generic PTP, or a vendor's protocol (sony: ILCE-7SM2, "
    "SDIO mode 2, sets by stepping; sony-mode3: ILCE-7M4, direct writes; canon-eos: EOS 5D Mark IV, GetEvent records; "
    "nikon: D850).",
)
@click.option(
    "--size", default=None, help="Rendered frame size WIDTHxHEIGHT (default: the rig's sensor)."
)
@click.option(
    "--megapixels",
    type=click.FloatRange(0.001, 100),
    default=None,
    help="Rendered frame size at the rig's aspect (instead of --size).",
)
@click.option(
    "--miss-pct",
    type=click.FloatRange(0, 50),
    default=2.0,
    show_default=True,
    help="The zoom ring lands within this percentage of where it is aimed.",
)
@click.option(
    "--card-mb",
    type=click.IntRange(1),
    default=8192,
    show_default=True,
    help="Card capacity in MiB.",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(0),
    default=600.0,
    show_default=True,
    help="Stop after this many seconds with no connection and no command (0: never).",
)
@click.option("--exit-with-parent", is_flag=True, help="Stop when the parent process exits.")
@click.option(
    "--stdin/--no-stdin",
    "use_stdin",
    default=True,
    show_default=True,
    help="Read commands from stdin (EOF stops the camera unless stdin is a TTY).",
)
@click.option("-v", "--verbose", count=True, help="Log to stderr (-vv: every PTP operation).")
def simcam(
    port: int,
    control_port: int,
    rig_spec: str,
    seed: int,
    zoom: str,
    body: str,
    size: str | None,
    megapixels: float | None,
    miss_pct: float,
    card_mb: int,
    idle_timeout: float,
    exit_with_parent: bool,
    use_stdin: bool,
    verbose: int,
) -> None:
    """Run a simulated camera body that speaks PTP/IP on 127.0.0.1, for libgphoto2.

    Connect with the port path printed on the ready line (libgphoto2 model "PTP/IP Camera").
    Type commands on stdin or send them, one per line, to the control socket: status,
    zoom MM, scene [SEED], set PROP VALUE, battery PCT, busy-next [N], unplug, plug,
    drop-next-transfer, stall-next, refuse PROP [invalid|busy], allow PROP,
    capture-delay SECONDS [COUNT], corrupt-next, card-full, card-free, freeze, thaw,
    reset [all], quit, help (see srraw_capture/simcam/control.py).
    """
    parent = os.getppid()  # before the slow imports: the parent may die meanwhile
    from srraw.rig import load_rig
    from srraw.synth.sequence import frame_size
    from srraw_capture.simcam.app import SimCam, SimCamConfig

    if size and megapixels:
        raise click.UsageError("give --size or --megapixels, not both")
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
        format="simcam %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    frame = _size(size)
    if megapixels:
        frame = frame_size(load_rig(rig_spec), megapixels)
    config = SimCamConfig(
        port=port,
        control_port=control_port,
        rig=rig_spec,
        seed=seed,
        zoom=zoom,
        size=frame,
        miss_pct=miss_pct,
        card_bytes=card_mb * 1024 * 1024,
        body=body,
        idle_timeout=idle_timeout or None,
        exit_with_parent=exit_with_parent,
        parent_pid=parent,
    )
    cam = SimCam(config)
    try:
        cam.start()
    except OSError as exc:
        raise SrrawError(
            f"cannot listen on 127.0.0.1:{port} or the control port ({exc.strerror})"
        ) from None
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda s, _f: cam.request_stop(signal.Signals(s).name))
    click.echo(cam.ready_line)
    sys.stdout.flush()
    if use_stdin:
        threading.Thread(target=_read_stdin, args=(cam, sys.stdin), daemon=True).start()
    cam.wait()
    click.echo(f"simcam stopped: {cam.stop_reason}")
