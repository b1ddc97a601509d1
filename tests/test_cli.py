"""The `srraw` command as a user meets it."""

import subprocess
import sys

import cv2
import numpy as np
import pytest
import rawpy

from srraw.cli import COMMANDS
from tests.conftest import ROOT, run_srraw


def test_help_lists_every_command():
    result = run_srraw("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout


def _imported_after(args: list[str]) -> set[str]:
    code = (
        "import sys\n"
        "from srraw.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "print('IMPORTED:' + ' '.join(m for m in ('torch', 'gphoto2') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    last = out.strip().splitlines()[-1]
    assert last.startswith("IMPORTED:")
    return set(last.removeprefix("IMPORTED:").split())


# Every command's --help, prep's included once it lands: capture and prep must stay light.
@pytest.mark.parametrize("command", [None, *sorted(COMMANDS)])
def test_help_imports_neither_torch_nor_gphoto2(command):
    args = ["--help"] if command is None else [command, "--help"]
    assert _imported_after(args) == set()


def test_doctor_prints_real_versions():
    result = run_srraw("doctor")
    assert result.returncode == 0, result.stderr
    import gphoto2

    libraw = ".".join(str(v) for v in rawpy.libraw_version)
    assert f"LibRaw          {libraw}" in result.stdout
    assert gphoto2.gp_library_version(gphoto2.GP_VERSION_SHORT)[0] in result.stdout
    assert cv2.__version__ in result.stdout
    assert "torch" in result.stdout
    assert "ptpip" in result.stdout  # the port driver the simulated camera needs
    assert "cameras: none detected" in result.stdout or "camera:" in result.stdout


def test_jpeg_without_exif_is_one_clear_line(tmp_path):
    ok, data = cv2.imencode(".jpg", np.full((32, 32, 3), 128, np.uint8))
    assert ok
    path = tmp_path / "00002.JPG"
    path.write_bytes(data.tobytes())
    result = run_srraw("inspect", str(path))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"Error: {path}: JPEG has no EXIF: focal length and exposure are unknown"
    )


def test_missing_file_is_one_clear_line(tmp_path):
    result = run_srraw("inspect", str(tmp_path / "nope.ARW"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"Error: {tmp_path / 'nope.ARW'}: no such file"
