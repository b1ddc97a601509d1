"""torch Datasets over pairs.parquet: random training crops and whole-box evaluation items.

Usable on its own::

    ds = PairCrops.from_manifest("data/manifests", split="train", zoom=4, crop=64)
    item = ds[0]   # {'input': (4, 64, 64), 'target': (3, 512, 512), 'wb', 'ccm', ...}
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from srraw_model import cache as cache_mod
from srraw_model.crops import Crop, crop_bounds, mosaic_window, random_crop, target_window
from srraw_model.inputs import INPUT_KINDS, make_input
from srraw_model.pairs import check_files_exist, load_pairs, manifest_paths


def default_cache_dir(manifest: str | os.PathLike[str]) -> Path:
    """Beside the manifests: <manifest folder>/model-cache."""
    return manifest_paths(manifest)[0].parent / "model-cache"


def prepared_pairs(
    manifest: str | os.PathLike[str],
    split: str,
    zoom: int | None,
    dataset_root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    max_residual_px: float | None = None,
    statuses: Sequence[str] = ("ok", "flagged"),
):
    """The split's pairs from the manifests, files checked, decoded once into the cache."""
    pairs = load_pairs(
        manifest,
        dataset_root=dataset_root,
        splits=(split,),
        zoom=zoom,
        statuses=statuses,
        max_residual_px=max_residual_px,
    )
    check_files_exist(pairs)
    return cache_mod.prepare(pairs, cache_dir or default_cache_dir(manifest))


def _chw(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _colour(pair) -> dict[str, torch.Tensor]:
    return {
        "wb": torch.tensor(pair.wb, dtype=torch.float32),
        "ccm": torch.tensor(pair.ccm(), dtype=torch.float32),
    }


class PairCrops(Dataset):
    """Random crops of cached pairs: `samples` items per epoch, pair k % n for item k.

    Each item's crop and flips come from (seed, epoch, k) alone, so a run is reproducible and
    resumable whatever the number of loader workers or processes.
    """

    def __init__(
        self,
        pairs: Sequence[cache_mod.CachedPair],
        *,
        crop: int = 64,
        margin: int = 0,
        input_kind: str = "raw",
        flips: bool = True,
        samples: int | None = None,
        seed: int = 0,
        syn_noise: float = 0.02,
    ) -> None:
        if input_kind not in INPUT_KINDS:
            raise ValueError(f"unknown input kind {input_kind!r}")
        if not pairs:
            raise ValueError("no pairs")
        zoom = pairs[0].pair.zoom
        usable = []
        for cp in pairs:
            h, w = cp.mosaic.shape[:2]
            if crop_bounds(w, h, crop, margin, zoom)[0] >= 0:
                usable.append(cp)
        if not usable:
            from srraw.errors import SrrawError

            raise SrrawError(
                f"no pair's box holds a {crop} px packed crop with a {margin} px margin; "
                "use a smaller --crop"
            )
        self.pairs = usable
        self.zoom = zoom
        self.crop = crop
        self.margin = margin
        self.input_kind = input_kind
        self.flips = flips
        self.samples = samples if samples is not None else len(usable)
        self.seed = seed
        self.epoch = 0
        self.syn_noise = syn_noise

    @classmethod
    def from_manifest(
        cls,
        manifest: str | os.PathLike[str],
        *,
        split: str = "train",
        zoom: int = 4,
        dataset_root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        max_residual_px: float | None = None,
        statuses: Sequence[str] = ("ok", "flagged"),
        **kwargs,
    ) -> PairCrops:
        cached = prepared_pairs(
            manifest, split, zoom, dataset_root, cache_dir, max_residual_px, statuses
        )
        return cls(cached, **kwargs)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.samples

    def item_crop(self, index: int, rng: np.random.Generator) -> tuple[int, Crop]:
        which = index % len(self.pairs)
        cp = self.pairs[which]
        h, w = cp.mosaic.shape[:2]
        crop = random_crop(rng, w, h, self.crop, self.margin, self.zoom, self.flips)
        return which, crop

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        which, crop = self.item_crop(index, rng)
        cp = self.pairs[which]
        p = cp.pair
        mosaic = mosaic_window(cp.mosaic, crop)
        rgb_l = mosaic_window(cp.rgb_l, crop)
        x = make_input(
            self.input_kind,
            mosaic,
            rgb_l,
            p.cfa,
            p.black_levels,
            p.white_level,
            p.wb,
            p.ccm(),
            rng=rng,
            train=True,
            syn_noise=self.syn_noise,
        )
        target = target_window(cp.target, crop, self.zoom, self.margin)
        return {
            "input": _chw(x),
            "target": _chw(target.astype(np.float32) / 255.0),
            "pair": torch.tensor(which),
            **_colour(p),
        }


def whole_box(cp: cache_mod.CachedPair, input_kind: str) -> dict[str, np.ndarray]:
    """The whole box of a pair: network input (h, w, C), target (Z*2h, Z*2w, 3) uint8 and the
    mosaic-grid RGB the bicubic baseline starts from."""
    from srraw_model.inputs import baseline_rgb

    p = cp.pair
    mosaic = np.asarray(cp.mosaic)
    rgb_l = np.asarray(cp.rgb_l)
    args = (mosaic, rgb_l, p.cfa, p.black_levels, p.white_level, p.wb, p.ccm())
    return {
        "input": make_input(input_kind, *args, train=False),
        "target": np.asarray(cp.target),
        "baseline": baseline_rgb(input_kind, *args),
    }
