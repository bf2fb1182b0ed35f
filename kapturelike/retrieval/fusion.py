"""Late fusion of the similarities of several global feature types, and fusion of pairs files.

Operators follow Pion et al. (Benchmarking Image Retrieval for Visual Localization, 3DV 2020) and
kapture-localization's late fusion, after Csurka & Clinchant. With s_i the similarity of descriptor i
and w_i its weight normalised so that sum(w_i) = 1 (default: equal weights):

- mean: sum(w_i s_i)                       - power: prod(s_i ** w_i)
- max: max(s_i)                            - min: min(s_i)
- mean_and_power: gamma * mean + (1 - gamma) * power
- mean_and_min: gamma * mean + (1 - gamma) * min
- min_and_max: (a min + b max) / (a + b), a = min_weight, b = max_weight
- villena_roman: (1 - alpha) max + alpha min^2 / (max + min)   (as kapture-localization computes it;
  its help text names min in the first term, its code uses max, which keeps alpha = 0 equal to max)
- harmonic: n / sum(1 / x_i), x_i = w_i s_i
- generalized_harmonic: 1 / mean(1 / (gamma + x_i)) - gamma, x_i = w_i s_i, gamma >= 0
- round_robin: rank-based; the best image of each descriptor in turn, then the second ones, ...,
  skipping images already taken; the image at fused rank r (0-based) of T scores T - r.

Power, harmonic and villena_roman terms are undefined or meaningless for negative similarities
(cosine similarities of unrelated images can be slightly negative), so they clip similarities at 0;
0/0 in villena_roman and 1/0 in the harmonic means give the limits (0 and a fused score of 0).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kapturelike.io.pairs import Pair, name_ranks
from kapturelike.retrieval.topk import (
    DenseIndex,
    DenseIndexOptions,
    _as_features,
    _block_topk,
    _check_names,
    _order_candidates,
    rank_within_groups,
    ranked_to_pairs,
    self_exclusion,
)


class FusionMethod(str, enum.Enum):
    MEAN = "mean"
    POWER = "power"
    MAX = "max"
    MIN = "min"
    MEAN_AND_POWER = "mean_and_power"
    MIN_AND_MAX = "min_and_max"
    MEAN_AND_MIN = "mean_and_min"
    HARMONIC = "harmonic"
    GENERALIZED_HARMONIC = "generalized_harmonic"
    VILLENA_ROMAN = "villena_roman"
    ROUND_ROBIN = "round_robin"


@dataclass
class FusionOptions:
    method: FusionMethod | str = FusionMethod.MEAN
    """Operator, one of FusionMethod (its string value is accepted)."""
    weights: Sequence[float] | None = None
    """Per-descriptor weights (mean, power, harmonic families), normalised to sum 1; None: equal."""
    gamma: float = 0.5
    """mean_and_power / mean_and_min: share of the mean in [0, 1]; generalized_harmonic: offset >= 0."""
    alpha: float = 0.5
    """villena_roman: share of the min^2 / (max + min) term, in [0, 1]."""
    min_weight: float = 0.5
    """min_and_max: weight of min."""
    max_weight: float = 0.5
    """min_and_max: weight of max."""

    def __post_init__(self) -> None:
        self.method = FusionMethod(self.method)
        if self.method in (FusionMethod.MEAN_AND_POWER, FusionMethod.MEAN_AND_MIN) and not 0 <= self.gamma <= 1:
            raise ValueError(f"FusionOptions.gamma must be in [0, 1] for {self.method.value}, got {self.gamma}")
        if self.method == FusionMethod.GENERALIZED_HARMONIC and self.gamma < 0:
            raise ValueError(f"FusionOptions.gamma must be >= 0 for generalized_harmonic, got {self.gamma}")
        if not 0 <= self.alpha <= 1:
            raise ValueError(f"FusionOptions.alpha must be in [0, 1], got {self.alpha}")
        if self.min_weight < 0 or self.max_weight < 0 or self.min_weight + self.max_weight <= 0:
            raise ValueError("FusionOptions: min_weight and max_weight must be >= 0 with a positive sum")


def normalized_weights(weights: Sequence[float] | None, n: int) -> np.ndarray:
    """float64 (n,) weights summing to 1 (equal weights when ``weights`` is None or empty)."""
    if weights is None or len(weights) == 0:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"FusionOptions.weights: {len(w)} weights for {n} similarity matrices")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"FusionOptions.weights must be >= 0 with a positive sum, got {list(weights)}")
    return w / w.sum()


def fuse_similarities(similarities: Sequence[np.ndarray], options: FusionOptions) -> np.ndarray:
    """Fused similarity of same-shaped similarity arrays (float32 if all inputs are, else float64)."""
    if options.method == FusionMethod.ROUND_ROBIN:
        raise ValueError("round_robin fuses rankings, not similarities: use round_robin()")
    if len(similarities) == 0:
        raise ValueError("fuse_similarities: no similarity matrix given")
    # float32 blocks stay float32: a (query block, N) similarity block is the memory bound of fusion
    dtype = np.result_type(*[np.asarray(s).dtype for s in similarities], np.float32)
    sims = [np.asarray(s, dtype=dtype) for s in similarities]
    if any(s.shape != sims[0].shape for s in sims):
        raise ValueError(f"fuse_similarities: shapes differ: {[s.shape for s in sims]}")
    n, m = len(sims), options.method
    w = normalized_weights(options.weights, n).tolist()  # Python floats keep float32 blocks float32
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # harmonic means of ~0: inf is the limit
        if m in (FusionMethod.MEAN, FusionMethod.MEAN_AND_POWER, FusionMethod.MEAN_AND_MIN):
            mean = sum(wi * s for wi, s in zip(w, sims))
        if m in (FusionMethod.POWER, FusionMethod.MEAN_AND_POWER):
            power = np.ones_like(sims[0])
            for wi, s in zip(w, sims):
                power *= np.power(np.maximum(s, 0.0), wi)
        if m in (FusionMethod.MIN, FusionMethod.MAX, FusionMethod.MIN_AND_MAX, FusionMethod.MEAN_AND_MIN,
                 FusionMethod.VILLENA_ROMAN):
            lo, hi = sims[0].copy(), sims[0].copy()
            for s in sims[1:]:
                np.minimum(lo, s, out=lo)
                np.maximum(hi, s, out=hi)
        if m == FusionMethod.MEAN:
            return mean
        if m == FusionMethod.POWER:
            return power
        if m == FusionMethod.MAX:
            return hi
        if m == FusionMethod.MIN:
            return lo
        if m == FusionMethod.MEAN_AND_POWER:
            return options.gamma * mean + (1 - options.gamma) * power
        if m == FusionMethod.MEAN_AND_MIN:
            return options.gamma * mean + (1 - options.gamma) * lo
        if m == FusionMethod.MIN_AND_MAX:
            total = options.min_weight + options.max_weight
            return (options.min_weight * lo + options.max_weight * hi) / total
        if m == FusionMethod.VILLENA_ROMAN:
            lo0, hi0 = np.maximum(lo, 0.0), np.maximum(hi, 0.0)
            denom = lo0 + hi0
            ratio = np.where(denom > 0, lo0 * lo0 / np.where(denom > 0, denom, 1.0), 0.0)
            return (1 - options.alpha) * hi + options.alpha * ratio
        if m == FusionMethod.HARMONIC:
            inv = sum(1.0 / (wi * np.maximum(s, 0.0)) for wi, s in zip(w, sims))
            return n / inv
        if m == FusionMethod.GENERALIZED_HARMONIC:
            g = options.gamma
            inv = sum(1.0 / (g + wi * np.maximum(s, 0.0)) for wi, s in zip(w, sims))
            return n / inv - g
    raise ValueError(f"unknown fusion method {m}")


def round_robin(rankings: Sequence[np.ndarray], topk: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Round-robin fusion of ranked lists: (scores float64 (Q, T), indices int64 (Q, T)), -1 padded.

    ``rankings``: one int64 (Q, K_i) array of ranked database indices per descriptor (-1: none).
    T is ``topk``, or without it the largest number of distinct images of a query; the image at fused
    rank r of a query with T_q = topk (or its own number of distinct images) scores T_q - r.
    """
    if len(rankings) == 0:
        raise ValueError("round_robin: no ranking given")
    n_q = rankings[0].shape[0]
    if any(r.ndim != 2 or r.shape[0] != n_q for r in rankings):
        raise ValueError(f"round_robin: rankings must be (Q, K) arrays of one Q, got {[r.shape for r in rankings]}")
    k_max = max(r.shape[1] for r in rankings)
    padded = np.full((n_q, k_max, len(rankings)), -1, dtype=np.int64)
    for i, r in enumerate(rankings):
        padded[:, :r.shape[1], i] = r
    # rank-major, descriptor-minor: the order in which round robin visits candidates
    visit = padded.reshape(n_q, -1)
    by_value = np.argsort(visit, axis=1, kind="stable")
    sorted_v = np.take_along_axis(visit, by_value, axis=1)
    first = np.ones_like(sorted_v, dtype=bool)
    first[:, 1:] = sorted_v[:, 1:] != sorted_v[:, :-1]
    keep = np.empty_like(first)
    np.put_along_axis(keep, by_value, first, axis=1)
    keep &= visit >= 0
    rank = np.cumsum(keep, axis=1) - 1
    n_distinct = keep.sum(axis=1)
    per_query_t = n_distinct if topk is None else np.full(n_q, topk)
    width = int(n_distinct.max(initial=0)) if topk is None else topk
    keep &= rank < per_query_t[:, None]
    rows, cols = np.nonzero(keep)
    indices = np.full((n_q, width), -1, dtype=np.int64)
    scores = np.full((n_q, width), -np.inf)
    indices[rows, rank[rows, cols]] = visit[rows, cols]
    scores[rows, rank[rows, cols]] = per_query_t[rows] - rank[rows, cols]
    return scores, indices


