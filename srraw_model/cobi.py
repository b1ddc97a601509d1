"""Contextual bilateral loss (CoBi), exact on any size: chunked, recomputed in backward.

Two variants over source points p_i (i < N, from the output) and target points q_j (j < M):

- `paper`, equation (2): 1/N sum_i min_j (D(p_i, q_j) + w_s D'(i, j)), D' the Euclidean distance
  of the points' positions. The min is searched chunk by chunk without a graph; the loss is then
  recomputed on the N chosen pairs only, which gives the exact value and the exact (sub)gradient
  torch.min would, in O(chunk x M) memory.
- `contextual`, the contextual loss of the original release (CX/CSFlow.py, `CX_loss`) and of
  Mechrez et al. 2018, CX(X, Y): distances normalised by each output point's nearest target
  (D / (min_j D + eps)), similarities exp((1 - D~) / h) normalised over the target points j for
  each output point i, the same for positions (squared distance of coordinates normalised per
  axis, x / W * 255 and y / H * 255 as the release), mixed (1 - w_s) feature + w_s spatial; then
  for each TARGET point j the max over output points i, the mean over j and -log:
  -log(1/M sum_j max_i cx_ij). The similarities are row-wise in i, so rows are processed in
  chunks under activation checkpointing, each chunk giving its per-target maxima; backward
  recomputes one chunk at a time, memory O(chunk x M).

D is `l2` (mean squared difference over channels) or `cosine` (features centred by the target's
mean, unit-normalised, 1 - cosine), the original's choice for VGG features. Positions are in
image pixels divided by the output's larger side (the paper variant's D'), so w_s means the same
at every feature level; the contextual variant rescales them per axis.
No random subsampling unless `sample` is set (the original release's 63 x 63 points).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

VARIANTS = ("paper", "contextual")
DISTANCES = ("l2", "cosine")
EPS = 1e-5
SPATIAL_SCALE = 255.0  # the release's coordinates: column / W * 255, row / H * 255
SPATIAL_EPS = 1e-3  # the release's epsilon of the relative distance (calc_relative_distances)


@dataclasses.dataclass(frozen=True)
class CoBiConfig:
    variant: str = "paper"
    w_s: float = 0.1
    bandwidth: float = 0.5  # h, contextual variant only
    chunk: int = 1024  # source rows per chunk
    sample: int | None = None  # keep at most sample**2 random points per side


@dataclasses.dataclass(frozen=True)
class PointSet:
    """Feature points of one image: (n, C) features and (n, 2) positions (x, y) in units of the
    output's larger side; `extent` is the output's (width, height) in those units."""

    features: torch.Tensor
    positions: torch.Tensor
    extent: tuple[float, float] = (1.0, 1.0)


def feature_points(
    feat: torch.Tensor, stride: float, offset: float, size: tuple[float, float], margin: float = 0.0
) -> list[PointSet]:
    """(B, C, H, W) feature map -> one PointSet per image; `size` is the output's (width, height)
    in image pixels, the frame both output and target positions are measured in.

    A feature pixel (r, c) lies at image pixel (c * stride + offset - margin, r * stride + ...);
    the margin shifts a target that extends beyond the output so that both share coordinates.
    """
    b, c, h, w = feat.shape
    norm = float(max(size))
    ys = torch.arange(h, dtype=feat.dtype, device=feat.device) * stride + offset - margin
    xs = torch.arange(w, dtype=feat.dtype, device=feat.device) * stride + offset - margin
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2) / norm
    flat = feat.reshape(b, c, h * w).transpose(1, 2)
    extent = (size[0] / norm, size[1] / norm)
    return [PointSet(flat[i], grid, extent) for i in range(b)]


def pairwise(p: torch.Tensor, q: torch.Tensor, distance: str) -> torch.Tensor:
    """(k, C), (M, C) -> (k, M) distances; features already prepared by `prepare`."""
    if distance == "cosine":
        return 1.0 - p @ q.T
    if distance == "l2":
        sq = (p * p).sum(1, keepdim=True) + (q * q).sum(1)[None, :] - 2.0 * (p @ q.T)
        return sq.clamp_min(0.0) / p.shape[1]
    raise ValueError(f"unknown distance {distance!r}; expected one of {', '.join(DISTANCES)}")


def paired(p: torch.Tensor, q: torch.Tensor, distance: str) -> torch.Tensor:
    """Distance of row i of p to row i of q, (n,)."""
    if distance == "cosine":
        return 1.0 - (p * q).sum(1)
    return ((p - q) ** 2).mean(1)


def prepare(src: PointSet, tgt: PointSet, distance: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine: centre both by the target's mean and unit-normalise; l2: as they are."""
    p, q = src.features, tgt.features
    if distance == "cosine":
        mu = q.mean(0, keepdim=True)
        p = F.normalize(p - mu, dim=1)
        q = F.normalize(q - mu, dim=1)
    return p, q


def subsample(points: PointSet, count: int | None, generator: torch.Generator | None) -> PointSet:
    n = points.features.shape[0]
    if count is None or n <= count:
        return points
    idx = torch.randperm(n, generator=generator, device="cpu")[:count].to(points.features.device)
    return PointSet(points.features[idx], points.positions[idx], points.extent)


# --- paper variant ---------------------------------------------------------------------------


