"""The training loop: crops -> ZoomNet -> colour finish -> CoBi; validation, logs, checkpoints.

Single process, or one process per device under `torchrun` (DDP; gloo on CPU, nccl on GPUs).
Every random choice derives from (seed, epoch, item) or (seed, step), and the checkpoint holds
the model, optimiser, scheduler, step and RNG states, so `--resume` continues exactly.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from srraw.errors import SrrawError
from srraw.files import atomic_write_bytes
from srraw_model import cache as cache_mod
from srraw_model import checkpoint
from srraw_model.cobi import CoBiConfig
from srraw_model.color import to_srgb
from srraw_model.config import TrainConfig, to_dict
from srraw_model.dataset import PairCrops, default_cache_dir, whole_box
from srraw_model.device import check_amp, pick_device
from srraw_model.geometry import mosaic_on_grid
from srraw_model.infer import infer
from srraw_model.inputs import in_channels
from srraw_model.interrupt import Abandon, Interrupted, StopSignals
from srraw_model.losses import LossConfig, ZoomLoss
from srraw_model.metrics import psnr, ssim
from srraw_model.network import NetConfig, ZoomNet
from srraw_model.pairs import check_files_exist, load_pairs

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
LOG = "metrics.jsonl"


def net_config(cfg: TrainConfig, cfa: str = "RGGB") -> NetConfig:
    from srraw.cfa import channel_offsets

    return NetConfig(
        zoom=cfg.zoom,
        in_channels=in_channels(cfg.input),
        width=cfg.width,
        blocks=cfg.blocks,
        upsample=cfg.upsample,
        input_skip=cfg.input_skip,
        cfa_offsets=channel_offsets(cfa),
    )


def loss_config(cfg: TrainConfig) -> LossConfig:
    return LossConfig(
        cobi=CoBiConfig(
            variant=cfg.cobi_variant,
            w_s=cfg.w_s,
            bandwidth=cfg.bandwidth,
            chunk=cfg.cobi_chunk,
            sample=cfg.cobi_sample,
        ),
        rgb=cfg.cobi_rgb,
        rgb_patch=cfg.rgb_patch,
        rgb_stride=cfg.rgb_stride,
        vgg=cfg.cobi_vgg,
        l1=cfg.l1,
    )


class Dist:
    """Rank, world size and the process group when run under torchrun."""

    def __init__(self, device: torch.device) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", 1))
        self.rank = int(os.environ.get("RANK", 0))
        self.active = self.world > 1
        if self.active and not dist.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group(backend)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


def cosine_lr(cfg: TrainConfig):
    def factor(step: int) -> float:
        t = min(1.0, step / max(1, cfg.steps))
        return cfg.lr_final + (1 - cfg.lr_final) * 0.5 * (1 + math.cos(math.pi * t))

    return factor


class Log:
    """metrics.jsonl (appended, one JSON object a line) and TensorBoard when installed."""

    def __init__(self, out: Path, resume_step: int | None, enabled: bool) -> None:
        self.path = out / LOG
        self.enabled = enabled
        self.tb = None
        if not enabled:
            return
        if resume_step is not None and self.path.is_file():
            # Lines written after the checkpoint we resume from would be repeated: drop them.
            keep = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resume_step
            ]
            atomic_write_bytes(self.path, "".join(f"{line}\n" for line in keep).encode())
        elif self.path.exists():
            self.path.unlink()
        with contextlib.suppress(Exception):
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tb"))

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, int | float):
                    self.tb.add_scalar(key, value, record["step"])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def evaluate_pairs(
    model: torch.nn.Module,
    cached: list[cache_mod.CachedPair],
    cfg: TrainConfig,
    device: torch.device,
    baselines: dict[str, tuple[float, float]] | None = None,
    border: int | None = None,
) -> dict[str, float]:
    """Mean PSNR / SSIM of the model and of bicubic over whole pair boxes."""
    factor = 2 * cfg.zoom
    border = factor if border is None else border
    scores: dict[str, list[float]] = {
        "psnr": [],
        "ssim": [],
        "bicubic_psnr": [],
        "bicubic_ssim": [],
    }
    for cp in cached:
        item = whole_box(cp, cfg.input)
        target = item["target"].astype(np.float32) / 255.0
        out = infer(
            model,
            item["input"],
            cfg.input,
            cp.pair.wb,
            cp.pair.ccm(),
            factor=factor,
            tile=cfg.tile,
            overlap=cfg.overlap,
            device=device,
        )
        crop = (slice(border, -border), slice(border, -border))
        scores["psnr"].append(psnr(out[crop], target[crop]))
        scores["ssim"].append(ssim(out[crop], target[crop]))
        key = cp.pair.name
        if baselines is not None and key in baselines:
            b_psnr, b_ssim = baselines[key]
        else:
            size = (target.shape[1], target.shape[0])
            bic = np.clip(mosaic_on_grid(item["baseline"], cfg.zoom, 0, 0, size), 0, 1)
            b_psnr, b_ssim = psnr(bic[crop], target[crop]), ssim(bic[crop], target[crop])
            if baselines is not None:
                baselines[key] = (b_psnr, b_ssim)
        scores["bicubic_psnr"].append(b_psnr)
        scores["bicubic_ssim"].append(b_ssim)
    return {k: float(np.mean(v)) for k, v in scores.items()}


def say(text: str) -> None:
    """One line to stderr beside the progress bar (rank 0 only)."""
    from tqdm import tqdm

    if int(os.environ.get("RANK", 0)) == 0:
        tqdm.write(f"train: {text}", file=sys.stderr)


def first_step_line(cfg: TrainConfig, device: torch.device, seconds: float, left: int) -> str:
    """How long the first step took and what that means for the rest of this invocation."""
    eta = seconds * left
    pace = f"{eta / 3600:.1f} h" if eta >= 3600 else f"{eta / 60:.1f} min"
    line = f"first step {seconds:.2f} s on {device}; {left} more at this pace ~ {pace}"
    if device.type == "cpu" and eta > 3600:
        line += " (on a CPU, --preset laptop trains in minutes)"
    return line


def check_same_network(state: dict, net_cfg: NetConfig, path: Path) -> None:
    """A checkpoint of another network shape: one line naming the setting, not a size mismatch."""
    saved = state["net"]
    for key, value in net_cfg.__dict__.items():
        old = saved.get(key)
        if key == "cfa_offsets":
            old, value = [list(o) for o in old or ()], [list(o) for o in value]
        if old != value:
            raise SrrawError(f"checkpoint's network has {key} {old!r}, not {value!r}", path)


def _make_vgg(cfg: TrainConfig):
    if cfg.cobi_vgg <= 0:
        return None
    from srraw_model.vgg import load_vgg19

    return load_vgg19(cfg.vgg_weights)


def _cached(pairs, cache_dir: Path, ddp: Dist, progress: bool) -> list[cache_mod.CachedPair]:
    """Rank 0 decodes what is missing; the others wait, then open the entries."""
    if ddp.main:
        cached = cache_mod.prepare(pairs, cache_dir, progress=progress)
    ddp.barrier()
    if not ddp.main:
        cached = cache_mod.prepare(pairs, cache_dir)
    return cached


def train(
    cfg: TrainConfig,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Run (or continue) a training run in `out`; returns the last logged metrics.

    `stop_after` ends this invocation after that many steps (a time-boxed job) with a checkpoint;
    `resume` continues it as if it had never stopped.
    """
    from tqdm import tqdm

    out = Path(out)
    device = pick_device(cfg.device)
    check_amp(cfg.amp, device)
    ddp = Dist(device)
    try:
        return _train(cfg, out, resume, progress and ddp.main, device, ddp, tqdm, stop_after)
    finally:
        ddp.close()


