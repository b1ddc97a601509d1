"""Image quality: PSNR and SSIM (nothing needed), LPIPS (backbone and linear weights from files)."""

from __future__ import annotations

import os

import cv2
import numpy as np

from srraw.errors import SrrawError


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB of two images of the same shape."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5), averaged over channels."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    # Drop the border the window does not fully cover, as the reference implementation does.
    return float(np.mean((num / den)[5:-5, 5:-5]))


class Lpips:
    """LPIPS (VGG variant): torchvision vgg16 weights + the LPIPS linear-layer weights file."""

    def __init__(self, backbone: str | os.PathLike[str], linear: str | os.PathLike[str]) -> None:
        from srraw_model.lpips import load_lpips

        self.model = load_lpips(backbone, linear)

    def __call__(self, a: np.ndarray, b: np.ndarray) -> float:
        import torch

        def tensor(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(x, np.float32).transpose(2, 0, 1))[None]

        with torch.no_grad():
            return float(self.model(tensor(a), tensor(b)))


LPIPS_MISSING = (
    "eval: LPIPS is NaN: it needs two weight files, torchvision's VGG-16 (vgg16-397923af.pth, "
    "--lpips-backbone) and the LPIPS release's linear layers (weights/v0.1/vgg.pth, "
    "--lpips-linear); nothing is downloaded"
)


def make_lpips(
    backbone: str | os.PathLike[str] | None, linear: str | os.PathLike[str] | None
) -> Lpips | None:
    """LPIPS when both files are given, None when neither is, one-line error when only one is."""
    if backbone is None and linear is None:
        return None
    if backbone is None or linear is None:
        raise SrrawError("LPIPS needs both --lpips-backbone (vgg16) and --lpips-linear files")
    return Lpips(backbone, linear)
