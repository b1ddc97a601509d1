"""A sequence's lens-aware geometry, from its decoded frames to one full map per pair.

1. Each frame: a lensfun prior (when lensfun knows the lens), its JPEG measured against its own
   RAW (jpeggeom.py).
2. Every pair of neighbouring focal lengths and every training pair is aligned as a similarity
   on the JPEGs (align.py): the start. Poses are chained from the widest frame.
3. Dense flow through the current model gives point matches for every such pair; all poses
   and the distortion of every frame whose JPEG shares the RAW's grid are fitted jointly
   (lensfit.py). Twice: the second flow starts from the first fit.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import math
from collections.abc import Callable, Iterable

import numpy as np

from srraw.lens import N_TERMS, Distortion, Normalisation
from srraw.lensdb import LensEntry, camera_crop_factor, find_lens
from srraw.pairmap import fit_similarity
from srraw.parallel import thread_map
from srraw_prep.align import AlignError, Alignment, align, to_grey
from srraw_prep.geometry import resize_map
from srraw_prep.jpeggeom import JpegGeometry, measure_jpeg_geometry
from srraw_prep.lensfit import (
    FitReport,
    FrameModel,
    Matches,
    fit_sequence,
    jpeg_h_to_jpeg_l,
    pair_errors,
    relative_pose,
)
from srraw_prep.residual import AlignedPair, Flow, aligned_pair, flow_field, flow_matches
from srraw_prep.warp import Pyramid

# Flow grid pixels per L pixel for a training pair's final flow: finer than L, so that the flow
# has samples enough where H covers only a small part of L (an 8X pair sees 1/64 of it).
# Measured on benchmarks/align_accuracy.py (seed 2026): 2 against 1, 958x640 raw 4X 0.087 ->
# 0.070 px, 8X 0.211 -> 0.166; 12 MP 4X 0.131 -> 0.102, 8X 0.220 -> 0.181 (mean per pair).
OVERSAMPLE = 2.0
CHAIN_PIXELS = 120_000  # neighbouring focal lengths: the similarity start, on shrunk copies
# ... and SIFT's coarse match within them, at a quarter of that (SIFT doubles its input first):
# on a 12 MP sequence the same ECC result to 1e-3 px with 114-357 inliers, in a fifth of the time.
CHAIN_FEATURE_PIXELS = 30_000


@dataclasses.dataclass
class FrameInputs:
    """What geometry needs of one decoded frame."""

    index: int
    focal_mm: float
    rgb: np.ndarray  # JPEG, uint8 RGB
    green: np.ndarray | None  # RAW green at half resolution, linear (until frame_models)
    raw_size: tuple[int, int]
    make: str | None
    body: str | None
    lens_model: str | None
    makernote: str | None = None  # 'on' / 'off' / None
    pyramid: Pyramid = dataclasses.field(init=False)  # the JPEG's green, read by every pair
    # (model, JPEG geometry, lensfun name), once measure_frame has run
    measured: tuple[FrameModel, JpegGeometry, str | None] | None = dataclasses.field(
        default=None, init=False
    )

    def __post_init__(self) -> None:
        self.pyramid = Pyramid(self.rgb, channel=1)


@dataclasses.dataclass
class PairGeometry:
    """The outcome for one pair (L, H) of the fit set."""

    low: int
    high: int
    alignment: Alignment | None = None
    error: str | None = None
    matches: Matches | None = None
    pair: AlignedPair | None = None
    flow: Flow | None = None
    # The pair's own two frame models when it was fitted alone (pairwise.py); None: the
    # sequence's joint models.
    frames: dict[int, FrameModel] | None = None


@dataclasses.dataclass
class SequenceGeometry:
    frames: dict[int, FrameModel]
    jpeg: dict[int, JpegGeometry]
    lensfun: dict[int, str | None]
    sources: dict[int, str]
    pairs: dict[tuple[int, int], PairGeometry]
    fit: FitReport | None
    reference: int | None

    def pair_frames(self, low: int, high: int) -> dict[int, FrameModel]:
        """The frame models that make the pair's map."""
        pg = self.pairs.get((low, high))
        return pg.frames if pg is not None and pg.frames is not None else self.frames

    def errors(self, low: int, high: int) -> np.ndarray:
        pg = self.pairs.get((low, high))
        if pg is None or pg.matches is None or len(pg.matches.points_h) == 0:
            return np.zeros(0)
        return pair_errors(self.pair_frames(low, high), pg.matches)


