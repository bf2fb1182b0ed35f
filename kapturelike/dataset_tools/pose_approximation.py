"""kapture-localization's pose approximation: a query's pose from the poses of its most similar map images.

Weights: ``equal_weighted_barycenter`` (equal), ``cosine_similarity`` (similarity ** alpha) or
``barycentric_descriptor_interpolation`` (the affine combination of the map images' global features
closest to the query's). Camera centres are averaged with the weights, rotations by the weighted
quaternion average (principal eigenvector of sum w q q^T).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core.image_poses import image_pose_table
from kapturelike.core.pose import camera_centers, normalize_quaternions, quat_to_rotmat
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.trajectories import Trajectories
from kapturelike.dataset_tools.output import DatasetToolError, prepare_output, refuse_overlap
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.features import KaptureFeatureStore, read_global_features
from kapturelike.io.pairs import read_ordered_pairs

METHODS = ("equal_weighted_barycenter", "cosine_similarity", "barycentric_descriptor_interpolation")


def interpolate_pose(q: np.ndarray, t: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera (q, t) whose centre and rotation are the weighted means of those of (q, t) rows."""
    w = weights / weights.sum()
    centre = (w[:, None] * camera_centers(q, t)).sum(axis=0)
    unit = normalize_quaternions(q)
    _, vectors = np.linalg.eigh((w[:, None, None] * unit[:, :, None] * unit[:, None, :]).sum(axis=0))
    mean_q = vectors[:, -1] * np.sign(vectors[0, -1] or 1.0)
    return mean_q, -quat_to_rotmat(mean_q) @ centre


def _weights(method: str, similarities: np.ndarray, query_feature: np.ndarray | None, map_features: np.ndarray | None,
             alpha: float) -> np.ndarray:
    if method == "equal_weighted_barycenter":
        return np.ones(len(similarities))
    if method == "cosine_similarity":
        return np.clip(similarities, 0.0, None) ** alpha + 1e-12
    # affine weights: minimise |query - features^T w| subject to sum w = 1 (lstsq on the bordered system)
    n = len(map_features)
    system = np.block([[map_features @ map_features.T, np.ones((n, 1))], [np.ones((1, n)), np.zeros((1, 1))]])
    rhs = np.concatenate([map_features @ query_feature, [1.0]])
    w = np.linalg.lstsq(system, rhs, rcond=None)[0][:n]
    return np.clip(w, 0.0, None) + 1e-12


def approximate_poses(mapping: str | Path, query: str | Path | None, out: str | Path, method: str, topk: int | None,
                      alpha: float = 8.0, global_features_type: str | None = None,
                      pairsfile: str | Path | None = None, force: bool = False) -> Trajectories:
    """Write at ``out`` the query dataset (sensors and camera records) with approximated poses."""
    if method not in METHODS:
        raise DatasetToolError(f"unknown method '{method}' (known: {', '.join(METHODS)})")
    kmap = load_kapture(mapping)
    names, _, _, map_q, map_t = image_pose_table(kmap)
    row_of = {n: i for i, n in enumerate(names)}
    kquery = load_kapture(query) if query else None
    if pairsfile is not None:
        ranked = read_ordered_pairs(pairsfile, topk)
        query_names = kquery.image_names() if kquery else sorted(ranked)
        candidates = {q: [(m, s) for m, s in ranked.get(q, []) if m in row_of] for q in query_names}
        features = None
    else:
        if kquery is None:
            raise DatasetToolError("--query is needed to approximate poses from global features")
        gtype = global_features_type or next(iter(kmap.global_features), None)
        if gtype is None:
            raise DatasetToolError(f"{mapping}: no global features")
        stores = [KaptureFeatureStore(query), KaptureFeatureStore(mapping)]
        query_names = kquery.image_names()
        _, qf = read_global_features(stores, gtype, query_names, str(query))
        _, mf = read_global_features(stores, gtype, names, str(mapping))
        sims = qf @ mf.T
        order = np.argsort(-sims, axis=1, kind="stable")[:, :topk or 20]
        candidates = {q: [(names[j], float(sims[i, j])) for j in order[i]] for i, q in enumerate(query_names)}
        features = (dict(zip(query_names, qf)), mf)
    keys = kquery.image_keys() if kquery else {}
    items = []
    for qname in query_names:
        found = candidates.get(qname, [])
        if not found or qname not in keys:
            continue
        rows = np.array([row_of[m] for m, _ in found])
        sims = np.array([s for _, s in found])
        weights = _weights(method, sims, features[0][qname] if features else None,
                           features[1][rows] if features else None, alpha)
        items.append((keys[qname], interpolate_pose(map_q[rows], map_t[rows], weights)))
    if kquery is None:
        raise DatasetToolError("--query is needed: the output holds the query's sensors and records")
    trajectories = Trajectories(np.array([k[0] for k, _ in items], dtype=np.int64),
                                np.array([k[1] for k, _ in items], dtype=object),
                                np.array([p[0] for _, p in items]).reshape(-1, 4),
                                np.array([p[1] for _, p in items]).reshape(-1, 3))
    refuse_overlap(out, [mapping, query])
    out = prepare_output(out, force)
    save_kapture(Kapture(sensors=kquery.sensors, records={"camera": kquery.records_camera},
                         trajectories=trajectories), out)
    return trajectories
