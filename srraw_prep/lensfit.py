"""The geometry of a sequence: each frame's lens distortion, JPEG grid and pose, fitted jointly.

Per frame k (pixel conventions of srraw/lens.py):
    RAW mosaic pixel p  <->  ideal pixel u = undistort_k(p)      (the lens: `distortion`)
    JPEG pixel q = c_jpeg + s_k (x - c_raw) + o_k,  x = p ('raw' JPEG) or u ('corrected')
    u = A_k X, X in the sequence's reference coordinates (A_k a similarity, the pose)
A pair's map, JPEG-H pixel -> RAW-L mosaic pixel, is then
    p_L = distort_L(A_L A_H^-1 ideal_H(q_H)).
The joint fit takes point correspondences between the JPEGs of any two frames (dense flow
after a first alignment) and solves for every pose and every refinable distortion at once, each
frame's terms shared by all its pairs, with the lensfun prior (when there is one) as a soft
constraint: Levenberg-Marquardt on robustly (Huber) weighted residuals in the longer frame's
ideal pixels, which are close to target pixels.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from srraw.lens import N_TERMS, Distortion, LensGeometry, Normalisation


@dataclasses.dataclass
class FrameModel:
    """What the fit knows about one frame; `distortion` and `pose` are refined in place."""

    index: int
    raw_size: tuple[int, int]
    jpeg_size: tuple[int, int]
    norm: Normalisation
    distortion: Distortion
    prior: Distortion | None  # lensfun's terms at this focal length, None if unknown
    jpeg_geometry: str = "raw"  # or 'corrected'
    jpeg_scale: float = 1.0
    jpeg_offset: tuple[float, float] = (0.0, 0.0)
    pose: np.ndarray = dataclasses.field(default_factory=lambda: np.eye(3))
    refine_distortion: bool = True  # False when measured directly (corrected JPEG vs RAW)

    @property
    def lens(self) -> LensGeometry:
        return LensGeometry(self.distortion, self.norm)

    @property
    def c_raw(self) -> np.ndarray:
        return np.array(self.norm.centre)

    @property
    def c_jpeg(self) -> np.ndarray:
        return np.array([(self.jpeg_size[0] - 1) / 2, (self.jpeg_size[1] - 1) / 2])

    def _linear_to_jpeg(self, x: np.ndarray) -> np.ndarray:
        return (x - self.c_raw) * self.jpeg_scale + self.c_jpeg + self.jpeg_offset

    def jpeg_to_linear(self, q: np.ndarray) -> np.ndarray:
        """JPEG pixels -> the RAW grid they share ('raw') or its ideal ('corrected')."""
        return (np.asarray(q, dtype=np.float64) - self.c_jpeg - self.jpeg_offset) / (
            self.jpeg_scale
        ) + self.c_raw

    def jpeg_to_ideal(self, q: np.ndarray, lens: LensGeometry | None = None) -> np.ndarray:
        x = self.jpeg_to_linear(q)
        if self.jpeg_geometry == "corrected":
            return x
        return (lens or self.lens).undistort(x)

    def ideal_to_jpeg(self, u: np.ndarray, lens: LensGeometry | None = None) -> np.ndarray:
        if self.jpeg_geometry == "corrected":
            return self._linear_to_jpeg(np.asarray(u, dtype=np.float64))
        return self._linear_to_jpeg((lens or self.lens).distort(u))

    def raw_to_jpeg(self, p: np.ndarray) -> np.ndarray:
        x = np.asarray(p, dtype=np.float64)
        if self.jpeg_geometry == "corrected":
            x = self.lens.undistort(x)
        return self._linear_to_jpeg(x)


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:2, :2].T + m[:2, 2]


def relative_pose(low: FrameModel, high: FrameModel) -> np.ndarray:
    """Ideal H pixel -> ideal L pixel."""
    return low.pose @ np.linalg.inv(high.pose)


def jpeg_h_to_raw_l(low: FrameModel, high: FrameModel, points: np.ndarray) -> np.ndarray:
    """The pair's full map: JPEG-H pixels (..., 2) -> RAW-L mosaic pixels."""
    u_l = _apply(relative_pose(low, high), high.jpeg_to_ideal(points))
    return low.lens.distort(u_l)


def jpeg_h_to_jpeg_l(low: FrameModel, high: FrameModel, points: np.ndarray) -> np.ndarray:
    """JPEG-H pixels -> JPEG-L pixels (what alignment on the JPEGs sees)."""
    u_l = _apply(relative_pose(low, high), high.jpeg_to_ideal(points))
    return low.ideal_to_jpeg(u_l)


@dataclasses.dataclass(frozen=True)
class Matches:
    """Point correspondences between the JPEGs of two frames of a sequence."""

    low: int  # frame index of the shorter focal length
    high: int
    points_h: np.ndarray  # (N, 2) JPEG-H pixels
    points_l: np.ndarray  # (N, 2) JPEG-L pixels


