"""Absolute pose of one query image from 2D-3D correspondences: LO-RANSAC PnP + refinement (pycolmap).

The three presets are Table 1 of Humenberger et al. 2020, "Robust Image Retrieval-based Visual
Localization using Kapture": config1 is strict (few false localizations), config2 accepts poses
from very few inliers, config3 is config2 that also refines the focal length and distortion.

Queries without intrinsics (camera model UNKNOWN_CAMERA or no params) start from a SIMPLE_RADIAL
guess: f = 1.2 * max(width, height), principal point at the image centre, k = 0 (the same guess
COLMAP makes from an image without EXIF). RANSAC then uses a focal-length-estimating minimal solver
(pycolmap's `estimate_focal_length`, P4Pf) and the refinement refines the focal length, so the
guess only has to be of the right order of magnitude.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pycolmap

from kapturelike.core.sensors import unknown_camera_guess
from kapturelike.geometry.colmap_model import rigid3d_to_pose, to_pycolmap_camera

UNKNOWN_MODELS = ("UNKNOWN_CAMERA", "")


@dataclass
class LocalizationOptions:
    """Options of `localize_image` / `localize_rig`; defaults are the paper's config1."""

    min_num_matches: int = 15
    """Fewer 2D-3D correspondences than this: do not even try."""
    min_num_inliers: int = 30
    """A pose with fewer RANSAC inliers is rejected."""
    min_inlier_ratio: float = 0.25
    """A pose with a smaller inliers / correspondences ratio is rejected (also bounds RANSAC trials)."""
    max_error: float = 12.0
    """RANSAC inlier threshold: reprojection error in pixels."""
    refine_focal_length: bool = False
    refine_extra_params: bool = False
    """Refine the distortion parameters (and principal point for models that have it as extra)."""
    estimate_focal_length: bool = False
    """Use a focal-length-estimating solver; forced on for cameras without intrinsics."""
    confidence: float = 0.99999
    min_num_trials: int = 100
    max_num_trials: int = 10000
    random_seed: int = 0
    """RANSAC seed: a rerun (or a resumed run) gives the same poses; -1 draws a random one (pycolmap's default)."""
    num_threads: int = 1
    """Threads inside one RANSAC; pipelines parallelise over images instead."""
    refine: bool = True
    """Refine the RANSAC pose (non-linear, on its inliers); False: the pose as LO-RANSAC estimates it
    (kapture-localization's pyransaclib tools without --refine-poses)."""
    lo_steps: int = 0
    """Local-optimisation steps after RANSAC (RansacLib's --number-lo-steps): each refines the pose on a random
    half of the inliers and keeps it when its MSAC score over all correspondences is lower; then the pose is
    refined once more on the inliers of the best. 0: pycolmap's LO-RANSAC and refinement only."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes carried along (for example the preset name)."""

    def __post_init__(self) -> None:
        if self.min_num_matches < 3:
            raise ValueError(f"LocalizationOptions.min_num_matches must be >= 3, got {self.min_num_matches}")
        if not 0.0 <= self.min_inlier_ratio <= 1.0:
            raise ValueError("LocalizationOptions.min_inlier_ratio must be in [0, 1], "
                             f"got {self.min_inlier_ratio}")
        if self.max_error <= 0:
            raise ValueError(f"LocalizationOptions.max_error must be > 0, got {self.max_error}")
        if self.lo_steps < 0:
            raise ValueError(f"LocalizationOptions.lo_steps must be >= 0, got {self.lo_steps}")

    def ransac_options(self) -> pycolmap.RANSACOptions:
        return pycolmap.RANSACOptions(
            max_error=float(self.max_error), min_inlier_ratio=float(self.min_inlier_ratio),
            confidence=float(self.confidence), min_num_trials=int(self.min_num_trials),
            max_num_trials=int(self.max_num_trials), random_seed=int(self.random_seed),
            num_threads=int(self.num_threads))

    def refinement_options(self, refine_focal: bool | None = None) -> pycolmap.AbsolutePoseRefinementOptions:
        return pycolmap.AbsolutePoseRefinementOptions(
            refine_focal_length=self.refine_focal_length if refine_focal is None else refine_focal,
            refine_extra_params=self.refine_extra_params)