def _train(
    cfg, out: Path, resume: bool, progress: bool, device, ddp: Dist, tqdm, stop_after
) -> dict[str, Any]:
    ckpt_path = out / CHECKPOINT
    state = None
    if resume:
        state = checkpoint.load(ckpt_path, zoom=cfg.zoom)
        if state["input"] != cfg.input:
            raise SrrawError(
                f"checkpoint was trained on --input {state['input']}, not {cfg.input}", ckpt_path
            )
    elif ckpt_path.exists():
        raise SrrawError(
            "already holds a checkpoint; pass --resume to continue it or choose another --out", out
        )
    vgg = _make_vgg(cfg)  # fails fast, before any decoding, when the weights file is missing

    pairs = load_pairs(
        cfg.manifest,
        dataset_root=cfg.dataset_root,
        splits=("train",),
        zoom=cfg.zoom,
        statuses=cfg.statuses,
        max_residual_px=cfg.max_residual_px,
    )
    val_pairs = load_pairs(
        cfg.manifest,
        dataset_root=cfg.dataset_root,
        splits=("val",),
        zoom=cfg.zoom,
        statuses=cfg.statuses,
        max_residual_px=cfg.max_residual_px,
        require=False,
    )[: cfg.val_pairs]
    check_files_exist(pairs + val_pairs)
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir(cfg.manifest)
    if ddp.main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / "config.json", json.dumps(to_dict(cfg), indent=1).encode())
    cached = _cached(pairs, cache_dir, ddp, progress)
    val_cached = _cached(val_pairs, cache_dir, ddp, False) if val_pairs else []

    dataset = PairCrops(
        cached,
        crop=cfg.crop,
        margin=cfg.margin,
        input_kind=cfg.input,
        flips=cfg.flips,
        samples=max(cfg.samples_per_epoch, cfg.batch * ddp.world),
        seed=cfg.seed,
        syn_noise=cfg.syn_noise,
    )
    torch.manual_seed(cfg.seed)
    net_cfg = net_config(cfg, cached[0].pair.cfa)
    model = ZoomNet(net_cfg).to(device)
    loss_fn = ZoomLoss(loss_config(cfg), cfg.zoom, vgg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_lr(cfg))
    step = 0
    best = -math.inf
    best_loss = math.inf  # without a val split, best.pt keeps the lowest mean training loss
    window = [0.0, 0]  # training-loss sum and count since the last validation point
    if state is not None:
        check_same_network(state, net_cfg, ckpt_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        checkpoint.set_rng_state(state["rng"])
        step = int(state["step"])
        best = float(state.get("best_psnr", -math.inf))
        best_loss = float(state.get("best_loss", math.inf))
        window = list(state.get("loss_window", window))
    wrapped = model
    if ddp.active:
        wrapped = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    log = Log(out, step if state is not None else None, ddp.main)
    baselines: dict[str, tuple[float, float]] = {}
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.amp)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp == "fp16")

    def save(path: Path, best_by: str | None = None) -> None:
        checkpoint.save(
            path,
            {
                "net": net_cfg.__dict__,
                "input": cfg.input,
                "config": to_dict(cfg),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "step": step,
                "rng": checkpoint.rng_state(),
                "best_psnr": best,
                "best_loss": best_loss,
                "loss_window": window,
                "best_by": best_by,
            },
        )

    per_epoch = len(dataset) // (cfg.batch * ddp.world)
    end = cfg.steps if stop_after is None else min(cfg.steps, step + stop_after)
    if state is not None and step >= cfg.steps:
        say(f"the run is complete at step {step}; raise --steps to train further")
    if not val_cached:
        say(
            "no pairs in the val split: no validation; best.pt keeps the lowest mean training "
            f"loss over each {cfg.val_every} steps (--val-every)"
        )
    last: dict[str, Any] = {}
    bar = tqdm(total=cfg.steps, initial=step, unit="step", desc="train", disable=not progress)
    wrapped.train()
    t_data = 0.0
    t_last = time.perf_counter()
    first = step
    signals = StopSignals(abandon=not ddp.active)
    with signals:
        while step < end and signals.signum is None:
            epoch, skip = divmod(step, per_epoch)
            dataset.set_epoch(epoch)
            sampler = DistributedSampler(
                dataset, ddp.world, ddp.rank, shuffle=True, seed=cfg.seed, drop_last=True
            )
            sampler.set_epoch(epoch)
            indices = list(sampler)[skip * cfg.batch :]
            loader = DataLoader(
                dataset,
                batch_size=cfg.batch,
                sampler=indices,
                num_workers=cfg.workers,
                drop_last=True,
                persistent_workers=False,
            )
            batches = iter(loader)
            while step < end:
                t0 = time.perf_counter()
                try:
                    # Nothing in here changes the weights: a signal may drop it (single process).
                    with signals.abandonable():
                        batch = next(batches, None)
                        if batch is None:
                            break
                        t_data += time.perf_counter() - t0
                        x = batch["input"].to(device, non_blocking=True)
                        target = batch["target"].to(device, non_blocking=True)
                        with torch.autocast(
                            device.type, dtype=amp_dtype, enabled=amp_dtype is not None
                        ):
                            raw_out = wrapped(x)
                        output = to_srgb(
                            raw_out.float(),
                            cfg.input,
                            batch["wb"].to(device),
                            batch["ccm"].to(device),
                        )
                        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
                        loss, parts = loss_fn(output, target, cfg.margin, gen)
                        optimizer.zero_grad(set_to_none=True)
                        scaler.scale(loss).backward()
                except Abandon:
                    optimizer.zero_grad(set_to_none=True)
                    break
                if cfg.grad_clip:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                step += 1
                bar.update()
                loss_value = float(loss.detach())
                if ddp.active:
                    # The loss mean, and whether any rank was told to stop: all stop together.
                    shared = torch.tensor([loss_value, float(signals.signum is not None)])
                    dist.all_reduce(shared)
                    loss_value = float(shared[0]) / ddp.world
                    if shared[1] > 0 and signals.signum is None:
                        signals.signum = signal.SIGTERM
                if step == first + 1:
                    say(first_step_line(cfg, device, time.perf_counter() - t0, end - step))
                window[0] += loss_value
                window[1] += 1
                if step % cfg.log_every == 0 or step == cfg.steps:
                    now = time.perf_counter()
                    last = {
                        "step": step,
                        "loss": loss_value,
                        **parts,
                        "lr": scheduler.get_last_lr()[0],
                        "sec_per_step": (now - t_last) / cfg.log_every,
                        "data_fraction": t_data / max(1e-9, now - t_last),
                        "world": ddp.world,
                    }
                    t_last, t_data = now, 0.0
                    log.write(last)
                    bar.set_postfix(loss=f"{loss_value:.4f}")
                if step % cfg.val_every == 0 or step == cfg.steps:
                    if val_cached and ddp.main:
                        scores = evaluate_pairs(model, val_cached, cfg, device, baselines)
                        wrapped.train()
                        record = {"step": step, **{f"val_{k}": v for k, v in scores.items()}}
                        log.write(record)
                        last.update(record)
                        if scores["psnr"] > best:
                            best = scores["psnr"]
                            save(out / BEST, "val_psnr")
                    elif not val_cached and window[1]:
                        mean = window[0] / window[1]
                        log.write({"step": step, "train_loss_mean": mean})
                        if mean < best_loss and ddp.main:
                            best_loss = mean
                            save(out / BEST, "train_loss")
                    window = [0.0, 0]
                if ddp.main and (step % cfg.ckpt_every == 0 or step == end):
                    save(out / CHECKPOINT)
                if signals.signum is not None:
                    break
    bar.close()
    if signals.signum is not None:
        if ddp.main:
            save(out / CHECKPOINT)
        log.close()
        raise Interrupted(signals.signum, step, out / CHECKPOINT, out)
    if ddp.active:
        # The replicas must agree; a cheap checksum of every parameter, compared across ranks.
        total = (
            torch.stack([p.detach().double().sum() for p in model.parameters()]).sum().reshape(1)
        )
        gathered = [torch.zeros_like(total) for _ in range(ddp.world)]
        dist.all_gather(gathered, total)
        if ddp.main:
            last["replicas_agree"] = all(bool(torch.equal(g, gathered[0])) for g in gathered)
            log.write({"step": step, "replicas_agree": last["replicas_agree"], "world": ddp.world})
    log.close()
    return last
