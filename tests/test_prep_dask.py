"""srraw prep through Dask: same manifests as the local executor, even when a worker dies."""

import os
import signal
import threading
import time

import pandas as pd
import pytest

from srraw.manifest import read_manifest_df
from srraw.synth.cli import synthesize
from srraw_prep import run as prep_run
from srraw_prep.config import PrepConfig
from tests.conftest import make_rig_text

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask")
    rig = root / "rig.toml"
    rig.write_text(make_rig_text("RGGB", width=480, height=320))
    synthesize(str(rig), root / "data", 4, 5, None, progress=False)
    return root / "data"


def _tables(out):
    return [read_manifest_df(out / f"{t}.parquet") for t in ("frames", "pairs")]


@pytest.mark.slow
def test_dask_matches_local_even_when_a_worker_is_killed(dataset, tmp_path, monkeypatch):
    cfg = PrepConfig(zooms=(4,))
    local = tmp_path / "local"
    prep_run.prep(dataset, local, cfg, jobs=1, progress=False)

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    killed = []

    def kill_one_worker_after_first_result():
        # Wait until the run is under way (one sequence done), then SIGKILL a worker.
        deadline = time.monotonic() + 120
        while not list((tmp_path / "dask" / ".prep").glob("*/done.json")):
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
        with distributed.Client(cluster) as client:
            pids = client.run(os.getpid)
        pid = sorted(pids.values())[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_one_worker_after_first_result, daemon=True)
    killer.start()
    try:
        summary = prep_run.prep(
            dataset,
            tmp_path / "dask",
            cfg,
            executor="dask",
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    finally:
        killer.join(timeout=10)
        cluster.close()
    assert killed, "a worker must have been killed mid-run"
    assert summary.sequences == 4 and not summary.failed
    for a, b in zip(_tables(local), _tables(tmp_path / "dask"), strict=True):
        pd.testing.assert_frame_equal(a, b)  # same rows, none lost or doubled
    assert len(list((tmp_path / "dask" / ".prep").glob("*/done.json"))) == 4


def test_unreachable_scheduler_is_one_clear_line(rig_file, tmp_path, monkeypatch):
    from srraw.errors import SrrawError
    from srraw_prep import executor

    monkeypatch.setattr(executor, "CONNECT_TIMEOUT", "2s")
    dataset = tmp_path / "data"
    synthesize(str(rig_file(width=96, height=64)), dataset, 1, 1, None, progress=False)
    with pytest.raises(SrrawError, match="cannot reach the Dask scheduler"):
        prep_run.prep(
            dataset,
            tmp_path / "m",
            PrepConfig(zooms=(4,)),
            executor="dask",
            scheduler="tcp://127.0.0.1:9",
            progress=False,
        )


def test_local_cluster_workers_start_with_one_malloc_arena(monkeypatch):
    from srraw_prep.executor import run_dask

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)  # not inherited from here
    # glibc reads it as the worker starts: set later, its threads would hold an arena each;
    # the Nanny's own settings stay (Dask's trim threshold, one BLAS thread). One cluster.
    names = ["MALLOC_ARENA_MAX", "OPENBLAS_NUM_THREADS"]
    assert list(run_dask(os.getenv, [(n,) for n in names], None, 1)) == ["1", "1"]
