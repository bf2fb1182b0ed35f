"""Top-k retrieval of global features: a small index protocol, a blocked dense index, image pairs.

The index protocol is two methods, ``add`` and ``search``; ``DenseIndex`` implements it with blocked
matrix products in torch, so a 100k x 100k search never holds more than a (query_block, db_block)
score block. A faiss index fits the same protocol through a thin adapter (``add`` forwards to
``faiss.Index.add``, ``search`` to ``faiss.Index.search`` after masking the excluded indices, faiss
returning the same (scores, indices) pair with -1 for missing results).

Ties are broken deterministically: equal scores are ordered by ascending database index, exactly as
a stable sort of the full score row would order them.

Returned scores do not depend on the index that found the candidates: an exact index fetches a few
more candidates than asked (``RESCORE_MARGIN``), re-scores them with ``exact_scores`` (float64 sums
rounded to float32) and keeps the best. Two BLAS libraries (torch's, faiss's) round float32 dot
products differently in the last bit; the re-scoring makes ``DenseIndex`` and the faiss exact index
return the same pairs to the bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from kapturelike.retrieval.expansion import ExpansionOptions, expand_features


@runtime_checkable
class RetrievalIndex(Protocol):
    """What pair computation needs from an index over L2-normalised global features."""

    def add(self, features: np.ndarray) -> None:
        """Append (N, D) float32 database vectors; their indices continue from the current size."""

    def search(self, queries: np.ndarray, k: int,
               exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores (Q, k) float32, indices (Q, k) int64), best first; -1 / -inf pad missing results.

        ``exclude``: int64 (Q,) or (Q, E) database indices each query must not return (-1: none).
        """


@dataclass
class DenseIndexOptions:
    query_block: int = 1024
    """Queries scored at once; with db_block it bounds the score block (4 bytes per entry)."""
    db_block: int = 16384
    """Database vectors scored at once."""
    device: str = "cpu"
    """torch device ('cpu', 'cuda', 'cuda:1'); the database is copied there once on ``add``."""


RESCORE_MARGIN = 8
"""Extra candidates an exact index re-scores, so that last-bit differences of float32 products at the
k-th place cannot change which candidates are kept."""


