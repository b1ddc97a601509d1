"""The training loss, equation (3): CoBi_RGB(n x n patches) + lambda CoBi_VGG (+ optional L1).

Both images are sRGB in [0, 1]; the target may extend `margin` px beyond the output on each side.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from srraw_model.cobi import CoBiConfig, cobi_points, cobi_rgb, feature_points
from srraw_model.vgg import PAPER_LAYERS, VGG19Features


def default_patch(zoom: int) -> int:
    """The paper's optimal n: 10 at 4X, 15 at 8X; x1.5 per doubling elsewhere."""
    return max(3, round(10 * (zoom / 4) ** 0.585))


@dataclasses.dataclass(frozen=True)
class LossConfig:
    cobi: CoBiConfig = dataclasses.field(default_factory=CoBiConfig)
    rgb: float = 1.0  # weight of CoBi_RGB
    rgb_patch: int | None = None  # n; None: default_patch(zoom)
    rgb_stride: int = 2
    vgg: float = 1.0  # lambda; 0 trains with CoBi_RGB alone
    vgg_layers: tuple[str, ...] = PAPER_LAYERS
    l1: float = 0.0  # pixel L1 on the margin-free centre (only for well-aligned data)


class ZoomLoss(nn.Module):
    def __init__(self, cfg: LossConfig, zoom: int, vgg: VGG19Features | None = None) -> None:
        super().__init__()
        if cfg.vgg > 0 and vgg is None:
            raise ValueError("CoBi_VGG asked for but no VGG-19 given")
        self.cfg = cfg
        self.patch = cfg.rgb_patch or default_patch(zoom)
        self.vgg = vgg if cfg.vgg > 0 else None

    def forward(
        self,
        output: torch.Tensor,
        target: torch.Tensor,
        margin: int = 0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.cfg
        parts: dict[str, torch.Tensor] = {}
        if cfg.rgb > 0:
            parts["cobi_rgb"] = cfg.rgb * cobi_rgb(
                output,
                target,
                cfg.cobi,
                patch=self.patch,
                stride=cfg.rgb_stride,
                margin=margin,
                generator=generator,
            )
        if self.vgg is not None:
            size = (output.shape[-1], output.shape[-2])
            fo, ft = self.vgg(output), self.vgg(target)
            total = output.new_zeros(())
            for name, stride in self.vgg.strides().items():
                offset = (stride - 1) / 2
                src = feature_points(fo[name], stride, offset, size)
                tgt = feature_points(ft[name], stride, offset, size, margin)
                total = total + cobi_points(src, tgt, cfg.cobi, "cosine", generator=generator)
            parts["cobi_vgg"] = cfg.vgg * total / len(self.vgg.layers)
        if cfg.l1 > 0:
            h, w = output.shape[-2:]
            centre = target[..., margin : margin + h, margin : margin + w]
            parts["l1"] = cfg.l1 * (output - centre).abs().mean()
        loss = sum(parts.values(), output.new_zeros(()))
        return loss, {k: float(v.detach()) for k, v in parts.items()}
