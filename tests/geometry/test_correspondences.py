"""2D-3D lifting of query matches through the map's observations."""

from __future__ import annotations

import numpy as np

from kapturelike.core.reconstruction import Observations
from kapturelike.geometry.correspondences import keypoint_to_point_tables, lift_matches


def test_tables_and_lifting():
    obs = Observations.from_lists([(0, "sift", "a.jpg", 3), (0, "sift", "b.jpg", 1), (1, "sift", "a.jpg", 5),
                                   (2, "other", "a.jpg", 0)])
    tables = keypoint_to_point_tables(obs, "sift")
    assert tables["a.jpg"].tolist() == [-1, -1, -1, 0, -1, 1]
    assert tables["b.jpg"].tolist() == [-1, 0]
    # query kp 7 matches a.jpg kp 3 (point 0) and b.jpg kp 1 (point 0 again): kept once;
    # query kp 8 -> a.jpg kp 4 sees nothing; query kp 9 -> a.jpg kp 40 is past the table
    matches = [("a.jpg", np.array([[7, 3], [8, 4], [9, 40], [2, 5]])), ("b.jpg", np.array([[7, 1]])),
               ("unknown.jpg", np.array([[1, 1]]))]
    query_idx, point_ids = lift_matches(matches, tables)
    assert sorted(zip(query_idx.tolist(), point_ids.tolist())) == [(2, 1), (7, 0)]


def test_no_matches_gives_empty_arrays():
    query_idx, point_ids = lift_matches([], {})
    assert query_idx.shape == (0,) and point_ids.shape == (0,)