def exact_scores(queries: np.ndarray, database: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """float32 (Q, K): each query's inner product with its candidates ``indices`` (-1: -inf), summed in
    float64 and rounded once, so the same (query, candidate) gets the same bits whichever index found it."""
    scores = np.full(indices.shape, -np.inf, dtype=np.float32)
    if indices.size == 0:
        return scores
    rows = max(1, 2**21 // max(1, indices.shape[1] * database.shape[1]))  # bounds the float64 temporaries
    for q0 in range(0, len(indices), rows):
        idx = indices[q0:q0 + rows]
        valid = idx >= 0
        gathered = database[np.where(valid, idx, 0)].astype(np.float64)
        dots = np.einsum("qd,qkd->qk", queries[q0:q0 + rows].astype(np.float64), gathered)
        scores[q0:q0 + rows] = np.where(valid, dots, -np.inf).astype(np.float32)
    return scores


def rerank_exact(queries: np.ndarray, database: np.ndarray, indices: np.ndarray,
                 k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` candidates of each row by ``exact_scores``, ties by ascending index; -1 / -inf pad."""
    scores = exact_scores(queries, database, indices)
    order = np.lexsort((np.where(indices >= 0, indices, np.iinfo(np.int64).max), -scores), axis=-1)[:, :k]
    scores, indices = np.take_along_axis(scores, order, 1), np.take_along_axis(indices, order, 1)
    indices = np.where(np.isfinite(scores), indices, -1)
    if indices.shape[1] < k:
        pad = k - indices.shape[1]
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
        indices = np.pad(indices, ((0, 0), (0, pad)), constant_values=-1)
    return scores, indices


def check_search_input(queries: np.ndarray, k: int, size: int, dim: int | None, exclude: np.ndarray | None,
                       what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Validated float32 queries and (Q, E) int64 exclusions (or None) for ``RetrievalIndex.search``."""
    queries = _as_features(queries, "query features")
    if size == 0:
        raise ValueError(f"{what}.search: the index is empty")
    if queries.shape[1] != dim:
        raise ValueError(f"query features: dimension {queries.shape[1]} differs from the index's {dim}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=np.int64)
        exclude = exclude[:, None] if exclude.ndim == 1 else exclude
        if exclude.ndim != 2 or exclude.shape[0] != queries.shape[0]:
            raise ValueError(f"exclude: expected ({queries.shape[0]},) or ({queries.shape[0]}, E) indices, "
                             f"got shape {exclude.shape}")
    return queries, exclude


def _as_features(features: np.ndarray, field: str) -> np.ndarray:
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"{field}: expected a (N, D) array, got shape {features.shape}")
    features = np.ascontiguousarray(features, dtype=np.float32)
    if not np.isfinite(features).all():
        raise ValueError(f"{field}: holds NaN or infinite values")
    return features


def _order_candidates(scores: torch.Tensor, indices: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Best k of each row by (descending score, ascending index); torch.topk leaves ties unordered."""
    by_index = torch.argsort(indices, dim=1, stable=True)
    scores, indices = scores.gather(1, by_index), indices.gather(1, by_index)
    by_score = torch.argsort(scores, dim=1, descending=True, stable=True)[:, :k]
    return scores.gather(1, by_score), indices.gather(1, by_score)


def _block_topk(block: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top k of a score block with ties at the k-th value resolved towards the lowest column."""
    if k >= block.shape[1]:
        order = torch.argsort(block, dim=1, descending=True, stable=True)
        return block.gather(1, order), order
    # torch.topk picks arbitrarily among values equal to the k-th; the (k+1)-th value tells which rows
    # have such a tie, and only those (rare on real features) pay for a stable sort of the row
    values, columns = torch.topk(block, k + 1, dim=1, largest=True, sorted=True)
    ambiguous = values[:, k] == values[:, k - 1]
    values, columns = values[:, :k], columns[:, :k]
    if bool(ambiguous.any()):
        rows = torch.nonzero(ambiguous).squeeze(1)
        order = torch.argsort(block[rows], dim=1, descending=True, stable=True)[:, :k]
        columns[rows] = order
        values[rows] = block[rows].gather(1, order)
    return values, columns


class DenseIndex:
    """Exhaustive inner-product index (cosine similarity for L2-normalised vectors), blocked."""

    def __init__(self, options: DenseIndexOptions | None = None):
        self.options = options or DenseIndexOptions()
        if self.options.query_block < 1 or self.options.db_block < 1:
            raise ValueError("DenseIndexOptions: query_block and db_block must be >= 1")
        self.device = torch.device(self.options.device)
        self._blocks: list[torch.Tensor] = []
        self._db: torch.Tensor | None = None
        self._host: list[np.ndarray] = []  # the added arrays, for exact re-scoring on the CPU

    @property
    def size(self) -> int:
        return sum(b.shape[0] for b in self._blocks)

    @property
    def dim(self) -> int | None:
        return self._blocks[0].shape[1] if self._blocks else None

    def add(self, features: np.ndarray) -> None:
        features = _as_features(features, "database features")
        if self.dim is not None and features.shape[1] != self.dim:
            raise ValueError(f"database features: dimension {features.shape[1]} differs from the index's {self.dim}")
        # on CPU the tensor shares the caller's float32 array (no copy of a 100k x 2048 database)
        self._blocks.append(torch.from_numpy(features).to(self.device))
        if self.device.type != "cpu":  # on the CPU the torch database is the host copy
            self._host.append(features)
        self._db = None

    def _host_database(self) -> np.ndarray:
        if self.device.type == "cpu":
            return self._database().numpy()  # shares memory with the torch database
        if len(self._host) > 1:
            self._host = [np.concatenate(self._host)]
        return self._host[0]

    def _database(self) -> torch.Tensor:
        if self._db is None:
            self._db = self._blocks[0] if len(self._blocks) == 1 else torch.cat(self._blocks)
            self._blocks = [self._db]
        return self._db

    def search(self, queries: np.ndarray, k: int,
               exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        n_db = self.size
        queries, exclude = check_search_input(queries, k, n_db, self.dim, exclude, "DenseIndex")
        n_q = queries.shape[0]
        k_eff = min(k + RESCORE_MARGIN, n_db)  # candidates; the best k after exact re-scoring
        db = self._database()
        out_scores = np.full((n_q, k_eff), -np.inf, dtype=np.float32)
        out_indices = np.full((n_q, k_eff), -1, dtype=np.int64)
        qb, dbb = self.options.query_block, self.options.db_block
        with torch.inference_mode():
            for q0 in range(0, n_q, qb):
                q = torch.from_numpy(queries[q0:q0 + qb]).to(self.device)
                excl = None if exclude is None else torch.from_numpy(exclude[q0:q0 + qb]).to(self.device)
                best_s = torch.empty((q.shape[0], 0), dtype=torch.float32, device=self.device)
                best_i = torch.empty((q.shape[0], 0), dtype=torch.int64, device=self.device)
                for d0 in range(0, n_db, dbb):
                    block = q @ db[d0:d0 + dbb].T
                    if excl is not None:
                        local = excl - d0
                        inside = (local >= 0) & (local < block.shape[1])
                        rows = torch.arange(block.shape[0], device=self.device)[:, None].expand_as(local)
                        block[rows[inside], local[inside]] = -torch.inf
                    s, c = _order_candidates(*_block_topk(block, min(k_eff, block.shape[1])), k_eff)
                    # running candidates hold lower indices than this block, so concatenating keeps
                    # ties in index order for the stable merge below
                    best_s = torch.cat([best_s, s], dim=1)
                    best_i = torch.cat([best_i, c + d0], dim=1)
                    if d0 > 0:
                        order = torch.argsort(best_s, dim=1, descending=True, stable=True)[:, :k_eff]
                        best_s, best_i = best_s.gather(1, order), best_i.gather(1, order)
                best_s, best_i = best_s.cpu().numpy(), best_i.cpu().numpy()
                best_i[~np.isfinite(best_s)] = -1  # excluded entries that filled a short row
                out_scores[q0:q0 + qb, :k_eff] = best_s
                out_indices[q0:q0 + qb, :k_eff] = best_i
        return rerank_exact(queries, self._host_database(), out_indices, k)


def self_exclusion(query_names: Sequence[str], db_names: Sequence[str]) -> np.ndarray:
    """int64 (Q,): the database index holding each query's own name, -1 where it has none."""
    db = np.asarray(db_names, dtype=object)
    q = np.asarray(query_names, dtype=object)
    if len(db) == 0 or len(q) == 0:
        return np.full(len(q), -1, dtype=np.int64)
    order = np.argsort(db, kind="stable")
    pos = np.clip(np.searchsorted(db[order], q), 0, len(db) - 1)
    found = db[order][pos] == q
    return np.where(found, order[pos], -1).astype(np.int64)


def _check_names(names: Sequence[str], n: int, field: str) -> None:
    if len(names) != n:
        raise ValueError(f"{field}: {len(names)} names for {n} feature vectors")
    if len(set(names)) != len(names):
        raise ValueError(f"{field}: image names are not unique")


def ranked_to_pairs(query_names: Sequence[str], db_names: Sequence[str], scores: np.ndarray,
                    indices: np.ndarray) -> list[tuple[str, str, float]]:
    """Pairs (query, map, score) sorted by query name then descending score; -1 indices dropped."""
    order = np.argsort(np.asarray(query_names, dtype=object), kind="stable")
    scores, indices = scores[order], indices[order]
    valid = indices >= 0
    q = np.asarray(query_names, dtype=object)[order]
    q_rep = np.repeat(q, valid.sum(axis=1))
    m = np.asarray(db_names, dtype=object)[indices[valid]]
    return list(zip(q_rep.tolist(), m.tolist(), scores[valid].astype(np.float64).tolist()))


def pairs_from_retrieval(query_names: Sequence[str], query_feats: np.ndarray, db_names: Sequence[str],
                         db_feats: np.ndarray, topk: int, exclude_self: bool = False,
                         index: RetrievalIndex | None = None,
                         expansion: ExpansionOptions | None = None) -> list[tuple[str, str, float]]:
    """The ``topk`` most similar database images of each query as (query, map, score) pairs.

    ``exclude_self`` drops the database image with the query's own name (mapping: map against map).
    ``index``: an empty index to fill with ``db_feats`` (default: a CPU ``DenseIndex``).
    ``expansion``: DBA of the database and/or alpha-QE of the queries before the final search (the
    neighbour searches of the expansion use a ``DenseIndex``, with ``index``'s options if it is one).
    """
    query_feats = _as_features(query_feats, "query features")
    db_feats = _as_features(db_feats, "database features")
    _check_names(query_names, len(query_feats), "query images")
    _check_names(db_names, len(db_feats), "database images")
    exclude = self_exclusion(query_names, db_names) if exclude_self else None
    if expansion is not None:
        def make_index(feats: np.ndarray) -> RetrievalIndex:
            fresh = DenseIndex(index.options) if isinstance(index, DenseIndex) else DenseIndex()
            fresh.add(feats)
            return fresh
        query_feats, db_feats = expand_features(query_feats, db_feats, expansion, make_index, exclude)
    index = index if index is not None else DenseIndex()
    index.add(db_feats)
    scores, indices = index.search(query_feats, topk, exclude=exclude)
    return ranked_to_pairs(query_names, db_names, scores, indices)


def rank_within_groups(groups: np.ndarray, scores: np.ndarray, tiebreak: np.ndarray,
                       topk: int | None = None) -> np.ndarray:
    """Order of rows sorted by (group, descending score, tiebreak), keeping the ``topk`` best per group.

    All three inputs are 1-D arrays of one length (``groups``/``tiebreak`` sortable, e.g. int codes).
    """
    order = np.lexsort((tiebreak, -np.asarray(scores, dtype=np.float64), groups))
    if topk is None or len(order) == 0:
        return order
    g = np.asarray(groups)[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    return order[rank < topk]
