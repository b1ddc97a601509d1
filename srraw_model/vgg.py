"""VGG-19 features defined here, weights from a file in torchvision's `vgg19` state-dict layout.

Nothing is downloaded: the user points to the file (--vgg-weights). Only the convolutions up to
the deepest layer asked for are built and loaded; other keys in the file (deeper layers, the
classifier) are ignored, so a full torchvision file and a truncated one both work.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from srraw.errors import SrrawError
from srraw_model.checkpoint import load_problem

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
GET_WEIGHTS = (
    f"download torchvision's VGG-19 weights ({VGG19_URL}) and pass the file with --vgg-weights"
)

# torchvision vgg19 `features` indices of each convolution, and its (out, in) channels.
VGG19_CONVS: dict[str, tuple[int, int, int]] = {
    "conv1_1": (0, 64, 3),
    "conv1_2": (2, 64, 64),
    "conv2_1": (5, 128, 64),
    "conv2_2": (7, 128, 128),
    "conv3_1": (10, 256, 128),
    "conv3_2": (12, 256, 256),
    "conv3_3": (14, 256, 256),
    "conv3_4": (16, 256, 256),
    "conv4_1": (19, 512, 256),
    "conv4_2": (21, 512, 512),
    "conv4_3": (23, 512, 512),
    "conv4_4": (25, 512, 512),
    "conv5_1": (28, 512, 512),
    "conv5_2": (30, 512, 512),
    "conv5_3": (32, 512, 512),
    "conv5_4": (34, 512, 512),
}
PAPER_LAYERS = ("conv1_2", "conv2_2", "conv3_2")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _stride(name: str) -> int:
    return 2 ** (int(name[4]) - 1)


class VGG19Features(nn.Module):
    """Post-ReLU activations of the named VGG-19 convolutions, for sRGB input in [0, 1]."""

    def __init__(self, layers: Sequence[str] = PAPER_LAYERS) -> None:
        super().__init__()
        unknown = [name for name in layers if name not in VGG19_CONVS]
        if unknown:
            raise ValueError(f"unknown VGG-19 layers {unknown}")
        self.layers = tuple(layers)
        last = max(VGG19_CONVS[name][0] for name in layers)
        self.convs = nn.ModuleDict()
        for index, out_ch, in_ch in VGG19_CONVS.values():
            if index <= last:
                self.convs[str(index)] = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def strides(self) -> dict[str, int]:
        return {name: _stride(name) for name in self.layers}

    def forward(self, rgb: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (rgb - self.mean) / self.std
        wanted = {VGG19_CONVS[name][0]: name for name in self.layers}
        out: dict[str, torch.Tensor] = {}
        previous_block = 1
        for name, (index, _, _) in VGG19_CONVS.items():
            if str(index) not in self.convs:
                break
            block = int(name[4])
            if block != previous_block:
                x = F.max_pool2d(x, 2)
                previous_block = block
            x = F.relu(self.convs[str(index)](x))
            if index in wanted:
                out[wanted[index]] = x
        return out


def load_state_file(path: str | os.PathLike[str], what: str, how: str) -> dict:
    """A state dict from a torch file (weights only, never arbitrary pickles)."""
    path = Path(path)
    if not path.is_file():
        raise SrrawError(f"{what} weights file is missing; {how}", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise SrrawError(f"{what} weights: {load_problem(path, exc)}; {how}", path) from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise SrrawError("not a state dict", path)
    return state


def load_vgg19(
    path: str | os.PathLike[str] | None, layers: Sequence[str] = PAPER_LAYERS
) -> VGG19Features:
    """VGG-19 features with weights from torchvision's layout ('features.<i>.weight', ...)."""
    if path is None:
        raise SrrawError(f"CoBi_VGG needs VGG-19 weights: {GET_WEIGHTS} (or --cobi-vgg 0)")
    state = load_state_file(path, "VGG-19", GET_WEIGHTS)
    model = VGG19Features(layers)
    mine = {}
    for index, conv in model.convs.items():
        for part in ("weight", "bias"):
            key = f"features.{index}.{part}"
            if key not in state:
                raise SrrawError(
                    f"not torchvision's vgg19 layout: key {key!r} is missing; {GET_WEIGHTS}", path
                )
            tensor = state[key]
            expected = getattr(conv, part).shape
            if tuple(tensor.shape) != tuple(expected):
                raise SrrawError(
                    f"{key} has shape {tuple(tensor.shape)}, expected {tuple(expected)} "
                    "(not VGG-19?)",
                    path,
                )
            mine[f"convs.{index}.{part}"] = tensor.float()
    model.load_state_dict(mine, strict=False)
    return model
