"""Real images: OpenCV SIFT on three fountain-P11 views -> MNN -> verification -> triangulation.

Skipped when ../shared/data/strecha is absent.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import pycolmap
import pytest

from kapturelike.core.sensors import Camera
from kapturelike.geometry.triangulation import TriangulationOptions, triangulate_known_poses
from kapturelike.io.images import load_image
from kapturelike.matching.mnn import MatchingOptions, match_pairs
from kapturelike.matching.verification import VerificationOptions, verify_pairs

SCENE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "strecha" / "fountain-P11"
NAMES = ["0003.jpg", "0004.jpg", "0005.jpg"]

pytestmark = pytest.mark.skipif(not (SCENE / "images").is_dir(), reason=f"{SCENE} not available")


def read_camera(name: str):
    v = np.array((SCENE / "gt_dense_cameras" / f"{name}.camera").read_text().split(), np.float64)
    k, r_wc, center, (w, h) = v[:9].reshape(3, 3), v[12:21].reshape(3, 3), v[21:24], v[24:26]
    r_cw = r_wc.T
    q = pycolmap.Rotation3d(r_cw).quat[[3, 0, 1, 2]]
    return Camera("PINHOLE", int(w), int(h), (k[0, 0], k[1, 1], k[0, 2], k[1, 2])), (q, -r_cw @ center)


@pytest.fixture(scope="module")
def data():
    sift = cv2.SIFT_create(nfeatures=2000)
    keypoints, descriptors, cameras, poses = {}, {}, {}, {}
    for name in NAMES:
        image = load_image(SCENE / "images" / name, grayscale=True)
        kps, desc = sift.detectAndCompute(image, None)
        # OpenCV's pixel centres are at integers, COLMAP's (our convention) at +0.5
        keypoints[name] = np.array([kp.pt for kp in kps], np.float32) + 0.5
        descriptors[name] = desc
        cameras[name], poses[name] = read_camera(name)
    return keypoints, descriptors, cameras, poses


def test_real_pipeline(data):
    keypoints, descriptors, cameras, poses = data
    pairs = list(combinations(NAMES, 2))
    raw = match_pairs([(descriptors[a], descriptors[b]) for a, b in pairs],
                      MatchingOptions(ratio_threshold=0.8, device="cpu"))
    assert all(len(m) > 300 for m in raw)
    known = verify_pairs(pairs, raw, keypoints, cameras, poses, VerificationOptions(method="known_pose"))
    ransac = verify_pairs(pairs, raw, keypoints, cameras, poses, VerificationOptions(method="ransac", random_seed=0))
    for m, k, r in zip(raw, known, ransac):
        assert k.success and r.success and r.config == "CALIBRATED"
        assert k.num_inliers > 0.85 * len(m)  # ratio-tested SIFT on neighbouring views: mostly right
        known_set = {tuple(x) for x in k.matches.tolist()}
        ransac_set = {tuple(x) for x in r.matches.tolist()}
        # the estimated geometry agrees with the ground-truth poses on most matches
        assert len(known_set & ransac_set) > 0.95 * len(ransac_set)

    matches = {pair: k.matches for pair, k in zip(pairs, known)}
    images = [(name, name, *poses[name]) for name in NAMES]
    res = triangulate_known_poses(cameras, images, keypoints, matches,
                                  TriangulationOptions(ignore_two_view_tracks=False))
    assert len(res.points3d) > 500
    assert res.mean_reprojection_error < 1.0
    # fountain-P11 cameras are 8-10 m from the scene: depths in front of each camera and plausible
    for name in NAMES:
        q, t = poses[name]
        depth = res.points3d @ pycolmap.Rotation3d(q[[1, 2, 3, 0]]).matrix()[2] + t[2]
        assert np.median(depth) > 4 and np.median(depth) < 15
    assert sum(len(o) == 3 for o in res.observations) > 100
