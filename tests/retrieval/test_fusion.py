"""Late fusion operators against per-element loop implementations of their formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapturelike.io.pairs import read_pairs, write_pairs
from kapturelike.pipelines.pairs_files import fuse_pairs_files
from kapturelike.retrieval.fusion import (
    FusionMethod,
    FusionOptions,
    fuse_pairs,
    fuse_similarities,
    late_fusion_pairs,
    late_fusion_search,
    normalized_weights,
    round_robin,
)
from kapturelike.retrieval.topk import DenseIndexOptions


def reference(values: list[float], o: FusionOptions) -> float:
    """One fused value, written straight from the formulas in the fusion module's docstring."""
    n = len(values)
    w = [1.0 / n] * n if not o.weights else [x / sum(o.weights) for x in o.weights]
    pos = [max(v, 0.0) for v in values]
    mean = sum(wi * v for wi, v in zip(w, values))
    power = math.prod(p ** wi for wi, p in zip(w, pos))
    lo, hi = min(values), max(values)
    m = o.method
    if m == FusionMethod.MEAN:
        return mean
    if m == FusionMethod.POWER:
        return power
    if m == FusionMethod.MAX:
        return hi
    if m == FusionMethod.MIN:
        return lo
    if m == FusionMethod.MEAN_AND_POWER:
        return o.gamma * mean + (1 - o.gamma) * power
    if m == FusionMethod.MEAN_AND_MIN:
        return o.gamma * mean + (1 - o.gamma) * lo
    if m == FusionMethod.MIN_AND_MAX:
        return (o.min_weight * lo + o.max_weight * hi) / (o.min_weight + o.max_weight)
    if m == FusionMethod.VILLENA_ROMAN:
        lo0, hi0 = max(lo, 0.0), max(hi, 0.0)
        ratio = lo0 * lo0 / (lo0 + hi0) if lo0 + hi0 > 0 else 0.0
        return (1 - o.alpha) * hi + o.alpha * ratio
    if m == FusionMethod.HARMONIC:
        x = [wi * p for wi, p in zip(w, pos)]
        return 0.0 if min(x) == 0 else n / sum(1 / xi for xi in x)
    if m == FusionMethod.GENERALIZED_HARMONIC:
        x = [wi * p for wi, p in zip(w, pos)]
        if o.gamma == 0 and min(x) == 0:
            return 0.0
        return 1 / (sum(1 / (o.gamma + xi) for xi in x) / n) - o.gamma
    raise AssertionError(m)


SIM_METHODS = [m for m in FusionMethod if m != FusionMethod.ROUND_ROBIN]


@pytest.mark.parametrize("method", SIM_METHODS)
@pytest.mark.parametrize("weights", [None, [1.0, 1.0, 1.0], [0.2, 0.5, 1.3]])
def test_operator_matches_formula(method, weights):
    rng = np.random.default_rng(5)
    sims = [rng.uniform(-0.2, 1.0, size=(4, 6)) for _ in range(3)]
    sims[1][0, :] = sims[0][0, :]  # ties between descriptors
    sims[2][1, 2] = 0.0
    options = FusionOptions(method=method, weights=weights, gamma=0.3, alpha=0.4, min_weight=0.3, max_weight=0.9)
    fused = fuse_similarities(sims, options)
    expected = np.array([[reference([s[i, j] for s in sims], options) for j in range(6)] for i in range(4)])
    np.testing.assert_allclose(fused, expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(SIM_METHODS),
       st.lists(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3), min_size=1, max_size=4),
       st.floats(0.0, 1.0))
def test_operator_property(method, rows, gamma):
    sims = [np.array([r[i] for r in rows]) for i in range(3)]
    options = FusionOptions(method=method, gamma=gamma)
    fused = fuse_similarities(sims, options)
    with np.errstate(divide="ignore", over="ignore"):  # the reference's harmonic means of ~0 reach inf too
        expected = [reference([s[j] for s in sims], options) for j in range(len(rows))]
    np.testing.assert_allclose(fused, expected, rtol=1e-9, atol=1e-12)


def test_equal_weights_and_identical_inputs():
    s = np.array([[0.1, 0.5, 0.9]])
    for method in (FusionMethod.MEAN, FusionMethod.POWER, FusionMethod.MAX, FusionMethod.MIN,
                   FusionMethod.MEAN_AND_MIN, FusionMethod.MIN_AND_MAX, FusionMethod.MEAN_AND_POWER):
        np.testing.assert_allclose(fuse_similarities([s, s], FusionOptions(method=method)), s)
    # kapture's harmonic mean is that of w_i s_i: s / n for identical inputs and equal weights
    np.testing.assert_allclose(fuse_similarities([s, s], FusionOptions(method="harmonic")), s / 2)


def test_options_validation():
    with pytest.raises(ValueError):
        FusionOptions(method="nope")
    with pytest.raises(ValueError, match="gamma"):
        FusionOptions(method="mean_and_min", gamma=2.0)
    with pytest.raises(ValueError, match="weights"):
        normalized_weights([1.0], 2)
    with pytest.raises(ValueError, match="weights"):
        normalized_weights([-1.0, 1.0], 2)
    with pytest.raises(ValueError, match="round_robin"):
        fuse_similarities([np.zeros(2)], FusionOptions(method="round_robin"))
    with pytest.raises(ValueError, match="shapes"):
        fuse_similarities([np.zeros(2), np.zeros(3)], FusionOptions())


