"""Running prep's per-sequence tasks: in local worker processes, or as Dask tasks.

Each task writes its sequence's state files itself (atomically), and the manifests are merged
from those files, so a task that runs twice (a worker died, Dask retried it) writes the same
files again: never a lost or a doubled row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from srraw.errors import SrrawError
from srraw.memory import ONE_ARENA
from srraw.parallel import run_local

EXECUTORS = ("local", "dask")
CONNECT_TIMEOUT = "30s"  # to reach a remote scheduler


def run_dask(
    fn: Callable[..., Any], tasks: list[tuple], scheduler: str | None, workers: int
) -> Iterator[Any]:
    """Yield fn(*task) results as Dask completes them, on `scheduler` or a LocalCluster."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise SrrawError(
            "--executor dask needs dask.distributed: pip install 'srraw[cluster]'"
        ) from exc
    cluster = None
    if scheduler is None:
        import dask

        # Read by glibc as each worker starts, before its threads take arenas of their own.
        environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {})) | ONE_ARENA
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
    try:
        client = Client(cluster or scheduler, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise SrrawError(f"cannot reach the Dask scheduler: {exc}", scheduler) from exc
    try:
        # pure=False: the same sequence submitted twice (a rerun) is computed again.
        futures = [client.submit(fn, *task, pure=False, retries=3) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_tasks(
    fn: Callable[..., Any],
    tasks: list[tuple],
    *,
    executor: str = "local",
    jobs: int = 1,
    scheduler: str | None = None,
) -> Iterator[Any]:
    if executor == "local":
        return run_local(fn, tasks, jobs)
    if executor == "dask":
        return run_dask(fn, tasks, scheduler, jobs)
    raise ValueError(f"unknown executor {executor!r}; expected one of {EXECUTORS}")
