"""Alpha query expansion (alpha-QE) and database-side augmentation (DBA) of global features.

Both follow Radenović et al. (Fine-tuning CNN image retrieval with no human annotation, TPAMI 2018):
a vector is replaced by the L2-normalised weighted sum of itself (weight 1, its similarity to itself)
and of its n nearest database neighbours, neighbour i weighing ``max(sim_i, 0) ** alpha``. Negative
similarities are clipped to 0 because a fractional power of a negative number is undefined and an
anti-correlated neighbour should not pull the vector. ``alpha = 0`` gives average query expansion.
DBA applies the same formula to every database vector, with neighbours taken among the other
database vectors; alpha-QE then expands the queries against the augmented database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class ExpansionOptions:
    qe_neighbors: int = 0
    """Database neighbours added to each query (0: no query expansion)."""
    qe_alpha: float = 3.0
    """Exponent of the query-expansion weights sim ** alpha."""
    dba_neighbors: int = 0
    """Database neighbours added to each database vector (0: no DBA)."""
    dba_alpha: float = 3.0
    """Exponent of the DBA weights."""
    block: int = 4096
    """Vectors expanded at once; bounds the (block, n, D) gather of neighbour vectors."""

    def __post_init__(self) -> None:
        if self.qe_neighbors < 0 or self.dba_neighbors < 0:
            raise ValueError("ExpansionOptions: qe_neighbors and dba_neighbors must be >= 0")
        if self.qe_alpha < 0 or self.dba_alpha < 0:
            raise ValueError("ExpansionOptions: qe_alpha and dba_alpha must be >= 0")
        if self.block < 1:
            raise ValueError("ExpansionOptions: block must be >= 1")


def expansion_weights(scores: np.ndarray, indices: np.ndarray, alpha: float) -> np.ndarray:
    """float32 (N, n) weights max(sim, 0) ** alpha; 0 for padded neighbours (index -1)."""
    weights = np.power(np.maximum(scores.astype(np.float64), 0.0), alpha)
    # 0 ** 0 is 1: a padded or anti-correlated neighbour must still weigh nothing with alpha = 0
    weights[(indices < 0) | ~(scores > 0)] = 0.0
    return weights.astype(np.float32)


def weighted_expansion(features: np.ndarray, neighbor_scores: np.ndarray, neighbor_indices: np.ndarray,
                       database: np.ndarray, alpha: float, block: int = 4096) -> np.ndarray:
    """L2-normalised ``f + sum_i w_i d_{idx_i}`` for each row f of ``features`` (float32 (N, D)).

    ``neighbor_scores``/``neighbor_indices``: (N, n) similarities and database indices, -1 padded.
    """
    features = np.asarray(features, dtype=np.float32)
    database = np.asarray(database, dtype=np.float32)
    if neighbor_scores.shape != neighbor_indices.shape or neighbor_indices.shape[0] != features.shape[0]:
        raise ValueError(f"neighbours: scores {neighbor_scores.shape} and indices {neighbor_indices.shape} "
                         f"must both be ({features.shape[0]}, n)")
    weights = expansion_weights(neighbor_scores, neighbor_indices, alpha)
    safe = np.where(neighbor_indices < 0, 0, neighbor_indices)
    out = np.empty_like(features)
    for b0 in range(0, features.shape[0], block):
        sl = slice(b0, b0 + block)
        out[sl] = features[sl] + np.einsum("nk,nkd->nd", weights[sl], database[safe[sl]])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, np.finfo(np.float32).tiny)


def expand_features(query_feats: np.ndarray, db_feats: np.ndarray, options: ExpansionOptions,
                    make_index: Callable[[np.ndarray], object],
                    query_exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(expanded queries, augmented database): DBA first, then alpha-QE against the new database.

    ``make_index(features)`` returns an index (``RetrievalIndex``) filled with ``features``;
    ``query_exclude`` is the per-query exclusion passed on to the query-expansion search.
    """
    if options.dba_neighbors > 0:
        index = make_index(db_feats)
        own = np.arange(len(db_feats), dtype=np.int64)
        scores, indices = index.search(db_feats, options.dba_neighbors, exclude=own)
        db_feats = weighted_expansion(db_feats, scores, indices, db_feats, options.dba_alpha, options.block)
    if options.qe_neighbors > 0:
        index = make_index(db_feats)
        scores, indices = index.search(query_feats, options.qe_neighbors, exclude=query_exclude)
        query_feats = weighted_expansion(query_feats, scores, indices, db_feats, options.qe_alpha, options.block)
    return query_feats, db_feats
