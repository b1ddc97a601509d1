"""The output's colour, in torch: linear camera RGB -> WB (frame L's gains), matrix, sRGB curve."""

from __future__ import annotations

import torch

from srraw_model.inputs import outputs_linear


def srgb_encode(linear: torch.Tensor) -> torch.Tensor:
    """Linear -> sRGB-encoded; clipped at 1, the linear segment extended below 0.

    Keeping negative values linear (not clamped) leaves the network a gradient there.
    """
    x = linear.clamp(max=1.0)
    curve = 1.055 * x.clamp(min=0.0031308).pow(1 / 2.4) - 0.055
    return torch.where(x <= 0.0031308, 12.92 * x, curve)


def finish(cam: torch.Tensor, wb: torch.Tensor, ccm: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) camera RGB, (B, 3) gains, (B, 3, 3) matrices -> sRGB-encoded."""
    lin = cam * wb[:, :, None, None]
    lin = torch.einsum("bij,bjhw->bihw", ccm, lin)
    return srgb_encode(lin)


def to_srgb(output: torch.Tensor, kind: str, wb: torch.Tensor, ccm: torch.Tensor) -> torch.Tensor:
    """The network output as sRGB for the loss and for viewing, whatever the input kind."""
    if outputs_linear(kind):
        return finish(output, wb.to(output), ccm.to(output))
    return output