def _lens_entry(frame: FrameInputs, override: str | None) -> LensEntry | None:
    if override and override.casefold() == "none":
        return None
    return find_lens(override or frame.lens_model, frame.make, frame.body)


def frame_models(
    inputs: Iterable[FrameInputs], lens_override: str | None, threads: int = 1
) -> tuple[dict[int, FrameModel], dict[int, JpegGeometry], dict[int, str | None]]:
    """Each frame's prior and measured JPEG geometry (measure_frame's, where it has run)."""
    results = thread_map(lambda f: f.measured or _frame_model(f, lens_override), inputs, threads)
    frames = {model.index: model for model, _, _ in results}
    jpeg = {model.index: geometry for model, geometry, _ in results}
    names = {model.index: name for model, _, name in results}
    return frames, jpeg, names


def measure_frame(f: FrameInputs, lens_override: str | None) -> None:
    """The frame's prior and its JPEG measured against its RAW, kept on it: done as each frame
    is decoded, so that its RAW green is freed at once and no core waits for the last frame."""
    f.measured = _frame_model(f, lens_override)


def _frame_model(
    f: FrameInputs, lens_override: str | None
) -> tuple[FrameModel, JpegGeometry, str | None]:
    entry = _lens_entry(f, lens_override)
    crop = camera_crop_factor(f.make, f.body)
    if entry is not None:
        norm = entry.normalisation(*f.raw_size, crop)
        # A focal length outside the lens's range means EXIF names another lens: no prior.
        lo, hi = entry.focal_range_mm
        fits = lo * 0.97 <= f.focal_mm <= hi * 1.03
        prior = entry.distortion_at(f.focal_mm) if fits else None
    else:
        norm = Normalisation.lensfun(*f.raw_size, crop or 1.0)
        prior = None
    start = prior or Distortion("ptlens", (0.0,) * N_TERMS["ptlens"])
    expect = {"on": True, "off": False}.get(f.makernote or "")
    geometry = measure_jpeg_geometry(f.pyramid, f.green, norm, prior, expect)
    f.green = None  # needed only here: 12 MB a frame at 12 MP, dropped
    model = FrameModel(
        index=f.index,
        raw_size=f.raw_size,
        jpeg_size=(f.rgb.shape[1], f.rgb.shape[0]),
        norm=norm,
        distortion=geometry.distortion or start,
        prior=prior,
        jpeg_geometry=geometry.kind,
        jpeg_scale=geometry.scale,
        jpeg_offset=geometry.offset,
        refine_distortion=geometry.kind == "raw",
    )
    return model, geometry, entry.name if entry is not None else None


