"""Image pairs from known poses (distance pairs) and from capture order (sequence pairs).

Distance pairs: a query image and a map image pair up when their camera centres are between
``min_distance`` and ``max_distance`` apart and their viewing directions (optical axes in world
coordinates, see ``kapturelike.core.pose.viewing_directions``) differ by at most ``max_angle``
degrees. The score, as kapture-localization's ``kapture_compute_distance_pairs`` computes it, is
``2 - (distance / max_distance + angle / max_angle)``: 2 for a coincident camera, 0 at both limits.

Sequence pairs: per sensor, images sorted by timestamp form sequences (a gap longer than
``max_interval`` starts a new one); each image pairs with the images up to ``window`` frames before
and after it in its sequence, scored ``1 - offset / window``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from kapturelike.retrieval.topk import rank_within_groups, self_exclusion


@dataclass
class DistancePairsOptions:
    max_distance: float = 25.0
    """Largest centre distance of a pair (world units, usually metres); must be finite."""
    min_distance: float = 0.0
    """Smallest centre distance of a pair (e.g. to skip images taken from the same place)."""
    max_angle: float = 45.0
    """Largest angle in degrees between the viewing directions of a pair, in (0, 180]."""
    topk: int | None = None
    """Best pairs kept per query image (None: all pairs within the limits)."""
    query_block: int = 16384
    """Query images processed at once; bounds the memory of the radius search."""
    keep_rejected: bool = False
    """Pair every query with every map image, those outside the limits too (kapture-localization's
    --keep-rejected): distance and angle are clipped at their limits in the score, so rejected pairs
    score lowest; ``topk`` still applies."""

    def __post_init__(self) -> None:
        if not (np.isfinite(self.max_distance) and self.max_distance > 0):
            raise ValueError(f"DistancePairsOptions.max_distance must be finite and > 0, got {self.max_distance}")
        if not 0 <= self.min_distance <= self.max_distance:
            raise ValueError(f"DistancePairsOptions.min_distance must be in [0, max_distance], got {self.min_distance}")
        if not 0 < self.max_angle <= 180:
            raise ValueError(f"DistancePairsOptions.max_angle must be in (0, 180], got {self.max_angle}")
        if self.topk is not None and self.topk < 1:
            raise ValueError(f"DistancePairsOptions.topk must be >= 1, got {self.topk}")
        if self.keep_rejected and self.min_distance > 0:
            raise ValueError("DistancePairsOptions: keep_rejected and min_distance exclude each other (as in "
                             "kapture-localization)")


def _as_vectors(a: np.ndarray | None, field: str, n: int | None = None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3 or (n is not None and a.shape[0] != n):
        raise ValueError(f"{field}: expected a ({n if n is not None else 'N'}, 3) array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{field}: holds NaN or infinite values")
    return a


def _unit(d: np.ndarray, field: str) -> np.ndarray:
    norms = np.linalg.norm(d, axis=1, keepdims=True)
    if (norms <= 0).any():
        raise ValueError(f"{field}: zero-length viewing direction")
    return d / norms


def distance_pairs(query_centers: np.ndarray, query_dirs: np.ndarray | None, map_centers: np.ndarray,
                   map_dirs: np.ndarray | None, options: DistancePairsOptions | None = None,
                   exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query index, map index, score) arrays of every pair within the limits, best ``topk`` per query.

    Sorted by query index, then descending score, then map index. Directions may be None (no angle
    limit, angle taken as 0). ``exclude``: int64 (Q,) map index each query must not pair with (-1: none).
    """
    options = options or DistancePairsOptions()
    qc = _as_vectors(query_centers, "query centers")
    mc = _as_vectors(map_centers, "map centers")
    if (query_dirs is None) != (map_dirs is None):
        raise ValueError("viewing directions must be given for both queries and map, or for neither")
    qd = _as_vectors(query_dirs, "query directions", len(qc))
    md = _as_vectors(map_dirs, "map directions", len(mc))
    if qd is not None:
        qd, md = _unit(qd, "query directions"), _unit(md, "map directions")
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=np.int64)
        if exclude.shape != (len(qc),):
            raise ValueError(f"exclude: expected ({len(qc)},) map indices, got shape {exclude.shape}")
    if options.keep_rejected:
        return _all_pairs(qc, qd, mc, md, options, exclude)
    parts_q, parts_m, parts_d, parts_a = [], [], [], []
    map_tree = cKDTree(mc)
    for q0 in range(0, len(qc), options.query_block):
        block = cKDTree(qc[q0:q0 + options.query_block])
        found = block.sparse_distance_matrix(map_tree, options.max_distance, output_type="ndarray")
        qi, mi, dist = found["i"].astype(np.int64) + q0, found["j"].astype(np.int64), found["v"]
        # the ndarray output keeps zero distances (coincident centres), unlike the dok output
        keep = dist >= options.min_distance
        if exclude is not None:
            keep &= mi != exclude[qi]
        qi, mi, dist = qi[keep], mi[keep], dist[keep]
        if qd is not None:
            cos = np.clip(np.einsum("nd,nd->n", qd[qi], md[mi]), -1.0, 1.0)
            angle = np.degrees(np.arccos(cos))
            keep = angle <= options.max_angle
            qi, mi, dist, angle = qi[keep], mi[keep], dist[keep], angle[keep]
        else:
            angle = np.zeros_like(dist)
        parts_q.append(qi)
        parts_m.append(mi)
        parts_d.append(dist)
        parts_a.append(angle)
    qi, mi = np.concatenate(parts_q or [np.zeros(0, np.int64)]), np.concatenate(parts_m or [np.zeros(0, np.int64)])
    dist, angle = np.concatenate(parts_d or [np.zeros(0)]), np.concatenate(parts_a or [np.zeros(0)])
    score = 2.0 - (dist / options.max_distance + angle / options.max_angle)
    order = rank_within_groups(qi, score, mi, options.topk)
    return qi[order], mi[order], score[order]


