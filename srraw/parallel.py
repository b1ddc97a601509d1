"""Where per-item work runs: in this process, in a pool of worker processes, or in threads."""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from typing import Any, TypeVar

_PR_SET_PDEATHSIG = 1
T = TypeVar("T")
R = TypeVar("R")
_WATCH_SECONDS = 1.0


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)


def die_with_parent(parent: int) -> None:
    """Worker initializer: end this process when `parent` dies, even by kill -9.

    A killed parent runs no cleanup, so its pool workers (and through them the resource
    tracker, which exits once every holder of its pipe is gone) would run on orphaned.
    Linux delivers SIGKILL through prctl(PR_SET_PDEATHSIG); elsewhere, and for a parent that
    died before this ran, a daemon thread notices the new parent id. (Linux sends the signal
    when the parent's thread that started the worker ends: run_local's pool is driven from
    the thread that iterates it, so iterate it from a thread that outlives the pool.)
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def run_local(fn: Callable[..., Any], tasks: Iterable[tuple], jobs: int) -> Iterator[Any]:
    """Yield fn(*task) results as they complete. jobs == 1 runs here, in order.

    At most `jobs` tasks are in flight, so a worker's memory is one sequence at a time and
    an interrupt loses only the sequences under way.
    """
    tasks = list(tasks)
    if jobs <= 1:
        for task in tasks:
            yield fn(*task)
        return
    # spawn, not fork: workers start clean of the parent's threads (tqdm) and OpenCV state.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )
    pending: set[Future] = set()
    queue = iter(tasks)
    try:
        for task in queue:
            pending.add(pool.submit(fn, *task))
            if len(pending) >= jobs:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                for task in queue:
                    pending.add(pool.submit(fn, *task))
                    break
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def thread_map(fn: Callable[[T], R], items: Iterable[T], threads: int) -> list[R]:
    """fn over items, results in order, in up to `threads` threads of this process.

    For work that spends its time in OpenCV, LibRaw and numpy, which release the GIL: one
    sequence's frames or pairs on the cores that a single job would leave idle.
    """
    items = list(items)
    if threads <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        return list(pool.map(fn, items))


def threads_per_job(jobs: int) -> int:
    """The cores each of `jobs` worker processes may fill with its own threads."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, jobs))