@dataclasses.dataclass(frozen=True)
class FitReport:
    rms_px: float  # robust RMS residual over all matches, ideal pixels of the longer frame
    iterations: int
    matches: int
    # The parameters' covariance at the solution: (J^T J)^-1 of the robustly weighted problem,
    # scaled by its residual variance per degree of freedom; and where each frame's sit in it.
    covariance: np.ndarray | None = None
    layout: _Layout | None = None


# Prior uncertainty of a lensfun term: real copies and focus distances differ by several
# percent per term; a lens with no prior gets a loose constraint that only stops drift.
PRIOR_RELATIVE_SIGMA = 0.15
PRIOR_ABSOLUTE_SIGMA = 0.002
NO_PRIOR_SIGMA = 0.1
POINT_SIGMA_PX = 0.3  # flow noise per match, ideal px: puts data and prior on one scale
HUBER_PX = 1.0
CONVERGED = 1e-4  # relative decrease of the robust cost below which the fit stops (1e-6: same maps)


def _pose_params(m: np.ndarray) -> np.ndarray:
    return np.array([m[0, 0], m[1, 0], m[0, 2], m[1, 2]])


def _pose_matrix(v: np.ndarray) -> np.ndarray:
    a, b, tx, ty = v
    return np.array([[a, -b, tx], [b, a, ty], [0.0, 0.0, 1.0]])


class _Layout:
    """Where each frame's parameters sit in the solver's vector."""

    def __init__(self, frames: dict[int, FrameModel], reference: int) -> None:
        self.pose: dict[int, slice] = {}
        self.terms: dict[int, slice] = {}
        n = 0
        for index, frame in sorted(frames.items()):
            if index != reference:
                self.pose[index] = slice(n, n + 4)
                n += 4
            if frame.refine_distortion and frame.jpeg_geometry == "raw":
                k = N_TERMS[frame.distortion.model]
                if k:
                    self.terms[index] = slice(n, n + k)
                    n += k
        self.size = n

    def pack(self, frames: dict[int, FrameModel]) -> np.ndarray:
        x = np.zeros(self.size)
        for index, s in self.pose.items():
            x[s] = _pose_params(frames[index].pose)
        for index, s in self.terms.items():
            x[s] = frames[index].distortion.terms
        return x

    def unpack(self, x: np.ndarray, frames: dict[int, FrameModel]) -> None:
        for index, s in self.pose.items():
            frames[index].pose = _pose_matrix(x[s])
        for index, s in self.terms.items():
            model = frames[index].distortion.model
            frames[index].distortion = Distortion(model, tuple(float(v) for v in x[s]))


def _prior_sigma(frame: FrameModel) -> tuple[np.ndarray, np.ndarray]:
    """(prior terms, sigma per term) for the frame's model."""
    k = N_TERMS[frame.distortion.model]
    if frame.prior is None or frame.prior.model != frame.distortion.model:
        return np.zeros(k), np.full(k, NO_PRIOR_SIGMA)
    terms = np.array(frame.prior.terms)
    return terms, PRIOR_RELATIVE_SIGMA * np.abs(terms) + PRIOR_ABSOLUTE_SIGMA


def _ideal_points(
    frames: dict[int, FrameModel], match: Matches, lenses: dict[int, LensGeometry]
) -> tuple[np.ndarray, np.ndarray]:
    low, high = frames[match.low], frames[match.high]
    return (
        low.jpeg_to_ideal(match.points_l, lenses[match.low]),
        high.jpeg_to_ideal(match.points_h, lenses[match.high]),
    )


def _residual(u_l: np.ndarray, u_h: np.ndarray, pose_l: np.ndarray, pose_h: np.ndarray):
    """(2N,) in ideal pixels of H: A_H A_L^-1 u_L - u_H."""
    return (_apply(pose_h @ np.linalg.inv(pose_l), u_l) - u_h).ravel()


def _pair_residual(
    frames: dict[int, FrameModel], match: Matches, lenses: dict[int, LensGeometry]
) -> np.ndarray:
    u_l, u_h = _ideal_points(frames, match, lenses)
    return _residual(u_l, u_h, frames[match.low].pose, frames[match.high].pose)


def _huber_sqrt_weights(residual: np.ndarray) -> np.ndarray:
    """Square roots of the Huber weights of (2N,) residuals, per point (both coordinates alike)."""
    mag = np.repeat(np.hypot(residual[0::2], residual[1::2]), 2)
    return np.sqrt(np.where(mag <= HUBER_PX, 1.0, HUBER_PX / np.maximum(mag, 1e-12)))


