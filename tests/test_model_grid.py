"""The trainer follows the pair map: targets resampled from JPEG-H through h_to_l_grid when a pair
has one, through h_to_l otherwise (pairs/1.0 manifests included).

The pairs here are written from truth.json's exact map (srraw.synth.truth), not by srraw prep:
what is measured is the trainer's reading of a grid, against the map the frames were rendered
with, on frames distorted like the rig's Sony FE 24-240mm.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from srraw.errors import SrrawError
from srraw.files import sha256_file
from srraw.manifest import schema_tag, write_manifest
from srraw.pairmap import fit_similarity, node_positions, sample_grid
from srraw.raw import read_raw
from srraw.synth.cli import synthesize
from srraw.synth.truth import frame_record, jpeg_h_to_raw_l, load_truth, raw_l_to_jpeg_h
from srraw_model import cache as cache_mod
from srraw_model.crops import target_window
from srraw_model.dataset import PairCrops, prepared_pairs, whole_box
from srraw_model.geometry import (
    h_lattice,
    lattice_points,
    output_mosaic_points,
    output_to_h,
    target_points,
    warp,
)
from srraw_model.inputs import develop_float
from srraw_model.pairs import load_pairs

ZOOM = 4
FRAME_L, FRAME_H = 6, 3  # 35 mm -> 150 mm on the rig's focal list: a 4X pair
# The columns added since pairs/1.0 and frames/1.0 (srraw/schemas.py; 1.2 added none):
# a file written before the grid existed has none of them.
PAIRS_1_1 = ("h_to_l_grid", "h_to_l_grid_shape", "map_model")
FRAMES_1_1 = (
    "lens_lensfun",
    "distortion_model",
    "distortion_terms",
    "distortion_norm_scale",
    "distortion_source",
    "distortion_max_px",
    "jpeg_geometry",
    "jpeg_scale",
    "jpeg_offset_x",
    "jpeg_offset_y",
    "jpeg_geometry_residual_px",
    "makernote_distortion_correction",
)


def truth_inverse(truth: dict, points_l: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The exact map's inverse (Newton on truth.json's formula; shares nothing with pairmap)."""
    return raw_l_to_jpeg_h(truth, FRAME_L, FRAME_H, points_l, start)


def jpeg_geometry_columns(record: dict) -> dict:
    """frames/1.1's JPEG geometry of a frame, as truth.json renders it (jpeg_to_ideal)."""
    dist = record["distortion"]
    return {
        "distortion_model": dist["model"],
        "distortion_terms": dist["terms"],
        "distortion_norm_scale": dist["norm_scale"],
        "distortion_source": "measured",
        "jpeg_geometry": record["jpeg_geometry"],
        "jpeg_scale": record["jpeg_crop_scale"],
        "jpeg_offset_x": 0.0,
        "jpeg_offset_y": 0.0,
    }


def frame_row(root: Path, folder: Path, index: int) -> dict:
    raw = read_raw(folder / f"{index:05d}.DNG")
    jpeg = folder / f"{index:05d}.JPG"
    h, w = cv2.imread(str(jpeg)).shape[:2]
    return {
        "sequence": folder.name,
        "frame": index,
        "status": "ok",
        "raw_path": raw.path.relative_to(root).as_posix(),
        "raw_sha256": sha256_file(raw.path),
        "jpeg_path": jpeg.relative_to(root).as_posix(),
        "jpeg_sha256": sha256_file(jpeg),
        "width": raw.width,
        "height": raw.height,
        "jpeg_width": w,
        "jpeg_height": h,
        "cfa": raw.cfa,
        "black_levels": list(raw.black_levels),
        "white_level": raw.white_level,
        "wb": list(raw.wb),
        "color_matrix": None if raw.color_matrix is None else raw.color_matrix.ravel().tolist(),
        **jpeg_geometry_columns(frame_record(load_truth(folder), index)),
    }


