"""alpha-QE and DBA against their formulas written per vector."""

from __future__ import annotations

import numpy as np
import pytest

from kapturelike.retrieval.expansion import ExpansionOptions, expand_features, expansion_weights, weighted_expansion
from kapturelike.retrieval.topk import DenseIndex


def unit(rng, n, d):
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_index(feats):
    index = DenseIndex()
    index.add(feats)
    return index


def expand_one(f, db, n, alpha, exclude=-1):
    s = db @ f
    if exclude >= 0:
        s[exclude] = -np.inf
    nn = np.argsort(-s, kind="stable")[:n]
    out = f.astype(np.float64).copy()
    for j in nn:
        if s[j] > 0:
            out += (s[j] ** alpha) * db[j]
    return out / np.linalg.norm(out)


def test_weights():
    w = expansion_weights(np.array([[0.5, -0.2, 0.0, 0.9]]), np.array([[1, 2, 3, -1]]), 0.0)
    np.testing.assert_array_equal(w, [[1.0, 0.0, 0.0, 0.0]])
    w = expansion_weights(np.array([[0.5, 1.0]]), np.array([[0, 1]]), 3.0)
    np.testing.assert_allclose(w, [[0.125, 1.0]])


@pytest.mark.parametrize("alpha", [0.0, 1.0, 3.0])
def test_query_expansion_formula(alpha):
    rng = np.random.default_rng(8)
    db, q = unit(rng, 40, 6), unit(rng, 7, 6)
    out_q, out_db = expand_features(q, db, ExpansionOptions(qe_neighbors=3, qe_alpha=alpha), make_index)
    assert out_db is db
    expected = np.stack([expand_one(f, db, 3, alpha) for f in q])
    np.testing.assert_allclose(out_q, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out_q, axis=1), 1.0, rtol=1e-6)


def test_dba_then_qe_formula():
    rng = np.random.default_rng(9)
    db, q = unit(rng, 25, 5), unit(rng, 4, 5)
    options = ExpansionOptions(qe_neighbors=2, qe_alpha=2.0, dba_neighbors=3, dba_alpha=1.0, block=4)
    out_q, out_db = expand_features(q, db, options, make_index)
    dba = np.stack([expand_one(db[i], db, 3, 1.0, exclude=i) for i in range(len(db))]).astype(np.float32)
    np.testing.assert_allclose(out_db, dba, rtol=1e-5, atol=1e-6)
    qe = np.stack([expand_one(f, dba, 2, 2.0) for f in q])
    np.testing.assert_allclose(out_q, qe, rtol=1e-5, atol=1e-6)


def test_padding_and_validation():
    db = np.eye(3, dtype=np.float32)
    f = np.array([[1.0, 0.0, 0.0]], np.float32)
    out = weighted_expansion(f, np.array([[0.5, -np.inf]]), np.array([[1, -1]]), db, 1.0)
    np.testing.assert_allclose(out, [[1 / np.sqrt(1.25), 0.5 / np.sqrt(1.25), 0.0]], rtol=1e-6)
    with pytest.raises(ValueError, match="neighbours"):
        weighted_expansion(f, np.zeros((1, 2)), np.zeros((1, 3), np.int64), db, 1.0)
    with pytest.raises(ValueError):
        ExpansionOptions(qe_neighbors=-1)
