"""`srraw synth`: write synthetic SR-RAW zoom sequences (resumable, atomic)."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from srraw.parallel import run_local
from srraw.rig import load_rig
from srraw.synth.scene import SCENE_KINDS
from srraw.synth.sequence import (
    JPEG_GEOMETRIES,
    frame_size,
    is_complete,
    lens_setup,
    parse_jpeg_crop,
    scene_kind_for,
    write_sequence,
)


def _crop(value: str) -> tuple[int, int, int, int]:
    try:
        return parse_jpeg_crop(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}") from exc


def sequence_seed(seed: int, index: int) -> int:
    return seed * 100_003 + index


def _write_one(
    rig_spec: str, folder: Path, seed: int, size: tuple[int, int], lens_args: tuple, kind: str
) -> str:
    rig = load_rig(rig_spec)
    write_sequence(rig, folder, seed, size, lens=lens_setup(rig, *lens_args), kind=kind)
    return folder.name


def synthesize(
    rig_spec: str,
    out: Path,
    scenes: int,
    seed: int,
    megapixels: float | None,
    force: bool = False,
    progress: bool = True,
    jobs: int = 1,
    lens: str | None = None,
    jpeg_geometry: str = "raw",
    exif_lens: str | None = None,
    scene_kind: str = "normal",
    jpeg_crop: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> list[Path]:
    """Write `scenes` sequences 00001.. into `out`, skipping complete ones unless `force`.

    `lens`: a lensfun lens name, 'none' for ideal pinhole frames, None for the rig's lens; the
    copy's perturbation of its terms is drawn once per dataset from `seed`. `scene_kind`:
    'normal', 'smooth', 'depth', or 'mixed' (see scene_kind_for); a sequence of another kind
    is rewritten. `jpeg_crop`: see LensSetup.jpeg_crop."""
    rig = load_rig(rig_spec)
    lens_args = (lens, seed, jpeg_geometry, exif_lens, tuple(jpeg_crop))
    setup = lens_setup(rig, *lens_args)
    size = frame_size(rig, megapixels)
    folders = [out / f"{i:05d}" for i in range(1, scenes + 1)]
    kinds = {f: scene_kind_for(scene_kind, seed, int(f.name)) for f in folders}
    todo = [f for f in folders if force or not is_complete(f, kinds[f], setup.jpeg_crop)]
    if len(todo) < len(folders) and progress:
        click.echo(f"{len(folders) - len(todo)} of {len(folders)} sequences already complete")
    disable = not progress or not todo
    if jobs > 1:
        tasks = [
            (str(rig.path), f, sequence_seed(seed, int(f.name)), size, lens_args, kinds[f])
            for f in todo
        ]
        with tqdm(total=len(todo), unit="seq", desc="synth", disable=disable) as bar:
            for name in run_local(_write_one, tasks, jobs):
                bar.set_postfix_str(name)
                bar.update()
        return folders
    frames = len(rig.focal_lengths_mm)
    with tqdm(total=len(todo) * frames, unit="frame", desc="synth", disable=disable) as bar:
        for folder in todo:
            bar.set_postfix_str(f"sequence {folder.name}")
            seq_seed = sequence_seed(seed, int(folder.name))
            write_sequence(
                rig,
                folder,
                seq_seed,
                size,
                on_frame=lambda _: bar.update(),
                lens=setup,
                kind=kinds[folder],
            )
    return folders


@click.command()
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Dataset folder; one sub-folder per sequence (00001, 00002, ...).",
)
@click.option(
    "--rig",
    "rig_spec",
    default="simulated",
    show_default=True,
    help="Rig profile: a TOML path or a shipped name.",
)
@click.option(
    "--scenes", type=click.IntRange(1), default=1, show_default=True, help="Number of sequences."
)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option(
    "--megapixels",
    type=click.FloatRange(0.01, 100),
    default=None,
    help="Frame size at the rig's aspect (12 = SR-RAW size); default the rig's sensor.",
)
@click.option(
    "--lens",
    default=None,
    help="lensfun lens the frames are shot through (e.g. 'Sony FE 24-240mm f/3.5-6.3 OSS'), "
    "perturbed per dataset and per sequence; 'none' for ideal frames. Default: the rig's.",
)
@click.option(
    "--jpeg-geometry",
    type=click.Choice(JPEG_GEOMETRIES),
    default="raw",
    show_default=True,
    help="'raw': the JPEG shares the RAW's distorted grid; 'corrected': the body undistorts "
    "its JPEGs (and crops them to fill the frame), as Sony's 'Distortion Comp.: Auto'.",
)
@click.option(
    "--exif-lens",
    default=None,
    help="Lens name written to EXIF instead of the rig's (e.g. a name lensfun does not know).",
)
@click.option(
    "--scene-kind",
    type=click.Choice((*SCENE_KINDS, "mixed")),
    default="normal",
    show_default=True,
    help="'smooth': a defocused background with texture in one region only; 'depth': a "
    "foreground layer that shifts against the background as the zoom moves the lens's "
    "entrance pupil; 'mixed': of every 4 sequences 2 normal, 1 smooth, 1 depth (order from "
    "--seed). truth.json records each sequence's kind.",
)
@click.option(
    "--jpeg-crop",
    default="0,0,0,0",
    show_default=True,
    callback=lambda _ctx, _param, value: _crop(value),
    help="Pixels the body trims off each frame before writing its JPEG: LEFT,TOP,RIGHT,BOTTOM "
    "(a Sony 6048x4024 RAW has a 6000x4000 JPEG); truth.json records the offset.",
)
@click.option("--force", is_flag=True, help="Rewrite sequences that are already complete.")
@click.option(
    "--jobs",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Sequences rendered in parallel, one worker process each.",
)
def synth(
    out: Path,
    rig_spec: str,
    scenes: int,
    seed: int,
    megapixels: float | None,
    lens: str | None,
    jpeg_geometry: str,
    exif_lens: str | None,
    scene_kind: str,
    jpeg_crop: tuple[int, int, int, int],
    force: bool,
    jobs: int,
) -> None:
    """Write synthetic SR-RAW-layout zoom sequences: DNG + JPEG per focal length, truth.json.

    Interrupt at any time: files are written atomically and a rerun resumes.
    """
    folders = synthesize(
        rig_spec,
        out,
        scenes,
        seed,
        megapixels,
        force,
        jobs=jobs,
        lens=lens,
        jpeg_geometry=jpeg_geometry,
        exif_lens=exif_lens,
        scene_kind=scene_kind,
        jpeg_crop=jpeg_crop,
    )
    click.echo(f"{len(folders)} sequences in {out}")
