"""srraw prep's pairwise mode (PrepConfig.pair_fit = 'pairwise'): each training pair's map
from its own evidence, checked against synth's truth and against the joint fit's dependence on
the rest of the sequence."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from srraw.manifest import read_manifest_df
from srraw.synth.cli import synthesize
from srraw_prep.config import PrepConfig
from srraw_prep.discover import discover
from srraw_prep.run import prep
from srraw_prep.sequence import process_sequence
from tests.test_prep_lens import _dense_errors, _rig


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pairwise")
    synthesize(str(_rig(root)), root / "data", 1, 7, None, progress=False)
    return root / "data"


@pytest.fixture(scope="module")
def prepped(sequence, tmp_path_factory) -> dict:
    """(frames, pairs) of the sequence per pair_fit mode."""
    out = tmp_path_factory.mktemp("prepped")
    return {mode: _prep(sequence, out / mode, mode) for mode in ("joint", "pairwise")}


def _prep(data: Path, out: Path, mode: str):
    prep(data, out, PrepConfig(zooms=(4,), pair_fit=mode), progress=False)
    frames = read_manifest_df(out / "frames.parquet", "frames")
    pairs = read_manifest_df(out / "pairs.parquet", "pairs")
    return frames, pairs


def _grids(pairs) -> dict[tuple[int, int], np.ndarray]:
    return {
        (int(r.frame_l), int(r.frame_h)): np.asarray(r.h_to_l_grid)
        for r in pairs.itertuples()
        if r.status != "failed"
    }


def test_pair_fit_is_part_of_the_config_digest_and_checked():
    assert PrepConfig(pair_fit="pairwise").digest() != PrepConfig().digest()
    with pytest.raises(ValueError, match="pair_fit"):
        PrepConfig(pair_fit="chained")


def test_pairwise_maps_fit_lens_terms_on_the_pair_alone(sequence, prepped):
    frames, pairs = prepped["pairwise"]
    assert len(pairs) >= 2 and set(pairs.status) <= {"ok", "flagged"}
    assert (pairs.map_model == "lens").all()
    # The rig's lens is unknown to lensfun: each pair's frames are measured on its matches.
    paired = set(pairs.frame_l) | set(pairs.frame_h)
    assert set(frames[frames.frame.isin(paired)].distortion_source) == {"measured"}
    # Each frame's JPEG against its own RAW is measured once, the same in both modes.
    joint = prepped["joint"][0]
    for column in ("jpeg_geometry", "jpeg_scale", "jpeg_offset_x", "jpeg_offset_y"):
        assert list(frames[column]) == list(joint[column])
    errors = _dense_errors(sequence, pairs)
    assert all(est < 0.8 for est, _ in errors), errors
    assert np.mean([est for est, _ in errors]) < 0.5 * np.mean([sim for _, sim in errors])


def test_only_the_joint_fit_depends_on_a_frame_outside_the_pair(sequence, prepped, tmp_path):
    frames, pairs = prepped["pairwise"]
    outside = sorted(set(frames.frame) - set(pairs.frame_l) - set(pairs.frame_h))
    assert outside, "every frame is in a 4X pair: nothing to take away"
    # The frame no training pair uses loses its JPEG: it fails, and the joint chain of
    # neighbouring focal lengths goes around it.
    data = tmp_path / "data"
    shutil.copytree(sequence, data)
    next((data / "00001").glob(f"{outside[0]:05d}.JPG")).unlink()
    for mode in ("joint", "pairwise"):
        old = _grids(prepped[mode][1])
        new = _grids(_prep(data, tmp_path / f"b-{mode}", mode)[1])
        assert old.keys() == new.keys() and len(old) >= 2
        moved = max(float(np.abs(old[p] - new[p]).max()) for p in old)
        if mode == "pairwise":
            assert moved == 0.0
        else:
            assert moved > 1e-4


def test_pairs_fitted_in_threads_give_the_rows_of_one_thread(sequence):
    _, sequences = discover(sequence)
    cfg = PrepConfig(zooms=(4,), pair_fit="pairwise")
    one = process_sequence(sequences[0], cfg, threads=1)
    two = process_sequence(sequences[0], cfg, threads=3)
    assert [r for r in one.pairs if r["status"] != "failed"]
    assert one.frames == two.frames
    assert one.pairs == two.pairs