def covered_box(truth_map, size_h: tuple[int, int], margin: int = 6) -> tuple[int, ...]:
    """The even L mosaic box inside the image of JPEG-H's frame, `margin` px in from its edges."""
    w, h = size_h
    t = np.linspace(0, 1, 65)
    top = truth_map(np.stack([t * (w - 1), 0 * t], -1))
    bottom = truth_map(np.stack([t * (w - 1), 0 * t + h - 1], -1))
    left = truth_map(np.stack([0 * t, t * (h - 1)], -1))
    right = truth_map(np.stack([0 * t + w - 1, t * (h - 1)], -1))
    x0 = math.ceil(left[:, 0].max()) + margin
    y0 = math.ceil(top[:, 1].max()) + margin
    x1 = math.floor(right[:, 0].min()) - margin
    y1 = math.floor(bottom[:, 1].min()) - margin
    return x0 + x0 % 2, y0 + y0 % 2, x1 - x1 % 2, y1 - y1 % 2


def write_dataset(folder: Path, grid: bool) -> tuple[Path, dict]:
    """frames.parquet + pairs.parquet for the sequence in `folder`: one 4X pair, its h_to_l the
    best similarity to the exact map, with (grid=True) or without its h_to_l_grid."""
    root = folder.parent
    truth = load_truth(folder)
    frames = [frame_row(root, folder, f) for f in (FRAME_L, FRAME_H)]
    size_h = (frames[1]["jpeg_width"], frames[1]["jpeg_height"])

    def exact(points):
        return jpeg_h_to_raw_l(truth, FRAME_L, FRAME_H, points)

    nodes = sample_grid(exact, size_h)
    h_to_l = fit_similarity(node_positions(nodes.shape[:2], size_h), nodes)
    scale = math.sqrt(abs(np.linalg.det(h_to_l[:2, :2])))
    fl, fh = (f.get("jpeg_path") for f in frames)
    pair = {
        "sequence": folder.name,
        "zoom": ZOOM,
        "frame_l": FRAME_L,
        "frame_h": FRAME_H,
        "status": "ok",
        "split": "train",
        "raw_l_path": frames[0]["raw_path"],
        "raw_l_sha256": frames[0]["raw_sha256"],
        "jpeg_l_path": fl,
        "jpeg_l_sha256": frames[0]["jpeg_sha256"],
        "jpeg_h_path": fh,
        "jpeg_h_sha256": frames[1]["jpeg_sha256"],
        "measured_scale": 1 / scale,
        "scale_offset": 1 / (scale * ZOOM),
        "h_to_l": h_to_l.ravel().tolist(),
        "map_model": "lens" if grid else "similarity",
        "residual_p95_px": 0.0,
    }
    box = covered_box(exact, size_h)
    pair.update(zip(("box_x0", "box_y0", "box_x1", "box_y1"), box, strict=True))
    if grid:
        pair["h_to_l_grid"] = nodes.ravel().tolist()
        pair["h_to_l_grid_shape"] = list(nodes.shape[:2])
    manifests = root / ("manifests-grid" if grid else "manifests-similarity")
    manifests.mkdir(exist_ok=True)
    write_manifest("frames", frames, manifests / "frames.parquet")
    # The same pair in every split, so that one sequence serves training, validation and eval.
    rows = [dict(pair, split=split) for split in ("train", "val", "test")]
    write_manifest("pairs", rows, manifests / "pairs.parquet")
    return manifests, truth


@pytest.fixture(scope="module", params=["raw", "corrected"])
def distorted(request, tmp_path_factory):
    """One small sequence through the rig's lens (the simulated rig's lensfun lens, the FE
    24-240mm, perturbed), JPEGs in the given geometry; manifests with and without the grid."""
    base = tmp_path_factory.mktemp(f"grid-{request.param}")
    synthesize("simulated", base, 1, 5, 0.3, progress=False, jpeg_geometry=request.param)
    folder = base / "00001"
    with_grid, truth = write_dataset(folder, grid=True)
    without, _ = write_dataset(folder, grid=False)
    return {"grid": with_grid, "similarity": without, "truth": truth, "geometry": request.param}


