"""Shared fixtures for the model tests: a small prepped synthetic dataset, built once per session.

The dataset is written under pytest's session base folder and reused by every module that asks,
so the 3 sequences are synthesised and prepped once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import make_rig_text

SPLITS = {"00001": "train", "00002": "val", "00003": "test"}


def build_dataset(root: Path, scenes: int = 3, width: int = 480, height: int = 320) -> Path:
    """Synthesise and prep `scenes` sequences into root/data; returns the manifests folder."""
    from srraw.synth.cli import synthesize
    from srraw_prep.config import PrepConfig
    from srraw_prep.run import prep

    manifests = root / "data" / "manifests"
    if (manifests / "pairs.parquet").is_file():
        return manifests
    root.mkdir(parents=True, exist_ok=True)
    rig = root / "rig.toml"
    rig.write_text(make_rig_text("GRBG", width=width, height=height))
    synthesize(str(rig), root / "data", scenes, 5, None, progress=False)
    overrides = {f"{i:05d}": SPLITS.get(f"{i:05d}", "train") for i in range(1, scenes + 1)}
    prep(
        root / "data",
        manifests,
        PrepConfig(zooms=(4,)),
        split_overrides=overrides,
        progress=False,
    )
    return manifests


def shared_dataset(tmp_path_factory) -> Path:
    """The shared small dataset's manifests folder (read-only use)."""
    return build_dataset(tmp_path_factory.getbasetemp() / "model-data")


def private_dataset(tmp_path_factory, tmp_path: Path) -> Path:
    """A private copy of the shared small dataset (tests may damage it); its manifests folder."""
    shared = shared_dataset(tmp_path_factory)
    target = tmp_path / "data"
    shutil.copytree(shared.parent, target, ignore=shutil.ignore_patterns("model-cache"))
    return target / "manifests"


@pytest.fixture
def shared_model_data(tmp_path_factory) -> Path:
    return shared_dataset(tmp_path_factory)


def test_fixture_dataset_has_every_split(shared_model_data):
    import pandas as pd

    pairs = pd.read_parquet(shared_model_data / "pairs.parquet")
    usable = pairs[pairs.status.isin(["ok", "flagged"])]
    assert set(usable.split) == {"train", "val", "test"}
    assert (usable.zoom == 4).all()