def _all_pairs(qc: np.ndarray, qd: np.ndarray | None, mc: np.ndarray, md: np.ndarray | None,
               options: DistancePairsOptions, exclude: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (query, map) pair, scored with distance and angle clipped at their limits."""
    block = max(1, min(options.query_block, (1 << 22) // max(len(mc), 1)))  # bounds the dense block's memory
    parts_q, parts_m, parts_s = [], [], []
    for q0 in range(0, len(qc), block):
        q1 = min(q0 + block, len(qc))
        dist = np.linalg.norm(qc[q0:q1, None, :] - mc[None, :, :], axis=2)
        angle = np.zeros_like(dist) if qd is None else np.degrees(np.arccos(np.clip(qd[q0:q1] @ md.T, -1.0, 1.0)))
        score = 2.0 - (np.minimum(dist, options.max_distance) / options.max_distance
                       + np.minimum(angle, options.max_angle) / options.max_angle)
        qi, mi = np.meshgrid(np.arange(q0, q1), np.arange(len(mc)), indexing="ij")
        keep = np.ones(qi.shape, bool) if exclude is None else mi != exclude[qi]
        parts_q.append(qi[keep])
        parts_m.append(mi[keep])
        parts_s.append(score[keep])
    qi, mi = np.concatenate(parts_q or [np.zeros(0, np.int64)]), np.concatenate(parts_m or [np.zeros(0, np.int64)])
    score = np.concatenate(parts_s or [np.zeros(0)])
    order = rank_within_groups(qi, score, mi, options.topk)
    return qi[order], mi[order], score[order]


def distance_pairs_named(query_names: Sequence[str], query_centers: np.ndarray, query_dirs: np.ndarray | None,
                         map_names: Sequence[str], map_centers: np.ndarray, map_dirs: np.ndarray | None,
                         options: DistancePairsOptions | None = None) -> list[tuple[str, str, float]]:
    """Distance pairs as (query, map, score), no self pairs (same name), sorted by query name then score."""
    if len(query_names) != len(query_centers) or len(map_names) != len(map_centers):
        raise ValueError("distance pairs: one name per camera centre is required")
    exclude = self_exclusion(query_names, map_names)
    qi, mi, score = distance_pairs(query_centers, query_dirs, map_centers, map_dirs, options, exclude)
    qn, mn = np.asarray(query_names, dtype=object), np.asarray(map_names, dtype=object)
    # re-sort by name (query indices need not follow name order), through integer name ranks
    q_rank = np.argsort(np.argsort(qn, kind="stable"), kind="stable")
    m_rank = np.argsort(np.argsort(mn, kind="stable"), kind="stable")
    order = rank_within_groups(q_rank[qi], score, m_rank[mi])
    return list(zip(qn[qi[order]].tolist(), mn[mi[order]].tolist(), score[order].tolist()))


def sequence_pairs(names: Sequence[str], timestamps: np.ndarray, sensor_ids: Sequence[str], window: int,
                   max_interval: int | None = None, loop: bool = False,
                   expand_window: bool = False) -> list[tuple[str, str, float]]:
    """Pairs of images of one sensor within ``window`` frames of each other in timestamp order.

    ``max_interval``: a timestamp gap larger than this starts a new sequence (None: one sequence per
    sensor). Each image pairs with both neighbours at offset o <= window, scored ``1 - o / window``.
    kapture-localization's variants: ``loop``, every sequence is a loop (the frames after the last
    are the first ones); ``expand_window``, near an end of its sequence an image takes on the other
    side the frames it lacks on this one (2 x window neighbours in all), each side scored
    ``1 - o / frames on that side``. Sorted by query name, then descending score, then map name.
    """
    n = len(names)
    ts = np.asarray(timestamps)
    if ts.shape != (n,) or len(sensor_ids) != n:
        raise ValueError(f"sequence pairs: {n} names, {ts.shape} timestamps and {len(sensor_ids)} sensor ids")
    if window < 1:
        raise ValueError(f"sequence pairs: window must be >= 1, got {window}")
    if len(set(names)) != n:
        raise ValueError("sequence pairs: image names are not unique")
    sensors = np.unique(np.asarray(sensor_ids, dtype=str), return_inverse=True)[1]
    order = np.lexsort((ts, sensors))
    s_sorted, t_sorted = sensors[order], ts[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = s_sorted[1:] != s_sorted[:-1]
    if max_interval is not None:
        starts[1:] |= (t_sorted[1:] - t_sorted[:-1]) > max_interval
    sequence = np.cumsum(starts)
    if loop and expand_window:
        raise ValueError("sequence pairs: loop and expand_window exclude each other (as in kapture-localization)")
    if loop or expand_window:
        qi, mi, sc = _wrapped_or_expanded(order, sequence, window, loop)
        return _named(names, qi, mi, sc)
    qs, ms, scores = [], [], []
    for offset in range(1, min(window, n - 1) + 1):
        i = np.arange(n - offset)
        j = i + offset
        same = sequence[i] == sequence[j]
        i, j = order[i[same]], order[j[same]]
        score = np.full(len(i), 1.0 - offset / window)
        qs += [i, j]
        ms += [j, i]
        scores += [score, score]
    if not qs:
        return []
    return _named(names, np.concatenate(qs), np.concatenate(ms), np.concatenate(scores))


def _wrapped_or_expanded(order: np.ndarray, sequence: np.ndarray, window: int, loop: bool
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, neighbour, score) index arrays of the loop or expand_window variant; ``order`` lists the
    images by sequence, ``sequence`` the sequence number of each entry of ``order``."""
    first = np.flatnonzero(np.r_[True, sequence[1:] != sequence[:-1]])
    length = np.diff(np.r_[first, len(sequence)])
    seq_index = np.searchsorted(first, np.arange(len(sequence)), side="right") - 1
    start, size = first[seq_index], length[seq_index]
    pos = np.arange(len(sequence)) - start
    keep = size >= 2  # an image alone in its sequence pairs with nothing
    start, size, pos, idx = start[keep], size[keep], pos[keep], np.flatnonzero(keep)
    qs, ms, scores, ranks = [], [], [], []
    if loop:
        for j in range(window):
            for side, step in enumerate((j + 1, -(j + 1))):
                target = (pos + step) % size
                valid = target != pos
                qs.append(idx[valid])
                ms.append(start[valid] + target[valid])
                scores.append(np.full(valid.sum(), 1.0 - (j + 1) / window))
                ranks.append(np.full(valid.sum(), 2 * j + side))
        qi, mi, sc, rk = (np.concatenate(a) for a in (qs, ms, scores, ranks))
        # a short loop meets an image from both sides: it is paired once, at its first (closest) meeting
        first_seen = np.lexsort((rk, mi, qi))
        pair_key = np.stack([qi[first_seen], mi[first_seen]], axis=1)
        unique = np.r_[True, (pair_key[1:] != pair_key[:-1]).any(axis=1)]
        chosen = first_seen[unique]
        return order[qi[chosen]], order[mi[chosen]], sc[chosen]
    right, left = np.minimum(size - 1 - pos, window), np.minimum(pos, window)
    final_right, final_left = right + (window - left), left + (window - right)
    for j in range(2 * window):
        for final, step in ((final_right, j + 1), (final_left, -(j + 1))):
            target = pos + step
            valid = (j < final) & (target >= 0) & (target < size)
            qs.append(idx[valid])
            ms.append(start[valid] + target[valid])
            scores.append(1.0 - (j + 1) / final[valid])
    qi, mi, sc = (np.concatenate(a) for a in (qs, ms, scores))
    return order[qi], order[mi], sc


def _named(names: Sequence[str], qi: np.ndarray, mi: np.ndarray, sc: np.ndarray) -> list[tuple[str, str, float]]:
    name_arr = np.asarray(names, dtype=object)
    name_rank = np.argsort(np.argsort(name_arr, kind="stable"), kind="stable")
    out = rank_within_groups(name_rank[qi], sc, name_rank[mi])
    return list(zip(name_arr[qi[out]].tolist(), name_arr[mi[out]].tolist(), sc[out].tolist()))
