"""`srraw rig`: list, check and show rig profiles."""

from __future__ import annotations

import click

from srraw.rig import load_rig, rig_toml, shipped_rigs


@click.group()
def rig() -> None:
    """Check and show rig profiles (rigs/*.toml)."""


@rig.command("list")
def list_rigs() -> None:
    """List the shipped rig profiles."""
    for path in shipped_rigs():
        profile = load_rig(path)
        click.echo(f"{profile.name:<24} {profile.description}")


@rig.command()
@click.argument("profiles", nargs=-1, required=True)
def check(profiles: tuple[str, ...]) -> None:
    """Validate rig profiles; the first bad one is named with its key and problem."""
    for spec in profiles:
        profile = load_rig(spec)
        focal = ", ".join(f"{f:g}" for f in profile.focal_lengths_mm)
        click.echo(f"{profile.path}: ok ({profile.name}: {focal} mm)")


@rig.command()
@click.argument("profile")
def show(profile: str) -> None:
    """Print a rig profile as srraw reads it, defaults filled in."""
    click.echo(rig_toml(load_rig(profile)), nl=False)
