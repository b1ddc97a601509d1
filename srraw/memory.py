"""How this process takes memory from the kernel.

prep allocates and frees frame-sized arrays (36 MB for a 12 MP RGB JPEG) many times per
sequence. glibc serves each from a fresh mmap and unmaps it on free, so every new array pays a
page fault per 4 KiB page: measured on a 12 MP sequence, 1.1-2.4 s of system time on top of
7-9 s of user time. Keeping freed memory in the heap lets the next array reuse those pages.
Kept in one heap: with an arena per thread (glibc's default), memory freed in one thread's
arena sits idle while another thread grows its own (peak RSS 1078 MiB at 12 MP with 2 threads,
692 MiB with one arena).

mallopt limits the arenas only for threads that have not allocated yet: a Dask worker's threads
exist before its first task, so its process must start with `ONE_ARENA` in its environment
(12 MP Dask workers: 801-1063 MiB without, 716-734 MiB with).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Above every array prep makes (a 12 MP float32 RGB frame is 144 MB): none is mmapped.
_MMAP_THRESHOLD = 1 << 30
_TRIM_THRESHOLD = (1 << 31) - 1
# The environment that gives a process one arena from its start (glibc reads it then).
ONE_ARENA = {"MALLOC_ARENA_MAX": "1"}
_SETTINGS = (
    (_M_ARENA_MAX, 1),
    (_M_MMAP_THRESHOLD, _MMAP_THRESHOLD),
    (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD),
)


@functools.cache
def reuse_freed_pages() -> bool:
    """Make glibc keep freed large blocks for reuse, in one heap for all threads (once per
    process); False where this is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # musl and others have no mallopt
    ok = [mallopt(option, value) == 1 for option, value in _SETTINGS]
    return all(ok)
