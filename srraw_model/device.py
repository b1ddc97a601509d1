"""Which torch device a command runs on, refused in one line when this machine cannot give it."""

from __future__ import annotations

import os

import torch

from srraw.errors import SrrawError


def pick_device(name: str) -> torch.device:
    """'auto' (this process's GPU under torchrun, else the first, else the CPU), 'cpu', 'cuda[:i]'."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise SrrawError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch is a CPU build" if torch.version.cuda is None else "no GPU is visible"
            raise SrrawError(f"--device {name}: CUDA is not available ({why}); use --device cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise SrrawError(f"--device {name}: only {count} CUDA device(s) here")
    elif device.type != "cpu":
        raise SrrawError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N")
    return device


def check_amp(amp: str, device: torch.device) -> None:
    """fp16 autocast on a CPU is emulated (measured ~23x slower than fp32): refused."""
    if amp == "fp16" and device.type == "cpu":
        raise SrrawError(
            "--amp fp16 on the CPU: fp16 is emulated there and far slower than fp32; "
            "use --amp none (or bf16) on a CPU, fp16 on a GPU"
        )