def target_px_error(pair, truth, points_h: np.ndarray, rows=slice(None)) -> np.ndarray:
    """|sampled - exact| JPEG-H position of each output pixel, in target px."""
    points_l = output_mosaic_points(pair.zoom, pair.box, rows)
    exact = truth_inverse(truth, points_l, points_h)
    scale = math.sqrt(abs(np.linalg.det(pair.h_to_l_matrix()[:2, :2])))
    return np.linalg.norm(points_h - exact, axis=-1) * scale * pair.zoom


def test_target_positions_land_on_the_truth(distorted):
    """Every output pixel of the box samples JPEG-H within 0.1 target px of the exact map's
    inverse through the grid; through h_to_l alone the same pair is pixels off."""
    [pair] = load_pairs(distorted["grid"])
    assert pair.h_to_l_grid is not None
    err = target_px_error(pair, distorted["truth"], target_points(pair.pair_map(), ZOOM, pair.box))
    [rigid] = load_pairs(distorted["similarity"])
    assert rigid.h_to_l_grid is None
    off = target_px_error(
        rigid, distorted["truth"], target_points(rigid.pair_map(), ZOOM, rigid.box)
    )
    assert err.max() < 0.1
    assert off.max() > 0.5


def test_lattice_reading_is_the_grid_inverse(distorted):
    """Targets read the inverse from a lattice at every mosaic pixel: against PairMap.inverse at
    each output pixel itself, within 0.01 H px (the bilinear grid's kinks: ~0.005 at this size)."""
    [pair] = load_pairs(distorted["grid"])
    pair_map = pair.pair_map()
    rows = slice(0, None, 7)
    exact = pair_map.inverse(output_mosaic_points(ZOOM, pair.box, rows))
    read = lattice_points(h_lattice(pair_map, pair.box), ZOOM, pair.box, rows)
    assert read.shape == exact.shape
    assert np.abs(read - exact).max() < 0.01
    assert np.array_equal(target_points(pair_map, ZOOM, pair.box)[rows], read)


def block_shifts(
    moving: np.ndarray, fixed: np.ndarray, block: int = 32, texture: float = 50.0
) -> np.ndarray:
    """(n, 2) displacement of `moving` against `fixed` per textured block: one Lucas-Kanade
    step (moving(x) = fixed(x + d)), exact for the sub-pixel shifts it is used on here."""
    gy, gx = np.gradient(fixed)
    out = []
    h, w = fixed.shape
    for y in range(2, h - block - 1, block):
        for x in range(2, w - block - 1, block):
            win = (slice(y, y + block), slice(x, x + block))
            g = np.stack([gx[win].ravel(), gy[win].ravel()], axis=1)
            normal = g.T @ g
            # Needs texture both ways: squared gradient (per pixel, on average) `texture` or more.
            if np.linalg.eigvalsh(normal)[0] < texture * block * block:
                continue
            out.append(np.linalg.solve(normal, g.T @ (moving[win] - fixed[win]).ravel()))
    return np.array(out)


def gray(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, dtype=np.float64).mean(axis=-1)


