"""srraw.memory: freed frame-sized arrays are reused without new page faults."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

_FAULTS = """
import resource, sys
if sys.argv[1] == "reuse":
    from srraw.memory import reuse_freed_pages
    assert reuse_freed_pages()
# 50 MB through malloc and written, as OpenCV's frame-sized outputs are (numpy's own large
# arrays ask the kernel for huge pages, which fault far less)
block = bytearray(50_000_000)
del block
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    block = bytearray(50_000_000)
    del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    run = subprocess.run(
        [sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True
    )
    return int(run.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_pages_are_reused():
    pages = 4 * 50_000_000 // 4096  # what four fresh 50 MB arrays fault in
    assert _faults("default") > 0.8 * pages  # glibc unmaps them on free: the test can tell
    assert _faults("reuse") < 0.05 * pages
