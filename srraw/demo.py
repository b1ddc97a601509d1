"""`srraw demo`: the whole method on a fresh machine, no camera and no dataset needed.

Starts the simulated camera, captures zoom sequences through libgphoto2's ptpip port, preps
them into manifests and a QA report, trains a small model on the CPU, evaluates it beside
bicubic, and zooms one RAW file. Each stage is its own `srraw` command, chained the way a user
would chain them: they talk only through files. Rerunning resumes; `--fresh` starts clean.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click

from srraw.errors import SrrawError
from srraw.files import atomic_write_bytes

RIG = "simulated-power"
# A small network and crops: a few minutes on two CPU cores (see the README for the figures).
TRAIN_ARGS = (
    "--zoom", "4", "--width", "32", "--blocks", "4", "--crop", "16", "--batch", "4",
    "--lr", "1e-3", "--rgb-stride", "4", "--cobi-vgg", "0", "--l1", "1", "--input-skip",
)  # fmt: skip


def _srraw(*args: str) -> list[str]:
    return [sys.executable, "-m", "srraw.cli", *args]


def _run_stage(*args: str) -> None:
    """Run another srraw command as its own process; its progress bars show as they are."""
    result = subprocess.run(_srraw(*args), check=False)
    if result.returncode != 0:
        raise SrrawError(f"`srraw {' '.join(args)}` failed (exit {result.returncode})")


@contextlib.contextmanager
def simulated_camera(size: str, seed: int) -> Iterator[str]:
    """Start `srraw simcam` on 127.0.0.1; yield its libgphoto2 port; always stop it."""
    proc = subprocess.Popen(
        _srraw("simcam", "--port", "0", "--rig", RIG, "--zoom", "power", "--size", size,
               "--seed", str(seed), "--exit-with-parent", "--idle-timeout", "600"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("simcam ready "):
            raise SrrawError(f"the simulated camera did not start ({line.strip() or 'no output'})")
        yield line.split()[2]
    finally:
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()  # stdin EOF: simcam stops by itself
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _complete_sequences(dataset: Path) -> int:
    """Sequences whose every frame is safely on disk, from the captures manifest."""
    from srraw.manifest import read_manifest_df
    from srraw.rig import load_rig

    manifest = dataset / "captures.parquet"
    if not manifest.is_file():
        return 0
    frames = len(load_rig(RIG).focal_lengths_mm)
    ok = read_manifest_df(manifest, "captures").query("status == 'ok'")
    return int((ok.groupby("sequence").size() >= frames).sum())


def _table(eval_csv: Path) -> str:
    import pandas as pd

    table = pd.read_csv(eval_csv)
    means = table.groupby("method")[["psnr", "ssim"]].mean()
    means["pairs"] = table.groupby("method").size()
    means = means.reindex([m for m in ("bicubic", "model") if m in means.index])
    lines = [f"{'method':<10} {'PSNR (dB)':>10} {'SSIM':>8} {'pairs':>6}"]
    for method, row in means.iterrows():
        lines.append(f"{method:<10} {row.psnr:>10.2f} {row.ssim:>8.4f} {int(row.pairs):>6}")
    return "\n".join(lines)


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Where the dataset, manifests, run and outputs go.",
)
@click.option(
    "--scenes",
    type=click.IntRange(2),
    default=3,
    show_default=True,
    help="Sequences to capture; the last is held out for evaluation.",
)
@click.option(
    "--steps", type=click.IntRange(1), default=300, show_default=True, help="Training steps."
)
@click.option("--size", default="768x512", show_default=True, help="Simulated sensor size.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--fresh", is_flag=True, help="Delete --out first instead of resuming.")
def demo(out: Path, scenes: int, steps: int, size: str, seed: int, fresh: bool) -> None:
    """Capture, prep, train, evaluate and zoom on the simulated camera: the whole method."""
    if fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    dataset, manifests, run = out / "dataset", out / "manifests", out / "run"
    eval_csv, zoomed = out / "eval.csv", out / "zoomed.png"
    start = time.monotonic()
    try:
        # `srraw capture --scenes N` shoots N more (an unfinished one first): ask for what is missing.
        missing = scenes - _complete_sequences(dataset)
        if missing > 0:
            with simulated_camera(size, seed) as port:
                click.echo(
                    f"[1/5] srraw capture: {missing} sequences from the simulated camera at {port}"
                )
                _run_stage("capture", "--rig", RIG, "--out", str(dataset), "--camera", port,
                           "--scenes", str(missing), "--yes")  # fmt: skip
        else:
            click.echo(f"[1/5] srraw capture: {scenes} sequences already on disk in {dataset}")
        sequences = sorted(p.name for p in dataset.iterdir() if p.is_dir() and p.name.isdigit())
        if len(sequences) < 2:
            raise SrrawError(f"captured {len(sequences)} sequences; the demo needs 2", dataset)
        # Hold the last sequence out: with a handful of sequences the hash split may leave the
        # test split empty.
        split_file = out / "split.json"
        splits = {s: "test" if s == sequences[-1] else "train" for s in sequences}
        atomic_write_bytes(split_file, json.dumps(splits, indent=2).encode())
        click.echo(f"[2/5] srraw prep: manifests and report -> {manifests}")
        _run_stage("prep", str(dataset), "--out", str(manifests), "--zoom", "4",
                   "--split-file", str(split_file))  # fmt: skip
        click.echo(f"[3/5] srraw train: {steps} steps on the CPU -> {run}")
        resume = ("--resume",) if (run / "checkpoint.pt").exists() else ()
        _run_stage("train", "--manifest", str(manifests), "--dataset-root", str(dataset),
                   "--out", str(run), "--steps", str(steps),
                   "--samples-per-epoch", str(steps), *TRAIN_ARGS, *resume)  # fmt: skip
        checkpoint = run / "checkpoint.pt"
        click.echo("[4/5] srraw eval: the model beside bicubic on the held-out sequence")
        _run_stage("eval", "--manifest", str(manifests), "--dataset-root", str(dataset),
                   "--checkpoint", str(checkpoint),
                   "--out", str(eval_csv), "--tile", "64", "--overlap", "12")  # fmt: skip
        raw = dataset / sequences[-1] / "00007.DNG"
        click.echo(f"[5/5] srraw zoom: {raw} at 4X")
        _run_stage("zoom", str(raw), "--checkpoint", str(checkpoint), "--out", str(zoomed),
                   "--region", _centre_region(size), "--tile", "64", "--overlap", "12")  # fmt: skip
    except KeyboardInterrupt:
        click.echo("demo: interrupted; run it again to resume (or --fresh)", err=True)
        sys.exit(130)
    minutes = (time.monotonic() - start) / 60
    click.echo(f"\ndemo ok in {minutes:.1f} min")
    for name, path in (
        ("dataset", dataset),
        ("captures", dataset / "captures.parquet"),
        ("manifests", manifests),
        ("QA report", manifests / "report.html"),
        ("checkpoint", checkpoint),
        ("evaluation", eval_csv),
        ("zoomed image", zoomed),
    ):
        click.echo(f"  {name:<13} {path}")
    click.echo("\n" + _table(eval_csv))


def _centre_region(size: str) -> str:
    """The central quarter of the sensor, as x,y,w,h in mosaic pixels (even)."""
    width, height = (int(v) for v in size.lower().split("x"))
    w, h = width // 4 // 2 * 2, height // 4 // 2 * 2
    return f"{(width - w) // 4 * 2},{(height - h) // 4 * 2},{w},{h}"