def test_target_crop_matches_an_independent_resampling_of_h(distorted, tmp_path):
    """A training item's target against JPEG-H resampled here at the exact map's positions: the
    grid's crop is that image to rounding; the similarity's crop visibly is not."""
    truth = distorted["truth"]
    results = {}
    for kind in ("grid", "similarity"):
        ds = PairCrops.from_manifest(
            distorted[kind], zoom=ZOOM, crop=32, flips=False, cache_dir=tmp_path / kind
        )
        pair = ds.pairs[0].pair
        jpeg_h = cv2.cvtColor(cv2.imread(str(pair.jpeg_h)), cv2.COLOR_BGR2RGB)
        points_l = output_mosaic_points(ZOOM, pair.box)
        start = np.linalg.inv(pair.h_to_l_matrix())
        exact = truth_inverse(truth, points_l, points_l @ start[:2, :2].T + start[:2, 2])
        shrink = 1 / (ZOOM * math.sqrt(abs(np.linalg.det(pair.h_to_l_matrix()[:2, :2]))))
        src = jpeg_h.astype(np.float32)
        if (shrink - 1) / 2 > 0.05:
            src = cv2.GaussianBlur(src, (0, 0), (shrink - 1) / 2, borderType=cv2.BORDER_REFLECT)
        reference = cv2.remap(src, *(exact[..., k].astype(np.float32) for k in (0, 1)), 2)
        # Item 0's crop, drawn as the dataset draws it: its target is the reference's window.
        _, crop = ds.item_crop(0, np.random.default_rng([ds.seed, ds.epoch, 0]))
        item = ds[0]["target"].numpy().transpose(1, 2, 0) * 255
        window = target_window(reference, crop, ZOOM)
        # The whole box, as evaluation scores it.
        whole = whole_box(ds.pairs[0], "raw")["target"].astype(np.float64)
        results[kind] = (item, window, whole, reference)
    item, window, whole, reference = results["grid"]
    assert item.shape == window.shape == (8 * 32, 8 * 32, 3)
    # Same filter at positions under 0.01 px apart: equal but for the 8-bit rounding.
    assert np.abs(item - np.rint(window)).max() <= 2
    shifts = block_shifts(gray(item), gray(window))
    assert len(shifts) >= 4 and np.abs(shifts).max() < 0.1
    assert np.abs(whole - np.rint(reference)).max() <= 2
    shifts = block_shifts(gray(whole), gray(reference))
    assert len(shifts) >= 10 and np.abs(shifts).max() < 0.1
    rigid, window, whole, reference = results["similarity"]
    assert np.abs(rigid - window).max() > 20
    assert np.abs(block_shifts(gray(whole), gray(reference))).max() > 0.5


def write_as_1_0(src: Path, dst: Path) -> Path:
    """A copy of a manifests folder as a pre-grid srraw wrote it: the 1.1 columns absent and
    the files tagged pairs/1.0 and frames/1.0 (the rest of the metadata kept)."""
    dst.mkdir()
    for name, added in (("pairs", PAIRS_1_1), ("frames", FRAMES_1_1)):
        data = pq.read_table(src / f"{name}.parquet")
        data = data.drop_columns([c for c in added if c in data.column_names])
        meta = dict(data.schema.metadata or {})
        meta[b"srraw.schema"] = f"{name}/1.0".encode()
        pq.write_table(data.replace_schema_metadata(meta), dst / f"{name}.parquet")
    return dst


def test_pairs_1_0_manifest_loads_and_uses_h_to_l(distorted, tmp_path):
    """A manifest written before grids existed (pairs/1.0: no grid columns at all) loads in the
    trainer, and its targets are those of h_to_l: the same arrays as a 1.1 pair with a null grid
    (the same cache key but for JPEG-L's geometry); the grid's targets differ, under another key."""
    old = write_as_1_0(distorted["grid"], distorted["grid"].parent / f"old-{tmp_path.name}")
    assert schema_tag(old / "pairs.parquet") == ("pairs", 1, 0)
    assert schema_tag(old / "frames.parquet") == ("frames", 1, 0)
    assert not set(PAIRS_1_1) & set(pq.read_schema(old / "pairs.parquet").names)
    [pair] = load_pairs(old)
    assert pair.h_to_l_grid is None and not pair.pair_map().has_grid
    ds = PairCrops.from_manifest(old, zoom=ZOOM, crop=16, cache_dir=tmp_path / "cache")
    item = ds[0]
    assert item["target"].shape == (3, 128, 128) and float(item["target"].std()) > 0.01
    [rigid] = prepared_pairs(distorted["similarity"], "train", ZOOM, cache_dir=tmp_path / "cache")
    [grid] = prepared_pairs(distorted["grid"], "train", ZOOM, cache_dir=tmp_path / "cache")
    # (1.0 frames state no JPEG geometry: JPEG-L is sliced, see test_jpeg_l_box_lies_on_...)
    sliced = dataclasses.replace(rigid.pair, jpeg_l_map=None)
    assert cache_mod.entry_key(ds.pairs[0].pair) == cache_mod.entry_key(sliced)
    assert cache_mod.entry_key(grid.pair) != cache_mod.entry_key(rigid.pair)
    assert np.array_equal(ds.pairs[0].target, rigid.target)
    assert not np.array_equal(grid.target, rigid.target)
    # Through h_to_l the target is the affine warp of JPEG-H, exactly as before grids existed.
    jpeg_h = cv2.cvtColor(cv2.imread(str(pair.jpeg_h)), cv2.COLOR_BGR2RGB)
    x0, y0, x1, y1 = pair.box
    expected = warp(
        jpeg_h, output_to_h(pair.h_to_l_matrix(), ZOOM, x0, y0), (4 * (x1 - x0), 4 * (y1 - y0))
    )
    assert np.array_equal(rigid.target, np.clip(np.rint(expected), 0, 255).astype(np.uint8))


