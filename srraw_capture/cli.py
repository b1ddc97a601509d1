"""`srraw capture`: zoom sequences from a tethered camera (libgphoto2 imported only when run)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _shipped() -> str:
    from srraw.rig import shipped_rigs

    return ", ".join(path.stem for path in shipped_rigs())


@click.command()
@click.option(
    "--rig",
    "rig_spec",
    required=True,
    help=f"Rig profile: a TOML path or a profile's name (shipped: {_shipped()}; and those "
    "the dataset was shot with).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Dataset folder: sequences go to OUT/<sequence>/<frame>.<ext>.",
)
@click.option(
    "--camera",
    default=None,
    metavar="PORT",
    help="libgphoto2 port, e.g. usb:001,004 or ptpip:192.168.1.10 or ptpip:HOST:PORT "
    "[default: the first camera libgphoto2 autodetects (USB only)].",
)
@click.option(
    "--scenes",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Sequences to shoot in this run (an unfinished one is resumed first and counts).",
)
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Non-interactive: no prompts, no reshoot (scripted rigs: power zoom or a fixed plan).",
)
@click.option(
    "--keep-on-card", is_flag=True, help="Leave the files on the card after they are on disk."
)
@click.option("--no-qa", is_flag=True, help="Skip the field check after each sequence.")
@click.option(
    "--reshoot",
    is_flag=True,
    help="With --yes: shoot again (once) a sequence the field check finds not usable.",
)
@click.option(
    "--focal-source",
    type=click.Choice(["auto", "camera", "exif"]),
    default="auto",
    show_default=True,
    help="Where the live focal length comes from: the body's focal-length widget, or none "
    "(exif: judge each frame from its EXIF only); auto uses the widget when the body has one.",
)
@click.option(
    "--zoom-timeout",
    type=click.FloatRange(1),
    default=300.0,
    show_default=True,
    help="Seconds to wait for the zoom to reach a focal length.",
)
@click.option(
    "--capture-timeout",
    type=click.FloatRange(1),
    default=None,
    help="Seconds from the trigger to the last file announced [default: 120 s until this "
    "body's capture time is measured, then 3x its slowest capture, at least 30 s].",
)
@click.option(
    "--reconnect-timeout",
    type=click.FloatRange(0),
    default=30.0,
    show_default=True,
    help="Seconds to keep trying to reconnect a camera that dropped.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="Captures of one frame (retakes included) before the run stops.",
)
@click.option(
    "--settle",
    type=click.FloatRange(0),
    default=0.5,
    show_default=True,
    help="Manual zoom: seconds the reading must stay in tolerance before the shot.",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Only rebuild OUT/captures.parquet from the session journals (no camera).",
)
@click.option(
    "--fetch-orphans",
    is_flag=True,
    help="Only fetch the files interrupted captures left on the card into "
    "OUT/.srraw/orphans/ (then deleted from the card unless --keep-on-card).",
)
@click.option(
    "--abandon",
    "abandon_seq",
    metavar="SEQ",
    default=None,
    help="Only set sequence SEQ aside (no camera): journalled, its files moved to "
    "OUT/.srraw/abandoned/, never deleted; the next run starts a new sequence.",
)
def capture(
    rig_spec: str,
    out: Path,
    camera: str | None,
    scenes: int,
    yes: bool,
    keep_on_card: bool,
    no_qa: bool,
    reshoot: bool,
    focal_source: str,
    zoom_timeout: float,
    capture_timeout: float | None,
    reconnect_timeout: float,
    max_attempts: int,
    settle: float,
    rebuild: bool,
    fetch_orphans: bool,
    abandon_seq: str | None,
) -> None:
    """Capture zoom sequences (one scene, every focal length of the rig) into OUT.

    Sets the body to the rig's exposure (or says what to set on it), guides the zoom to each
    focal length, captures, downloads (temporary name, fsync, sha256, rename), checks EXIF
    focal length and exposure, retakes on a mismatch, and journals every step: run the same
    command again after any interruption to resume. After each sequence a field check
    (srraw prep at low resolution) says whether it is usable.
    """
    from srraw.rig import load_rig
    from srraw_capture.guide import Console
    from srraw_capture.journal import RIGS_KEPT, rebuild_captures
    from srraw_capture.session import Options, Session

    rig = load_rig(rig_spec, search=(out / RIGS_KEPT,))
    if abandon_seq is not None:
        from srraw_capture.aside import abandon

        click.echo(abandon(out, abandon_seq))
        return
    if rebuild:
        path = rebuild_captures(out)
        click.echo(f"rebuilt {path}")
        return
    opts = Options(
        rig=rig,
        root=out,
        camera=camera,
        scenes=scenes,
        yes=yes,
        keep_on_card=keep_on_card,
        qa=not no_qa,
        focal_source=focal_source,
        zoom_timeout=zoom_timeout,
        capture_timeout=capture_timeout,
        reconnect_timeout=reconnect_timeout,
        max_attempts=max_attempts,
        settle_s=settle,
        interactive=not yes and sys.stdin.isatty(),
        reshoot=reshoot,
        fetch_orphans=fetch_orphans,
    )
    console = Console(interactive=opts.interactive)
    session = Session(opts, console)
    try:
        session.run()
    except KeyboardInterrupt:
        console.close_bar()
        click.echo(
            f"\ncapture: interrupted; {session._safe_text()}. "
            "Run the same command again to resume.",
            err=True,
        )
        sys.exit(130)
