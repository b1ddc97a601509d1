"""Pairwise alignment: each training pair's map from its own evidence only.

The alternative to the sequence's joint fit (seqgeom.py), chosen by `PrepConfig.pair_fit`.
Per training pair (L, H), nothing borrowed from the rest of the sequence:
1. its own similarity start, aligned on the two JPEGs at full size (align.py);
2. its own dense-flow matches, in two passes as the joint fit makes them (a coarse grid for a
   first fit, then the full grid through that fit);
3. the pair's two poses and the distortion terms of its raw-grid frames fitted on those matches
   alone (lensfit.fit_sequence on two frames, L the reference), lensfun's terms the same soft
   prior as in the joint fit.
Each frame's JPEG-vs-RAW geometry is measured once per frame, as in the joint mode. A frame's
fitted terms may differ from one pair to the next: frames.parquet reports those of the pair
that sees the frame whole (the frame as H) with the most matches.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Callable

import numpy as np

from srraw.parallel import thread_map
from srraw_prep.lensfit import FrameModel, fit_sequence
from srraw_prep.seqgeom import (
    OVERSAMPLE,
    FrameInputs,
    PairGeometry,
    SequenceGeometry,
    _align,
    _flow_pass,
    _ideal_similarity,
    distortion_sources,
)


def fit_pair_alone(
    frames: dict[int, FrameModel],
    inputs: dict[int, FrameInputs],
    pg: PairGeometry,
    flow_pixels: int,
    fit_flow_pixels: int,
) -> None:
    """Fit one aligned pair on its own matches; its models land in `pg.frames`."""
    own = {i: copy.deepcopy(frames[i]) for i in (pg.low, pg.high)}
    low, high = own[pg.low], own[pg.high]
    low.pose = np.eye(3)
    # u_L = A_L A_H^-1 u_H with A_L = I: A_H is the inverse of the start's ideal H -> ideal L.
    high.pose = np.linalg.inv(_ideal_similarity(low, high, pg.alignment.h_to_l))
    for pixels, oversample in ((fit_flow_pixels, 1.0), (flow_pixels, OVERSAMPLE)):
        _flow_pass(own, inputs, pg, pixels, oversample)
        fit_sequence(own, [pg.matches], pg.low)
    pg.frames = own


def _reported(frames: dict[int, FrameModel], pairs: list[PairGeometry]) -> dict[int, FrameModel]:
    """Per frame, its model from the pair that sees it whole and has the most matches."""
    out = dict(frames)
    for index in frames:

        def rank(pg: PairGeometry, index: int = index) -> tuple[bool, int]:
            return pg.high == index, len(pg.matches.points_h)

        mine = [pg for pg in pairs if index in (pg.low, pg.high)]
        if mine:
            out[index] = max(mine, key=rank).frames[index]
    return out


def pairwise_geometry(
    start: SequenceGeometry,
    inputs: dict[int, FrameInputs],
    training: list[tuple[int, int]],
    model: str,
    feature_pixels: int,
    flow_pixels: int,
    fit_flow_pixels: int,
    stage: Callable[[str], contextlib.AbstractContextManager],
    threads: int = 1,
) -> SequenceGeometry:
    """Every training pair fitted alone, from the frames' own models in `start` (its frames,
    JPEG geometry and lensfun names; seqgeom.sequence_geometry makes it); `threads` pairs at
    once (each works on its own copies of its frames' models)."""
    frames = start.frames
    pairs = {p: PairGeometry(*p) for p in training}
    with stage("align"):
        thread_map(lambda pg: _align(pg, inputs, model, feature_pixels), pairs.values(), threads)
    with stage("flow"):
        aligned = [pg for pg in pairs.values() if pg.alignment is not None]
        thread_map(
            lambda pg: fit_pair_alone(frames, inputs, pg, flow_pixels, fit_flow_pixels),
            aligned,
            threads,
        )
    fitted = [pg for pg in pairs.values() if pg.frames is not None]
    return dataclasses.replace(
        start,
        frames=_reported(frames, fitted),
        sources=distortion_sources(frames, fitted),
        pairs=pairs,
    )
