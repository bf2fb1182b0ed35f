"""Epipolar-guided matching: candidates restricted to the epipolar band, same MNN semantics inside it."""

from __future__ import annotations

import numpy as np
import pytest

from kapturelike.core.sensors import Camera
from kapturelike.matching.guided import match_pairs_guided
from kapturelike.matching.mnn import MatchingOptions, match_pairs_with_scores
from kapturelike.matching.verification import _as_pycolmap, known_pose_errors

CAMERA = Camera("OPENCV", 640, 480, (500.0, 510.0, 321.0, 239.0, -0.05, 0.01, 0.001, -0.001))


def look_at(center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import pycolmap

    z = -center / np.linalg.norm(center)
    x = np.cross([0.0, 1.0, 0.0], z)
    x /= np.linalg.norm(x)
    r = np.stack([x, np.cross(z, x), z])
    return pycolmap.Rotation3d(r).quat[[3, 0, 1, 2]], -r @ center


def project(points: np.ndarray, pose) -> np.ndarray:
    import pycolmap

    r = pycolmap.Rotation3d(pose[0][[1, 2, 3, 0]]).matrix()
    return np.asarray(_as_pycolmap(CAMERA)[0].img_from_cam(points @ r.T + pose[1]))


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("centers", [((-2.0, 0.0, -6.0), (2.0, 0.3, -6.0)),  # sideways: far epipole
                                     ((0.0, 0.0, -7.0), (0.3, 0.2, -5.0))])  # forward: epipole inside
def test_guided_keeps_true_matches_and_ignores_twins_off_the_line(centers):
    rng = np.random.default_rng(0)
    n = 400
    points = rng.uniform(-1, 1, (n, 3))
    pose1, pose2 = look_at(np.array(centers[0])), look_at(np.array(centers[1]))
    kp1, kp2 = project(points, pose1), project(points, pose2)
    base = rng.normal(size=(n, 128))
    desc1 = unit(base + 0.05 * rng.normal(size=base.shape))
    desc2 = unit(base + 0.05 * rng.normal(size=base.shape))
    # a closer twin of every 4th descriptor, placed in image 2 far from its epipolar line
    twins = np.arange(0, n, 4)
    kp2_twins = np.column_stack([640 - kp2[twins, 0], 480 - kp2[twins, 1]])
    far = known_pose_errors(kp1[twins], kp2_twins, _as_pycolmap(CAMERA)[0], _as_pycolmap(CAMERA)[0],
                            pose1, pose2)[0] > 20
    kp2_all = np.vstack([kp2, kp2_twins])
    desc2_all = np.vstack([desc2, unit(base[twins] + 0.01 * rng.normal(size=(len(twins), 128)))])
    options = MatchingOptions(ratio_threshold=0.8, device="cpu")
    cameras = {"a": CAMERA, "b": CAMERA}
    guided = match_pairs_guided([("a", "b")], [((kp1, desc1), (kp2_all, desc2_all))], cameras,
                                {"a": pose1, "b": pose2}, options)[0]
    plain = match_pairs_with_scores([(desc1, desc2_all)], options)[0]
    cam = _as_pycolmap(CAMERA)[0]
    m = guided[0]
    assert np.all(known_pose_errors(kp1[m[:, 0]], kp2_all[m[:, 1]], cam, cam, pose1, pose2)[0] <= 8.0)
    found = {tuple(r) for r in m.tolist()}
    # the twins far from their line cannot hide the true partner
    assert sum((i, i) in found for i in twins[far]) >= 0.95 * far.sum() > 0.5 * len(twins)
    assert len(found & {(i, i) for i in range(n)}) >= 0.9 * n
    plain_found = {tuple(r) for r in plain[0].tolist()}
    assert sum((i, i) in plain_found for i in twins[far]) < 0.2 * far.sum()  # unguided, the twins win


def test_unposed_pairs_are_left_to_plain_matching():
    desc = unit(np.random.default_rng(1).normal(size=(10, 128)))
    kp = np.zeros((10, 2))
    out = match_pairs_guided([("a", "b"), ("a", "c")], [((kp, desc), (kp, desc))] * 2,
                             {"a": CAMERA, "b": CAMERA, "c": Camera("UNKNOWN_CAMERA", 640, 480, ())},
                             {"a": look_at(np.array([0.0, 0, -5]))}, MatchingOptions(device="cpu"))
    assert out == [None, None]
