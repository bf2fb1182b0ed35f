"""Geometric verification on a synthetic two/three-view scene with injected outliers."""

from __future__ import annotations

import numpy as np
import pycolmap
import pytest

from kapturelike.core.sensors import Camera
from kapturelike.matching.verification import (
    VerificationInputError,
    VerificationOptions,
    known_pose_errors,
    verify_pair,
    verify_pairs,
)

CAMERA = Camera("PINHOLE", 640, 480, (500.0, 500.0, 320.0, 240.0))
DISTORTED = Camera("OPENCV", 640, 480, (500.0, 510.0, 321.0, 239.0, -0.05, 0.01, 0.001, -0.001))


def look_at(center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera (q wxyz, t) of a camera at ``center`` looking at the origin."""
    z = -center / np.linalg.norm(center)
    x = np.cross([0.0, 1.0, 0.0], z)
    x /= np.linalg.norm(x)
    r = np.stack([x, np.cross(z, x), z])
    q = pycolmap.Rotation3d(r).quat[[3, 0, 1, 2]]
    return q, -r @ center


def project(points: np.ndarray, pose, camera) -> np.ndarray:
    cam = pycolmap.Camera(model=camera.model, width=camera.width, height=camera.height,
                          params=list(camera.params), camera_id=1)
    r = pycolmap.Rotation3d(pose[0][[1, 2, 3, 0]]).matrix()
    xc = points @ r.T + pose[1]
    return np.asarray(cam.img_from_cam(xc))


def scene(rng: np.random.Generator, camera=CAMERA, n_points: int = 300, n_outliers: int = 60):
    points = rng.uniform(-1, 1, (n_points, 3))
    poses = {f"im{k}.jpg": look_at(6 * np.array([np.sin(a), 0.2 * k, -np.cos(a)]))
             for k, a in enumerate(np.radians([-20, 0, 25]))}
    keypoints = {name: project(points, pose, camera) for name, pose in poses.items()}
    truth = np.stack([np.arange(n_points)] * 2, 1)
    # outliers: wrong partner chosen far from the true one (a shifted cyclic index)
    bad = rng.choice(n_points, n_outliers, replace=False)
    outliers = np.stack([bad, (bad + n_points // 2) % n_points], 1)
    matches = np.vstack([truth, outliers])
    return points, poses, keypoints, matches, {tuple(r) for r in outliers.tolist()}


def far_from_epipolar(kp1, kp2, pose1, pose2, pairs, camera=CAMERA) -> np.ndarray:
    cam = pycolmap.Camera(model=camera.model, width=camera.width, height=camera.height,
                          params=list(camera.params), camera_id=1)
    err, _ = known_pose_errors(kp1[pairs[:, 0]], kp2[pairs[:, 1]], cam, cam, pose1, pose2)
    return err > 8.0


@pytest.mark.parametrize("method", ["ransac", "known_pose"])
@pytest.mark.parametrize("camera", [CAMERA, DISTORTED], ids=["pinhole", "opencv"])
def test_outliers_removed(method, camera):
    rng = np.random.default_rng(0)
    _, poses, kps, matches, outliers = scene(rng, camera)
    a, b = "im0.jpg", "im2.jpg"
    kps_noisy = {k: v + rng.normal(scale=0.3, size=v.shape) for k, v in kps.items()}
    opts = VerificationOptions(method=method, random_seed=1)
    res = verify_pair(kps_noisy[a], kps_noisy[b], matches, camera, camera, poses[a], poses[b], opts)
    assert res.success and res.method == method
    assert res.config == "CALIBRATED"
    kept = {tuple(r) for r in res.matches.tolist()}
    assert res.num_inliers == len(kept) == len(res.matches)
    true_kept = len(kept & {(i, i) for i in range(300)})
    # with exact poses every true match passes; RANSAC's estimated model may lose a few
    assert true_kept == 300 if method == "known_pose" else true_kept >= 290
    out = np.array(sorted(outliers))
    clearly_bad = {tuple(r) for r in out[far_from_epipolar(kps[a], kps[b], poses[a], poses[b], out, camera)]}
    assert len(clearly_bad) > 40  # most injected outliers are geometrically wrong
    assert not kept & clearly_bad
    assert res.matches.dtype == np.int64


def test_known_pose_threshold_is_in_pixels():
    rng = np.random.default_rng(1)
    _, poses, kps, _, _ = scene(rng, n_outliers=0)
    a, b = "im0.jpg", "im1.jpg"
    cam = pycolmap.Camera(model="PINHOLE", width=640, height=480, params=list(CAMERA.params), camera_id=1)
    idx = np.arange(300)
    err, panoramic = known_pose_errors(kps[a], kps[b], cam, cam, poses[a], poses[b])
    assert not panoramic and np.all(err < 1e-6)
    # shifting a keypoint by d px along the epipolar line's normal gives a Sampson distance close to d
    kp2 = kps[b].copy()
    kp2[:, 1] += 3.0
    err_shift, _ = known_pose_errors(kps[a][idx], kp2[idx], cam, cam, poses[a], poses[b])
    assert np.median(err_shift) > 1.0 and np.all(err_shift <= 3.0 + 1e-6)


def test_pure_rotation_uses_homography():
    rng = np.random.default_rng(2)
    points = rng.uniform(-1, 1, (100, 3)) + [0, 0, 6]
    q1, t1 = np.array([1.0, 0, 0, 0]), np.zeros(3)
    q2 = pycolmap.Rotation3d(np.radians([0, 5, 0])).quat[[3, 0, 1, 2]]
    kp1, kp2 = project(points, (q1, t1), CAMERA), project(points, (q2, t1), CAMERA)
    matches = np.stack([np.arange(100), np.r_[np.arange(80), np.roll(np.arange(80, 100), 7)]], 1)
    res = verify_pair(kp1, kp2, matches, CAMERA, CAMERA, (q1, t1), (q2, t1))
    assert res.config == "PANORAMIC" and res.method == "known_pose"
    assert res.matches.tolist() == [[i, i] for i in range(80)]


def test_too_few_and_empty():
    rng = np.random.default_rng(3)
    _, poses, kps, matches, _ = scene(rng)
    a, b = "im0.jpg", "im1.jpg"
    for method in ("ransac", "known_pose"):
        res = verify_pair(kps[a], kps[b], matches[:10], CAMERA, CAMERA, poses[a], poses[b],
                          VerificationOptions(method=method))
        assert res.status == "too_few_inliers" and res.matches.shape == (0, 2) and not res.success
        res = verify_pair(kps[a], kps[b], np.zeros((0, 2), np.int64), CAMERA, CAMERA, poses[a], poses[b],
                          VerificationOptions(method=method))
        assert not res.success and res.matches.shape == (0, 2)
    assert res.status == "too_few_inliers"


def test_random_matches_rejected():
    rng = np.random.default_rng(6)
    kp1, kp2 = rng.uniform(0, 480, (400, 2)), rng.uniform(0, 480, (400, 2))
    matches = np.stack([np.arange(400), rng.permutation(400)], 1)
    # an F matrix fits ~5% of random matches within 1 px; far from the 40 needed
    opts = VerificationOptions(random_seed=0, max_error=1.0, min_num_inliers=40)
    res = verify_pair(kp1, kp2, matches, CAMERA, CAMERA, options=opts)
    assert not res.success and res.matches.shape == (0, 2)
    assert res.status == "too_few_inliers"


def test_batch_reports_failures_and_goes_on():
    rng = np.random.default_rng(4)
    _, poses, kps, matches, outliers = scene(rng)
    cameras = dict.fromkeys(kps, CAMERA)
    pairs = [("im0.jpg", "im1.jpg"), ("im0.jpg", "missing.jpg"), ("im1.jpg", "im2.jpg"), ("im0.jpg", "im2.jpg")]
    bad_matches = np.array([[0, 10_000]])
    all_matches = [matches, matches, bad_matches, matches]
    known = verify_pairs(pairs, all_matches, kps, cameras, poses, VerificationOptions(num_workers=2))
    assert [r.success for r in known] == [True, False, False, True]
    assert "missing.jpg" in known[1].status and "out of range" in known[2].status
    assert all(r.method == "known_pose" for r in (known[0], known[3]))
    ransac = verify_pairs(pairs, all_matches, kps, cameras, None, VerificationOptions(random_seed=0))
    assert [r.success for r in ransac] == [True, False, False, True]
    assert ransac[0].method == "ransac"
    for res in (known[0], ransac[0]):
        assert len({tuple(r) for r in res.matches.tolist()} & {(i, i) for i in range(300)}) >= 295
    with pytest.raises(VerificationInputError):
        verify_pairs(pairs, all_matches[:2], kps, cameras)


def test_uncalibrated_camera_uses_fundamental_matrix():
    rng = np.random.default_rng(5)
    _, poses, kps, matches, _ = scene(rng)
    unknown = Camera("UNKNOWN_CAMERA", 640, 480, ())
    res = verify_pair(kps["im0.jpg"], kps["im2.jpg"], matches, unknown, unknown,
                      options=VerificationOptions(random_seed=0))
    assert res.success and res.config in ("UNCALIBRATED", "CALIBRATED")
    assert len({tuple(r) for r in res.matches.tolist()} & {(i, i) for i in range(300)}) >= 290
    with pytest.raises(VerificationInputError, match="calibrated"):
        verify_pair(kps["im0.jpg"], kps["im2.jpg"], matches, unknown, unknown, poses["im0.jpg"],
                    poses["im2.jpg"])


def test_bad_keypoints_raise():
    with pytest.raises(VerificationInputError, match="keypoints of the first image"):
        verify_pair(np.ones(5), np.ones((5, 2)), np.zeros((1, 2), np.int64), CAMERA, CAMERA)
    with pytest.raises(VerificationInputError, match="method"):
        VerificationOptions(method="magic")
