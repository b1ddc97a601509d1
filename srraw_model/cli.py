"""`srraw train`, `srraw eval` and `srraw zoom`. torch is imported inside the commands only,
so `srraw --help` and `srraw train --help` stay light."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from srraw_model.config import PRESETS, TrainConfig

HELP = {
    "manifest": "pairs.parquet, or the folder holding it and frames.parquet.",
    "dataset_root": "Folder holding the sequence folders [default: the manifest folder's parent].",
    "cache_dir": "Decoded-array cache [default: <manifest folder>/model-cache].",
    "zoom": "Zoom factor Z (4 or 8 in the paper).",
    "input": "raw (ours), rgb (JPEG-L: 'Ours-png') or syn-raw (mosaic from JPEG-L: 'Ours-syn-raw').",
    "max_residual_px": "Leave out pairs whose residual misalignment p95 exceeds this (H px).",
    "statuses": "Pair statuses to use, comma-separated.",
    "crop": "Packed crop size (the paper: 64).",
    "margin": "Target pixels beyond the crop on each side, for misalignment.",
    "flips": "Random flips (Bayer phase kept).",
    "samples_per_epoch": "Crops per epoch.",
    "workers": "DataLoader worker processes.",
    "width": "Channels of the network.",
    "blocks": "Residual blocks (the paper: 16).",
    "upsample": "Up-convolution type: deconv, pixelshuffle or nearest.",
    "input_skip": "Add the bilinearly upsampled input to the output (not in the paper).",
    "cobi_variant": "paper (equation 2) or contextual (the original release's form).",
    "w_s": "CoBi spatial weight w_s.",
    "bandwidth": "Contextual variant's bandwidth h.",
    "cobi_chunk": "CoBi source points per chunk (memory ~ chunk x target points).",
    "cobi_sample": "Sample at most N x N points per side (the original: 63); default: exact.",
    "cobi_rgb": "Weight of CoBi_RGB.",
    "rgb_patch": "CoBi_RGB patch size n [default: 10 at 4X, 15 at 8X].",
    "rgb_stride": "CoBi_RGB patch stride.",
    "cobi_vgg": "lambda, weight of CoBi_VGG; 0 trains with CoBi_RGB alone.",
    "vgg_weights": "torchvision vgg19 state-dict file, needed for CoBi_VGG.",
    "l1": "Weight of a pixel L1 term (only for well-aligned data).",
    "batch": "Crops per step per process.",
    "steps": "Optimiser steps in all.",
    "lr": "Adam learning rate (cosine decay to lr * lr_final).",
    "amp": "Mixed precision: none, bf16 or fp16.",
    "device": "auto, cpu, cuda, cuda:1 ...",
    "tile": "Packed tile size for inference.",
    "overlap": "Tile overlap on each side, packed px.",
}


def _option(field: dataclasses.Field):
    name = field.name.replace("_", "-")
    help_text = HELP.get(field.name, f"Overrides '{field.name}' (default {field.default!r}).")
    kind = str(field.type)
    if kind == "bool":
        return click.option(f"--{name}/--no-{name}", field.name, default=None, help=help_text)
    if kind.startswith("tuple"):
        return click.option(f"--{name}", field.name, default=None, help=help_text)
    base = int if kind.startswith("int") else float if kind.startswith("float") else str
    return click.option(f"--{name}", field.name, type=base, default=None, help=help_text)


def config_options(func):
    for field in reversed(dataclasses.fields(TrainConfig)):
        func = _option(field)(func)
    return func


@click.command()
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Run folder."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML config; options given here override it.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run in --out from its checkpoint with the settings in its config.json "
    "(only --steps, logging, saving, device, workers and data paths may change).",
)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    help="Starting settings: paper (the defaults, for a GPU) or laptop (trains in minutes on a "
    "CPU); a --config file and options override it.",
)
@click.option("--progress/--no-progress", default=True, help="tqdm progress bar.")
@click.option(
    "--stop-after",
    type=int,
    help="End this invocation after N steps, checkpointed (a time-boxed job; --resume goes on).",
)
@config_options
def train(
    out: Path,
    config_path: Path | None,
    resume: bool,
    preset: str | None,
    progress: bool,
    stop_after: int | None,
    **overrides,
) -> None:
    """Train the zoom model on the pairs manifest (CoBi loss); torchrun for several processes."""
    from srraw_model import config
    from srraw_model.train import train as run

    saved = out / "config.json"
    if resume and saved.is_file():
        cfg = config.load_resumed(saved, config_path, overrides, preset)
    else:
        cfg = config.load(config_path, overrides, preset)
    if not cfg.manifest:
        raise click.UsageError("--manifest is required (on the command line or in --config)")
    try:
        last = run(cfg, out, resume=resume, progress=progress, stop_after=stop_after)
    except KeyboardInterrupt:  # Ctrl-C before the first step: nothing but the cache to keep
        click.echo("train: SIGINT before training began; nothing to save; run it again", err=True)
        raise SystemExit(130) from None
    if last:
        click.echo(
            " ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in last.items()
            )
        )


@click.command("eval")
@click.option("--manifest", required=True, help=HELP["manifest"])
@click.option(
    "--checkpoint",
    "checkpoint_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Per-pair table, .csv or .parquet.",
)
@click.option("--zoom", type=int, help="Expected zoom factor; refused if the checkpoint's differs.")
@click.option(
    "--split", default="test", show_default=True, type=click.Choice(["train", "val", "test"])
)
@click.option(
    "--dataset-root", type=click.Path(file_okay=False, path_type=Path), help=HELP["dataset_root"]
)
@click.option(
    "--cache-dir", type=click.Path(file_okay=False, path_type=Path), help=HELP["cache_dir"]
)
@click.option("--max-residual-px", type=float, help=HELP["max_residual_px"])
@click.option(
    "--lpips-backbone",
    type=click.Path(dir_okay=False, path_type=Path),
    help="torchvision vgg16 state dict, for LPIPS.",
)
@click.option(
    "--lpips-linear",
    type=click.Path(dir_okay=False, path_type=Path),
    help="LPIPS linear-layer weights (vgg.pth), for LPIPS.",
)
@click.option("--tile", default=128, show_default=True, help=HELP["tile"])
@click.option("--overlap", default=24, show_default=True, help=HELP["overlap"])
@click.option("--device", default="auto", show_default=True, help=HELP["device"])
@click.option("--progress/--no-progress", default=True)
def eval_cmd(
    manifest,
    checkpoint_path,
    out,
    zoom,
    split,
    dataset_root,
    cache_dir,
    max_residual_px,
    lpips_backbone,
    lpips_linear,
    tile,
    overlap,
    device,
    progress,
) -> None:
    """PSNR, SSIM and LPIPS of the model beside bicubic on the test split."""
    from srraw_model.device import pick_device
    from srraw_model.evaluate import evaluate, summary, write_table
    from srraw_model.metrics import LPIPS_MISSING, make_lpips

    lpips = make_lpips(lpips_backbone, lpips_linear)
    table = evaluate(
        manifest,
        checkpoint_path,
        zoom=zoom,
        split=split,
        dataset_root=dataset_root,
        cache_dir=cache_dir,
        max_residual_px=max_residual_px,
        lpips=lpips,
        tile=tile,
        overlap=overlap,
        device=pick_device(device),
        progress=progress,
    )
    if out is not None:
        write_table(table, out)
    click.echo(summary(table).to_string(float_format=lambda v: f"{v:.4f}"))
    if lpips is None:
        click.echo(LPIPS_MISSING, err=True)  # the table's LPIPS column is NaN: say why


@click.command("zoom")
@click.argument("raw", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--checkpoint",
    "checkpoint_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output .png."
)
@click.option("--region", help="x,y,w,h in mosaic pixels (even-aligned); default: the whole frame.")
@click.option(
    "--bits", default=8, show_default=True, type=click.Choice(["8", "16"]), help="PNG bit depth."
)
@click.option("--tile", default=128, show_default=True, help=HELP["tile"])
@click.option("--overlap", default=24, show_default=True, help=HELP["overlap"])
@click.option("--device", default="auto", show_default=True, help=HELP["device"])
@click.option("--progress/--no-progress", default=True, help="tqdm progress over the tiles.")
def zoom_cmd(raw, checkpoint_path, out, region, bits, tile, overlap, device, progress) -> None:
    """Zoom one RAW file with a trained model into a PNG (tiled, WB from its metadata)."""
    from srraw_model.device import pick_device
    from srraw_model.zoom import zoom_file

    w, h = zoom_file(
        raw,
        checkpoint_path,
        out,
        region=region,
        bits=int(bits),
        tile=tile,
        overlap=overlap,
        device=pick_device(device),
        progress=progress,
    )
    click.echo(f"{out}: {w}x{h}, {bits}-bit")
