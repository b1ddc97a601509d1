"""One sequence in, its frame rows and pair rows out: decode each frame once, pair, align."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from srraw.content import check_jpeg_content
from srraw.errors import SrrawError
from srraw.exif import read_exif, shot_mismatches
from srraw.files import relative_to_root, sha256_file
from srraw.makernote import distortion_correction
from srraw.pairmap import PairMap, fit_similarity, node_positions, sample_grid
from srraw.parallel import thread_map
from srraw.raw import RawFrame, read_raw
from srraw_prep.config import PrepConfig
from srraw_prep.discover import FrameInput, SequenceInput
from srraw_prep.errorest import error_evidence
from srraw_prep.geometry import Similarity, centre_zoom
from srraw_prep.jpeggeom import raw_green
from srraw_prep.lensfit import jpeg_h_to_jpeg_l, jpeg_h_to_raw_l
from srraw_prep.overlay import checkerboards
from srraw_prep.residual import colour_fit, correlation, residual_of
from srraw_prep.seqgeom import (
    FrameInputs,
    SequenceGeometry,
    measure_frame,
    measured_scale,
    sequence_geometry,
)


@dataclasses.dataclass
class SequenceResult:
    sequence: str
    frames: list[dict]
    pairs: list[dict]
    thumbs: dict[str, bytes]  # file name -> JPEG bytes (report overlays)
    timings: dict[str, float]


@dataclasses.dataclass
class _Frame:
    """What one decoded frame leaves for pairing."""

    index: int
    row: dict
    focal: float | None
    error: str | None = None
    raw: RawFrame | None = None
    rgb: np.ndarray | None = None
    green: np.ndarray | None = None  # RAW green, half resolution (JPEG-vs-RAW geometry)


class _Clock:
    """Seconds spent per stage, summed over a sequence."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._lock = threading.Lock()  # pairs are measured in threads

    @contextlib.contextmanager
    def time(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.totals[stage] = self.totals.get(stage, 0.0) + time.perf_counter() - start


def _file_fields(prefix: str, path: Path | None, root: Path) -> dict:
    if path is None:
        return {}
    return {
        f"{prefix}_path": relative_to_root(path, root),
        f"{prefix}_sha256": sha256_file(path),
        f"{prefix}_bytes": path.stat().st_size,
    }


def _decode_jpeg(path: Path) -> np.ndarray:
    check_jpeg_content(path)  # OpenCV raises a bare cv2.error on an empty buffer
    data = np.fromfile(path, dtype=np.uint8)
    # Straight to RGB where OpenCV can (4.10+): a 12 MP frame's BGR copy costs 36 MB of pages.
    rgb = getattr(cv2, "IMREAD_COLOR_RGB", None)
    flags = (cv2.IMREAD_COLOR if rgb is None else rgb) | cv2.IMREAD_IGNORE_ORIENTATION
    image = cv2.imdecode(data, flags)
    if image is None:
        raise SrrawError("JPEG cannot be decoded (truncated or not a JPEG)", path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if rgb is None else image


def _missing(frame: FrameInput) -> str | None:
    stem = f"{frame.index:05d}"
    if frame.raw is None and frame.jpeg is None:
        return f"frame {stem} missing: no RAW and no JPEG"
    if frame.raw is None:
        return f"frame {stem}: no RAW file beside {frame.jpeg.name}"
    if frame.jpeg is None:
        return f"frame {stem}: no JPEG beside {frame.raw.name}"
    return None


def _error_text(exc: SrrawError, root: Path) -> str:
    """The error naming its file relative to the dataset root, as the manifests do."""
    if exc.path is None:
        return exc.message
    try:
        return f"{relative_to_root(exc.path, root)}: {exc.reason}"
    except SrrawError:
        return exc.message


def _known_focal(frame: FrameInput) -> float | None:
    """A failed frame's EXIF focal length (JPEG, else RAW), so its pairs still get rows."""
    for path in (frame.jpeg, frame.raw):
        if path is not None:
            try:
                if focal := read_exif(path).focal_length_mm:
                    return focal
            except SrrawError:
                pass
    return None


def _shot_error(frame: FrameInput, raw: RawFrame, rgb: np.ndarray, root: Path) -> str | None:
    """Why the RAW and the JPEG of a frame are not one shot (another camera, another time)."""
    problems = shot_mismatches(
        read_exif(frame.raw),
        read_exif(frame.jpeg),
        (raw.width, raw.height),
        (rgb.shape[1], rgb.shape[0]),
    )
    if not problems:
        return None
    names = [relative_to_root(p, root) for p in (frame.raw, frame.jpeg)]
    return f"{names[0]} and {names[1]} are not the same shot: " + "; ".join(problems)


def read_frame(seq: SequenceInput, frame: FrameInput) -> _Frame:
    """Decode one frame (RAW checked whole, JPEG decoded) into its manifest row."""
    row: dict = {"sequence": seq.sequence, "frame": frame.index, "qa_flags": []}
    row |= _file_fields("raw", frame.raw, seq.root) | _file_fields("jpeg", frame.jpeg, seq.root)
    error = _missing(frame)
    if error is None:
        try:
            raw = read_raw(frame.raw, frame.jpeg)
            rgb = _decode_jpeg(frame.jpeg)
            error = _shot_error(frame, raw, rgb, seq.root)
        except SrrawError as exc:
            error = _error_text(exc, seq.root)
    if error is not None:
        failed = row | {"status": "failed", "error": error}
        return _Frame(frame.index, failed, _known_focal(frame), error)
    exif = raw.exif
    row |= {
        "width": raw.width,
        "height": raw.height,
        "jpeg_width": rgb.shape[1],
        "jpeg_height": rgb.shape[0],
        "cfa": raw.cfa,
        "black_levels": list(raw.black_levels),
        "white_level": raw.white_level,
        "wb": list(raw.wb),
        "color_matrix": None if raw.color_matrix is None else raw.color_matrix.ravel().tolist(),
        "focal_length_mm": exif.focal_length_mm,
        "exposure_time_s": exif.exposure_time_s,
        "f_number": exif.f_number,
        "iso": exif.iso,
        "make": exif.make,
        "model": exif.model,
        "serial": exif.serial,
        "lens_model": exif.lens_model,
        "orientation": exif.orientation,
        "capture_time": exif.capture_time,
        "makernote_distortion_correction": distortion_correction(frame.jpeg),
    }
    if exif.focal_length_mm is None:
        error = (
            f"{row['jpeg_path']}: no focal length in EXIF (neither the RAW nor the JPEG has one)"
        )
        return _Frame(frame.index, row | {"status": "failed", "error": error}, None, error)
    green = raw_green(raw)
    raw = dataclasses.replace(raw, mosaic=None)  # checked whole; pairs need only its metadata
    return _Frame(frame.index, row | {"status": "ok"}, exif.focal_length_mm, None, raw, rgb, green)


_SEQUENCE_CHECKS = (
    ("exposure_time_s", "exposure_mismatch"),
    ("iso", "iso_mismatch"),
    ("f_number", "aperture_mismatch"),
    ("model", "mixed_body"),
    ("serial", "mixed_body"),
    ("lens_model", "mixed_lens"),
)


def sequence_flags(frames: list[_Frame]) -> list[str]:
    """Flags for settings that must not change within a sequence."""
    ok = [f.row for f in frames if f.error is None]
    flags = []
    for key, flag in _SEQUENCE_CHECKS:
        values = {row.get(key) for row in ok if row.get(key) is not None}
        if len(values) > 1 and flag not in flags:
            flags.append(flag)
    return flags


def candidate_pairs(frames: list[_Frame], zoom: int, band: float) -> list[tuple[_Frame, _Frame]]:
    """(L, H) frame pairs whose EXIF focal ratio lies within zoom * (1 +- band)."""
    known = sorted((f for f in frames if f.focal), key=lambda f: (f.focal, f.index))
    pairs = []
    for low, high in itertools.combinations(known, 2):
        if high.focal > low.focal and abs(high.focal / low.focal / zoom - 1) <= band:
            pairs.append((low, high))
    return pairs


def _pair_box(pmap: PairMap, size_h: tuple[int, int], size_l: tuple[int, int]) -> dict:
    """Even-aligned mosaic box of L covered by the whole target (pixel edges included)."""
    w, h = size_h
    t = np.linspace(0.0, 1.0, 33)
    edge_x = np.concatenate([t * w, t * w, np.zeros_like(t), np.full_like(t, w)]) - 0.5
    edge_y = np.concatenate([np.zeros_like(t), np.full_like(t, h), t * h, t * h]) - 0.5
    mapped = pmap(np.stack([edge_x, edge_y], axis=-1)) + 0.5  # pixel edge coordinates in L
    x0, y0 = np.floor(mapped.min(axis=0) / 2) * 2
    x1, y1 = np.ceil(mapped.max(axis=0) / 2) * 2
    return {
        "box_x0": int(max(0, x0)),
        "box_y0": int(max(0, y0)),
        "box_x1": int(min(size_l[0] // 2 * 2, x1)),
        "box_y1": int(min(size_l[1] // 2 * 2, y1)),
    }


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None


MIN_MATCHES = 50  # flow matches a pair needs before its map and residual mean anything


def pair_row(
    seq: SequenceInput,
    zoom: int,
    low: _Frame,
    high: _Frame,
    cfg: PrepConfig,
    clock: _Clock,
    thumbs: dict[str, bytes],
    geometry: SequenceGeometry | None,
) -> dict:
    row = {
        "sequence": seq.sequence,
        "zoom": zoom,
        "frame_l": low.index,
        "frame_h": high.index,
        "qa_flags": [],
        "focal_l_mm": low.focal,
        "focal_h_mm": high.focal,
        "nominal_ratio": high.focal / low.focal,
    }
    for key, frame, kinds in (("l", low, ("raw", "jpeg")), ("h", high, ("jpeg",))):
        for kind in kinds:
            for part in ("path", "sha256"):
                row[f"{kind}_{key}_{part}"] = frame.row.get(f"{kind}_{part}")
    for frame, role in ((low, "L"), (high, "H")):
        if frame.error:
            return row | {
                "status": "failed",
                "error": f"{role} frame {frame.index:05d} failed: {frame.error}",
            }
    pg = geometry.pairs.get((low.index, high.index)) if geometry else None
    if pg is None or pg.matches is None:
        reason = pg.error if pg is not None and pg.error else "alignment did not converge"
        return row | {
            "status": "failed",
            "error": f"{seq.sequence} {low.index:05d}->{high.index:05d}: {reason}",
        }
    if len(pg.matches.points_h) < MIN_MATCHES:
        return row | {
            "status": "failed",
            "error": (
                f"{seq.sequence} {low.index:05d}->{high.index:05d}: no texture to measure the "
                f"alignment on ({len(pg.matches.points_h)} flow matches)"
            ),
        }
    models = geometry.pair_frames(low.index, high.index)
    model_l, model_h = models[low.index], models[high.index]
    size_l = (low.rgb.shape[1], low.rgb.shape[0])
    size_h = (high.rgb.shape[1], high.rgb.shape[0])
    with clock.time("grid"):
        grid = sample_grid(lambda pts: jpeg_h_to_raw_l(model_l, model_h, pts), size_h)
        nodes_shape = grid.shape[:2]
        h_to_l = fit_similarity(node_positions(nodes_shape, size_h), grid)
        pmap = PairMap(h_to_l, size_h, grid)
    parts = Similarity.of(h_to_l)
    measured = measured_scale(model_l, model_h)
    errors = geometry.errors(low.index, high.index)
    fit = geometry.fit if pg.frames is None else None  # pairwise fits keep no covariance
    evidence = error_evidence(models, pg.matches, pg.pair, fit)
    res = residual_of(pg.pair, pg.flow)
    with clock.time("colour"):
        gain, fit_rmse = colour_fit(
            low.rgb, high.rgb, lambda pts: jpeg_h_to_jpeg_l(model_l, model_h, pts)
        )
    rho = correlation(pg.pair)
    row |= {
        "measured_scale": measured,
        "scale_offset": measured / zoom,
        "h_to_l": h_to_l.ravel().tolist(),
        "h_to_l_grid": grid.ravel().tolist(),
        "h_to_l_grid_shape": list(nodes_shape),
        "map_model": "lens",
        "scale": parts.scale,
        "rotation_deg": parts.rotation_deg,
        "tx": parts.tx,
        "ty": parts.ty,
        **_pair_box(pmap, size_h, (low.raw.width, low.raw.height)),
        "ecc_rho": _finite(rho),
        "residual_median_px": _finite(float(np.median(errors))) if len(errors) >= 50 else None,
        "residual_p95_px": _finite(float(np.percentile(errors, 95))) if len(errors) >= 50 else None,
        "residual_valid_fraction": res.valid_fraction,
        "color_gain": list(gain) if all(map(math.isfinite, gain)) else None,
        "color_fit_rmse": _finite(fit_rmse),
        "error_estimate_px": _finite(evidence.estimate_px),
        "error_local_px": _finite(evidence.local_px),
        "error_lever_px": _finite(evidence.lever_px),
        "error_cycle_px": _finite(evidence.cycle_px),
        "error_model_px": _finite(evidence.model_px),
        "texture_coverage": evidence.coverage,
    }
    flags = list(dict.fromkeys(low.row["qa_flags"] + high.row["qa_flags"]))
    if not evidence.estimate_px <= cfg.max_error_estimate_px:
        flags.append("large_error_estimate")
    if not rho >= cfg.min_rho:
        flags.append("low_rho")
    if row["residual_p95_px"] is None or res.valid_fraction < cfg.min_valid_fraction:
        flags.append("no_texture")
    elif row["residual_p95_px"] > cfg.max_residual_p95_px:
        flags.append("large_residual")
    if abs(measured / row["nominal_ratio"] - 1) > cfg.max_scale_deviation:
        flags.append("scale_far_from_nominal")
    with clock.time("thumbs"):
        key = f"{zoom}x_{low.index:05d}_{high.index:05d}"
        before = centre_zoom(size_h, size_l, row["nominal_ratio"])
        after = lambda pts: jpeg_h_to_jpeg_l(model_l, model_h, pts)  # noqa: E731
        overlays = checkerboards(low.rgb, high.rgb, (before, after), cfg.thumb_width)
        thumbs[f"{key}_before.jpg"], thumbs[f"{key}_after.jpg"] = overlays
    return row | {"status": "flagged" if flags else "ok", "qa_flags": flags}


def _frame_geometry_fields(geometry: SequenceGeometry, index: int) -> dict:
    model = geometry.frames[index]
    jpeg = geometry.jpeg[index]
    return {
        "lens_lensfun": geometry.lensfun[index],
        "distortion_model": model.distortion.model,
        "distortion_terms": list(model.distortion.terms),
        "distortion_norm_scale": model.norm.scale,
        "distortion_source": geometry.sources[index],
        "distortion_max_px": model.lens.max_displacement(),
        "jpeg_geometry": jpeg.kind,
        "jpeg_scale": jpeg.scale,
        "jpeg_offset_x": jpeg.offset[0],
        "jpeg_offset_y": jpeg.offset[1],
        "jpeg_geometry_residual_px": jpeg.residual_px,
    }


def process_sequence(seq: SequenceInput, cfg: PrepConfig, threads: int = 1) -> SequenceResult:
    """Frames and pairs of one sequence. Bad input becomes rows with status and error.

    `threads`: frames and pairs measured at once (the results do not depend on it)."""
    clock = _Clock()

    def read(frame: FrameInput) -> tuple[_Frame, FrameInputs | None]:
        with clock.time("decode"):
            got = read_frame(seq, frame)
        if got.error is not None:
            return got, None
        inputs = FrameInputs(
            index=got.index,
            focal_mm=got.focal,
            rgb=got.rgb,
            green=got.green,
            raw_size=(got.raw.width, got.raw.height),
            make=got.row.get("make"),
            body=got.row.get("model"),
            lens_model=got.row.get("lens_model"),
            makernote=got.row.get("makernote_distortion_correction"),
        )
        got.green = None  # FrameInputs holds it, and drops it once measured
        with clock.time("lens"):
            measure_frame(inputs, cfg.lens)
        return got, inputs

    read_back = thread_map(read, seq.frames, threads)
    frames = [got for got, _ in read_back]
    usable = {inputs.index: inputs for _, inputs in read_back if inputs is not None}
    flags = sequence_flags(frames)
    for frame in frames:
        if frame.error is None and flags:
            frame.row["qa_flags"] = list(flags)
            frame.row["status"] = "flagged"
    pairs: list[dict | None] = []
    jobs: list[tuple[int, _Frame, _Frame]] = []
    thumbs: dict[str, bytes] = {}
    wanted = {
        zoom: candidate_pairs(frames, zoom, cfg.band) if len(frames) >= 2 else []
        for zoom in cfg.zooms
    }
    training = list(dict.fromkeys((lo.index, hi.index) for c in wanted.values() for lo, hi in c))
    training = [p for p in training if p[0] in usable and p[1] in usable]
    geometry = None
    if training:
        geometry = sequence_geometry(
            usable,
            training,
            lens_override=cfg.lens,
            model=cfg.model,
            feature_pixels=cfg.feature_pixels,
            flow_pixels=cfg.flow_pixels,
            timer=clock.time,
            pair_fit=cfg.pair_fit,
            threads=threads,
        )
        for frame in frames:
            if frame.index in geometry.frames:
                frame.row |= _frame_geometry_fields(geometry, frame.index)
    for zoom in cfg.zooms:
        status = "failed"
        if len(frames) < 2:
            error = f"{seq.sequence}: only {len(frames)} frame; a sequence needs at least 2"
        else:
            candidates = wanted[zoom]
            error = (
                None
                if candidates
                else (
                    f"{seq.sequence}: no frame pair with focal ratio within "
                    f"{cfg.band:.0%} of {zoom}X (focal lengths: "
                    + ", ".join(f"{f.focal:g}" for f in frames if f.focal)
                    + " mm)"
                )
            )
            # The lens cannot make this zoom (every focal length is known): not damage.
            if error and all(f.focal for f in frames):
                status = "absent"
        if error:
            pairs.append(
                {
                    "sequence": seq.sequence,
                    "zoom": zoom,
                    "status": status,
                    "error": error,
                    "qa_flags": [],
                }
            )
            continue
        for low, high in candidates:
            pairs.append(None)  # measured below, all pairs at once
            jobs.append((zoom, low, high))
    measured = iter(
        thread_map(lambda job: pair_row(seq, *job, cfg, clock, thumbs, geometry), jobs, threads)
    )
    rows = [row if row is not None else next(measured) for row in pairs]
    return SequenceResult(seq.sequence, [f.row for f in frames], rows, thumbs, clock.totals)
