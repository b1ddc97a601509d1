"""A procedural multi-scale scene drawn exactly at any magnification.

Scene coordinates are pixels of the widest frame (the shortest focal length), origin on the
optical axis, x right, y down. Content exists at every scale down to the field of view of the
longest focal length, so each frame of a sequence sees detail near its own Nyquist limit:
filled shapes, sinusoidal gratings, Siemens stars and text. Shapes are vector polygons and the
gratings and stars are analytic, so the renderer can draw them at any resolution.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import cv2
import numpy as np

WORDS = (
    "ZOOM",
    "LEARN",
    "SR-RAW",
    "BAYER",
    "24-240",
    "F/16",
    "ISO 100",
    "PARKING",
    "EXIT 7",
    "CAFE",
    "STRIPE",
    "POSTER",
    "0123456789",
    "QUICK BROWN FOX",
)


@dataclasses.dataclass(frozen=True)
class Polygon:
    points: np.ndarray  # (N, 2) scene coordinates
    color: tuple[float, float, float]  # linear sRGB reflectance

    @property
    def size(self) -> float:
        span = self.points.max(axis=0) - self.points.min(axis=0)
        return float(span.max())


@dataclasses.dataclass(frozen=True)
class Grating:
    """A rotated rectangle filled with a sinusoid of the given period (scene units)."""

    center: tuple[float, float]
    half_size: tuple[float, float]
    angle: float  # radians, of the rectangle and the stripes' normal
    period: float
    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]

    @property
    def size(self) -> float:
        return 2 * max(self.half_size)


@dataclasses.dataclass(frozen=True)
class Star:
    """A Siemens star: `spokes` sinusoidal cycles around the centre."""

    center: tuple[float, float]
    radius: float
    spokes: int
    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]

    @property
    def size(self) -> float:
        return 2 * self.radius


@dataclasses.dataclass(frozen=True)
class Text:
    origin: tuple[float, float]  # bottom-left of the text, scene coordinates
    height: float  # cap height, scene units
    text: str
    color: tuple[float, float, float]

    @property
    def size(self) -> float:
        return self.height


Primitive = Polygon | Grating | Star | Text


SCENE_KINDS = ("normal", "smooth", "depth")


@dataclasses.dataclass(frozen=True)
class Foreground:
    """A layer in front of the background: an opaque convex silhouette with texture inside.

    Layer coordinates are scene coordinates as the reference frame (shortest focal length)
    sees them; in another frame the layer lies at `pose @ X` in background scene coordinates
    (`pose`: a scale about the optical axis and a shift, see sequence.foreground_pose)."""

    silhouette: np.ndarray  # (N, 2) convex polygon, drawn first; everything else lies inside
    primitives: tuple[Primitive, ...]  # the silhouette's fill first, then its texture
    depth_m: float  # distance of the layer from the lens's entrance pupil at the reference
    background_depth_m: float
    pupil_travel_mm: float  # how far the entrance pupil moves forward, shortest to longest f
    lateral_mm: float  # the camera's sideways shift per frame is within +-this (hand, tripod)


@dataclasses.dataclass(frozen=True)
class Scene:
    primitives: tuple[Primitive, ...]  # drawn in order: coarse first
    background: tuple[float, float, float]
    extent: float  # half-width of the region with content, scene units
    # Background texture: plane waves (kx, ky, phase, field) in radians per scene unit; field 0
    # modulates luminance, 1 and 2 the chroma, so the background has texture at every scale.
    waves: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 4)))
    kind: str = "normal"
    # 'smooth': the disc (centre x, centre y, radius) that holds all texture, scene units.
    texture_region: tuple[float, float, float] | None = None
    foreground: Foreground | None = None  # 'depth' scenes


def _color(rng: np.random.Generator) -> tuple[float, float, float]:
    """A plausible reflectance: mostly muted, sometimes saturated, 3% to 90%."""
    base = rng.uniform(0.03, 0.9)
    tint = rng.normal(0, 0.25 if rng.random() < 0.7 else 0.6, size=3)
    rgb = np.clip(base * np.exp(tint), 0.02, 0.92)
    return tuple(float(v) for v in rgb)


def _blob(rng: np.random.Generator, center: np.ndarray, radius: float) -> np.ndarray:
    """A random convex-ish polygon: a rectangle, a triangle, or an ellipse."""
    kind = rng.integers(3)
    angle = rng.uniform(0, math.pi)
    if kind == 0:
        w, h = radius, radius * rng.uniform(0.2, 1.0)
        pts = np.array([[-w, -h], [w, -h], [w, h], [-w, h]])
    elif kind == 1:
        a = rng.uniform(0, 2 * math.pi, 3)
        pts = radius * np.stack([np.cos(a), np.sin(a)], axis=1)
    else:
        t = np.linspace(0, 2 * math.pi, 96, endpoint=False)
        pts = np.stack([radius * np.cos(t), radius * rng.uniform(0.3, 1.0) * np.sin(t)], axis=1)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return pts @ rot.T + center


Region = Callable[[np.ndarray], bool]


def _place(
    rng: np.random.Generator, width: float, box: tuple[float, float], region: Region | None
) -> np.ndarray:
    """A point uniform in the level's window (scaled by box), and inside `region` if given
    (rejection; the last try is kept if none lands, so a sliver of region still gets one)."""
    c = rng.uniform(-width, width, 2) * np.array(box)
    for _ in range(200 if region is not None else 0):
        if region(c):
            break
        c = rng.uniform(-width, width, 2) * np.array(box)
    return c


def _add_level(
    rng: np.random.Generator,
    prims: list[Primitive],
    level_width: float,
    per_level: int,
    region: Region | None = None,
    text: bool = True,
) -> None:
    """Shapes, gratings, a star and text sized for a view of half-width `level_width`."""
    for _ in range(per_level):
        c = _place(rng, level_width, (1.0, 0.7), region)
        r = level_width * math.exp(rng.uniform(math.log(0.02), math.log(0.12)))
        prims.append(Polygon(_blob(rng, c, r), _color(rng)))
    for _ in range(3):
        c = _place(rng, level_width, (0.8, 0.55), region)
        hs = level_width * rng.uniform(0.04, 0.1)
        period = hs * rng.uniform(0.08, 0.4)
        prims.append(
            Grating(
                (float(c[0]), float(c[1])),
                (hs, hs * rng.uniform(0.5, 1.0)),
                rng.uniform(0, math.pi),
                period,
                _color(rng),
                _color(rng),
            )
        )
    c = _place(rng, level_width, (0.6, 0.4), region)
    prims.append(
        Star(
            (float(c[0]), float(c[1])),
            level_width * rng.uniform(0.05, 0.1),
            int(rng.integers(12, 36)),
            _color(rng),
            _color(rng),
        )
    )
    for _ in range(2 if text else 0):
        c = _place(rng, level_width, (0.7, 0.5), region)
        words = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 4))))
        prims.append(
            Text(
                (float(c[0]) - level_width * 0.2, float(c[1])),
                level_width * rng.uniform(0.015, 0.04),
                words,
                _color(rng),
            )
        )


def _level_waves(rng: np.random.Generator, level_width: float) -> list[tuple]:
    waves = []
    for _ in range(4):
        period = level_width * math.exp(rng.uniform(math.log(0.01), math.log(0.2)))
        theta = rng.uniform(0, math.pi)
        k = 2 * math.pi / period
        field = 0 if rng.random() < 0.6 else int(rng.integers(1, 3))
        waves.append((k * math.cos(theta), k * math.sin(theta), rng.uniform(0, 6.3), field))
    return waves


def make_scene(
    seed: int,
    half_width: float,
    finest_half_width: float,
    per_level: int = 36,
    kind: str = "normal",
) -> Scene:
    """Build a scene with content from `half_width` (widest view) down to `finest_half_width`.

    Each octave-ish level adds shapes, gratings, a star and text sized for a view of that
    level's width, placed within it, so every frame of a zoom sequence has detail at its scale.
    kind 'smooth': a defocused, nearly flat background (a few gradients wider than the frame)
    with all the texture in one disc whose edge passes near the optical axis, so every frame
    sees texture in one region only. kind 'depth': the normal scene behind a textured
    foreground layer (a post or branch across the frame, one edge near the axis) that shifts
    against it from frame to frame.
    """
    if kind not in SCENE_KINDS:
        raise ValueError(f"scene kind must be one of {SCENE_KINDS}")
    if kind == "smooth":
        return _smooth_scene(seed, half_width, finest_half_width, per_level)
    rng = np.random.default_rng(seed)
    prims: list[Primitive] = []
    waves: list[tuple[float, float, float, int]] = []
    level_width = half_width * 1.25
    while level_width > finest_half_width * 0.6:
        waves += _level_waves(rng, level_width)
        _add_level(rng, prims, level_width, per_level)
        level_width /= 1.6
    scene = Scene(tuple(prims), _color(rng), half_width * 1.25, np.array(waves, dtype=np.float64))
    if kind == "depth":
        fg_rng = np.random.default_rng([seed, 12])
        fg = _foreground(fg_rng, half_width, finest_half_width, per_level)
        scene = dataclasses.replace(scene, kind=kind, foreground=fg)
    return scene


def _smooth_scene(seed: int, half_width: float, finest: float, per_level: int) -> Scene:
    rng = np.random.default_rng([seed, 11])
    theta = rng.uniform(0, 2 * math.pi)
    offset = half_width * rng.uniform(0.35, 0.6)
    # The disc's edge passes within a fraction of the finest view of the axis (on either side),
    # so the longest focal length still sees some texture, at one side of its frame.
    radius = offset + finest * rng.uniform(-0.3, 0.5)
    centre = offset * np.array([math.cos(theta), math.sin(theta)])

    def inside(c: np.ndarray) -> bool:
        return bool(np.hypot(*(c - centre)) < radius)

    prims: list[Primitive] = []
    level_width = half_width * 1.25
    while level_width > finest * 0.6:
        level: list[Primitive] = []
        _add_level(rng, level, level_width, per_level, inside)
        # Only what lies wholly inside: outside the disc there is no edge at all.
        prims += [p for p in level if (np.hypot(*(_outline(p) - centre).T) < radius).all()]
        level_width /= 1.6
    # Defocused background: luminance gradients with periods of 2-6 frame widths.
    waves = []
    for _ in range(3):
        k = 2 * math.pi / (half_width * rng.uniform(4, 12))
        phi = rng.uniform(0, math.pi)
        waves.append((k * math.cos(phi), k * math.sin(phi), rng.uniform(0, 6.3), 0))
    return Scene(
        tuple(prims),
        _color(rng),
        half_width * 1.25,
        np.array(waves, dtype=np.float64),
        kind="smooth",
        texture_region=(float(centre[0]), float(centre[1]), float(radius)),
    )


def _outline(prim: Primitive) -> np.ndarray:
    """Points whose convex hull holds the primitive."""
    if isinstance(prim, Polygon):
        return prim.points
    if isinstance(prim, Text):
        (w, _), _ = cv2.getTextSize(prim.text, _FONT, prim.height / _FONT_UNITS, 1)
        x, y, h = prim.origin[0], prim.origin[1], prim.height
        return np.array(
            [
                [x - h, y + h],
                [x + 1.2 * w + h, y + h],
                [x + 1.2 * w + h, y - 2 * h],
                [x - h, y - 2 * h],
            ]
        )
    t = np.linspace(0, 2 * math.pi, 16, endpoint=False)
    if isinstance(prim, Star):
        return np.asarray(prim.center) + prim.radius * np.stack([np.cos(t), np.sin(t)], 1)
    assert isinstance(prim, Grating)
    hx, hy = prim.half_size
    corners = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    ca, sa = math.cos(prim.angle), math.sin(prim.angle)
    # The grating's u axis is (cos a, sin a) in scene coordinates (see _draw_grating).
    return corners @ np.array([[ca, sa], [-sa, ca]]) + np.asarray(prim.center)


def convex_contains(polygon: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Which points (..., 2) lie inside the convex polygon (N, 2) (either orientation)."""
    pts = np.asarray(points, dtype=np.float64)
    flat = pts.reshape(-1, 2)
    a, b = polygon, np.roll(polygon, -1, axis=0)
    cross = (b[:, 0] - a[:, 0]) * (flat[:, None, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (
        flat[:, None, 0] - a[:, 0]
    )
    inside = np.all(cross >= 0, axis=1) | np.all(cross <= 0, axis=1)
    return inside.reshape(pts.shape[:-1])


def _foreground(
    rng: np.random.Generator, half_width: float, finest: float, per_level: int
) -> Foreground:
    """A long ellipse (post, branch) across the frame, one edge within the finest view."""
    angle = rng.uniform(0, math.pi)
    long_axis = half_width * rng.uniform(0.9, 1.4)
    short_axis = half_width * rng.uniform(0.08, 0.2)
    normal = np.array([-math.sin(angle), math.cos(angle)])
    along = np.array([math.cos(angle), math.sin(angle)])
    edge = finest * rng.uniform(-0.4, 0.4)  # signed distance of the near edge from the axis
    centre = normal * (short_axis + edge) + along * half_width * rng.uniform(-0.2, 0.2)
    t = np.linspace(0, 2 * math.pi, 96, endpoint=False)
    local = np.stack([long_axis * np.cos(t), short_axis * np.sin(t)], axis=1)
    silhouette = local @ np.stack([along, normal]) + centre
    shrunk = (silhouette - centre) * 0.97 + centre
    prims: list[Primitive] = [Polygon(silhouette, _color(rng))]
    level_width = half_width * 1.25

    def inside(c: np.ndarray) -> bool:
        return bool(convex_contains(shrunk, c))

    while level_width > finest * 0.6:
        level: list[Primitive] = []
        _add_level(rng, level, level_width, per_level // 2, inside, text=False)
        # Only what lies wholly inside the silhouette: the layer's mask is the silhouette.
        prims += [p for p in level if convex_contains(shrunk, _outline(p)).all()]
        level_width /= 1.6
    depth = float(rng.uniform(2.0, 12.0))
    return Foreground(
        silhouette=silhouette,
        primitives=tuple(prims),
        depth_m=depth,
        background_depth_m=depth * float(rng.uniform(2.0, 6.0)),
        pupil_travel_mm=float(rng.uniform(5.0, 40.0)),
        # Zooming by hand twists the body about the tripod screw, tens of mm off the pupil.
        lateral_mm=float(rng.uniform(0.2, 2.0)),
    )


# Hershey simplex: the cap height is 21 font units at fontScale 1 (cv2.getTextSize -> 22 px).
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FONT_UNITS = 21.0


def draw(
    scene: Scene,
    canvas: np.ndarray,
    scale: float,
    origin: tuple[float, float],
    foreground_pose: np.ndarray | None = None,
) -> None:
    """Draw the scene into a float32 (H, W, 3) canvas whose pixel (i, j) is scene point
    origin + (j, i) / scale. Primitives far below a canvas pixel or outside are skipped.
    A foreground layer is drawn last, at `foreground_pose` (3x3, scale and shift only)."""
    _draw_background(scene, canvas, scale, origin)
    _draw_primitives(scene.primitives, canvas, scale, origin)
    if scene.foreground is not None:
        # The layer at pose @ X: canvas pixel (i, j) shows layer point
        # (origin - shift) / s + (j, i) / (scale s), so it is drawn at scale s x scale.
        pose = np.eye(3) if foreground_pose is None else np.asarray(foreground_pose)
        s, shift = float(pose[0, 0]), pose[:2, 2]
        layer_origin = ((origin[0] - shift[0]) / s, (origin[1] - shift[1]) / s)
        _draw_primitives(scene.foreground.primitives, canvas, scale * s, layer_origin)


def _draw_primitives(
    primitives: tuple[Primitive, ...], canvas: np.ndarray, scale: float, origin
) -> None:
    height, width = canvas.shape[:2]
    ox, oy = origin
    view = (ox, oy, ox + width / scale, oy + height / scale)
    for prim in primitives:
        if prim.size * scale < 0.75:
            continue  # below the canvas resolution: contributes less than a pixel anywhere
        if isinstance(prim, Polygon):
            _draw_polygon(prim, canvas, scale, origin, view)
        elif isinstance(prim, Grating):
            _draw_grating(prim, canvas, scale, origin)
        elif isinstance(prim, Star):
            _draw_star(prim, canvas, scale, origin)
        else:
            draw_text(prim, canvas, scale, origin, view)


# Luminance and two chroma directions for the background texture fields.
_FIELD_COLOURS = np.array([[1.0, 1.0, 1.0], [0.5, -0.25, -0.5], [-0.3, 0.5, -0.3]], np.float32)


def _draw_background(scene: Scene, canvas: np.ndarray, scale: float, origin) -> None:
    """Base colour modulated by the plane waves, as one matrix product per colour channel:
    sum_w a_w cos(kx x + ky y + p) = [cos(by) | -sin(by)] @ [cos(ax) | sin(ax)]^T."""
    height, width = canvas.shape[:2]
    xs = origin[0] + np.arange(width) / scale
    ys = origin[1] + np.arange(height) / scale
    base = np.asarray(scene.background, dtype=np.float32)
    waves = scene.waves
    if len(waves):
        amps = _attenuation(2 * math.pi / np.hypot(waves[:, 0], waves[:, 1]) * scale)
        waves, amps = waves[amps >= 1e-3], amps[amps >= 1e-3]
    if not len(waves):
        canvas[:] = base
        return
    count = max(1.0, math.sqrt(len(scene.waves) / 3))
    ax = np.outer(xs, waves[:, 0])
    by = np.outer(ys, waves[:, 1]) + waves[:, 2]
    across = np.concatenate([np.cos(ax), np.sin(ax)], axis=1).astype(np.float32)
    down_cos, down_sin = np.cos(by), np.sin(by)
    colours = _FIELD_COLOURS[waves[:, 3].astype(int)]  # (N, 3)
    for channel in range(3):
        weight = 0.25 * amps * colours[:, channel] / count
        down = np.concatenate([down_cos * weight, -down_sin * weight], axis=1).astype(np.float32)
        canvas[..., channel] = down @ across.T
    canvas += 1.0
    canvas *= base
    np.clip(canvas, 0.01, 0.95, out=canvas)


def _outside(lo: np.ndarray, hi: np.ndarray, view: tuple[float, ...]) -> bool:
    return hi[0] < view[0] or hi[1] < view[1] or lo[0] > view[2] or lo[1] > view[3]


def _draw_polygon(prim: Polygon, canvas, scale, origin, view) -> None:
    if _outside(prim.points.min(axis=0), prim.points.max(axis=0), view):
        return
    q = _inset_convex((prim.points - np.asarray(origin)) * scale, _FILL_DILATION)
    if q is None:
        return
    # 8 fractional bits keep vertices sub-pixel exact; cv2 wants int32 within ~2^31 >> 8.
    q = np.clip(q, -1e6, 1e6)
    cv2.fillPoly(canvas, [np.rint(q * 256).astype(np.int32)], prim.color, cv2.LINE_8, shift=8)


# fillPoly fills every pixel the outline touches: shapes come out ~0.45 px fatter on every
# side, and a fatter shape in a wide frame than in a tele frame biases alignment. Measured
# on random convex shapes (mean area error +21% at 3-20 px radius without, ~0 with).
_FILL_DILATION = 0.45


def _inset_convex(points: np.ndarray, distance: float) -> np.ndarray | None:
    """Move every edge of a convex polygon inward by `distance`; None if nothing is left."""
    edges = np.roll(points, -1, axis=0) - points
    lengths = np.linalg.norm(edges, axis=1)
    keep = lengths > 1e-9
    points, edges, lengths = points[keep], edges[keep], lengths[keep]
    if len(points) < 3:
        return None
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1) / lengths[:, None]
    centre = points.mean(axis=0)
    inward = np.where(
        ((centre - points) * normals).sum(axis=1, keepdims=True) > 0, normals, -normals
    )
    shifted = points + inward * distance
    prev_p, prev_d = np.roll(shifted, 1, axis=0), np.roll(edges, 1, axis=0)
    # Vertex i is where the shifted edge i-1 meets the shifted edge i.
    cross = prev_d[:, 0] * edges[:, 1] - prev_d[:, 1] * edges[:, 0]
    diff = shifted - prev_p
    t = np.where(
        np.abs(cross) > 1e-12,
        (diff[:, 0] * edges[:, 1] - diff[:, 1] * edges[:, 0])
        / np.where(np.abs(cross) > 1e-12, cross, 1),
        0,
    )
    out = prev_p + prev_d * t[:, None]
    # An inset that turned the polygon inside out means it was thinner than 2 * distance.
    before = np.sum(
        points[:, 0] * np.roll(points[:, 1], -1) - np.roll(points[:, 0], -1) * points[:, 1]
    )
    after = np.sum(out[:, 0] * np.roll(out[:, 1], -1) - np.roll(out[:, 0], -1) * out[:, 1])
    return out if before * after > 0 and abs(after) < abs(before) else None


def _patch_grid(center, radius, canvas, scale, origin):
    """Canvas index ranges and scene-relative coordinates covering a disc around center."""
    height, width = canvas.shape[:2]
    cx = (center[0] - origin[0]) * scale
    cy = (center[1] - origin[1]) * scale
    r = radius * scale + 1
    x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 2, width)
    y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 2, height)
    if x0 >= x1 or y0 >= y1:
        return None
    xs = (np.arange(x0, x1, dtype=np.float32) - cx) / scale
    ys = (np.arange(y0, y1, dtype=np.float32) - cy) / scale
    return (slice(y0, y1), slice(x0, x1)), xs[None, :], ys[:, None]


