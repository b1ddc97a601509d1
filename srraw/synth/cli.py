"""`srraw synth`: write synthetic SR-RAW zoom sequences (resumable, atomic)."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from srraw.parallel import run_local
from srraw.rig import load_rig
from srraw.synth.sequence import frame_size, is_complete, write_sequence


def sequence_seed(seed: int, index: int) -> int:
    return seed * 100_003 + index


def _write_one(rig_spec: str, folder: Path, seed: int, size: tuple[int, int]) -> str:
    write_sequence(load_rig(rig_spec), folder, seed, size)
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
) -> list[Path]:
    """Write `scenes` sequences 00001.. into `out`, skipping complete ones unless `force`."""
    rig = load_rig(rig_spec)
    size = frame_size(rig, megapixels)
    folders = [out / f"{i:05d}" for i in range(1, scenes + 1)]
    todo = [f for f in folders if force or not is_complete(f)]
    if len(todo) < len(folders) and progress:
        click.echo(f"{len(folders) - len(todo)} of {len(folders)} sequences already complete")
    disable = not progress or not todo
    if jobs > 1:
        tasks = [(str(rig.path), f, sequence_seed(seed, int(f.name)), size) for f in todo]
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
            write_sequence(rig, folder, seq_seed, size, on_frame=lambda _: bar.update())
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
    force: bool,
    jobs: int,
) -> None:
    """Write synthetic SR-RAW-layout zoom sequences: DNG + JPEG per focal length, truth.json.

    Interrupt at any time: files are written atomically and a rerun resumes.
    """
    folders = synthesize(rig_spec, out, scenes, seed, megapixels, force, jobs=jobs)
    click.echo(f"{len(folders)} sequences in {out}")