def late_fusion_search(query_feats: Sequence[np.ndarray], db_feats: Sequence[np.ndarray], topk: int,
                       options: FusionOptions, exclude: np.ndarray | None = None,
                       index_options: DenseIndexOptions | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of the fused similarity: (scores (Q, topk) float32, indices (Q, topk) int64), -1 padded.

    ``query_feats[i]``/``db_feats[i]``: the (Q, D_i)/(N, D_i) features of descriptor type i. Fusion
    runs per block of ``index_options.query_block`` queries against the whole database, so memory is
    about (number of types + 3) * query_block * N float32 values. ``exclude``: int64 (Q,) database index per query.
    """
    if len(query_feats) != len(db_feats) or len(query_feats) == 0:
        raise ValueError(f"late fusion: {len(query_feats)} query and {len(db_feats)} database feature types")
    queries = [_as_features(q, f"query features {i}") for i, q in enumerate(query_feats)]
    database = [_as_features(d, f"database features {i}") for i, d in enumerate(db_feats)]
    n_q, n_db = queries[0].shape[0], database[0].shape[0]
    if any(q.shape[0] != n_q for q in queries) or any(d.shape[0] != n_db for d in database):
        raise ValueError("late fusion: every feature type must cover the same query and database images")
    index_options = index_options or DenseIndexOptions()
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=np.int64)
        if exclude.shape != (n_q,):
            raise ValueError(f"exclude: expected ({n_q},) database indices, got shape {exclude.shape}")
    if options.method == FusionMethod.ROUND_ROBIN:
        rankings = []
        for q, d in zip(queries, database):
            index = DenseIndex(index_options)
            index.add(d)
            rankings.append(index.search(q, topk, exclude=exclude)[1])
        scores, indices = round_robin(rankings, topk)
        return scores.astype(np.float32), indices
    device = torch.device(index_options.device)
    db_t = [torch.from_numpy(d).to(device) for d in database]
    k = min(topk, n_db)
    out_s = np.full((n_q, topk), -np.inf, dtype=np.float32)
    out_i = np.full((n_q, topk), -1, dtype=np.int64)
    qb = index_options.query_block
    with torch.inference_mode():
        for q0 in range(0, n_q, qb):
            sims = [(torch.from_numpy(q[q0:q0 + qb]).to(device) @ d.T).cpu().numpy() for q, d in zip(queries, db_t)]
            fused = torch.from_numpy(fuse_similarities(sims, options).astype(np.float32))
            fused = torch.nan_to_num(fused, nan=-torch.inf)
            if exclude is not None:
                local = torch.from_numpy(exclude[q0:q0 + qb])
                rows = torch.nonzero(local >= 0).squeeze(1)
                fused[rows, local[rows]] = -torch.inf
            s, i = _order_candidates(*_block_topk(fused, k), k)
            s, i = s.numpy(), i.numpy()
            i[~np.isfinite(s)] = -1
            out_s[q0:q0 + qb, :k], out_i[q0:q0 + qb, :k] = s, i
    out_s[out_i < 0] = -np.inf
    return out_s, out_i


def late_fusion_pairs(query_names: Sequence[str], query_feats: Sequence[np.ndarray], db_names: Sequence[str],
                      db_feats: Sequence[np.ndarray], topk: int, options: FusionOptions,
                      exclude_self: bool = False,
                      index_options: DenseIndexOptions | None = None) -> list[tuple[str, str, float]]:
    """(query, map, fused score) pairs of the ``topk`` best fused matches of each query, query-sorted."""
    _check_names(query_names, len(query_feats[0]), "query images")
    _check_names(db_names, len(db_feats[0]), "database images")
    exclude = self_exclusion(query_names, db_names) if exclude_self else None
    scores, indices = late_fusion_search(query_feats, db_feats, topk, options, exclude, index_options)
    return ranked_to_pairs(query_names, db_names, scores, indices)


def fuse_pairs(pair_lists: Sequence[Sequence[Pair]], options: FusionOptions, topk: int | None = None,
               fill_missing: float | None = None) -> list[Pair]:
    """Fuse the scores of several pairs lists (e.g. files) into one, sorted by query then score.

    A (query, map) pair absent from some lists is dropped (kapture-localization's behaviour) unless
    ``fill_missing`` is given, in which case the missing scores take that value (0: "not similar",
    which leaves max unchanged and pulls mean, min, power and the harmonic means down). round_robin
    needs no filling: each list's ranking of a query is visited as far as it goes. A pair listed
    twice in one list keeps its highest score; self pairs (query == map) are dropped. Fused scores
    are ranked per query by descending score, ties by map name, and cut to ``topk`` (kapture-localization
    cuts in the first file's order instead, which is not the fused ranking).
    """
    if len(pair_lists) == 0:
        raise ValueError("fuse_pairs: no pairs list given")
    sizes = [len(p) for p in pair_lists]
    q_all = [p[0] for lst in pair_lists for p in lst]
    m_all = [p[1] for lst in pair_lists for p in lst]
    s_all = np.array([p[2] for lst in pair_lists for p in lst], dtype=np.float64)
    source = np.repeat(np.arange(len(pair_lists)), sizes)
    codes = name_ranks(q_all + m_all)  # integer codes in name order; sorting strings is the slow part
    names = np.empty(int(codes.max()) + 1 if len(codes) else 0, dtype=object)
    names[codes] = np.array(q_all + m_all, dtype=object)
    q_code, m_code = codes[:len(q_all)], codes[len(q_all):]
    not_self = q_code != m_code
    q_code, m_code, s_all, source = q_code[not_self], m_code[not_self], s_all[not_self], source[not_self]
    n_names = len(names)
    if options.method == FusionMethod.ROUND_ROBIN:
        keys, queries = np.unique(q_code, return_inverse=True)
        ranked_lists = []
        for i in range(len(pair_lists)):
            sel = np.flatnonzero(source == i)
            order = sel[rank_within_groups(queries[sel], s_all[sel], sel)]
            g = queries[order]
            starts = np.searchsorted(g, g, side="left")
            ranks = np.arange(len(g)) - starts
            width = int(ranks.max(initial=-1)) + 1
            table = np.full((len(keys), max(width, 1)), -1, dtype=np.int64)
            table[g, ranks] = m_code[order]
            ranked_lists.append(table)
        scores, maps = round_robin(ranked_lists, topk)
        rows, cols = np.nonzero(maps >= 0)
        fq, fm, fs = keys[rows], maps[rows, cols], scores[rows, cols]
    else:
        pair_key = q_code.astype(np.int64) * n_names + m_code
        keys, inverse = np.unique(pair_key, return_inverse=True)
        table = np.full((len(keys), len(pair_lists)), np.nan)
        np.fmax.at(table, (inverse, source), s_all)
        if fill_missing is None:
            complete = ~np.isnan(table).any(axis=1)
            table, keys = table[complete], keys[complete]
        else:
            table = np.where(np.isnan(table), fill_missing, table)
        fs = fuse_similarities(list(table.T), options) if len(table) else np.zeros(0)
        fq, fm = keys // n_names, keys % n_names
    order = rank_within_groups(fq, fs, fm, topk)
    return list(zip(names[fq[order]].tolist(), names[fm[order]].tolist(), fs[order].astype(float).tolist()))
