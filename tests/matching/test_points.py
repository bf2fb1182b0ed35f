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