PRESETS: dict[str, LocalizationOptions] = {
    "config1": LocalizationOptions(min_num_matches=15, min_num_inliers=30, min_inlier_ratio=0.25,
                                   max_error=12.0, refine_focal_length=False, refine_extra_params=False,
                                   extra={"preset": "config1"}),
    "config2": LocalizationOptions(min_num_matches=4, min_num_inliers=4, min_inlier_ratio=0.05,
                                   max_error=20.0, refine_focal_length=False, refine_extra_params=False,
                                   extra={"preset": "config2"}),
    "config3": LocalizationOptions(min_num_matches=4, min_num_inliers=4, min_inlier_ratio=0.05,
                                   max_error=20.0, refine_focal_length=True, refine_extra_params=True,
                                   extra={"preset": "config3"}),
}


def options_from_dict(preset_name: str = "config1",
                      overrides: dict[str, Any] | None = None) -> LocalizationOptions:
    """A copy of a preset with some fields replaced; unknown preset or field names raise ValueError."""
    if preset_name not in PRESETS:
        raise ValueError(f"unknown localization preset '{preset_name}' (known: {', '.join(PRESETS)})")
    overrides = dict(overrides or {})
    known = {f.name for f in dataclasses.fields(LocalizationOptions)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown LocalizationOptions field(s) {unknown} (known: {sorted(known)})")
    base = PRESETS[preset_name]
    return dataclasses.replace(base, extra=dict(base.extra), **overrides)


@dataclass
class LocalizationResult:
    """Outcome of one query. On failure q and t are None and `failure_reason` says why."""

    success: bool
    q: np.ndarray | None
    t: np.ndarray | None
    num_inliers: int
    num_correspondences: int
    inlier_mask: np.ndarray
    camera: Any
    failure_reason: str = ""


def _model_name(camera: Any) -> str:
    model = camera.model
    return str(getattr(model, "name", model))


def has_intrinsics(camera: Any) -> bool:
    return _model_name(camera) not in UNKNOWN_MODELS and len(np.atleast_1d(camera.params)) > 0


def pycolmap_camera(camera: Any) -> tuple[pycolmap.Camera, bool]:
    """A fresh pycolmap camera (pycolmap refines it in place) and whether the intrinsics were guessed
    (a camera without intrinsics becomes the SIMPLE_RADIAL unknown-camera guess)."""
    if has_intrinsics(camera):
        return to_pycolmap_camera(camera, 1), False
    return to_pycolmap_camera(unknown_camera_guess(int(camera.width), int(camera.height), "SIMPLE_RADIAL"), 1), True


def from_pycolmap_camera(template: Any, cam: pycolmap.Camera) -> Any:
    """The caller's camera type carrying the (possibly refined) pycolmap intrinsics."""
    params = tuple(float(p) for p in cam.params)
    if dataclasses.is_dataclass(template) and not isinstance(template, type):
        try:
            return dataclasses.replace(template, model=cam.model.name, params=params)
        except (TypeError, ValueError):
            pass
    return SimpleNamespace(model=cam.model.name, width=int(cam.width), height=int(cam.height), params=params)


def check_correspondences(points2d, points3d) -> tuple[np.ndarray, np.ndarray]:
    p2 = np.ascontiguousarray(points2d, dtype=np.float64)
    p3 = np.ascontiguousarray(points3d, dtype=np.float64)
    if p2.ndim != 2 or p2.shape[1] < 2:
        raise ValueError(f"points2d must have shape (N, >=2), got {p2.shape}")
    if p3.ndim != 2 or p3.shape[1] != 3:
        raise ValueError(f"points3d must have shape (N, 3), got {p3.shape}")
    if len(p2) != len(p3):
        raise ValueError(f"points2d and points3d differ in length: {len(p2)} != {len(p3)}")
    return np.ascontiguousarray(p2[:, :2]), p3


def accept(num_inliers: int, num_correspondences: int, options: LocalizationOptions) -> str:
    """'' when the pose passes the preset's inlier checks, else the reason it does not."""
    if num_inliers < options.min_num_inliers:
        return f"too few inliers: {num_inliers} < {options.min_num_inliers}"
    ratio = num_inliers / max(num_correspondences, 1)
    if ratio < options.min_inlier_ratio:
        return f"inlier ratio {ratio:.3g} < {options.min_inlier_ratio}"
    return ""


def msac_score(p2: np.ndarray, p3: np.ndarray, camera: pycolmap.Camera, cam_from_world: pycolmap.Rigid3d,
               max_error: float) -> tuple[float, np.ndarray]:
    """MSAC score (sum of squared reprojection errors, each capped at max_error squared; lower is better) of a pose
    over all correspondences, and its inlier mask (points behind the camera are outliers)."""
    in_camera = p3 @ cam_from_world.rotation.matrix().T + cam_from_world.translation
    front = in_camera[:, 2] > 1e-9
    errors = np.full(len(p2), np.inf)
    if front.any():
        errors[front] = np.sum((camera.img_from_cam(in_camera[front]) - p2[front]) ** 2, axis=1)
    inliers = errors <= max_error ** 2
    return float(np.minimum(errors, max_error ** 2).sum()), inliers


def local_optimization(p2: np.ndarray, p3: np.ndarray, camera: pycolmap.Camera, cam_from_world: pycolmap.Rigid3d,
                       inliers: np.ndarray, options: LocalizationOptions) -> tuple[pycolmap.Rigid3d, np.ndarray]:
    """``options.lo_steps`` local-optimisation steps from a RANSAC pose (see ``LocalizationOptions.lo_steps``);
    the camera is kept fixed. Returns the pose and its inlier mask."""
    rng = np.random.default_rng(None if options.random_seed < 0 else options.random_seed)
    refinement = pycolmap.AbsolutePoseRefinementOptions()
    best, (best_score, best_inliers) = cam_from_world, msac_score(p2, p3, camera, cam_from_world, options.max_error)
    for _ in range(options.lo_steps):
        pool = np.flatnonzero(best_inliers)
        if len(pool) < 6:
            break
        subset = rng.choice(pool, size=max(6, len(pool) // 2), replace=False)
        ret = pycolmap.refine_absolute_pose(best, p2[subset], p3[subset], np.ones(len(subset), bool), camera,
                                            refinement)
        if ret is None:
            continue
        score, found = msac_score(p2, p3, camera, ret["cam_from_world"], options.max_error)
        if score < best_score:
            best, best_score, best_inliers = ret["cam_from_world"], score, found
    ret = pycolmap.refine_absolute_pose(best, p2, p3, best_inliers, camera, refinement)
    if ret is not None:
        score, found = msac_score(p2, p3, camera, ret["cam_from_world"], options.max_error)
        if score <= best_score:
            best, best_inliers = ret["cam_from_world"], found
    return best, best_inliers


def localize_image(points2d: np.ndarray, points3d: np.ndarray, camera: Any,
                   options: LocalizationOptions | None = None) -> LocalizationResult:
    """Pose (cam_from_world) of one image from its 2D keypoints (COLMAP pixel convention) and 3D points."""
    options = options or LocalizationOptions()
    p2, p3 = check_correspondences(points2d, points3d)
    n = len(p2)
    mask = np.zeros(n, dtype=bool)

    def failure(reason: str, num_inliers: int = 0, inliers: np.ndarray = mask) -> LocalizationResult:
        return LocalizationResult(False, None, None, num_inliers, n, inliers, camera, reason)

    if n < options.min_num_matches:
        return failure(f"too few correspondences: {n} < {options.min_num_matches}")
    cam, guessed = pycolmap_camera(camera)
    estimation = pycolmap.AbsolutePoseEstimationOptions()
    estimation.estimate_focal_length = bool(options.estimate_focal_length or guessed)
    estimation.ransac = options.ransac_options()
    refine_focal = options.refine_focal_length or estimation.estimate_focal_length
    try:
        if options.refine:
            ret = pycolmap.estimate_and_refine_absolute_pose(p2, p3, cam, estimation,
                                                             options.refinement_options(refine_focal))
        else:
            ret = pycolmap.estimate_absolute_pose(p2, p3, cam, estimation)
    except ValueError as e:  # degenerate input pycolmap rejects (e.g. below the solver's minimal sample)
        return failure(f"RANSAC failed: {e}")
    if ret is None:
        return failure("RANSAC failed")
    inliers = np.asarray(ret["inlier_mask"], dtype=bool).reshape(n)
    rigid = ret["cam_from_world"]
    if options.lo_steps and inliers.sum() >= 6:
        rigid, inliers = local_optimization(p2, p3, cam, rigid, inliers, options)
    num_inliers = int(inliers.sum())
    reason = accept(num_inliers, n, options)
    if reason:
        return failure(reason, num_inliers, inliers)
    q, t = rigid3d_to_pose(rigid)
    refined = refine_focal or options.refine_extra_params
    out_camera = from_pycolmap_camera(camera, cam) if refined else camera
    return LocalizationResult(True, q, t, num_inliers, n, inliers, out_camera, "")
