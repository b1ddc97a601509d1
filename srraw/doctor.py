"""`srraw doctor`: what a bug report needs first."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

import click

import srraw


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> list[tuple[str, str]]:
    """(component, version) for everything srraw stands on; never raises."""
    rows = [
        ("srraw", srraw.__version__),
        ("Python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
    ]
    try:
        import gphoto2 as gp

        rows.append(("libgphoto2", gp.gp_library_version(gp.GP_VERSION_SHORT)[0]))
        rows.append(("python-gphoto2", gp.__version__))
    except Exception as exc:  # a broken install is exactly what doctor must report
        rows.append(("libgphoto2", f"unavailable ({exc})"))
    try:
        import rawpy

        rows.append(("LibRaw", ".".join(str(v) for v in rawpy.libraw_version)))
        rows.append(("rawpy", rawpy.__version__))
    except Exception as exc:
        rows.append(("LibRaw", f"unavailable ({exc})"))
    try:
        import cv2

        rows.append(("OpenCV", cv2.__version__))
    except Exception as exc:
        rows.append(("OpenCV", f"unavailable ({exc})"))
    for dist in ("numpy", "pyarrow", "pandas", "exifread", "click", "tqdm"):
        rows.append((dist, _dist_version(dist)))
    rows.append(("torch", _torch_version()))
    return rows


def _torch_version() -> str:
    version = _dist_version("torch")
    if version == "not installed":
        return version
    try:
        import torch

        return f"{torch.__version__} (CUDA available: {torch.cuda.is_available()})"
    except Exception as exc:
        return f"{version} (import failed: {exc})"


def cameras() -> list[tuple[str, str]]:
    """(model, port) of every camera libgphoto2 auto-detects (USB; network bodies need --camera)."""
    import gphoto2 as gp

    return [(name, port) for name, port in gp.Camera.autodetect()]


def port_drivers() -> list[str]:
    """libgphoto2 port types this install can open (usb, ptpip, disk, ...)."""
    import gphoto2 as gp

    ports = gp.PortInfoList()
    ports.load()
    kinds = {ports[i].get_path().split(":", 1)[0] for i in range(len(ports))}
    return sorted(kinds)


def camera_report(port: str) -> list[tuple[str, str]]:
    """Open the camera on `port` and say which vendor path libgphoto2 took for it."""
    from srraw_capture.camera import Camera, CameraError

    camera = Camera(port)
    try:
        info = camera.open()
        return [
            ("camera", f"{info.model} ({info.manufacturer or 'no manufacturer'}) on {info.port}"),
            ("serial", info.serial or "?"),
            ("vendor path", camera.vendor_path()),
        ]
    except CameraError as exc:
        return [("camera", f"cannot open {port}: {exc.message}")]
    finally:
        camera.close()


@click.command()
@click.option(
    "--camera",
    "port",
    default=None,
    help="Also open this camera (usb:..., ptpip:HOST[:PORT]) and name libgphoto2's vendor path.",
)
def doctor(port: str | None) -> None:
    """Print the versions of srraw's parts and the cameras libgphoto2 detects."""
    rows = versions()
    width = max(len(name) for name, _ in rows)
    for name, version in rows:
        click.echo(f"{name:<{width}}  {version}")
    try:
        click.echo(f"{'ports':<{width}}  {', '.join(port_drivers()) or 'none'}")
        found = cameras()
    except Exception as exc:
        click.echo(f"cameras: cannot query libgphoto2 ({exc})")
        return
    if not found:
        click.echo("cameras: none detected over USB (a PTP/IP body needs --camera ptpip:HOST)")
    for name, where in found:
        click.echo(f"camera: {name} at {where}")
    if port:
        for name, text in camera_report(port):
            click.echo(f"{name:<{width}}  {text}")
