"""Quality of image retrieval for localization: pose-based hit rates, mAP and recall@k.

Inputs are ranked database indices per query, int64 (Q, K), best first, -1 padding short lists (the
``indices`` a ``RetrievalIndex`` returns). A ranked list shorter than k is evaluated on what it holds.

- Pose hit rate@k: share of queries whose top k holds at least one database image whose camera
  centre is within ``max_distance`` of the query's and whose viewing direction is within
  ``max_angle`` degrees of the query's (the usual measure of retrieval for visual localization).
- With relevance labels (bool (Q, N)): hit rate@k (share of queries with a relevant image in the
  top k), recall@k (mean share of a query's relevant images found in the top k) and mAP (mean over
  queries of the average precision of the ranked list, normalised by the query's total number of
  relevant images, so relevant images beyond the list count as missed). Queries without any relevant
  image are left out of these three and counted in ``num_without_relevant``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_KS = (1, 5, 10, 20)


@dataclass
class RetrievalEvaluation:
    ks: tuple[int, ...]
    """The k of every per-k array below."""
    num_queries: int
    pose_hit_rate: np.ndarray | None = None
    """(len(ks),) share of queries with a pose-relevant image in the top k (pose evaluation)."""
    max_distance: float | None = None
    max_angle: float | None = None
    hit_rate: np.ndarray | None = None
    """(len(ks),) share of labelled queries with a relevant image in the top k (label evaluation)."""
    recall: np.ndarray | None = None
    """(len(ks),) mean share of each query's relevant images found in the top k."""
    mean_average_precision: float | None = None
    num_without_relevant: int = 0


def _check_ranked(ranked: np.ndarray, n_db: int, n_q: int | None = None) -> np.ndarray:
    ranked = np.asarray(ranked)
    if ranked.ndim != 2 or not np.issubdtype(ranked.dtype, np.integer):
        raise ValueError(f"ranked: expected an integer (Q, K) array, got {ranked.dtype} {ranked.shape}")
    if n_q is not None and ranked.shape[0] != n_q:
        raise ValueError(f"ranked: {ranked.shape[0]} ranked lists for {n_q} queries")
    if ranked.size and (ranked.max() >= n_db or ranked.min() < -1):
        raise ValueError(f"ranked: indices must be in [-1, {n_db - 1}]")
    return ranked.astype(np.int64)


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be a non-empty list of k >= 1, got {ks}")
    return ks


def _first_hit_rank(relevant_at: np.ndarray) -> np.ndarray:
    """0-based rank of the first True of each row; a rank beyond any k where there is none."""
    any_hit = relevant_at.any(axis=1)
    return np.where(any_hit, relevant_at.argmax(axis=1), np.iinfo(np.int64).max)


def pose_relevance_at(ranked: np.ndarray, query_centers: np.ndarray, query_dirs: np.ndarray | None,
                      db_centers: np.ndarray, db_dirs: np.ndarray | None, max_distance: float,
                      max_angle: float) -> np.ndarray:
    """bool (Q, K): whether each ranked database image is within the distance and angle of its query."""
    qc, dc = np.asarray(query_centers, np.float64), np.asarray(db_centers, np.float64)
    ranked = _check_ranked(ranked, len(dc), len(qc))
    valid = ranked >= 0
    safe = np.where(valid, ranked, 0)
    close = np.linalg.norm(dc[safe] - qc[:, None, :], axis=2) <= max_distance
    if (query_dirs is None) != (db_dirs is None):
        raise ValueError("viewing directions must be given for both queries and database, or for neither")
    if query_dirs is not None:
        qd = np.asarray(query_dirs, np.float64)
        dd = np.asarray(db_dirs, np.float64)
        qd = qd / np.linalg.norm(qd, axis=1, keepdims=True)
        dd = dd / np.linalg.norm(dd, axis=1, keepdims=True)
        cos = np.clip(np.einsum("qkd,qd->qk", dd[safe], qd), -1.0, 1.0)
        close &= np.degrees(np.arccos(cos)) <= max_angle
    return close & valid


