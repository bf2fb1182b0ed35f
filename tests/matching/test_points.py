"""Query <-> 3D point matching: one mean descriptor per point, matches spread back onto map keypoints."""

from __future__ import annotations

import numpy as np

from kapturelike.matching.mnn import MatchingOptions
from kapturelike.matching.points import build_point_index, image_matches, match_queries_to_points


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_points_are_matched_once_and_spread_to_the_images_that_see_them():
    rng = np.random.default_rng(0)
    num_points = 50
    base = rng.normal(size=(num_points, 128))
    # image a sees points 0..39 (keypoint k = point k), image b sees points 20..49 at keypoints 49 - point
    desc_a = unit(np.vstack([base[:40] + 0.1 * rng.normal(size=(40, 128)), rng.normal(size=(5, 128))]))
    desc_b = unit(base[20:][::-1] + 0.1 * rng.normal(size=(30, 128)))
    point_ids = 100 + np.arange(num_points)  # map ids need not start at 0
    observations = {"a.jpg": (np.arange(40), point_ids[:40]), "b.jpg": (49 - np.arange(20, 50), point_ids[20:])}
    index = build_point_index(observations, {"a.jpg": desc_a, "b.jpg": desc_b}.__getitem__)
    assert np.array_equal(index.point_ids, point_ids)
    np.testing.assert_allclose(np.linalg.norm(index.descriptors, axis=1), 1, rtol=1e-5)
    # a shared point's descriptor is the mean of its two observations, closer to the truth than either
    assert index.descriptors[30] @ unit(base[30:31])[0] > desc_a[30] @ unit(base[30:31])[0]
    # the query sees points 10..34 (query keypoint j = point 10 + j) plus distractors
    query = unit(np.vstack([base[10:35] + 0.1 * rng.normal(size=(25, 128)), rng.normal(size=(10, 128))]))
    options = MatchingOptions(ratio_threshold=0.8, device="cpu")
    only_b, both = match_queries_to_points([query, query], [["b.jpg"], ["a.jpg", "b.jpg"]], index, options)
    assert set(zip(only_b.query_keypoints.tolist(), only_b.points.tolist())) == {(p - 10, p) for p in range(20, 35)}
    assert set(zip(both.query_keypoints.tolist(), both.points.tolist())) == {(p - 10, p) for p in range(10, 35)}
    spread = image_matches(both, index, ["a.jpg", "b.jpg"])
    assert {tuple(r) for r in spread["a.jpg"][:, :2].astype(int).tolist()} == {(p - 10, p) for p in range(10, 35)}
    assert {tuple(r) for r in spread["b.jpg"][:, :2].astype(int).tolist()} == {(p - 10, 49 - p) for p in range(20, 35)}
    assert np.all(spread["b.jpg"][:, 2] > 0.9)
    assert set(image_matches(only_b, index, ["b.jpg"])) == {"b.jpg"}


def _scene(rng: np.random.Generator, num_points: int = 400):
    """Points in front of an identity-pose PINHOLE camera, their projections as query keypoints."""
    from kapturelike.core.sensors import Camera

    camera = Camera("PINHOLE", 640, 480, (500.0, 500.0, 320.0, 240.0))
    xyz = np.column_stack([rng.uniform(-3, 3, num_points), rng.uniform(-2, 2, num_points),
                           rng.uniform(5, 9, num_points)])
    xy = np.column_stack([500 * xyz[:, 0] / xyz[:, 2] + 320, 500 * xyz[:, 1] / xyz[:, 2] + 240])
    return camera, xyz, xy + rng.normal(scale=0.3, size=xy.shape)