def test_cache_key_follows_the_grid(distorted):
    [pair] = load_pairs(distorted["grid"])
    moved = np.asarray(pair.h_to_l_grid).copy()
    moved[7] += 0.01
    other = dataclasses.replace(pair, h_to_l_grid=tuple(moved))
    assert cache_mod.entry_key(other) != cache_mod.entry_key(pair)
    assert cache_mod.entry_key(dataclasses.replace(pair)) == cache_mod.entry_key(pair)
    reshaped = dataclasses.replace(pair, h_to_l_grid_shape=pair.h_to_l_grid_shape[::-1])
    assert cache_mod.entry_key(reshaped) != cache_mod.entry_key(pair)


def _rewrite_pairs(src: Path, dst: Path, **changes) -> Path:
    """A copy of a manifests folder whose pairs rows have `changes` applied."""
    dst.mkdir()
    (dst / "frames.parquet").write_bytes((src / "frames.parquet").read_bytes())
    rows = [dict(r, **changes) for r in pq.read_table(src / "pairs.parquet").to_pylist()]
    write_manifest("pairs", rows, dst / "pairs.parquet")
    return dst


def test_bad_grid_is_one_line_naming_the_manifest(distorted, tmp_path):
    base = distorted["grid"].parent
    bad = _rewrite_pairs(
        distorted["grid"],
        base / f"bad-{tmp_path.name}",
        h_to_l_grid=[1.0] * 10,
    )
    with pytest.raises(SrrawError) as info:
        load_pairs(bad)
    message = info.value.message
    assert message.startswith(str(bad / "pairs.parquet")) and "h_to_l_grid" in message
    assert "\n" not in message
    nan = _rewrite_pairs(
        distorted["grid"],
        base / f"nan-{tmp_path.name}",
        h_to_l_grid=[float("nan")] * len(load_pairs(distorted["grid"])[0].h_to_l_grid),
    )
    with pytest.raises(SrrawError, match="non-finite"):
        load_pairs(nan)


def test_jpeg_of_another_size_than_the_grid_is_refused(distorted, tmp_path):
    """The grid's nodes sit on frame H's JPEG as frames.parquet sizes it: a JPEG-H of another
    size is refused when caching, naming the file."""
    [pair] = load_pairs(distorted["grid"])
    other = dataclasses.replace(pair, size_h=(pair.size_h[0] + 2, pair.size_h[1]))
    with pytest.raises(SrrawError, match=r"frames\.parquet says") as info:
        cache_mod.prepare([other], tmp_path / "cache")
    assert info.value.message.startswith(str(pair.jpeg_h))


