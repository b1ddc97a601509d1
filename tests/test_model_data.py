"""Dataset over the manifests: CFA-honest crops, geometry of the targets, cache, bad input."""

import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from srraw.cfa import LAYOUTS, channel_offsets, pack
from srraw.errors import SrrawError
from srraw_model.crops import Crop, mosaic_window, target_window
from srraw_model.dataset import PairCrops
from srraw_model.geometry import mosaic_on_grid
from srraw_model.inputs import develop_float, space_to_depth
from srraw_model.metrics import psnr
from srraw_model.pairs import load_pairs
from tests.test_model_util import private_dataset, shared_dataset


@pytest.fixture
def shared_model_data(tmp_path_factory):
    return shared_dataset(tmp_path_factory)


@pytest.fixture
def model_data(tmp_path_factory, tmp_path):
    return private_dataset(tmp_path_factory, tmp_path)


@pytest.mark.parametrize("cfa", LAYOUTS)
@pytest.mark.parametrize("flip_x", [False, True])
@pytest.mark.parametrize("flip_y", [False, True])
def test_flipped_crops_keep_the_bayer_phase(cfa, flip_x, flip_y):
    """Label each mosaic pixel with its colour: after any flip, every packed channel is one colour
    and each 2x2 tile keeps the frame's layout."""
    labels = np.zeros((40, 40), dtype=np.uint16)
    for channel, (row, col) in enumerate(channel_offsets(cfa)):
        labels[row::2, col::2] = channel + 1
    window = mosaic_window(labels, Crop(6, 8, 8, flip_x, flip_y))
    packed = pack(window, cfa, 0, 65535) * 65535
    for channel in range(4):
        assert np.all(np.rint(packed[..., channel]) == channel + 1)


def test_flipped_target_is_the_mirror_image_of_the_flipped_input():
    """A mosaic that is a smooth ramp in x: the flipped crop's target at output pixel u must hold
    the value of the flipped input at the same place."""
    zoom = 4
    x = np.arange(60, dtype=np.float64)
    ramp = np.tile(x, (60, 1))  # value = mosaic x coordinate
    target = mosaic_on_grid(ramp.astype(np.float32), zoom, 0, 0, (60 * zoom, 60 * zoom))
    crop = Crop(10, 10, 8, flip_x=True, flip_y=False)
    window = mosaic_window(ramp, crop)
    tgt = target_window(target, crop, zoom)
    # input column j holds mosaic x = (x0 + 2c) - j; target column u lies at input j = (u+.5)/Z-.5
    j = (np.arange(tgt.shape[1]) + 0.5) / zoom - 0.5
    expected = crop.x0 + 2 * crop.size - j
    # OpenCV's cubic (a = -0.75) bends a ramp by < 0.05; a slip of 1/Z would be 0.25
    assert np.allclose(tgt[5, 8:-8], expected[8:-8], atol=0.05)
    assert window[0, 0] == crop.x0 + 2 * crop.size


def test_targets_line_up_with_the_input(shared_model_data, tmp_path):
    """Bicubic of the developed input crop matches its target best with no shift, flips included."""
    ds = PairCrops.from_manifest(
        shared_model_data, split="train", zoom=4, crop=24, cache_dir=tmp_path
    )
    cp = ds.pairs[0]
    p = cp.pair
    for flip in (False, True):
        crop = Crop(8, 8, 24, flip, flip)
        dev = develop_float(
            mosaic_window(cp.mosaic, crop), p.cfa, p.black_levels, p.white_level, p.wb, p.ccm()
        )
        up = mosaic_on_grid(dev, 4, 0, 0, (192, 192))[12:-12, 12:-12]
        target = target_window(cp.target, crop, 4).astype(np.float32) / 255
        scores = {
            dx: psnr(up, np.roll(target, dx, axis=1)[12:-12, 12:-12]) for dx in (-4, -2, 0, 2, 4)
        }
        assert max(scores, key=scores.get) == 0, scores
        assert scores[0] > 20