def test_two_stages_keep_a_repeated_texture_match_that_one_stage_rejects():
    from kapturelike.matching.points import PointMatchingOptions, QueryGeometry

    rng = np.random.default_rng(1)
    camera, xyz, xy = _scene(rng)
    base = unit(rng.normal(size=(len(xyz), 128)))
    base[1] = base[0]  # repeated texture: points 0 and 1 look alike but project far apart
    far = np.linalg.norm(xy[0] - xy[1])
    assert far > 20
    index = build_point_index({"m.jpg": (np.arange(len(xyz)), np.arange(len(xyz)))}, {"m.jpg": base}.__getitem__,
                              points3d=xyz)
    query = unit(base + 0.05 * rng.normal(size=base.shape))
    query[1] = query[0]
    options = MatchingOptions(ratio_threshold=0.8, device="cpu")
    (one,) = match_queries_to_points([query], [["m.jpg"]], index, options)
    (two,) = match_queries_to_points([query], [["m.jpg"]], index, options, [QueryGeometry(xy, camera)],
                                     PointMatchingOptions(coarse_keypoints=200, radius=4.0))
    one_pairs = set(zip(one.query_keypoints.tolist(), one.points.tolist()))
    two_pairs = set(zip(two.query_keypoints.tolist(), two.points.tolist()))
    assert all(k == p for k, p in two_pairs)  # every second-stage match is the right point
    assert (0, 0) not in one_pairs and (0, 0) in two_pairs and (1, 1) in two_pairs
    assert len(two_pairs) >= len(one_pairs)


def test_two_stages_fall_back_to_one_product_when_the_coarse_pose_fails():
    from kapturelike.geometry.absolute_pose import LocalizationOptions
    from kapturelike.matching.points import PointMatchingOptions, QueryGeometry

    rng = np.random.default_rng(2)
    camera, xyz, xy = _scene(rng, 60)
    base = unit(rng.normal(size=(len(xyz), 128)))
    index = build_point_index({"m.jpg": (np.arange(len(xyz)), np.arange(len(xyz)))}, {"m.jpg": base}.__getitem__,
                              points3d=xyz)
    query = unit(base + 0.05 * rng.normal(size=base.shape))
    options = MatchingOptions(ratio_threshold=0.8, device="cpu")
    (one,) = match_queries_to_points([query], [["m.jpg"]], index, options)
    # 10 coarse keypoints cannot pass a preset asking for 30 inliers: the query is matched in one stage
    (two,) = match_queries_to_points([query], [["m.jpg"]], index, options, [QueryGeometry(xy, camera)],
                                     PointMatchingOptions(coarse_keypoints=10), LocalizationOptions())
    assert np.array_equal(one.query_keypoints, two.query_keypoints) and np.array_equal(one.points, two.points)


def test_near_projection_matching_is_mutual_with_the_ratio_test_among_candidates():
    from types import SimpleNamespace

    from kapturelike.core.sensors import Camera
    from kapturelike.matching.points import match_near_projections

    camera = Camera("PINHOLE", 100, 100, (100.0, 100.0, 50.0, 50.0))
    pose = SimpleNamespace(q=np.array([1.0, 0, 0, 0]), t=np.zeros(3), camera=camera)
    # points 0, 1 project to (50, 50) and (52, 50); point 2 to (80, 50), far from every keypoint
    xyz = np.array([[0.0, 0, 1], [0.02, 0, 1], [0.3, 0, 1]])
    d = unit(np.eye(4, 128)[:3] + 0.01)
    keypoints = np.array([[50.0, 50], [52, 50], [51, 50]])
    query = np.vstack([d[0], d[1], unit(d[0:1] + d[1:2])[0]])  # keypoint 2 is ambiguous between 0 and 1
    i, j, s = match_near_projections(keypoints, query, xyz, d, pose, 4.0,
                                     MatchingOptions(ratio_threshold=0.8, device="cpu"))
    assert set(zip(i.tolist(), j.tolist())) == {(0, 0), (1, 1)}
    np.testing.assert_allclose(s, 1.0, atol=1e-5)
    # without the ratio test the ambiguous keypoint still loses the mutual check to the exact ones
    i, j, _ = match_near_projections(keypoints, query, xyz, d, pose, 4.0, MatchingOptions(device="cpu"))
    assert set(zip(i.tolist(), j.tolist())) == {(0, 0), (1, 1)}