def _blend(canvas, where, mask, value_a, value_b, t) -> None:
    """canvas[where] = mix of colours a and b by t, inside the soft mask."""
    a = np.asarray(value_a, dtype=np.float32)
    b = np.asarray(value_b, dtype=np.float32)
    colour = a + (b - a) * t[..., None]
    region = canvas[where]
    region += (colour - region) * mask[..., None]


def _attenuation(period_px: np.ndarray | float) -> np.ndarray | float:
    """Gaussian pre-filter (sigma 0.5 canvas px) of a sinusoid: band-limits to the canvas."""
    return np.exp(-2 * math.pi**2 * 0.25 / np.maximum(period_px, 1e-6) ** 2)


def _draw_grating(prim: Grating, canvas, scale, origin) -> None:
    radius = math.hypot(*prim.half_size)
    grid = _patch_grid(prim.center, radius, canvas, scale, origin)
    if grid is None:
        return
    where, xs, ys = grid
    ca, sa = math.cos(prim.angle), math.sin(prim.angle)
    u = xs * ca + ys * sa
    v = -xs * sa + ys * ca
    # Soft edges one canvas pixel wide.
    edge_u = np.clip((prim.half_size[0] - np.abs(u)) * scale + 0.5, 0, 1)
    edge_v = np.clip((prim.half_size[1] - np.abs(v)) * scale + 0.5, 0, 1)
    mask = (edge_u * edge_v).astype(np.float32)
    amp = _attenuation(prim.period * scale)
    t = (0.5 + 0.5 * amp * np.cos(2 * math.pi * u / prim.period)).astype(np.float32)
    _blend(canvas, where, mask, prim.color_a, prim.color_b, t)