@pytest.mark.slow
def test_train_on_1_0_and_eval_follows_the_grid(distorted, tmp_path):
    """`train` runs on a pairs/1.0 manifest; `evaluate` scores a pair with a grid against the
    grid's target (the whole-box target checked above), so its score moves with the map."""
    from srraw_model.config import TrainConfig
    from srraw_model.evaluate import evaluate
    from srraw_model.train import train

    old = write_as_1_0(distorted["grid"], distorted["grid"].parent / f"trained-{tmp_path.name}")
    tiny = dict(zoom=ZOOM, width=8, blocks=2, crop=8, batch=2, rgb_stride=4, cobi_vgg=0.0)
    tiny.update(samples_per_epoch=4, log_every=1, val_every=2, tile=32, overlap=8)
    cfg = TrainConfig(manifest=str(old), cache_dir=str(tmp_path / "cache"), steps=2, **tiny)
    last = train(cfg, tmp_path / "run", progress=False)
    assert last["step"] == 2 and math.isfinite(last["val_bicubic_psnr"])
    scores = {}
    for kind in ("grid", "similarity"):
        table = evaluate(
            distorted[kind],
            tmp_path / "run" / "checkpoint.pt",
            cache_dir=tmp_path / "cache",
            tile=32,
            overlap=8,
        )
        assert sorted(table.method) == ["bicubic", "model"] and table.psnr.notna().all()
        scores[kind] = table.set_index("method").loc["bicubic", "psnr"]
    # Bicubic works on L's own grid and never reads the map: only the target moved. At 4X the
    # baseline is too blurred for the PSNR to tell a 1-2 px misalignment much (~0.03 dB here).
    assert scores["grid"] != scores["similarity"]


def local_contrast(image: np.ndarray, sigma: float = 8.0) -> np.ndarray:
    """Zero local mean, unit local spread: compares a developed RAW with a JPEG (other tones)."""
    x = cv2.GaussianBlur(image, (0, 0), 1.0)
    mean = cv2.GaussianBlur(x, (0, 0), sigma)
    spread = cv2.GaussianBlur((x - mean) ** 2, (0, 0), sigma)
    return (x - mean) / np.sqrt(spread + 1e-6)


def test_jpeg_l_box_lies_on_the_raw_grid(distorted, tmp_path):
    """--input rgb / syn-raw and their bicubic baseline read JPEG-L on RAW-L's grid: with the
    frame's JPEG geometry (frames/1.1) the box lines up with the developed RAW within 0.15 px;
    a frames/1.0 manifest slices JPEG-L as before, off by the distortion when it is corrected."""
    cache = tmp_path / "cache"
    old = write_as_1_0(distorted["grid"], distorted["grid"].parent / f"rgb-{tmp_path.name}")
    boxes = {}
    for name, manifests in (("1.1", distorted["grid"]), ("1.0", old)):
        [cp] = prepared_pairs(manifests, "train", ZOOM, cache_dir=cache)
        p = cp.pair
        dev = develop_float(
            np.asarray(cp.mosaic), p.cfa, p.black_levels, p.white_level, p.wb, p.ccm()
        )
        rgb_l = np.asarray(cp.rgb_l)
        assert rgb_l.shape == dev.shape
        shifts = block_shifts(
            local_contrast(gray(rgb_l)), local_contrast(gray(dev)), 32, texture=1e-3
        )
        assert len(shifts) >= 6
        boxes[name] = (p.jpeg_l_map, rgb_l, np.abs(shifts).max())
    (jpeg_map, new, new_shift), (none, sliced, old_shift) = boxes["1.1"], boxes["1.0"]
    assert jpeg_map is not None and none is None
    assert new_shift < 0.15
    if distorted["geometry"] == "raw":
        assert jpeg_map.is_identity and np.array_equal(new, sliced)
    else:
        assert not jpeg_map.is_identity and old_shift > 1.0


def test_bad_jpeg_geometry_is_one_line_naming_frames(distorted, tmp_path):
    bad = distorted["grid"].parent / f"badgeo-{tmp_path.name}"
    bad.mkdir()
    (bad / "pairs.parquet").write_bytes((distorted["grid"] / "pairs.parquet").read_bytes())
    rows = pq.read_table(distorted["grid"] / "frames.parquet").to_pylist()
    write_manifest(
        "frames", [dict(r, jpeg_geometry="sideways") for r in rows], bad / "frames.parquet"
    )
    with pytest.raises(SrrawError, match="bad JPEG geometry") as info:
        load_pairs(bad)
    assert info.value.message.startswith(str(bad / "frames.parquet"))
    assert "\n" not in info.value.message
