"""Nearest-neighbour matching on synthetic descriptors with known correspondences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kapturelike.matching.mnn import (
    MatchingInputError,
    MatchingOptions,
    match_pair,
    match_pairs,
    match_pairs_with_scores,
)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def noisy_pair(rng: np.random.Generator, n_common: int, n_extra1: int, n_extra2: int, dim: int = 128,
               noise: float = 0.05):
    """desc1, desc2 and the true matches: n_common shared descriptors, shuffled, plus distractors."""
    base = unit(rng.normal(size=(n_common, dim)))
    d1 = np.vstack([base + noise * rng.normal(size=base.shape) / np.sqrt(dim),
                    unit(rng.normal(size=(n_extra1, dim)))])
    d2 = np.vstack([base + noise * rng.normal(size=base.shape) / np.sqrt(dim),
                    unit(rng.normal(size=(n_extra2, dim)))])
    p1, p2 = rng.permutation(len(d1)), rng.permutation(len(d2))
    d1, d2 = d1[p1], d2[p2]
    inv1, inv2 = np.argsort(p1), np.argsort(p2)
    truth = np.stack([inv1[:n_common], inv2[:n_common]], 1)
    return d1.astype(np.float32), d2.astype(np.float32), truth


def as_set(m: np.ndarray) -> set[tuple[int, int]]:
    return {tuple(r) for r in m.tolist()}


def test_mnn_recovers_true_correspondences():
    rng = np.random.default_rng(0)
    d1, d2, truth = noisy_pair(rng, 200, 50, 80)
    m = match_pair(d1, d2, MatchingOptions(device="cpu"))
    assert m.dtype == np.int64 and m.shape[1] == 2
    # true matches all found; distractors may mutually match each other but never a true point
    assert as_set(truth) <= as_set(m)
    true_rows = set(truth[:, 0].tolist())
    assert all((i in true_rows) == ((i, j) in as_set(truth)) for i, j in m.tolist())
    assert np.all(np.diff(m[:, 0]) > 0)  # sorted by first index, one match per first keypoint


def test_distance_threshold_drops_distractors():
    rng = np.random.default_rng(1)
    d1, d2, truth = noisy_pair(rng, 100, 40, 40)
    m = match_pair(d1, d2, MatchingOptions(distance_threshold=0.5, device="cpu"))
    assert as_set(m) == as_set(truth)


def test_ratio_test_rejects_ambiguous_and_keeps_distinct():
    rng = np.random.default_rng(2)
    a = unit(rng.normal(size=(3, 32))).astype(np.float32)
    v = rng.normal(size=32)
    v -= (v @ a[1]) * a[1]  # orthogonal to a[1]: a[1] +- v are equally far from a[1]
    v *= 0.3 / np.linalg.norm(v)
    desc2 = unit(np.vstack([a[0], a[1] + v, a[1] - v, -a[2]])).astype(np.float32)
    loose = match_pair(a, desc2, MatchingOptions(mutual=False, device="cpu"))
    assert loose[:2, 0].tolist() == [0, 1] and loose[0, 1] == 0 and loose[1, 1] in (1, 2)
    strict = match_pair(a, desc2, MatchingOptions(ratio_threshold=0.8, mutual=False, device="cpu"))
    # a[0] has a unique exact match (ratio 0); a[1] two equally close candidates (ratio 1); a[2] none close
    assert [0, 0] in strict.tolist()
    assert 1 not in strict[:, 0]
    assert match_pair(a[2:], desc2, MatchingOptions(ratio_threshold=0.8, device="cpu")).shape == (0, 2)


def test_mutual_check_and_ties():
    base = np.eye(4, dtype=np.float32)
    desc1 = np.vstack([base[0], base[0], base[1]])  # rows 0 and 1 identical: both point to desc2[0]
    desc2 = np.vstack([base[0], base[1], base[1]])  # columns 1 and 2 identical
    one_way = match_pair(desc1, desc2, MatchingOptions(mutual=False, device="cpu"))
    assert one_way.tolist() == [[0, 0], [1, 0], [2, 1]]  # first index wins a tie
    mutual = match_pair(desc1, desc2, MatchingOptions(mutual=True, device="cpu"))
    assert mutual.tolist() == [[0, 0], [2, 1]]
    # an exact tie (desc1[2] vs desc2[1], desc2[2]) is ambiguous for the ratio test; desc1[0] is not
    assert match_pair(desc1, desc2, MatchingOptions(ratio_threshold=0.9, device="cpu")).tolist() == [[0, 0]]


def test_uint8_matches_like_float():
    rng = np.random.default_rng(3)
    d1, d2, truth = noisy_pair(rng, 150, 20, 20, noise=0.02)
    to_u8 = lambda d: np.clip(np.round(np.abs(d) * 512), 0, 255).astype(np.uint8)  # noqa: E731
    # SIFT-like non-negative descriptors: abs() keeps the correspondences
    m = match_pair(to_u8(d1), to_u8(d2), MatchingOptions(distance_threshold=0.5, device="cpu"))
    assert as_set(truth) <= as_set(m)


def test_batched_equals_single_and_handles_empty():
    rng = np.random.default_rng(4)
    pairs = [noisy_pair(rng, n, e1, e2)[:2] for n, e1, e2 in [(30, 5, 0), (120, 10, 30), (5, 0, 0), (64, 64, 64)]]
    pairs.insert(1, (np.zeros((0, 128), np.float32), pairs[0][1]))
    pairs.append((pairs[0][0], np.zeros((0, 128), np.float32)))
    pairs.append((pairs[0][0][:1], pairs[0][1][:1]))
    opts = MatchingOptions(ratio_threshold=0.9, batch_size=3, device="cpu")
    batched = match_pairs_with_scores(pairs, opts)
    assert len(batched) == len(pairs)
    for (d1, d2), (m, s) in zip(pairs, batched):
        single = match_pair(d1, d2, MatchingOptions(ratio_threshold=0.9, batch_size=1, device="cpu"))
        np.testing.assert_array_equal(m, single)
        assert m.shape == (len(s), 2) and s.dtype == np.float32
        if len(m):
            expected = np.sum(unit(d1[m[:, 0]]) * unit(d2[m[:, 1]]), axis=1)
            np.testing.assert_allclose(s, expected, atol=1e-5)
    assert batched[1][0].shape == (0, 2) and batched[5][0].shape == (0, 2)
    assert batched[6][0].tolist() == [[0, 0]]  # a single candidate passes the ratio test
    assert match_pairs([], opts) == []


def test_bad_input_raises():
    with pytest.raises(MatchingInputError, match="dimensions differ"):
        match_pair(np.ones((3, 8), np.float32), np.ones((3, 16), np.float32))
    with pytest.raises(MatchingInputError, match=r"\(N, D\)"):
        match_pair(np.ones(8, np.float32), np.ones((3, 8), np.float32))
    with pytest.raises(MatchingInputError, match="ratio_threshold"):
        MatchingOptions(ratio_threshold=1.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(5)
    pairs = [noisy_pair(rng, 300, 50, 70)[:2] for _ in range(3)]
    for opts in (MatchingOptions(), MatchingOptions(ratio_threshold=0.8, distance_threshold=0.7)):
        cpu = match_pairs(pairs, MatchingOptions(**{**opts.__dict__, "device": "cpu"}))
        gpu = match_pairs(pairs, MatchingOptions(**{**opts.__dict__, "device": "cuda"}))
        for a, b in zip(cpu, gpu):
            np.testing.assert_array_equal(a, b)


def reference(d1: np.ndarray, d2: np.ndarray, ratio, dist, mutual) -> set[tuple[int, int]]:
    """Brute-force float64 nearest neighbours, written independently of the torch code."""
    s = unit(d1.astype(np.float64)) @ unit(d2.astype(np.float64)).T
    out = set()
    for i in range(len(d1)):
        order = np.argsort(-s[i], kind="stable")
        j = order[0]
        d_best = np.sqrt(max(2 - 2 * s[i, j], 0))
        if ratio is not None and len(order) > 1 and not d_best < ratio * np.sqrt(max(2 - 2 * s[i, order[1]], 0)):
            continue
        if dist is not None and d_best > dist:
            continue
        if mutual and np.argmax(s[:, j]) != i:
            continue
        out.add((i, int(j)))
    return out


@pytest.mark.parametrize("ratio, dist, mutual", [(None, None, True), (0.9, None, True), (None, 1.2, False),
                                                 (0.95, 1.3, False), (0.9, 1.25, True)])
def test_against_brute_force(ratio, dist, mutual):
    rng = np.random.default_rng(6)
    pairs = [(rng.normal(size=(n1, 24)).astype(np.float32), rng.normal(size=(n2, 24)).astype(np.float32))
             for n1, n2 in [(40, 90), (120, 30), (1, 7), (75, 75), (60, 2)]]
    got = match_pairs(pairs, MatchingOptions(ratio_threshold=ratio, distance_threshold=dist, mutual=mutual,
                                             batch_size=2, device="cpu"))
    for (d1, d2), m in zip(pairs, got):
        assert as_set(m) == reference(d1, d2, ratio, dist, mutual)


@pytest.mark.parametrize("ratio, distance", [(0.8, None), (None, 0.9), (None, None)])
def test_row_blocks_match_like_one_batch(ratio, distance):
    # pairs bigger than chunk_elements go through row blocks: same matches and scores, ties included
    rng = np.random.default_rng(3)
    d1 = rng.random((300, 16)).astype(np.float32)
    d2 = np.vstack([d1[::3] + 0.01 * rng.random((100, 16)).astype(np.float32), rng.random((150, 16))])
    d1[10] = d1[11]  # tied rows: both best for the same column, the first one wins
    whole = match_pairs_with_scores([(d1, d2)], MatchingOptions(ratio, distance, device="cpu"))[0]
    blocks = match_pairs_with_scores([(d1, d2)], MatchingOptions(ratio, distance, device="cpu",
                                                                 chunk_elements=7 * 250))[0]
    assert len(whole[0]) > 20
    np.testing.assert_array_equal(whole[0], blocks[0])
    np.testing.assert_allclose(whole[1], blocks[1], rtol=1e-6)
