"""The `srraw` command: a click group whose subcommands are imported only when run.

`srraw --help` and `srraw prep --help` must not import torch or gphoto2, so each command
lives in its own module, named here with its one-line help.
"""

from __future__ import annotations

import importlib

import click

import srraw

# name -> (module, attribute, short help shown by `srraw --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "capture": (
        "srraw_capture.cli",
        "capture",
        "Capture zoom sequences from a tethered camera (libgphoto2).",
    ),
    "demo": (
        "srraw.demo",
        "demo",
        "Run the whole pipeline on a synthetic dataset, no camera needed.",
    ),
    "doctor": (
        "srraw.doctor",
        "doctor",
        "Print versions and detected cameras (paste into bug reports).",
    ),
    "eval": (
        "srraw_model.cli",
        "eval_cmd",
        "Score a trained model beside bicubic on the test split (PSNR, SSIM, LPIPS).",
    ),
    "inspect": ("srraw.inspect_cli", "inspect", "Print what srraw reads from RAW and JPEG files."),
    "manifest": ("srraw.manifest_cli", "manifest", "Inspect manifests and their schemas."),
    "prep": (
        "srraw_prep.cli",
        "prep",
        "FOV-match, align and measure pairs into Parquet manifests.",
    ),
    "rig": ("srraw.rig_cli", "rig", "Check and show rig profiles."),
    "simcam": (
        "srraw_capture.simcam.cli",
        "simcam",
        "Run the simulated PTP/IP camera on 127.0.0.1.",
    ),
    "synth": (
        "srraw.synth.cli",
        "synth",
        "Write synthetic SR-RAW zoom sequences with ground truth.",
    ),
    "train": (
        "srraw_model.cli",
        "train",
        "Train the zoom model with CoBi loss on the pairs manifest.",
    ),
    "zoom": ("srraw_model.cli", "zoom_cmd", "Zoom a RAW file with a trained model into a PNG."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(srraw.__version__, prog_name="srraw")
def main() -> None:
    """srraw: build real-world computational-zoom datasets from RAW sensor data."""


if __name__ == "__main__":
    main()