def evaluate_pose_retrieval(ranked: np.ndarray, query_centers: np.ndarray, query_dirs: np.ndarray | None,
                            db_centers: np.ndarray, db_dirs: np.ndarray | None, max_distance: float = 5.0,
                            max_angle: float = 45.0, ks: Sequence[int] = DEFAULT_KS) -> RetrievalEvaluation:
    """Pose hit rate@k of ranked lists, with ground-truth camera centres and viewing directions."""
    ks = _check_ks(ks)
    relevant_at = pose_relevance_at(ranked, query_centers, query_dirs, db_centers, db_dirs, max_distance, max_angle)
    first = _first_hit_rank(relevant_at)
    rate = np.array([(first < k).mean() if len(first) else 0.0 for k in ks])
    return RetrievalEvaluation(ks=ks, num_queries=len(first), pose_hit_rate=rate,
                               max_distance=max_distance, max_angle=max_angle)


def evaluate_label_retrieval(ranked: np.ndarray, relevant: np.ndarray,
                             ks: Sequence[int] = DEFAULT_KS) -> RetrievalEvaluation:
    """Hit rate@k, recall@k and mAP of ranked lists against bool relevance labels (Q, N)."""
    ks = _check_ks(ks)
    relevant = np.asarray(relevant)
    if relevant.ndim != 2 or relevant.dtype != bool:
        raise ValueError(f"relevant: expected a bool (Q, N) array, got {relevant.dtype} {relevant.shape}")
    ranked = _check_ranked(ranked, relevant.shape[1], relevant.shape[0])
    valid = ranked >= 0
    rel_at = np.take_along_axis(relevant, np.where(valid, ranked, 0), axis=1) & valid
    n_rel = relevant.sum(axis=1)
    labelled = n_rel > 0
    rel_at, n_rel_l = rel_at[labelled], n_rel[labelled]
    found = np.cumsum(rel_at, axis=1)
    first = _first_hit_rank(rel_at)
    width = rel_at.shape[1]
    hit = np.array([(first < k).mean() if len(first) else 0.0 for k in ks])
    recall = np.array([(found[:, min(k, width) - 1] / n_rel_l).mean() if len(first) and width else 0.0
                       for k in ks])
    precision = found / np.arange(1, width + 1)
    ap = (precision * rel_at).sum(axis=1) / np.maximum(n_rel_l, 1)
    return RetrievalEvaluation(ks=ks, num_queries=len(relevant), hit_rate=hit, recall=recall,
                               mean_average_precision=float(ap.mean()) if len(ap) else 0.0,
                               num_without_relevant=int((~labelled).sum()))


def format_evaluation(evaluation: RetrievalEvaluation) -> str:
    """A plain-text table of an evaluation, one row per measure, one column per k."""
    head = f"{'k':<24}" + "".join(f"{k:>9}" for k in evaluation.ks)
    lines = [f"queries: {evaluation.num_queries}", head]

    def row(label: str, values: np.ndarray) -> str:
        return f"{label:<24}" + "".join(f"{100 * v:>8.1f}%" for v in values)

    if evaluation.pose_hit_rate is not None:
        label = f"pose hit ({evaluation.max_distance:g}, {evaluation.max_angle:g}deg)"
        lines.append(row(label, evaluation.pose_hit_rate))
    if evaluation.hit_rate is not None:
        lines.append(row("hit rate", evaluation.hit_rate))
    if evaluation.recall is not None:
        lines.append(row("recall", evaluation.recall))
    if evaluation.mean_average_precision is not None:
        lines.append(f"mAP: {evaluation.mean_average_precision:.4f}"
                     f" (queries without relevant image: {evaluation.num_without_relevant})")
    return "\n".join(lines)


def ranked_from_pairs(pairs: Sequence[tuple[str, str, float]], query_names: Sequence[str],
                      db_names: Sequence[str]) -> np.ndarray:
    """int64 (Q, K) ranked database indices per query from (query, map, score) pairs, -1 padded.

    Pairs are ranked by descending score (ties keep their order); map images not in ``db_names``
    and queries not in ``query_names`` are skipped; a query without pairs gets an empty (-1) list.
    """
    q_index = {n: i for i, n in enumerate(query_names)}
    d_index = {n: i for i, n in enumerate(db_names)}
    kept = [(q_index[q], d_index[m], s) for q, m, s in pairs if q in q_index and m in d_index]
    if not kept:
        return np.full((len(query_names), 0), -1, dtype=np.int64)
    qi, di, sc = (np.asarray(c) for c in zip(*kept))
    order = np.lexsort((np.arange(len(qi)), -sc.astype(np.float64), qi))
    qi, di = qi[order], di[order]
    starts = np.searchsorted(qi, qi, side="left")
    rank = np.arange(len(qi)) - starts
    ranked = np.full((len(query_names), int(rank.max()) + 1), -1, dtype=np.int64)
    ranked[qi, rank] = di
    return ranked
