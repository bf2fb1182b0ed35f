"""Ray casting of textured quads: images with occlusion, exact depth, projection and back-projection.

The scene is a handful of planar single-sided quads, each with its own texture mip pyramid. A pixel
ray is intersected with every quad (vectorised over pixels, looping over quads with a screen-space
bounding box each), the nearest hit wins (z-buffer), and the texture is sampled trilinearly between
mip levels chosen from the pixel footprint (optionally on a supersampled grid averaged down, which
also smooths silhouettes): no aliasing, so SIFT sees the same corners from near and far. Lambert
shading from one directional light makes an illumination change physical (faces brighten or darken
differently).

Pixels follow COLMAP: the centre of the top-left pixel is (0.5, 0.5). Depth is the z coordinate in
the camera frame (metres), ``inf`` where a ray hits nothing. Poses are world-to-camera (q wxyz, t).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from kapturelike.core.pose import quat_to_rotmat
from kapturelike.core.sensors import Camera

_REMAP_MAX = 32000  # cv2.remap refuses sources and maps of SHRT_MAX pixels or more along a side
_GAP = 2  # texels between packed mip levels, so bilinear taps never reach a neighbour


@dataclass(eq=False)  # arrays inside: compare scenes field by field
class Scene:
    """Planar quads in metres. Quad i covers origins[i] + a * u_axes[i] + b * v_axes[i], a, b in [0, 1].

    Texture column a and row b map to that point (row 0 at the origin), so seen from the visible
    side u goes right and v goes down; the visible side is along cross(v, u) (single-sided quads).
    ``textures[i]`` is the mip pyramid of quad i: uint8 RGB (h, w, 3) arrays, finest first.
    """

    origins: np.ndarray
    u_axes: np.ndarray
    v_axes: np.ndarray
    textures: list[list[np.ndarray]]
    names: tuple[str, ...] = ()
    background: tuple[float, float, float] = (0.72, 0.80, 0.92)  # sky albedo where no quad is hit
    _atlas: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        self.origins = np.asarray(self.origins, dtype=np.float64).reshape(-1, 3)
        self.u_axes = np.asarray(self.u_axes, dtype=np.float64).reshape(-1, 3)
        self.v_axes = np.asarray(self.v_axes, dtype=np.float64).reshape(-1, 3)
        n = len(self.origins)
        if len(self.u_axes) != n or len(self.v_axes) != n or len(self.textures) != n:
            raise ValueError(f"Scene: origins, u_axes, v_axes and textures must have one entry per quad, got "
                             f"{n}, {len(self.u_axes)}, {len(self.v_axes)}, {len(self.textures)}")
        for i, pyramid in enumerate(self.textures):
            if not pyramid or any(t.dtype != np.uint8 or t.ndim != 3 or t.shape[2] != 3 for t in pyramid):
                raise ValueError(f"Scene: textures[{i}] must be a non-empty list of uint8 (h, w, 3) images")
        self._atlas = _pack_atlas(self.textures)

    @property
    def normals(self) -> np.ndarray:
        """(Q, 3) unit normals pointing to the visible side."""
        n = np.cross(self.v_axes, self.u_axes)
        return n / np.linalg.norm(n, axis=1, keepdims=True)

    def corners(self) -> np.ndarray:
        """(Q, 4, 3) quad corners in the order origin, +u, +u+v, +v."""
        o, u, v = self.origins, self.u_axes, self.v_axes
        return np.stack([o, o + u, o + u + v, o + v], axis=1)


@dataclass
class Illumination:
    """One directional light plus ambient, then a camera response: out = gain * colour * linear ** gamma."""

    light_direction: tuple[float, float, float] = (0.3, 0.2, 0.93)  # towards the light, world frame
    ambient: float = 0.45
    diffuse: float = 0.6
    gain: float = 1.0
    gamma: float = 1.0
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per-channel multiplier (colour cast)


@dataclass
class RenderOptions:
    # rays per pixel side, box-averaged: 1 already has no texture aliasing (trilinear mip by footprint);
    # 2 also smooths silhouettes and gives ~15% more SIFT matches, for 4x the time
    supersample: int = 1
    near: float = 0.05  # metres: hits closer than this are ignored
    lod_bias: float = 0.0  # added to the mip level (> 0 blurs, < 0 sharpens and may alias)


@dataclass
class Rendered:
    image: np.ndarray  # uint8 (H, W, 3) RGB
    depth: np.ndarray  # float32 (H, W) camera-frame z at pixel centres, inf for background
    quad_ids: np.ndarray  # int16 (H, W) index of the visible quad, -1 for background


def _pack_atlas(textures: list[list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All mip levels of all quads in one image, so one cv2.remap samples every pixel of a frame.

    Returns the atlas, a (Q, L, 4) float32 table of (x offset, y offset, width, height) per quad and
    level (levels past a quad's coarsest repeat it) and the (Q,) index of each quad's coarsest level.
    Quad blocks (level 0, then the coarser levels in a column on its right) go down columns.
    """
    n_levels = max(len(p) for p in textures)
    table = np.zeros((len(textures), n_levels, 4), np.float32)
    top = np.array([len(p) - 1 for p in textures], np.int64)
    places, x0, y0, col_w = [], 0, 0, 0
    for i, pyramid in enumerate(textures):
        h0, w0 = pyramid[0].shape[:2]
        coarse_h = sum(t.shape[0] + _GAP for t in pyramid[1:])
        bw = w0 + _GAP + max((t.shape[1] for t in pyramid[1:]), default=0)
        bh = max(h0, coarse_h)
        if bh > _REMAP_MAX or bw > _REMAP_MAX:
            raise ValueError(f"Scene: textures[{i}] of {w0}x{h0} texels is too large "
                             f"(at most {_REMAP_MAX // 2} a side)")
        if y0 + bh > _REMAP_MAX:  # start a new column
            x0, y0, col_w = x0 + col_w + _GAP, 0, 0
        ys = y0
        for k, t in enumerate(pyramid):
            ox, oy = (x0, y0) if k == 0 else (x0 + w0 + _GAP, ys)
            ys += 0 if k == 0 else t.shape[0] + _GAP
            places.append((ox, oy, t))
            table[i, k] = (ox, oy, t.shape[1], t.shape[0])
        table[i, len(pyramid):] = table[i, len(pyramid) - 1]
        y0, col_w = y0 + bh + _GAP, max(col_w, bw)
    width = max(ox + t.shape[1] for ox, _, t in places)
    if width > _REMAP_MAX:
        raise ValueError(f"Scene: the textures need an atlas wider than {_REMAP_MAX} texels; "
                         "use fewer texels")
    atlas = np.zeros((max(oy + t.shape[0] for _, oy, t in places), width, 3), np.uint8)
    for ox, oy, t in places:
        atlas[oy:oy + t.shape[0], ox:ox + t.shape[1]] = t
    return atlas, table, top