def fit_sequence(
    frames: dict[int, FrameModel],
    matches: list[Matches],
    reference: int,
    iterations: int = 20,
    covariance: bool = False,
) -> FitReport:
    """Refine every pose (but the reference frame's) and every refinable distortion in place;
    `covariance`: report the parameters' covariance at the solution too (map_sigma reads it)."""
    layout = _Layout(frames, reference)
    matches = [m for m in matches if len(m.points_h) >= 8]
    if not matches or layout.size == 0:
        return FitReport(float("nan"), 0, 0)
    offsets = np.cumsum([0] + [2 * len(m.points_h) for m in matches])
    x = layout.pack(frames)
    sqrt_w = [np.ones(2 * len(m.points_h)) for m in matches]

    def prior_part(vec: np.ndarray) -> np.ndarray:
        parts = [np.zeros(0)]
        for index, sl in layout.terms.items():
            prior, sigma = _prior_sigma(frames[index])
            parts.append((vec[sl] - prior) / sigma)
        return np.concatenate(parts)

    # Each frame's points from all its pairs in one array: one undistortion per frame and
    # evaluation (a frame whose lens is not refined keeps its ideal points from the start).
    gathered: dict[int, list[np.ndarray]] = {i: [] for i in frames}
    where: dict[tuple[int, str], tuple[int, slice]] = {}
    for k, m in enumerate(matches):
        for side, index, points in (("l", m.low, m.points_l), ("h", m.high, m.points_h)):
            start = sum(len(p) for p in gathered[index])
            where[(k, side)] = (index, slice(start, start + len(points)))
            gathered[index].append(points)
    points_of = {i: np.concatenate(p) for i, p in gathered.items() if p}
    fixed = {i: frames[i].jpeg_to_ideal(p) for i, p in points_of.items() if i not in layout.terms}

    def evaluate(vec: np.ndarray) -> tuple[np.ndarray, list, list, dict[int, np.ndarray]]:
        """(prior residuals, ideal points per match, data residuals, d ideal / d terms per
        refined frame) at `vec`: the undistortion and its gradient in one pass, so that an
        accepted step's evaluation serves the next iteration as it is."""
        layout.unpack(vec, frames)
        ideal = dict(fixed)
        gradients = {}
        for i in layout.terms:
            if i in points_of:
                linear = frames[i].jpeg_to_linear(points_of[i])
                ideal[i], gradients[i] = frames[i].lens.undistort_with_gradient(linear)
        ideals = [
            tuple(ideal[index][sl] for index, sl in (where[(k, "l")], where[(k, "h")]))
            for k in range(len(matches))
        ]
        data = [
            _residual(u_l, u_h, frames[m.low].pose, frames[m.high].pose)
            for m, (u_l, u_h) in zip(matches, ideals, strict=True)
        ]
        return prior_part(vec), ideals, data, gradients

    def stacked(data: list, prior: np.ndarray) -> np.ndarray:
        scaled = [d * w / POINT_SIGMA_PX for d, w in zip(data, sqrt_w, strict=True)]
        return np.concatenate([*scaled, prior])

    def normal_equations(
        vec: np.ndarray, ideals: list, base: np.ndarray, gradients: dict[int, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """J^T J and J^T r with the analytic Jacobian, accumulated pair by pair (a pair touches
        only its two frames' parameters; no Jacobian over all matches is ever formed)."""
        jtj = np.zeros((layout.size, layout.size))
        jtr = np.zeros(layout.size)
        for index, sl in layout.terms.items():
            prior, sigma = _prior_sigma(frames[index])
            jtj[sl, sl] += np.diag(1.0 / sigma**2)
            jtr[sl] += (vec[sl] - prior) / sigma**2
        for k, m in enumerate(matches):
            low, high = frames[m.low], frames[m.high]
            u_l, _ = ideals[k]
            inv_l = np.linalg.inv(low.pose)
            v = _apply(inv_l, u_l)  # reference coordinates
            rel = (high.pose @ inv_l)[:2, :2]
            n = len(v)
            cols: list[np.ndarray] = []
            idx: list[np.ndarray] = []
            # d(A v)/d(a, b, tx, ty) for a pose [[a, -b, tx], [b, a, ty]]: (N, 2, 4).
            pose_grad = np.zeros((n, 2, 4))
            pose_grad[:, 0, 0], pose_grad[:, 1, 0] = v[:, 0], v[:, 1]
            pose_grad[:, 0, 1], pose_grad[:, 1, 1] = -v[:, 1], v[:, 0]
            pose_grad[:, 0, 2] = pose_grad[:, 1, 3] = 1.0
            if m.high in layout.pose:  # r = A_H v - u_H
                cols.append(pose_grad)
                idx.append(np.arange(layout.pose[m.high].start, layout.pose[m.high].stop))
            if m.low in layout.pose:  # v = A_L^-1 u_L: dr = -(A_H A_L^-1) dA_L v
                cols.append(-np.einsum("ij,njk->nik", rel, pose_grad))
                idx.append(np.arange(layout.pose[m.low].start, layout.pose[m.low].stop))
            for side, sign in (("l", 1.0), ("h", -1.0)):
                index, at_points = where[(k, side)]
                if index not in layout.terms:
                    continue
                grad = gradients[index][at_points]
                if side == "l":
                    grad = np.einsum("ij,njk->nik", rel, grad)  # through A_H A_L^-1
                cols.append(sign * grad)
                sl = layout.terms[index]
                idx.append(np.arange(sl.start, sl.stop))
            if not cols:
                continue
            block = np.concatenate(cols, axis=2).reshape(2 * n, -1)
            block *= (sqrt_w[k] / POINT_SIGMA_PX)[:, None]
            at = np.concatenate(idx)
            jtj[np.ix_(at, at)] += block.T @ block
            jtr[at] += block.T @ base[offsets[k] : offsets[k + 1]]
        return jtj, jtr

    lam = 1e-3
    it = 0
    prior, ideals, data, gradients = evaluate(x)
    for it in range(1, iterations + 1):  # noqa: B007 - reported after the loop
        sqrt_w = [_huber_sqrt_weights(d) for d in data]
        r = stacked(data, prior)
        jtj, g = normal_equations(x, ideals, r, gradients)
        cost = float(r @ r)
        improved = False
        step = np.zeros_like(x)
        for _ in range(10):
            step = np.linalg.solve(jtj + lam * np.diag(np.diag(jtj) + 1e-9), -g)
            trial = evaluate(x + step)
            prior_t, _, data_t, _ = trial
            r_new = stacked(data_t, prior_t)
            if float(r_new @ r_new) < cost:
                x, lam, improved = x + step, max(lam / 3, 1e-9), True
                prior, ideals, data, gradients = trial  # the next iteration's starting point
                break
            lam *= 4
        layout.unpack(x, frames)
        # Converged: a relative cost change this small moves no map by a measurable amount.
        if not improved or cost - float(r_new @ r_new) < CONVERGED * cost:
            break
    errors = np.concatenate([np.hypot(d[0::2], d[1::2]) for d in data])
    rms = float(np.sqrt(np.mean(np.minimum(errors, 3 * HUBER_PX) ** 2)))
    report = FitReport(rms, it, int(sum(len(m.points_h) for m in matches)))
    if not covariance:
        return report
    sqrt_w = [_huber_sqrt_weights(d) for d in data]
    r = stacked(data, prior)
    jtj, _ = normal_equations(x, ideals, r, gradients)
    dof = max(len(r) - layout.size, 1)
    try:
        cov = np.linalg.inv(jtj) * max(float(r @ r) / dof, 1.0)
    except np.linalg.LinAlgError:
        return report
    return dataclasses.replace(report, covariance=cov, layout=layout)


def map_sigma(
    frames: dict[int, FrameModel], fit: FitReport, low: int, high: int, points: np.ndarray
) -> np.ndarray:
    """(N,) 1-sigma uncertainty of the pair's map (JPEG-H pixels -> RAW-L mosaic pixels) at
    `points`, in RAW-L pixels, carried from the joint fit's covariance of every parameter the
    map depends on (both poses, both frames' lens terms)."""
    layout, cov = fit.layout, fit.covariance
    if layout is None or cov is None:
        return np.full(len(points), np.nan)
    at = [
        i
        for index in (low, high)
        for sl in (layout.pose.get(index), layout.terms.get(index))
        if sl is not None
        for i in range(sl.start, sl.stop)
    ]
    if not at:
        return np.zeros(len(points))
    x = layout.pack(frames)
    base = jpeg_h_to_raw_l(frames[low], frames[high], points)
    jac = np.empty((len(points), 2, len(at)))
    for k, i in enumerate(at):
        step = 1e-6 * max(1.0, abs(x[i]))
        moved = {j: dataclasses.replace(f) for j, f in frames.items()}
        trial = x.copy()
        trial[i] += step
        layout.unpack(trial, moved)
        jac[:, :, k] = (jpeg_h_to_raw_l(moved[low], moved[high], points) - base) / step
    sub = cov[np.ix_(at, at)]
    var = np.einsum("nci,ij,ncj->n", jac, sub, jac)
    return np.sqrt(np.maximum(var, 0.0))


def pair_residuals(frames: dict[int, FrameModel], match: Matches) -> np.ndarray:
    """(N, 2) residual per match under the current model, in ideal pixels of H (~ target px)."""
    return _pair_residual(frames, match, {i: f.lens for i, f in frames.items()}).reshape(-1, 2)


def pair_errors(frames: dict[int, FrameModel], match: Matches) -> np.ndarray:
    """|residual| per match under the current model, in ideal pixels of H (~ target px)."""
    return np.linalg.norm(pair_residuals(frames, match), axis=1)