def _paper_one(src: PointSet, tgt: PointSet, distance: str, w_s: float, chunk: int) -> torch.Tensor:
    p, q = prepare(src, tgt, distance)
    n, channels = p.shape
    best = torch.empty(n, dtype=torch.long, device=p.device)
    with torch.no_grad():
        # argmin only: drop the terms constant in j and fold the scale into w_s, in place.
        q_sq = (q * q).sum(1) if distance == "l2" else None
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            if distance == "l2":  # C * D = |q|^2 - 2 p.q + |p|^2 (the last is constant in j)
                cost = torch.addmm(q_sq[None, :], p[start:stop], q.T, alpha=-2.0)
                scale = channels
            else:  # D = 1 - p.q
                cost = torch.mm(p[start:stop], q.T).neg_()
                scale = 1
            if w_s:
                spatial = torch.cdist(src.positions[start:stop], tgt.positions)
                cost.add_(spatial, alpha=w_s * scale)
            best[start:stop] = cost.argmin(1)
    # Recompute on the chosen pairs only: the exact value and torch.min's gradient.
    cost = paired(p, q[best], distance)
    if w_s:
        cost = cost + w_s * (src.positions - tgt.positions[best]).norm(dim=1)
    return cost.mean()


def _paper_naive(src: PointSet, tgt: PointSet, distance: str, w_s: float) -> torch.Tensor:
    p, q = prepare(src, tgt, distance)
    cost = pairwise(p, q, distance) + w_s * torch.cdist(src.positions, tgt.positions)
    return cost.min(1).values.mean()


# --- contextual variant ----------------------------------------------------------------------


def _cx_similarity(dist: torch.Tensor, bandwidth: float, eps: float) -> torch.Tensor:
    """Row i: exp((1 - d_ij / (min_j d_ij + eps)) / h), normalised over j."""
    rel = dist / (dist.min(1, keepdim=True).values + eps)
    return torch.softmax((1.0 - rel) / bandwidth, dim=1)  # = exp(...) / sum_j exp(...)


def axis_positions(points: PointSet) -> torch.Tensor:
    """Positions normalised per axis as the release's grid: x / W * 255, y / H * 255."""
    return points.positions / points.positions.new_tensor(points.extent) * SPATIAL_SCALE


def _cx_target_max(
    p: torch.Tensor,
    q: torch.Tensor,
    pos_p: torch.Tensor,
    pos_q: torch.Tensor,
    distance: str,
    w_s: float,
    bandwidth: float,
) -> torch.Tensor:
    """(M,): for each target point j, the max of cx_ij over these output rows i."""
    cx = _cx_similarity(pairwise(p, q, distance), bandwidth, EPS)
    if w_s:
        # Squared distance, computed by differences: cdist's matrix form is not exactly 0 at
        # coinciding points, which the release's small epsilon would turn into a large error.
        sq = (pos_p[:, None, :] - pos_q[None, :, :]).pow(2).sum(-1)
        cx = (1.0 - w_s) * cx + w_s * _cx_similarity(sq, bandwidth, SPATIAL_EPS)
    return cx.max(0).values


def _contextual_one(
    src: PointSet,
    tgt: PointSet,
    distance: str,
    w_s: float,
    bandwidth: float,
    chunk: int,
    naive: bool = False,
) -> torch.Tensor:
    p, q = prepare(src, tgt, distance)
    pos_p, pos_q = axis_positions(src), axis_positions(tgt)
    n = p.shape[0]
    step = n if naive else chunk
    maxima = []
    for start in range(0, n, step):
        stop = min(n, start + step)
        args = (p[start:stop], q, pos_p[start:stop], pos_q)
        if not naive and torch.is_grad_enabled() and (p.requires_grad or q.requires_grad):
            part = checkpoint(_cx_target_max, *args, distance, w_s, bandwidth, use_reentrant=False)
        else:
            part = _cx_target_max(*args, distance, w_s, bandwidth)
        maxima.append(part)
    # cx_ij > 0 after the softmax, so the mean of the maxima is too: no epsilon in the log.
    return -torch.log(torch.stack(maxima).max(0).values.mean())


# --- public ----------------------------------------------------------------------------------


def cobi_points(
    sources: list[PointSet],
    targets: list[PointSet],
    cfg: CoBiConfig,
    distance: str,
    *,
    naive: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Mean CoBi over a batch of (source, target) point sets."""
    if cfg.variant not in VARIANTS:
        raise ValueError(f"unknown CoBi variant {cfg.variant!r}; expected one of {VARIANTS}")
    losses = []
    count = cfg.sample * cfg.sample if cfg.sample else None
    for src, tgt in zip(sources, targets, strict=True):
        src = subsample(src, count, generator)
        tgt = subsample(tgt, count, generator)
        if cfg.variant == "paper":
            loss = (
                _paper_naive(src, tgt, distance, cfg.w_s)
                if naive
                else _paper_one(src, tgt, distance, cfg.w_s, cfg.chunk)
            )
        else:
            loss = _contextual_one(
                src, tgt, distance, cfg.w_s, cfg.bandwidth, cfg.chunk, naive=naive
            )
        losses.append(loss)
    return torch.stack(losses).mean()


def rgb_patches(image: torch.Tensor, n: int, stride: int) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 3 n^2, H', W') n x n patches every `stride` pixels."""
    b, c, h, w = image.shape
    cols = F.unfold(image, n, stride=stride)
    return cols.view(b, c * n * n, (h - n) // stride + 1, (w - n) // stride + 1)


def cobi_rgb(
    output: torch.Tensor,
    target: torch.Tensor,
    cfg: CoBiConfig,
    *,
    patch: int,
    stride: int,
    margin: int = 0,
    naive: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """CoBi_RGB over n x n RGB patches, l2 distance. Target may be larger by `margin` px a side."""
    size = (output.shape[-1], output.shape[-2])
    centre = (patch - 1) / 2
    src = feature_points(rgb_patches(output, patch, stride), stride, centre, size)
    tgt = feature_points(rgb_patches(target, patch, stride), stride, centre, size, margin)
    return cobi_points(src, tgt, cfg, "l2", naive=naive, generator=generator)
