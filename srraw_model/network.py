"""The paper's network: residual blocks at the packed resolution, then log2(Z)+1 x2 up-stages.

Input: (B, C, h, w) packed (C = 4 for RAW, 12 for space-to-depth RGB). Output: (B, 3, 2Zh, 2Zw).
Width, depth and the up-sampling type are configurable; the paper's is 16 blocks.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

UPSAMPLERS = ("deconv", "pixelshuffle", "nearest")


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """What defines the architecture (saved in checkpoints)."""

    zoom: int = 4
    in_channels: int = 4
    width: int = 64
    blocks: int = 16
    upsample: str = "deconv"
    # Adds the input, demosaiced by bilinear interpolation at each sample's true position, to the
    # output: the network then learns a residual. Not in the paper; off by default.
    input_skip: bool = False
    # (row, col) of R, G1, B, G2 in the 2x2 tile (the training camera's CFA), for input_skip.
    cfa_offsets: tuple[tuple[int, int], ...] = ((0, 0), (0, 1), (1, 1), (1, 0))


class ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class UpStage(nn.Module):
    """One x2 up-convolution stage."""

    def __init__(self, width: int, kind: str) -> None:
        super().__init__()
        self.kind = kind
        if kind == "deconv":
            self.up = nn.ConvTranspose2d(width, width, 2, stride=2)
        elif kind == "pixelshuffle":
            self.up = nn.Sequential(nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2))
        elif kind == "nearest":
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, width, 3, padding=1)
            )
        else:
            raise ValueError(f"unknown upsample {kind!r}; expected one of {', '.join(UPSAMPLERS)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.up(x))


class ZoomNet(nn.Module):
    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        if cfg.zoom < 1 or 2 ** round(math.log2(cfg.zoom)) != cfg.zoom:
            raise ValueError(f"zoom must be a power of two, got {cfg.zoom}")
        self.cfg = cfg
        self.head = nn.Conv2d(cfg.in_channels, cfg.width, 3, padding=1)
        self.body = nn.Sequential(*(ResBlock(cfg.width) for _ in range(cfg.blocks)))
        self.body_out = nn.Conv2d(cfg.width, cfg.width, 3, padding=1)
        stages = round(math.log2(cfg.zoom)) + 1  # packed input: 2Z in all
        self.up = nn.Sequential(*(UpStage(cfg.width, cfg.upsample) for _ in range(stages)))
        self.tail = nn.Conv2d(cfg.width, 3, 3, padding=1)

    @property
    def factor(self) -> int:
        return 2 * self.cfg.zoom

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.relu(self.head(x))
        feat = feat + self.body_out(self.body(feat))
        out = self.tail(self.up(feat))
        if self.cfg.input_skip:
            out = out + base_rgb(x, self.cfg.zoom, self.cfg.cfa_offsets)
        return out


def _sample_plane(plane: torch.Tensor, zoom: int, row: int, col: int) -> torch.Tensor:
    """Bilinear interpolation of one packed plane (B, 1, h, w), whose samples sit at mosaic
    (2i + row, 2j + col), onto the output grid: output u centred on mosaic (u + .5)/Z - .5."""
    b, _, h, w = plane.shape
    u = (torch.arange(2 * zoom * w, dtype=plane.dtype, device=plane.device) + 0.5) / zoom - 0.5
    v = (torch.arange(2 * zoom * h, dtype=plane.dtype, device=plane.device) + 0.5) / zoom - 0.5
    gx = ((u - col) / 2 + 0.5) / w * 2 - 1  # grid_sample, align_corners=False
    gy = ((v - row) / 2 + 0.5) / h * 2 - 1
    grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), dim=-1).expand(b, -1, -1, -1)
    return F.grid_sample(plane, grid, mode="bilinear", padding_mode="border", align_corners=False)


def base_rgb(x: torch.Tensor, zoom: int, offsets: tuple[tuple[int, int], ...]) -> torch.Tensor:
    """Bilinear demosaic + upsampling of the input, each sample at its true position.

    4 channels: R, (G1 + G2)/2, B of the packed mosaic; 12: the 2x2 RGB block's four pixels.
    """
    if x.shape[1] == 4:
        planes = [_sample_plane(x[:, c : c + 1], zoom, *offsets[c]) for c in range(4)]
        return torch.cat([planes[0], 0.5 * (planes[1] + planes[3]), planes[2]], dim=1)
    blocks = ((0, 0), (0, 1), (1, 0), (1, 1))
    rgb = 0
    for k, (row, col) in enumerate(blocks):
        rgb = rgb + torch.cat(
            [_sample_plane(x[:, 3 * k + c : 3 * k + c + 1], zoom, row, col) for c in range(3)],
            dim=1,
        )
    return rgb / 4


def receptive_radius(cfg: NetConfig) -> int:
    """Packed pixels of context each output pixel depends on (bounds the tile overlap needed)."""
    return 1 + 2 * cfg.blocks + 1 + 2  # head, blocks, body_out, up-stages and tail (< 1 each)