def _draw_star(prim: Star, canvas, scale, origin) -> None:
    grid = _patch_grid(prim.center, prim.radius, canvas, scale, origin)
    if grid is None:
        return
    where, xs, ys = grid
    r = np.sqrt(xs**2 + ys**2)
    phi = np.arctan2(ys, xs)
    mask = np.clip((prim.radius - r) * scale + 0.5, 0, 1).astype(np.float32)
    local_period_px = 2 * math.pi * r * scale / prim.spokes
    t = (0.5 + 0.5 * _attenuation(local_period_px) * np.sin(prim.spokes * phi)).astype(np.float32)
    _blend(canvas, where, mask, prim.color_a, prim.color_b, t)


# Every frame resamples one mask per string, rendered at this cap height: OpenCV lays glyphs
# out a little differently at each size (0.5% of the string's length between caps 45 and 180,
# several target pixels for a caption across an 8X frame), which would move the text against
# the geometry that truth.json records.
TEXT_CAP = 180


@functools.lru_cache(maxsize=32)
def _text_mask(text: str, cap_height: int) -> tuple[np.ndarray, int, int]:
    """Anti-aliased coverage of `text` with the given cap height (a multiple of 9, so the
    stroke is exactly 1/9 of it at every size): (mask float32, x of origin, y of baseline)."""
    thickness = cap_height // 9
    font_scale = cap_height / _FONT_UNITS
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, thickness)
    pad = thickness + 2
    mask = np.zeros((text_h + baseline + 2 * pad, text_w + 2 * pad), dtype=np.uint8)
    cv2.putText(mask, text, (pad, pad + text_h), _FONT, font_scale, 255, thickness, cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0, pad, pad + text_h


def draw_text(prim: Text, canvas, scale, origin, view) -> None:
    """Text as a bitmap in scene space, rendered once at TEXT_CAP and resampled exactly, so
    every frame sees the same text at its own resolution."""
    height_px = prim.height * scale
    if height_px * len(prim.text) < 0.5:
        return
    cap = TEXT_CAP
    mask, ox, oy = _text_mask(prim.text, cap)
    f = height_px / cap  # canvas pixels per mask pixel
    lo = np.array(prim.origin) - [ox / f / scale, oy / f / scale]
    hi = lo + np.array([mask.shape[1], mask.shape[0]]) / f / scale
    if _outside(lo, hi, view):
        return
    height, width = canvas.shape[:2]
    # canvas = f * (mask - (ox, oy)) + text origin in canvas pixels
    tx = (prim.origin[0] - origin[0]) * scale - f * ox
    ty = (prim.origin[1] - origin[1]) * scale - f * oy
    x0, y0 = max(int(tx) - 1, 0), max(int(ty) - 1, 0)
    x1 = min(int(tx + f * mask.shape[1]) + 2, width)
    y1 = min(int(ty + f * mask.shape[0]) + 2, height)
    if x0 >= x1 or y0 >= y1:
        return
    k = max(1, int(1 / f))
    if k > 1:
        # Box-reduce by k first (exact: pixel v of the reduced mask is centred on mask pixel
        # k v + (k - 1) / 2), so the blur below stays small for small text.
        h, w = mask.shape
        mask = np.pad(mask, ((0, -h % k), (0, -w % k)))
        mask = cv2.resize(
            mask, (mask.shape[1] // k, mask.shape[0] // k), interpolation=cv2.INTER_AREA
        )
        tx, ty = tx + f * (k - 1) / 2, ty + f * (k - 1) / 2
        f *= k
    if f < 1:
        mask = cv2.GaussianBlur(mask, (0, 0), 0.45 / f)
    warp = np.array([[f, 0, tx - x0], [0, f, ty - y0]], dtype=np.float64)
    cover = cv2.warpAffine(mask, warp, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    region = canvas[y0:y1, x0:x1]
    region += (np.asarray(prim.color, dtype=np.float32) - region) * cover[..., None]
