"""`srraw prep`: SR-RAW-layout dataset -> frames.parquet, pairs.parquet, report.html."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the manifests go [default: DATASET/manifests].",
)
@click.option(
    "--zoom",
    "zooms",
    type=click.IntRange(2),
    multiple=True,
    default=(4, 8),
    show_default=True,
    help="Zoom factor Z; repeat for several.",
)
@click.option(
    "--band",
    type=click.FloatRange(0.01, 0.5),
    default=0.15,
    show_default=True,
    help="A pair's EXIF focal ratio must be within Z * (1 +- band).",
)
@click.option(
    "--model",
    type=click.Choice(["euclidean", "affine"]),
    default="euclidean",
    show_default=True,
    help="ECC motion model of the similarity start of a training pair the neighbouring focal "
    "lengths cannot reach (the full map is lens-aware either way).",
)
@click.option(
    "--lens",
    default=None,
    help="lensfun lens for every frame, e.g. 'Sony FE 24-240mm f/3.5-6.3 OSS', when EXIF names "
    "it differently; 'none': no database prior (distortion measured from the images alone). "
    "Default: looked up by the EXIF make, body and lens.",
)
@click.option(
    "--jobs", type=click.IntRange(1), default=None, help="Worker processes [default: all cores]."
)
@click.option("--force", is_flag=True, help="Redo sequences that are already done.")
@click.option(
    "--split-seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the per-sequence 80:10:10 split.",
)
@click.option(
    "--split-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="JSON {sequence: split} or CSV sequence,split overriding the hash split.",
)
@click.option(
    "--min-rho",
    type=float,
    default=0.85,
    show_default=True,
    help="Flag pairs whose ECC correlation is below this.",
)
@click.option(
    "--max-residual",
    type=float,
    default=8.0,
    show_default=True,
    help="Flag pairs whose residual p95 exceeds this many target pixels.",
)
@click.option(
    "--max-error-estimate",
    type=float,
    default=1.4,
    show_default=True,
    help="Flag pairs whose error estimate (error_estimate_px) exceeds this many target pixels.",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where sequences run: local processes or Dask tasks.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Dask scheduler (tcp://HOST:8786); without it, --executor dask starts a "
    "LocalCluster of --jobs workers.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs and pipelines).")
def prep(
    dataset: Path,
    out: Path | None,
    zooms: tuple[int, ...],
    band: float,
    model: str,
    lens: str | None,
    jobs: int | None,
    force: bool,
    split_seed: int,
    split_file: Path | None,
    min_rho: float,
    max_residual: float,
    max_error_estimate: float,
    executor: str,
    scheduler: str | None,
    no_progress: bool,
) -> None:
    """Match FOV, align and measure every pair of a dataset into Parquet manifests.

    DATASET is a folder of sequences (00001.<RAW> + 00001.JPG, ...) or a captures.parquet.
    Resumable: an interrupted run keeps every finished sequence; rerun to finish.

    Prints a summary line, then each failed or flagged item (file, problem); report.html
    has them all. Exit status: 0 every item usable (a zoom the lens cannot reach is
    'absent', not a failure), 1 some frame or pair failed, 2 prep could not run, 130
    interrupted.
    """
    from srraw_prep.config import PrepConfig
    from srraw_prep.run import prep as run_prep
    from srraw_prep.split import read_split_file

    cfg = PrepConfig(
        zooms=tuple(sorted(set(zooms))),
        band=band,
        model=model,
        lens=lens,
        min_rho=min_rho,
        max_residual_p95_px=max_residual,
        max_error_estimate_px=max_error_estimate,
    )
    overrides = read_split_file(split_file) if split_file else None
    try:
        summary = run_prep(
            dataset,
            out,
            cfg,
            jobs=jobs or os.cpu_count() or 1,
            force=force,
            split_seed=split_seed,
            split_overrides=overrides,
            executor=executor,
            scheduler=scheduler,
            progress=not no_progress,
        )
    except KeyboardInterrupt:
        click.echo("prep: interrupted; finished sequences are kept, rerun to finish", err=True)
        sys.exit(130)
    click.echo("\n".join(summary.lines()))
    if summary.failed:
        sys.exit(1)
