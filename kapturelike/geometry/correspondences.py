"""2D-3D correspondences of a query: its matches to map images, lifted through the map's observations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from kapturelike.core.reconstruction import Observations


def keypoint_to_point_tables(observations: Observations, keypoints_type: str) -> dict[str, np.ndarray]:
    """Per map image, an int64 table keypoint index -> 3D point id (-1: the keypoint sees no point).

    A table ends at the image's last observed keypoint; ``lift_matches`` treats indices past it as
    seeing no point, so no keypoint file needs to be read to size it.
    """
    tables = {}
    for name, (feature_ids, point_ids) in observations.for_image(keypoints_type).items():
        table = np.full(int(feature_ids.max(initial=-1)) + 1, -1, dtype=np.int64)
        table[feature_ids] = point_ids
        tables[name] = table
    return tables


def lift_matches(matches: Sequence[tuple[str, np.ndarray]], tables: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(query keypoint index, 3D point id) of every match whose map keypoint sees a 3D point.

    ``matches`` holds (map image, (M, >=2) array of query index, map index). Each distinct
    (query keypoint, point) pair is kept once: several map images often agree on the same pair.
    """
    query_idx, point_ids = [], []
    for map_image, m in matches:
        table = tables.get(map_image)
        if table is None or len(m) == 0:
            continue
        m = np.asarray(m)[:, :2].astype(np.int64)
        inside = m[:, 1] < len(table)
        pids = np.full(len(m), -1, dtype=np.int64)
        pids[inside] = table[m[inside, 1]]
        keep = pids >= 0
        query_idx.append(m[keep, 0])
        point_ids.append(pids[keep])
    if not query_idx:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.unique(np.stack([np.concatenate(query_idx), np.concatenate(point_ids)], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]