def fit_set(
    inputs: dict[int, FrameInputs], training: Iterable[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Neighbouring focal lengths (the chain the poses start from) and the training pairs."""
    order = sorted(inputs.values(), key=lambda f: (f.focal_mm, f.index))
    pairs = [(a.index, b.index) for a, b in itertools.pairwise(order) if b.focal_mm > a.focal_mm]
    for pair in training:
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def _ideal_similarity(low: FrameModel, high: FrameModel, h_to_l: np.ndarray) -> np.ndarray:
    """A JPEG-space similarity H -> L expressed between the frames' ideal coordinates."""
    w, h = high.jpeg_size
    xs, ys = np.meshgrid(np.linspace(0, w - 1, 9), np.linspace(0, h - 1, 7))
    q_h = np.stack([xs, ys], axis=-1).reshape(-1, 2)
    q_l = q_h @ h_to_l[:2, :2].T + h_to_l[:2, 2]
    return fit_similarity(high.jpeg_to_ideal(q_h), low.jpeg_to_ideal(q_l))


def _chain_poses(
    frames: dict[int, FrameModel], pairs: dict[tuple[int, int], PairGeometry], reference: int
) -> set[int]:
    """Poses from the reference frame along aligned pairs (breadth first); the frames reached."""
    links: dict[int, list[tuple[int, np.ndarray]]] = collections.defaultdict(list)
    for (low, high), pg in pairs.items():
        if pg.alignment is None:
            continue
        h_to_l = _ideal_similarity(frames[low], frames[high], pg.alignment.h_to_l)
        links[high].append((low, np.linalg.inv(h_to_l)))  # ideal L -> ideal H
        links[low].append((high, h_to_l))  # ideal H -> ideal L
    frames[reference].pose = np.eye(3)
    reached = {reference}
    queue = collections.deque([reference])
    while queue:
        here = queue.popleft()
        for there, there_to_here in links[here]:
            if there in reached:
                continue
            # u_here = there_to_here u_there and u = A X: A_there = inv(there_to_here) A_here.
            frames[there].pose = np.linalg.inv(there_to_here) @ frames[here].pose
            reached.add(there)
            queue.append(there)
    return reached


def _align(
    pg: PairGeometry,
    inputs: dict[int, FrameInputs],
    model: str,
    feature_pixels: int,
    max_pixels: int | None = None,
) -> None:
    """The JPEG similarity H -> L of one pair; on copies shrunk to `max_pixels` when given (a
    start for the flow needs no more)."""
    ratio = inputs[pg.high].focal_mm / inputs[pg.low].focal_mm
    rgb_l, rgb_h = inputs[pg.low].rgb, inputs[pg.high].rgb
    sizes = [(img.shape[1], img.shape[0]) for img in (rgb_l, rgb_h)]
    shrink = (
        1.0 if max_pixels is None else min(1.0, math.sqrt(max_pixels / (sizes[0][0] * sizes[0][1])))
    )
    small = [(max(16, round(w * shrink)), max(16, round(h * shrink))) for w, h in sizes]
    if shrink < 1.0:
        img_l, img_h = (
            inputs[i].pyramid.shrunk(size) for i, size in zip((pg.low, pg.high), small, strict=True)
        )
    else:
        img_l, img_h = to_grey(rgb_l), to_grey(rgb_h)
    try:
        result = align(img_l, img_h, ratio, model=model, feature_pixels=feature_pixels)
    except AlignError as exc:
        pg.error = str(exc)
        return
    if shrink < 1.0:
        h_to_l = (
            np.linalg.inv(resize_map(sizes[0], small[0]))
            @ result.h_to_l
            @ resize_map(sizes[1], small[1])
        )
        result = dataclasses.replace(result, h_to_l=h_to_l)
    pg.alignment = result


def _flow_pass(
    frames: dict[int, FrameModel],
    inputs: dict[int, FrameInputs],
    pg: PairGeometry,
    max_pixels: int,
    oversample: float = 1.0,
    evidence: bool = True,
) -> None:
    """Flow matches of one pair through the current models; `evidence`: the pair's error
    evidence is read from this flow (else it only feeds the fit: a quicker check serves)."""
    low, high = frames[pg.low], frames[pg.high]

    def h_to_l(points: np.ndarray) -> np.ndarray:
        return jpeg_h_to_jpeg_l(low, high, points)

    pg.pair = aligned_pair(
        inputs[pg.low].pyramid, inputs[pg.high].pyramid, h_to_l, max_pixels, oversample
    )
    pg.flow = flow_field(pg.pair, quick_check=not evidence)
    points_h, points_l = flow_matches(pg.pair, pg.flow, h_to_l, max_points=1500)
    pg.matches = Matches(pg.low, pg.high, points_h, points_l)


def sequence_geometry(
    inputs: dict[int, FrameInputs],
    training: list[tuple[int, int]],
    *,
    lens_override: str | None = None,
    model: str = "euclidean",
    feature_pixels: int = 600_000,
    flow_pixels: int = 750_000,
    fit_flow_pixels: int = 150_000,
    timer: Callable[[str], object] | None = None,
    pair_fit: str = "joint",
    threads: int = 1,
) -> SequenceGeometry:
    """Fit the whole sequence; `training` lists the (L, H) frame pairs the manifest needs.
    pair_fit 'pairwise': each training pair alone instead (pairwise.py, the comparison).
    `threads`: frames and pairs measured at once (the results do not depend on it)."""
    stage = timer or (lambda _name: contextlib.nullcontext())
    with stage("lens"):
        frames, jpeg, names = frame_models(inputs.values(), lens_override, threads)
    if pair_fit == "pairwise":
        from srraw_prep.pairwise import pairwise_geometry  # it builds on this module

        start = SequenceGeometry(frames, jpeg, names, {}, {}, None, None)
        return pairwise_geometry(
            start,
            inputs,
            training,
            model,
            feature_pixels,
            flow_pixels,
            fit_flow_pixels,
            stage,
            threads,
        )
    pairs = {p: PairGeometry(*p) for p in fit_set(inputs, training)}
    chain = fit_set(inputs, [])
    with stage("align"):
        # The chain of neighbouring focal lengths starts the poses; a training pair outside it
        # is aligned on its own only when the chain cannot reach one of its frames.
        # Neighbours overlap widely: a small SIFT search and the affine ECC suffice.
        thread_map(
            lambda p: _align(pairs[p], inputs, "affine", CHAIN_FEATURE_PIXELS, CHAIN_PIXELS),
            chain,
            threads,
        )
        reference = min(inputs.values(), key=lambda f: (f.focal_mm, f.index)).index
        reached = _chain_poses(frames, pairs, reference)
        for (low, high), pg in pairs.items():
            if (low, high) not in chain and not {low, high} <= reached:
                _align(pg, inputs, model, feature_pixels)
        reached = _chain_poses(frames, pairs, reference)
    usable = [pg for pg in pairs.values() if pg.low in reached and pg.high in reached]
    for pg in pairs.values():
        if pg not in usable and pg.error is None:
            pg.error = "no alignment connects this pair to the rest of the sequence"
    fit = None
    with stage("flow"):
        # Pass 1: the chain at a coarse grid, for a first fit; pass 2 starts from it, every
        # pair at its full grid: flow measures small residual motion best. (Keeping the
        # chain's pass-1 matches instead cost 12 MP pairs 0.114 -> 0.169 px.)
        for final in (False, True):
            todo = [pg for pg in usable if final or (pg.low, pg.high) in chain]
            todo.sort(key=lambda pg: (pg.low, pg.high) not in training)  # the large grids first

            def measure(pg: PairGeometry, final: bool = final) -> None:
                if final and (pg.low, pg.high) in training:
                    _flow_pass(frames, inputs, pg, flow_pixels, OVERSAMPLE)
                else:
                    _flow_pass(frames, inputs, pg, fit_flow_pixels, evidence=False)

            thread_map(measure, todo, threads)
            matches = [pg.matches for pg in usable if pg.matches is not None]
            fit = fit_sequence(frames, matches, reference, covariance=final)
    sources = distortion_sources(frames, usable)
    return SequenceGeometry(frames, jpeg, names, sources, pairs, fit, reference)


def distortion_sources(
    frames: dict[int, FrameModel], fitted: Iterable[PairGeometry]
) -> dict[int, str]:
    """Where each frame's lens terms come from: lensfun, measured (a corrected JPEG against its
    RAW, or fitted on the matches of a pair the frame is in), both or none."""
    in_pairs = {i for pg in fitted for i in (pg.low, pg.high)}
    sources = {}
    for index, frame in frames.items():
        measured = (frame.jpeg_geometry == "corrected") or (
            frame.refine_distortion and index in in_pairs
        )
        if frame.prior is not None:
            sources[index] = "lensfun+measured" if measured else "lensfun"
        else:
            sources[index] = "measured" if measured else "none"
    return sources


def measured_scale(low: FrameModel, high: FrameModel) -> float:
    """Magnification of H relative to L between ideal images: the optical focal ratio."""
    rel = relative_pose(low, high)
    return 1.0 / math.sqrt(abs(np.linalg.det(rel[:2, :2])))