def _intrinsics(camera: Camera) -> tuple[float, float, float, float]:
    if camera.model not in ("PINHOLE", "SIMPLE_PINHOLE"):
        raise ValueError(f"the synthetic renderer takes PINHOLE or SIMPLE_PINHOLE cameras, "
                         f"not {camera.model}")
    return (*camera.focal, *camera.principal_point)


def _pose(q: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = np.asarray(q, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if q.shape != (4,) or t.shape != (3,) or not (np.all(np.isfinite(q)) and np.all(np.isfinite(t))):
        raise ValueError(f"pose must be finite q (4,) and t (3,), got shapes {q.shape} and {t.shape}")
    R = quat_to_rotmat(q)
    return R, -R.T @ t


def project(camera: Camera, q: np.ndarray, t: np.ndarray,
            points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World points (N, 3) -> pixels (N, 2) (COLMAP convention) and camera-frame depth z (N,)."""
    fx, fy, cx, cy = _intrinsics(camera)
    R = _pose(q, t)[0]
    pc = np.asarray(points, dtype=np.float64).reshape(-1, 3) @ R.T + np.asarray(t, dtype=np.float64)
    z = pc[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = np.stack([fx * pc[:, 0] / z + cx, fy * pc[:, 1] / z + cy], axis=1)
    return xy, z


def backproject(camera: Camera, q: np.ndarray, t: np.ndarray, xy: np.ndarray,
                depth: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) with camera-frame depths z (N,) -> world points (N, 3)."""
    fx, fy, cx, cy = _intrinsics(camera)
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    z = np.asarray(depth, dtype=np.float64).reshape(-1)
    pc = np.stack([(xy[:, 0] - cx) / fx * z, (xy[:, 1] - cy) / fy * z, z], axis=1)
    R, C = _pose(q, t)
    return pc @ R + C


def _plane_terms(scene: Scene, R: np.ndarray, C: np.ndarray,
                 dtype: type = np.float64) -> dict[str, np.ndarray]:
    """Per-quad constants: a hit's depth and texture coordinates are ratios of affine functions of
    the normalised pixel (x, y, 1), so each costs a few multiply-adds per pixel."""
    n = scene.normals
    uu = np.einsum("ij,ij->i", scene.u_axes, scene.u_axes)
    vv = np.einsum("ij,ij->i", scene.v_axes, scene.v_axes)
    terms = {
        "num": np.einsum("ij,ij->i", n, scene.origins - C),  # < 0 when the camera sees the front side
        "n_c": n @ R.T,
        "u_c": scene.u_axes @ R.T / uu[:, None],
        "v_c": scene.v_axes @ R.T / vv[:, None],
        "u0": np.einsum("ij,ij->i", C - scene.origins, scene.u_axes) / uu,
        "v0": np.einsum("ij,ij->i", C - scene.origins, scene.v_axes) / vv,
    }
    # float32 terms keep the per-pixel arithmetic in float32 (numpy 2 promotes to a float64 scalar)
    return {k: v.astype(dtype) for k, v in terms.items()}


def _hit(terms: dict[str, np.ndarray], i: int, x: np.ndarray, y: np.ndarray, near: float) -> tuple:
    """Depth of the ray through normalised (x, y) on quad i (inf where it misses), its (u, v) and the
    ray's (x, y, 1) dot the normal (its cosine of incidence times the ray's length)."""
    a = terms["n_c"][i]
    denom = a[0] * x + a[1] * y + a[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = terms["num"][i] / denom
    b, c = terms["u_c"][i], terms["v_c"][i]
    u = terms["u0"][i] + lam * (b[0] * x + b[1] * y + b[2])
    v = terms["v0"][i] + lam * (c[0] * x + c[1] * y + c[2])
    inside = (lam > near) & (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    return np.where(inside, lam, np.inf), u, v, denom


def _screen_box(corners_c: np.ndarray, near: float, fx: float, fy: float, cx: float, cy: float,
                width: int, height: int) -> tuple[int, int, int, int] | None:
    """Pixel bounding box (r0, r1, c0, c1) of a quad clipped to z > near, or None if off screen."""
    poly = []
    for k in range(4):  # clip the polygon against the near plane (Sutherland-Hodgman, one plane)
        p, q = corners_c[k], corners_c[(k + 1) % 4]
        if p[2] > near:
            poly.append(p)
        if (p[2] > near) != (q[2] > near):
            s = (near - p[2]) / (q[2] - p[2])
            poly.append(p + s * (q - p))
    if not poly:
        return None
    poly = np.array(poly)
    x = fx * poly[:, 0] / poly[:, 2] + cx
    y = fy * poly[:, 1] / poly[:, 2] + cy
    c0, c1 = max(int(np.floor(x.min())) - 1, 0), min(int(np.ceil(x.max())) + 1, width)
    r0, r1 = max(int(np.floor(y.min())) - 1, 0), min(int(np.ceil(y.max())) + 1, height)
    return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else None


def _cast_grid(scene: Scene, R: np.ndarray, C: np.ndarray, fx: float, fy: float, cx: float, cy: float,
               width: int, height: int, near: float) -> tuple[np.ndarray, ...]:
    """Nearest hit for every pixel of a width x height grid: depth, quad id, u, v, cosine (float32)."""
    terms = _plane_terms(scene, R, C, np.float32)
    xs = ((np.arange(width) + 0.5 - cx) / fx).astype(np.float32)
    ys = ((np.arange(height) + 0.5 - cy) / fy).astype(np.float32)
    depth = np.full((height, width), np.inf, np.float32)
    ids = np.full((height, width), -1, np.int16)
    U = np.zeros((height, width), np.float32)
    V = np.zeros((height, width), np.float32)
    D = np.ones((height, width), np.float32)
    corners_c = (scene.corners() - C) @ R.T
    for i in np.flatnonzero(terms["num"] < 0):  # back faces are invisible
        box = _screen_box(corners_c[i], near, fx, fy, cx, cy, width, height)
        if box is None:
            continue
        r0, r1, c0, c1 = box
        lam, u, v, den = _hit(terms, i, xs[None, c0:c1], ys[r0:r1, None], near)
        d = depth[r0:r1, c0:c1]
        take = lam < d
        np.copyto(d, lam, where=take)
        np.copyto(ids[r0:r1, c0:c1], np.int16(i), where=take)
        np.copyto(U[r0:r1, c0:c1], u, where=take)
        np.copyto(V[r0:r1, c0:c1], v, where=take)
        np.copyto(D[r0:r1, c0:c1], den, where=take)
    cos = np.abs(D) / np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2 + 1.0)
    return depth, ids, U, V, cos, terms


def cast_rays(scene: Scene, camera: Camera, q: np.ndarray, t: np.ndarray, xy: np.ndarray,
              near: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (float64) ground truth for arbitrary pixels (N, 2): depth z (N,) (inf: no hit), quad id (N,)."""
    fx, fy, cx, cy = _intrinsics(camera)
    R, C = _pose(q, t)
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    x, y = (xy[:, 0] - cx) / fx, (xy[:, 1] - cy) / fy
    terms = _plane_terms(scene, R, C)
    depth = np.full(len(xy), np.inf)
    ids = np.full(len(xy), -1, np.int64)
    for i in np.flatnonzero(terms["num"] < 0):
        lam = _hit(terms, i, x, y, near)[0]
        take = lam < depth
        depth[take] = lam[take]
        ids[take] = i
    return depth, ids


def _sample(scene: Scene, ids: np.ndarray, U: np.ndarray, V: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Trilinear sampling of each grid cell's quad at (u, v) in [0, 1], float mip level -> RGB in [0, 1]."""
    atlas, table, top = scene._atlas
    n_levels = table.shape[1]
    ids = ids.astype(np.int32)
    # per (quad, level) rows: x offset, y offset, last texel x, last texel y, level-0 -> level scale
    rows = table.reshape(-1, 4)
    scale = np.exp2(-np.tile(np.arange(n_levels, dtype=np.float32), len(top))).astype(np.float32)
    cols = [np.ascontiguousarray(c) for c in (rows[:, 0], rows[:, 1], rows[:, 2] - 1, rows[:, 3] - 1, scale)]
    base = ids * np.int32(n_levels)
    level = np.minimum(np.maximum(level, np.float32(0)), top.astype(np.float32)[ids])
    lo = np.minimum(level.astype(np.int32), np.maximum(top - 1, 0).astype(np.int32)[ids])
    frac = (level - lo.astype(np.float32))[..., None]
    # remap puts texel centres on integers; level k's texel j sits at level-0 coordinate 2^k j
    x0 = U * np.take(table[:, 0, 2], ids) - np.float32(0.5)
    y0 = V * np.take(table[:, 0, 3], ids) - np.float32(0.5)
    out = np.zeros((*ids.shape, 3), np.float32)
    for k, weight in ((lo, 1.0 - frac), (np.minimum(lo + 1, top.astype(np.int32)[ids]), frac)):
        ti = base + k
        ox, oy, xmax, ymax, sc = (np.take(c, ti) for c in cols)
        mx = np.minimum(np.maximum(x0 * sc, np.float32(0)), xmax)
        mx += ox
        my = np.minimum(np.maximum(y0 * sc, np.float32(0)), ymax)
        my += oy
        out += weight * cv2.remap(atlas, mx, my, cv2.INTER_LINEAR).astype(np.float32)
    return out * np.float32(1.0 / 255.0)


def render(scene: Scene, camera: Camera, q: np.ndarray, t: np.ndarray,
           illumination: Illumination | None = None, options: RenderOptions | None = None) -> Rendered:
    """Image (uint8 RGB), depth at pixel centres and the visible quad of each pixel."""
    illumination = illumination or Illumination()
    options = options or RenderOptions()
    ss = int(options.supersample)
    if ss < 1:
        raise ValueError(f"RenderOptions.supersample must be >= 1, got {options.supersample}")
    fx, fy, cx, cy = _intrinsics(camera)
    W, H = camera.width, camera.height
    R, C = _pose(q, t)
    if max(W, H) * ss >= _REMAP_MAX:
        raise ValueError(f"image {W}x{H} x supersample {ss} is too large to render (< {_REMAP_MAX} a side)")
    depth, ids, U, V, cos, terms = _cast_grid(scene, R, C, fx * ss, fy * ss, cx * ss, cy * ss, W * ss, H * ss,
                                              options.near)

    light = np.asarray(illumination.light_direction, dtype=np.float64)
    light = light / np.linalg.norm(light)
    shade = illumination.ambient + illumination.diffuse * np.maximum(scene.normals @ light, 0.0)
    shade = shade.astype(np.float32)
    table = scene._atlas[1]
    edges = np.linalg.norm(scene.u_axes, axis=1), np.linalg.norm(scene.v_axes, axis=1)
    # texels per metre over rays per metre at depth 1
    density = (0.5 * (table[:, 0, 2] / edges[0] + table[:, 0, 3] / edges[1]) / (fx * ss)).astype(np.float32)
    hit = ids >= 0
    qid = np.maximum(ids, 0)
    # texels per ray spacing; foreshortening stretches one axis by 1/cos, the geometric mean keeps
    # oblique surfaces sharp without aliasing much (the supersampling averages the rest)
    footprint = np.where(hit, depth, 1.0) * density[qid] / np.sqrt(np.maximum(cos, 1e-3))
    level = np.log2(np.maximum(footprint, 1e-6)) + np.float32(options.lod_bias)
    linear = _sample(scene, qid, U, V, level) * shade[qid][..., None]
    linear[~hit] = np.asarray(scene.background, np.float32)

    img = cv2.resize(linear, (W, H), interpolation=cv2.INTER_AREA) if ss > 1 else linear  # box mean
    img = np.clip(img, 0.0, None) ** np.float32(illumination.gamma)
    img = img * (np.float32(illumination.gain) * np.asarray(illumination.colour, np.float32))
    image = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)

    # depth at the pixel centre: take the nearest of the pixel's sub-rays' quads and evaluate its plane
    # there exactly (1 / depth is affine in the pixel), so interior pixels get the analytic value
    sub_d = depth.reshape(H, ss, W, ss).transpose(0, 2, 1, 3).reshape(H, W, ss * ss)
    sub_i = ids.reshape(H, ss, W, ss).transpose(0, 2, 1, 3).reshape(H, W, ss * ss)
    pick = np.argmin(sub_d, axis=2)
    pix_ids = np.take_along_axis(sub_i, pick[..., None], axis=2)[..., 0]
    fallback = np.take_along_axis(sub_d, pick[..., None], axis=2)[..., 0]
    xc = ((np.arange(W) + 0.5 - cx) / fx)[None, :]
    yc = ((np.arange(H) + 0.5 - cy) / fy)[:, None]
    safe = np.maximum(pix_ids, 0)
    n_c = terms["n_c"][safe]
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = terms["num"][safe] / (n_c[..., 0] * xc + n_c[..., 1] * yc + n_c[..., 2])
    ok = (pix_ids >= 0) & np.isfinite(exact) & (exact > options.near)
    pix_depth = np.where(ok, exact, fallback).astype(np.float32)
    pix_depth[pix_ids < 0] = np.inf
    return Rendered(image=image, depth=pix_depth, quad_ids=pix_ids)


def render_depth(scene: Scene, camera: Camera, q: np.ndarray, t: np.ndarray,
                 near: float = 0.05) -> np.ndarray:
    """float32 (H, W) camera-frame depth at pixel centres (inf where nothing is hit), no shading."""
    fx, fy, cx, cy = _intrinsics(camera)
    R, C = _pose(q, t)
    return _cast_grid(scene, R, C, fx, fy, cx, cy, camera.width, camera.height, near)[0]
