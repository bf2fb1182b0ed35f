"""Geometric verification of matches: RANSAC through pycolmap, or the epipolar error of known poses.

Two methods:
- 'ransac': pycolmap's two-view geometry estimation (E / F / H with LO-RANSAC, COLMAP's choice of
  configuration). Needed when at least one image has no pose (localization, SfM).
- 'known_pose': both images are posed (mapping with known poses). The essential matrix follows from
  the relative pose, so no model is estimated: a match is kept when its Sampson distance, in pixels,
  is under ``max_error``. Keypoints are undistorted through pycolmap's camera model first. This is
  vectorised numpy, much faster than RANSAC, and does not throw away matches that RANSAC's model
  (fit on noisy points) would. Cheirality is not checked; triangulation filters those points.
'auto' (default) picks 'known_pose' when both poses are given, else 'ransac'.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pycolmap

from kapturelike.core.pose import compose, invert, quat_to_rotmat
from kapturelike.core.sensors import unknown_camera_guess
from kapturelike.errors import KapturelikeError
from kapturelike.geometry.colmap_model import CameraLike, to_pycolmap_camera

Pose = tuple[np.ndarray, np.ndarray]  # (q (4,) qw qx qy qz, t (3,)), world-to-camera

METHODS = ("auto", "ransac", "known_pose")


class VerificationInputError(KapturelikeError, ValueError):
    """Inputs that cannot be verified (bad matches array, missing pose or camera)."""


@dataclass
class VerificationOptions:
    """Options of geometric verification.

    Attributes:
        method: 'auto' (known_pose if both images are posed, else ransac), 'ransac' or 'known_pose'.
        max_error: inlier threshold in pixels (RANSAC residual / Sampson distance).
        min_num_inliers: fewer inliers than this and the pair fails (status 'too_few_inliers', no matches).
        confidence: RANSAC confidence.
        max_num_trials: RANSAC iteration cap.
        min_inlier_ratio: RANSAC's expected minimum inlier ratio (sets the number of trials).
        random_seed: RANSAC seed, -1 for a random one (set it for reproducible runs).
        num_workers: threads for a batch of RANSAC pairs (pycolmap releases the GIL); 0 = all CPUs.
    """

    method: str = "auto"
    max_error: float = 4.0
    min_num_inliers: int = 15
    confidence: float = 0.999
    max_num_trials: int = 10000
    min_inlier_ratio: float = 0.25
    random_seed: int = -1
    num_workers: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise VerificationInputError(f"method must be one of {METHODS}, got '{self.method}'")
        if self.max_error <= 0:
            raise VerificationInputError(f"max_error must be > 0, got {self.max_error}")

    def to_pycolmap(self) -> pycolmap.TwoViewGeometryOptions:
        opts = pycolmap.TwoViewGeometryOptions()
        opts.min_num_inliers = int(self.min_num_inliers)
        opts.ransac.max_error = float(self.max_error)
        opts.ransac.confidence = float(self.confidence)
        opts.ransac.max_num_trials = int(self.max_num_trials)
        opts.ransac.min_inlier_ratio = float(self.min_inlier_ratio)
        opts.ransac.random_seed = int(self.random_seed)
        return opts


@dataclass
class VerificationResult:
    """Outcome of one pair: ``matches`` are the inlier matches (empty unless status is 'ok').

    ``status``: 'ok'; 'too_few_inliers' (no geometry with min_num_inliers); 'rejected: WATERMARK'
    (COLMAP's watermark detection: the matches are an image overlay, not the scene); 'error: ...'
    (bad input or a pycolmap failure, from :func:`verify_pairs` only).

    ``config`` is the pycolmap TwoViewGeometryConfiguration name ('CALIBRATED', 'UNCALIBRATED',
    'PLANAR', 'PANORAMIC', 'DEGENERATE', ...; 'UNDEFINED' after an error).
    """

    matches: np.ndarray
    config: str
    num_inliers: int
    method: str
    status: str = "ok"

    @property
    def success(self) -> bool:
        return self.status == "ok"


def _check_matches(matches: np.ndarray, n1: int, n2: int) -> np.ndarray:
    m = np.asarray(matches)
    if m.ndim != 2 or m.shape[1] < 2:
        raise VerificationInputError(f"matches must be (M, 2), got shape {m.shape}")
    m = m[:, :2].astype(np.int64)
    if len(m) and (m.min() < 0 or m[:, 0].max() >= n1 or m[:, 1].max() >= n2):
        raise VerificationInputError(f"match indices out of range of the keypoints ({n1}, {n2})")
    return m


def _keypoints(kp: np.ndarray, which: str) -> np.ndarray:
    kp = np.asarray(kp)
    if kp.ndim != 2 or kp.shape[1] < 2:
        raise VerificationInputError(f"keypoints of the {which} image must be (N, >=2), got shape {kp.shape}")
    return np.ascontiguousarray(kp[:, :2], dtype=np.float64)


def mean_focal(cam: pycolmap.Camera) -> float:
    return float(np.mean([cam.params[i] for i in cam.focal_length_idxs()]))


@dataclass
class EpipolarGeometry:
    """Two posed cameras in undistorted pixel units: a keypoint maps to ``cam_from_img * f`` (principal
    point at 0, focal length f, distortion removed); ``fmat`` is the fundamental matrix between those
    coordinates (x2^T F x1 = 0), None for a zero baseline, where ``homography`` maps image 1 to image 2."""

    focal1: float
    focal2: float
    fmat: np.ndarray | None
    homography: np.ndarray | None

    def points1(self, cam1: pycolmap.Camera, kp1: np.ndarray) -> np.ndarray:
        return undistorted_pixels(cam1, kp1, self.focal1)

    def points2(self, cam2: pycolmap.Camera, kp2: np.ndarray) -> np.ndarray:
        return undistorted_pixels(cam2, kp2, self.focal2)


def undistorted_pixels(camera: pycolmap.Camera, keypoints: np.ndarray, focal: float) -> np.ndarray:
    """(N, 3) homogeneous ``cam_from_img * focal`` of (N, 2) COLMAP pixels."""
    return np.c_[np.asarray(camera.cam_from_img(keypoints)) * focal, np.ones(len(keypoints))]


def epipolar_geometry(cam1: pycolmap.Camera, cam2: pycolmap.Camera, pose1: Pose, pose2: Pose) -> EpipolarGeometry:
    # cam2_from_cam1 = cam2_from_world * world_from_cam1
    rel_q, rel_t = compose(pose2[0], pose2[1], *invert(pose1[0], pose1[1]))
    rel_r = quat_to_rotmat(rel_q)
    f1, f2 = mean_focal(cam1), mean_focal(cam2)
    k1_inv = np.diag([1 / f1, 1 / f1, 1.0])
    k2_inv = np.diag([1 / f2, 1 / f2, 1.0])
    scale = max(np.linalg.norm(pose1[1]), np.linalg.norm(pose2[1]), 1.0)
    if np.linalg.norm(rel_t) <= 1e-12 * scale:
        return EpipolarGeometry(f1, f2, None, np.linalg.inv(k2_inv) @ rel_r @ k1_inv)
    tx = np.array([[0, -rel_t[2], rel_t[1]], [rel_t[2], 0, -rel_t[0]], [-rel_t[1], rel_t[0], 0]])
    return EpipolarGeometry(f1, f2, k2_inv.T @ (tx @ rel_r) @ k1_inv, None)


def known_pose_errors(kp1: np.ndarray, kp2: np.ndarray, cam1: pycolmap.Camera, cam2: pycolmap.Camera,
                      pose1: Pose, pose2: Pose) -> tuple[np.ndarray, bool]:
    """Per-correspondence epipolar (Sampson) distance in pixels between (M, 2) keypoint rows.

    Returns (errors (M,), panoramic): when the baseline is zero the epipolar geometry is undefined and
    the error is the transfer error of the rotation-only homography instead (panoramic = True).
    """
    geometry = epipolar_geometry(cam1, cam2, pose1, pose2)
    # undistorted normalised coordinates, scaled back to pixel units by the mean focal length
    x1, x2 = geometry.points1(cam1, kp1), geometry.points2(cam2, kp2)
    if geometry.fmat is None:
        y = x1 @ geometry.homography.T
        with np.errstate(divide="ignore", invalid="ignore"):
            err = np.linalg.norm(y[:, :2] / y[:, 2:3] - x2[:, :2], axis=1)
        return np.nan_to_num(err, nan=np.inf), True
    fmat = geometry.fmat
    fx1 = x1 @ fmat.T  # F x1, one row per match
    ftx2 = x2 @ fmat  # F^T x2
    num = np.einsum("ij,ij->i", x2, fx1) ** 2
    den = fx1[:, 0] ** 2 + fx1[:, 1] ** 2 + ftx2[:, 0] ** 2 + ftx2[:, 1] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.sqrt(num / den)
    return np.nan_to_num(err, nan=np.inf), False


def _as_pycolmap(camera: CameraLike | pycolmap.Camera) -> tuple[pycolmap.Camera, bool]:
    """(pycolmap camera, calibrated); an UNKNOWN_CAMERA becomes a focal-length guess for F estimation."""
    if isinstance(camera, pycolmap.Camera):
        return camera, True
    if camera.model == "UNKNOWN_CAMERA":
        return to_pycolmap_camera(unknown_camera_guess(int(camera.width), int(camera.height)), 1), False
    return to_pycolmap_camera(camera, 1), True


def verify_pair(kp1: np.ndarray, kp2: np.ndarray, matches: np.ndarray,
                camera1: CameraLike | pycolmap.Camera, camera2: CameraLike | pycolmap.Camera,
                pose1: Pose | None = None, pose2: Pose | None = None,
                options: VerificationOptions | None = None) -> VerificationResult:
    """Verify the matches (M, 2) between keypoints kp1 (N1, >=2) and kp2 (N2, >=2), COLMAP pixels."""
    options = options or VerificationOptions()
    kp1, kp2 = _keypoints(kp1, "first"), _keypoints(kp2, "second")
    m = _check_matches(matches, len(kp1), len(kp2))
    method = options.method
    if method == "auto":
        method = "known_pose" if pose1 is not None and pose2 is not None else "ransac"
    cam1, calibrated1 = _as_pycolmap(camera1)
    cam2, calibrated2 = _as_pycolmap(camera2)
    empty = np.zeros((0, 2), np.int64)
    if method == "known_pose":
        if pose1 is None or pose2 is None:
            raise VerificationInputError("method 'known_pose' needs the poses of both images")
        if not (calibrated1 and calibrated2):
            raise VerificationInputError("method 'known_pose' needs calibrated cameras")
        err, panoramic = known_pose_errors(kp1[m[:, 0]], kp2[m[:, 1]], cam1, cam2, pose1, pose2)
        inliers = m[err <= options.max_error]
        config = "PANORAMIC" if panoramic else "CALIBRATED"
    else:
        estimate = (pycolmap.estimate_calibrated_two_view_geometry if calibrated1 and calibrated2
                    else pycolmap.estimate_two_view_geometry)
        if len(m) < max(options.min_num_inliers, 5):
            return VerificationResult(empty, "DEGENERATE", 0, method, "too_few_inliers")
        geom = estimate(cam1, kp1, cam2, kp2, m.astype(np.uint32), options.to_pycolmap())
        config = pycolmap.TwoViewGeometryConfiguration(geom.config).name
        inliers = np.asarray(geom.inlier_matches, dtype=np.int64).reshape(-1, 2)
        if config == "WATERMARK":
            return VerificationResult(empty, config, len(inliers), method, "rejected: WATERMARK")
        if config in ("UNDEFINED", "DEGENERATE"):  # what pycolmap returns under min_num_inliers
            return VerificationResult(empty, config, len(inliers), method, "too_few_inliers")
    if len(inliers) < options.min_num_inliers:
        return VerificationResult(empty, config, len(inliers), method, "too_few_inliers")
    return VerificationResult(inliers, config, len(inliers), method)


def verify_pairs(pairs: Sequence[tuple[str, str]], matches: Sequence[np.ndarray],
                 keypoints: Mapping[str, np.ndarray], cameras: Mapping[str, CameraLike | pycolmap.Camera],
                 poses: Mapping[str, Pose] | None = None,
                 options: VerificationOptions | None = None) -> list[VerificationResult]:
    """Verify many pairs of images; ``cameras`` and ``poses`` are keyed by image name.

    A pair that fails (bad input, missing keypoints or camera, pycolmap error) gets status
    'error: <reason>' and empty matches; the other pairs go on.
    """
    options = options or VerificationOptions()
    if len(pairs) != len(matches):
        raise VerificationInputError(f"{len(pairs)} pairs but {len(matches)} match arrays")
    poses = poses or {}
    # one pycolmap camera per distinct camera object, not per pair
    converted: dict[int, pycolmap.Camera | CameraLike] = {}

    def camera_of(name: str) -> pycolmap.Camera | CameraLike:
        if name not in cameras:
            raise VerificationInputError(f"no camera for image '{name}'")
        cam = cameras[name]
        key = id(cam)
        if key not in converted:
            converted[key] = (cam if isinstance(cam, pycolmap.Camera) or cam.model == "UNKNOWN_CAMERA"
                              else to_pycolmap_camera(cam, 1, name))
        return converted[key]

    def run(k: int) -> VerificationResult:
        name1, name2 = pairs[k]
        try:
            for name in (name1, name2):
                if name not in keypoints:
                    raise VerificationInputError(f"no keypoints for image '{name}'")
            return verify_pair(keypoints[name1], keypoints[name2], matches[k], camera_of(name1),
                               camera_of(name2), poses.get(name1), poses.get(name2), options)
        except Exception as exc:  # one bad pair must not stop the batch
            return VerificationResult(np.zeros((0, 2), np.int64), "UNDEFINED", 0, options.method,
                                      f"error: pair ({name1}, {name2}): {exc}")

    for name1, name2 in pairs:  # fill the camera cache before threads share it
        for name in (name1, name2):
            if name in cameras:
                try:
                    camera_of(name)
                except Exception:  # reported per pair by run()
                    pass
    workers = options.num_workers or os.cpu_count() or 1
    # known-pose checks take microseconds per pair: threads would only add overhead
    any_ransac = options.method == "ransac" or (
        options.method == "auto" and any(a not in poses or b not in poses for a, b in pairs))
    if workers == 1 or len(pairs) < 2 or not any_ransac:
        return [run(k) for k in range(len(pairs))]
    with ThreadPoolExecutor(min(workers, len(pairs))) as pool:
        return list(pool.map(run, range(len(pairs))))
