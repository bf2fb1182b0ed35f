"""Blocked top-k retrieval against brute force, ties, self exclusion, pairs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapturelike.retrieval.expansion import ExpansionOptions
from kapturelike.retrieval.topk import (
    DenseIndex,
    DenseIndexOptions,
    RetrievalIndex,
    pairs_from_retrieval,
    rank_within_groups,
    self_exclusion,
)


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(q: np.ndarray, db: np.ndarray, k: int, exclude: np.ndarray | None = None):
    s = q @ db.T
    if exclude is not None:
        for i, e in enumerate(exclude):
            if e >= 0:
                s[i, e] = -np.inf
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]  # ties: ascending index
    scores = np.take_along_axis(s, order, axis=1)
    order = np.where(np.isfinite(scores), order, -1)
    return scores, order


@pytest.mark.parametrize("qb,dbb", [(1, 1), (3, 7), (64, 1000), (5, 13)])
def test_blocked_equals_brute_force(qb, dbb):
    rng = np.random.default_rng(1)
    db, q = unit(rng, 60, 16), unit(rng, 23, 16)
    index = DenseIndex(DenseIndexOptions(query_block=qb, db_block=dbb))
    index.add(db[:25])
    index.add(db[25:])
    assert index.size == 60
    s, i = index.search(q, 10)
    bs, bi = brute_force(q, db, 10)
    np.testing.assert_array_equal(i, bi)
    np.testing.assert_allclose(s, bs, rtol=1e-5, atol=1e-6)
    assert s.dtype == np.float32 and i.dtype == np.int64
    assert isinstance(index, RetrievalIndex)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 30), st.integers(1, 35), st.integers(1, 8), st.integers(1, 9),
       st.integers(0, 2**31 - 1))
def test_ties_are_ordered_by_index(n_q, n_db, k, qb, dbb, seed):
    # integer-valued features make many exactly equal scores
    rng = np.random.default_rng(seed)
    db = rng.integers(-1, 2, size=(n_db, 3)).astype(np.float32)
    q = rng.integers(-1, 2, size=(n_q, 3)).astype(np.float32)
    exclude = rng.integers(-1, n_db, size=n_q)
    index = DenseIndex(DenseIndexOptions(query_block=qb, db_block=dbb))
    index.add(db)
    s, i = index.search(q, k, exclude=exclude)
    bs, bi = brute_force(q, db, k, exclude)
    kk = min(k, n_db)
    np.testing.assert_array_equal(i[:, :kk], bi)
    np.testing.assert_array_equal(s[:, :kk], bs)
    assert (i[:, kk:] == -1).all() and np.isneginf(s[:, kk:]).all()


def test_self_exclusion_and_short_rows():
    rng = np.random.default_rng(2)
    x = unit(rng, 4, 5)
    index = DenseIndex()
    index.add(x)
    s, i = index.search(x, 6, exclude=np.arange(4))
    assert (i[:, :3] != np.arange(4)[:, None]).all()
    assert (i[:, 3:] == -1).all() and np.isneginf(s[:, 3:]).all()
    # several exclusions per query
    s2, i2 = index.search(x, 4, exclude=np.array([[0, 1]] * 4))
    assert not np.isin(i2, [0, 1]).any()
    assert (i2[:, 2:] == -1).all()


def test_bad_input():
    index = DenseIndex()
    with pytest.raises(ValueError, match="empty"):
        index.search(np.zeros((1, 3), np.float32), 1)
    index.add(np.eye(3, dtype=np.float32))
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.zeros((1, 4), np.float32), 1)
    with pytest.raises(ValueError, match="NaN"):
        index.add(np.full((1, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="k must be"):
        index.search(np.zeros((1, 3), np.float32), 0)
    with pytest.raises(ValueError, match="exclude"):
        index.search(np.zeros((2, 3), np.float32), 1, exclude=np.zeros(3, np.int64))


def test_self_exclusion_names():
    ex = self_exclusion(["b", "x", "a"], ["a", "b", "c"])
    np.testing.assert_array_equal(ex, [1, -1, 0])
    assert self_exclusion([], ["a"]).shape == (0,)


def test_pairs_from_retrieval():
    rng = np.random.default_rng(3)
    x = unit(rng, 12, 8)
    names = [f"map/{i:02d}.jpg" for i in range(12)][::-1]
    pairs = pairs_from_retrieval(names, x, names, x, topk=3, exclude_self=True)
    assert len(pairs) == 36
    assert all(q != m for q, m, _ in pairs)
    queries = [p[0] for p in pairs]
    assert queries == sorted(queries)
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    for qi, name in enumerate(names):
        got = [(m, sc) for q, m, sc in pairs if q == name]
        best = np.argsort(-s[qi], kind="stable")[:3]
        assert [m for m, _ in got] == [names[j] for j in best]
        np.testing.assert_allclose([sc for _, sc in got], s[qi, best], rtol=1e-5)
    with pytest.raises(ValueError, match="not unique"):
        pairs_from_retrieval(["a", "a"], x[:2], names, x, 1)
    with pytest.raises(ValueError, match="names for"):
        pairs_from_retrieval(["a"], x[:2], names, x, 1)


def test_pairs_with_expansion_differ_but_are_valid():
    rng = np.random.default_rng(4)
    x = unit(rng, 30, 8)
    names = [str(i) for i in range(30)]
    plain = pairs_from_retrieval(names, x, names, x, 5, exclude_self=True)
    expanded = pairs_from_retrieval(names, x, names, x, 5, exclude_self=True,
                                    expansion=ExpansionOptions(qe_neighbors=2, dba_neighbors=2))
    assert len(expanded) == len(plain) == 150
    assert all(q != m for q, m, _ in expanded)
    assert plain != expanded


def test_rank_within_groups():
    groups = np.array([1, 0, 1, 0, 1])
    scores = np.array([0.5, 0.2, 0.9, 0.2, 0.5])
    tie = np.array([4, 3, 2, 1, 0])
    np.testing.assert_array_equal(rank_within_groups(groups, scores, tie), [3, 1, 2, 4, 0])
    np.testing.assert_array_equal(rank_within_groups(groups, scores, tie, topk=1), [3, 2])


class NumpyIndex:
    """A minimal third-party index (as a faiss adapter would be): only add and search."""

    def __init__(self):
        self.db = np.zeros((0, 8), np.float32)

    def add(self, features):
        self.db = np.concatenate([self.db, features])

    def search(self, queries, k, exclude=None):
        return brute_force(queries, self.db, k, exclude)


def test_pairs_with_another_index():
    rng = np.random.default_rng(13)
    x = unit(rng, 15, 8)
    names = [f"{i:02d}" for i in range(15)]
    custom = NumpyIndex()
    assert isinstance(custom, RetrievalIndex)
    got = pairs_from_retrieval(names, x, names, x, 4, exclude_self=True, index=custom)
    expected = pairs_from_retrieval(names, x, names, x, 4, exclude_self=True)
    assert [(q, m) for q, m, _ in got] == [(q, m) for q, m, _ in expected]
    np.testing.assert_allclose([s for *_, s in got], [s for *_, s in expected], rtol=1e-5)