def test_items_shapes_ranges_and_reproducibility(shared_model_data, tmp_path):
    ds = PairCrops.from_manifest(
        shared_model_data, zoom=4, crop=16, margin=4, samples=8, cache_dir=tmp_path, seed=3
    )
    item = ds[5]
    assert item["input"].shape == (4, 16, 16)
    assert item["target"].shape == (3, 16 * 8 + 8, 16 * 8 + 8)
    assert float(item["input"].min()) >= 0 and float(item["input"].max()) <= 1
    assert item["wb"].shape == (3,) and item["ccm"].shape == (3, 3)
    again = PairCrops.from_manifest(
        shared_model_data, zoom=4, crop=16, margin=4, samples=8, cache_dir=tmp_path, seed=3
    )[5]
    assert all(np.array_equal(item[k], again[k]) for k in item)
    ds.set_epoch(1)
    assert not np.array_equal(ds[5]["input"], item["input"])


def test_input_kinds(shared_model_data, tmp_path):
    rgb = PairCrops.from_manifest(
        shared_model_data, zoom=4, crop=16, input_kind="rgb", cache_dir=tmp_path
    )
    assert rgb[0]["input"].shape == (12, 16, 16)
    syn = PairCrops.from_manifest(
        shared_model_data, zoom=4, crop=16, input_kind="syn-raw", cache_dir=tmp_path, syn_noise=0.05
    )
    a, b = syn[0]["input"], syn[1]["input"]
    assert a.shape == (4, 16, 16) and not np.array_equal(a, b)
    blocks = space_to_depth(np.arange(4 * 4 * 3).reshape(4, 4, 3))
    assert blocks.shape == (2, 2, 12) and list(blocks[0, 0, :6]) == [0, 1, 2, 3, 4, 5]


def test_cache_decodes_each_file_once(shared_model_data, tmp_path, monkeypatch):
    import srraw_model.cache as cache

    calls = []
    real = cache.read_raw
    monkeypatch.setattr(cache, "read_raw", lambda p: calls.append(p) or real(p))
    PairCrops.from_manifest(shared_model_data, zoom=4, crop=16, cache_dir=tmp_path)
    first = len(calls)
    ds = PairCrops.from_manifest(shared_model_data, zoom=4, crop=16, cache_dir=tmp_path)
    assert first >= 1 and len(calls) == first
    assert isinstance(ds.pairs[0].mosaic, np.memmap)


def test_filters(shared_model_data):
    assert {p.split for p in load_pairs(shared_model_data, splits=("val",))} == {"val"}
    assert load_pairs(shared_model_data, max_residual_px=1e-6, require=False) == []
    assert load_pairs(shared_model_data, zoom=8, require=False) == []


# --- bad input: one clear line each ----------------------------------------------------------


def test_other_schema_major_is_refused(model_data):
    path = model_data / "pairs.parquet"
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    meta[b"srraw.schema"] = b"pairs/9.0"
    pq.write_table(table.replace_schema_metadata(meta), path)
    with pytest.raises(SrrawError, match=r"pairs/9\.0 is not readable"):
        PairCrops.from_manifest(model_data, zoom=4, crop=16)


def test_missing_file_is_named(model_data):
    pair = load_pairs(model_data)[0]
    pair.jpeg_h.unlink()
    with pytest.raises(SrrawError, match="file is missing") as err:
        PairCrops.from_manifest(model_data, zoom=4, crop=16)
    assert str(pair.jpeg_h) in str(err.value)


def test_changed_file_is_caught_even_after_caching(model_data):
    PairCrops.from_manifest(model_data, zoom=4, crop=16)  # cache built
    pair = load_pairs(model_data)[0]
    data = bytearray(pair.raw_l.read_bytes())
    data[-100] ^= 0xFF
    pair.raw_l.write_bytes(bytes(data))
    os.utime(pair.raw_l, ns=(1, 1))
    with pytest.raises(SrrawError, match="sha256") as err:
        PairCrops.from_manifest(model_data, zoom=4, crop=16)
    assert "\n" not in str(err.value.message)


def test_empty_split_and_oversized_crop(shared_model_data, tmp_path):
    with pytest.raises(SrrawError, match="no usable pairs"):
        PairCrops.from_manifest(shared_model_data, zoom=8, crop=16, cache_dir=tmp_path)
    with pytest.raises(SrrawError, match="smaller --crop"):
        PairCrops.from_manifest(shared_model_data, zoom=4, crop=400, cache_dir=tmp_path)
