"""LPIPS, VGG variant (Zhang et al. 2018), defined here; weights from two files the user gives.

- backbone: torchvision's `vgg16` state dict ('features.<i>.weight', ...)
- linear: the LPIPS package's `weights/v0.1/vgg.pth' ('lin<k>.model.1.weight', shape (1, C, 1, 1))
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from srraw.errors import SrrawError
from srraw_model.vgg import load_state_file

VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
LIN_HOW = "get weights/v0.1/vgg.pth from the LPIPS release (github.com/richzhang/PerceptualSimilarity) and pass it with --lpips-linear"
BACKBONE_HOW = (
    f"download torchvision's VGG-16 weights ({VGG16_URL}) and pass the file with --lpips-backbone"
)
# (features index, out, in); a pool precedes the first conv of each block after the first.
VGG16_CONVS = [
    (0, 64, 3),
    (2, 64, 64),
    (5, 128, 64),
    (7, 128, 128),
    (10, 256, 128),
    (12, 256, 256),
    (14, 256, 256),
    (17, 512, 256),
    (19, 512, 512),
    (21, 512, 512),
    (24, 512, 512),
    (26, 512, 512),
    (28, 512, 512),
]
POOL_BEFORE = {5, 10, 17, 24}
TAPS = (2, 7, 14, 21, 28)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)


class LpipsVGG(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleDict(
            {str(i): nn.Conv2d(c_in, c_out, 3, padding=1) for i, c_out, c_in in VGG16_CONVS}
        )
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in (64, 128, 256, 512, 512))
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def features(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = ((rgb * 2 - 1) - self.shift) / self.scale
        taps = []
        for index, _, _ in VGG16_CONVS:
            if index in POOL_BEFORE:
                x = F.max_pool2d(x, 2)
            x = F.relu(self.convs[str(index)](x))
            if index in TAPS:
                taps.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return taps

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Per-image LPIPS distance of sRGB images in [0, 1], (B,)."""
        total = a.new_zeros(a.shape[0])
        for lin, fa, fb in zip(self.lins, self.features(a), self.features(b), strict=True):
            total = total + lin((fa - fb) ** 2).mean(dim=(1, 2, 3))
        return total


def _take(
    state: dict, key: str, shape: tuple[int, ...], path: os.PathLike | str, how: str
) -> torch.Tensor:
    if key not in state:
        raise SrrawError(f"key {key!r} is missing; {how}", path)
    tensor = state[key]
    if tuple(tensor.shape) != shape:
        raise SrrawError(f"{key} has shape {tuple(tensor.shape)}, expected {shape}", path)
    return tensor.float()


def load_lpips(backbone: str | os.PathLike[str], linear: str | os.PathLike[str]) -> LpipsVGG:
    model = LpipsVGG()
    vgg = load_state_file(backbone, "VGG-16 (LPIPS backbone)", BACKBONE_HOW)
    lin = load_state_file(linear, "LPIPS linear", LIN_HOW)
    state = {}
    for index, c_out, c_in in VGG16_CONVS:
        state[f"convs.{index}.weight"] = _take(
            vgg, f"features.{index}.weight", (c_out, c_in, 3, 3), backbone, BACKBONE_HOW
        )
        state[f"convs.{index}.bias"] = _take(
            vgg, f"features.{index}.bias", (c_out,), backbone, BACKBONE_HOW
        )
    for k, c in enumerate((64, 128, 256, 512, 512)):
        state[f"lins.{k}.weight"] = _take(
            lin, f"lin{k}.model.1.weight", (1, c, 1, 1), linear, LIN_HOW
        )
    model.load_state_dict(state, strict=False)
    return model
