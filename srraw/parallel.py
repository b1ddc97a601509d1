"""Where per-item work runs: in this process, or in a pool of worker processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any


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
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
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