def reference_round_robin(lists: list[list[int]], topk: int | None) -> list[tuple[int, int]]:
    """kapture-localization's round robin loop on one query."""
    t = topk if topk is not None else len({x for lst in lists for x in lst if x >= 0})
    out, seen = [], set()
    for i in range(max(len(lst) for lst in lists)):
        for lst in lists:
            if len(out) >= t:
                return out
            if i < len(lst) and lst[i] >= 0 and lst[i] not in seen:
                seen.add(lst[i])
                out.append((lst[i], t - len(out)))
    return out


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(0, 2**31 - 1), st.sampled_from([None, 1, 3, 8]))
def test_round_robin_matches_loop(n_lists, n_q, seed, topk):
    rng = np.random.default_rng(seed)
    rankings = []
    for _ in range(n_lists):
        k = int(rng.integers(1, 6))
        r = np.stack([rng.permutation(7)[:k] for _ in range(n_q)]).astype(np.int64)
        r[rng.random(r.shape) < 0.2] = -1
        rankings.append(r)
    scores, indices = round_robin(rankings, topk)
    for q in range(n_q):
        expected = reference_round_robin([r[q].tolist() for r in rankings], topk)
        got = [(int(i), float(s)) for i, s in zip(indices[q], scores[q]) if i >= 0]
        assert got == [(i, float(s)) for i, s in expected]


def unit(rng, n, d):
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("method", ["mean", "power", "generalized_harmonic", "villena_roman"])
def test_late_fusion_search_blocked(method):
    rng = np.random.default_rng(6)
    qs, dbs = [unit(rng, 9, 8), unit(rng, 9, 4)], [unit(rng, 20, 8), unit(rng, 20, 4)]
    options = FusionOptions(method=method, weights=[2.0, 1.0])
    exclude = np.array([0, 1, -1, 3, 4, 5, 6, 7, 8])
    s, i = late_fusion_search(qs, dbs, 5, options, exclude, DenseIndexOptions(query_block=4))
    full = fuse_similarities([q @ d.T for q, d in zip(qs, dbs)], options).astype(np.float32)
    full[np.arange(9)[exclude >= 0], exclude[exclude >= 0]] = -np.inf
    order = np.argsort(-full, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(i, order)
    np.testing.assert_allclose(s, np.take_along_axis(full, order, axis=1), rtol=1e-5)


def test_late_fusion_round_robin_pairs():
    rng = np.random.default_rng(7)
    feats = [unit(rng, 10, 6), unit(rng, 10, 3)]
    names = [f"{i}.jpg" for i in range(10)]
    pairs = late_fusion_pairs(names, feats, names, feats, 4, FusionOptions(method="round_robin"), exclude_self=True)
    assert len(pairs) == 40
    assert all(q != m for q, m, _ in pairs)
    first = [p for p in pairs if p[0] == "0.jpg"]
    assert [s for _, _, s in first] == [4.0, 3.0, 2.0, 1.0]
    best0 = np.argsort(-(feats[0][0] @ feats[0].T)[1:], kind="stable")[0] + 1
    assert first[0][1] == names[best0]


def test_fuse_pairs_drop_and_fill():
    a = [("q1", "m1", 0.8), ("q1", "m2", 0.4), ("q2", "m1", 0.5), ("q1", "q1", 1.0), ("q1", "m1", 0.1)]
    b = [("q1", "m1", 0.6), ("q2", "m1", 0.7), ("q2", "m3", 0.9)]
    mean = FusionOptions(method="mean")
    dropped = fuse_pairs([a, b], mean)
    assert [(q, m) for q, m, _ in dropped] == [("q1", "m1"), ("q2", "m1")]
    np.testing.assert_allclose([s for _, _, s in dropped], [0.7, 0.6])
    filled = fuse_pairs([a, b], mean, fill_missing=0.0)
    assert filled == sorted(filled, key=lambda p: (p[0], -p[2], p[1]))
    got = {(q, m): s for q, m, s in filled}
    assert got == pytest.approx({("q1", "m1"): 0.7, ("q1", "m2"): 0.2, ("q2", "m1"): 0.6, ("q2", "m3"): 0.45})
    top1 = fuse_pairs([a, b], FusionOptions(method="max"), topk=1, fill_missing=0.0)
    assert top1 == [("q1", "m1", 0.8), ("q2", "m3", 0.9)]


def test_fuse_pairs_round_robin():
    a = [("q", "m1", 0.9), ("q", "m2", 0.8), ("q", "m3", 0.1)]
    b = [("q", "m3", 0.9), ("q", "m1", 0.5), ("r", "m2", 0.3)]
    fused = fuse_pairs([a, b], FusionOptions(method="round_robin"))
    assert fused == [("q", "m1", 3.0), ("q", "m3", 2.0), ("q", "m2", 1.0), ("r", "m2", 1.0)]
    assert fuse_pairs([a, b], FusionOptions(method="round_robin"), topk=2)[:2] == [("q", "m1", 2.0), ("q", "m3", 1.0)]


def test_fuse_pairs_files(tmp_path):
    write_pairs(tmp_path / "a.txt", [("q", "m1", 0.2), ("q", "m2", 0.9)])
    write_pairs(tmp_path / "b.txt", [("q", "m1", 0.4), ("q", "m2", 0.1)])
    out = tmp_path / "out" / "fused.txt"
    fused = fuse_pairs_files([tmp_path / "a.txt", tmp_path / "b.txt"], out, FusionOptions(method="min"))
    assert read_pairs(out) == fused == [("q", "m1", 0.2), ("q", "m2", 0.1)]
    with pytest.raises(ValueError, match="at least 2"):
        fuse_pairs_files([tmp_path / "a.txt"], out, FusionOptions())
