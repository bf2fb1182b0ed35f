"""Step: image pairs from global features stored in kapture feature stores.

One global type: top-k through the retrieval index. Several types: late fusion of their
similarity matrices (kapturelike.retrieval.fusion), per block of queries. Optional query expansion
(alpha-QE) and database-side augmentation (DBA) act on each type's features before the search.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kapturelike.io.features import FeatureStore, read_global_features
from kapturelike.retrieval.expansion import ExpansionOptions, expand_features
from kapturelike.retrieval.topk import DenseIndex, pairs_from_retrieval, self_exclusion


def _features(names: Sequence[str], stores: Sequence[FeatureStore], type_name: str) -> np.ndarray:
    """(N, D) float32 unit-norm global features of ``names``, each from the first store that has it."""
    return read_global_features(stores, type_name, names)[1]


def retrieval_pairs(query_names: Sequence[str], query_stores: Sequence[FeatureStore], map_names: Sequence[str],
                    map_stores: Sequence[FeatureStore], types: Sequence[str], topk: int, exclude_self: bool = False,
                    fusion: str = "generalized_harmonic",
                    expansion: ExpansionOptions | None = None) -> list[tuple[str, str, float]]:
    """(query, map, score) pairs, the ``topk`` best map images per query.

    ``expansion``: DBA of the map features and/or alpha-QE of the query features (None: neither);
    with several types each type is expanded on its own before the fusion.
    """
    if not types:
        raise ValueError("retrieval needs at least one global feature type")
    topk = min(topk, len(map_names) - (1 if exclude_self else 0))
    if topk <= 0:
        return []
    if len(types) == 1:
        return pairs_from_retrieval(query_names, _features(query_names, query_stores, types[0]),
                                    map_names, _features(map_names, map_stores, types[0]), topk,
                                    exclude_self=exclude_self, expansion=expansion)
    from kapturelike.retrieval.fusion import FusionOptions, late_fusion_pairs

    query_feats = [_features(query_names, query_stores, t) for t in types]
    map_feats = [_features(map_names, map_stores, t) for t in types]
    if expansion is not None and (expansion.qe_neighbors > 0 or expansion.dba_neighbors > 0):
        exclude = self_exclusion(query_names, map_names) if exclude_self else None
        expanded = [expand_features(_unit(q), _unit(d), expansion, _filled_index, exclude)
                    for q, d in zip(query_feats, map_feats)]
        query_feats, map_feats = [q for q, _ in expanded], [d for _, d in expanded]
    return late_fusion_pairs(query_names, query_feats, map_names, map_feats, topk,
                             FusionOptions(method=fusion), exclude_self=exclude_self)


def _unit(features: np.ndarray) -> np.ndarray:
    # expansion weights are cosine similarities: rows must be unit norm (stored features may not be)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), np.finfo(np.float32).tiny)


def _filled_index(features: np.ndarray) -> DenseIndex:
    index = DenseIndex()
    index.add(features)
    return index
