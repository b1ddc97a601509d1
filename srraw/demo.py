"""`srraw demo`: the pipeline on an embedded default, no camera and no dataset needed.

Today: synthesise SR-RAW-layout sequences, decode every RAW back through LibRaw against the
ground truth the generator wrote, then `srraw prep` them into manifests and a QA report.
Stages run as separate commands, the way a user chains them: they talk only through files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from srraw.errors import SrrawError
from srraw.raw import read_raw
from srraw.synth.cli import synthesize
from srraw.synth.sequence import TRUTH_NAME


def verify_sequence(folder: Path) -> list[str]:
    """Decode each frame of a synthetic sequence; return lines describing what was read."""
    truth = json.loads((folder / TRUTH_NAME).read_text())
    lines = []
    for record in truth["frames"]:
        frame = read_raw(folder / record["raw"], pixels=False)
        problems = []
        if frame.cfa != truth["cfa"]:
            problems.append(f"CFA {frame.cfa} != {truth['cfa']}")
        if frame.white_level != truth["white_level"] or set(frame.black_levels) != {
            truth["black_level"]
        }:
            problems.append("levels differ")
        if frame.exif.focal_length_mm != record["focal_exif_mm"]:
            problems.append(f"EXIF focal {frame.exif.focal_length_mm} != {record['focal_exif_mm']}")
        if problems:
            raise SrrawError("; ".join(problems), folder / record["raw"])
        lines.append(
            f"{folder.name}/{record['raw']}  asked {record['focal_nominal_mm']:>5.0f} mm  "
            f"EXIF {frame.exif.focal_length_mm:>5.0f} mm  "
            f"true {record['focal_effective_mm']:7.2f} mm  "
            f"{frame.cfa} black {frame.black_levels[0]:.0f} white {frame.white_level}  "
            f"{frame.width}x{frame.height}"
        )
    return lines


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Where the demo dataset and its outputs go.",
)
@click.option("--scenes", type=click.IntRange(1), default=2, show_default=True)
@click.option("--rig", "rig_spec", default="simulated", show_default=True)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
def demo(out: Path, scenes: int, rig_spec: str, seed: int) -> None:
    """Synthesise a small zoom dataset and check every frame decodes as written."""
    dataset = out / "dataset"
    manifests = out / "manifests"
    click.echo(f"[1/3] srraw synth: {scenes} sequences with rig '{rig_spec}' -> {dataset}")
    folders = synthesize(rig_spec, dataset, scenes, seed, None)
    click.echo("[2/3] decode every RAW with LibRaw and check it against truth.json")
    for folder in folders:
        for line in verify_sequence(folder):
            click.echo(f"  {line}")
    click.echo(f"[3/3] srraw prep {dataset} --out {manifests}")
    _run_stage("prep", str(dataset), "--out", str(manifests))
    click.echo(f"demo ok: {len(folders)} sequences in {dataset}")
    for name in ("frames.parquet", "pairs.parquet", "report.html"):
        click.echo(f"  {manifests / name}")


def _run_stage(*args: str) -> None:
    """Run another srraw command as its own process, as a user would chain them."""
    result = subprocess.run([sys.executable, "-m", "srraw.cli", *args], check=False)
    if result.returncode != 0:
        raise SrrawError(f"`srraw {' '.join(args)}` failed (exit {result.returncode})")
