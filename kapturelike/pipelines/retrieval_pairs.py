"""Step: image pairs from global features stored in kapture feature stores.

One global type: top-k through the retrieval index. Several types: late fusion of their
similarity matrices (kapturelike.retrieval.fusion), per block of queries.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kapturelike.errors import MissingDataError
from kapturelike.io.features import FeatureStore
from kapturelike.retrieval.topk import pairs_from_retrieval


def load_global_features(names: Sequence[str], stores: Sequence[FeatureStore], type_name: str) -> np.ndarray:
    """(N, D) float32 global features of ``names``, each read from the first store that has it."""
    rows = []
    for name in names:
        store = next((s for s in stores if s.has("global_features", type_name, name)), None)
        if store is None:
            raise MissingDataError(f"no '{type_name}' global feature for image '{name}'")
        rows.append(store.read("global_features", type_name, name).astype(np.float32))
    return np.stack(rows) if rows else np.zeros((0, 0), np.float32)


def retrieval_pairs(query_names: Sequence[str], query_stores: Sequence[FeatureStore], map_names: Sequence[str],
                    map_stores: Sequence[FeatureStore], types: Sequence[str], topk: int, exclude_self: bool = False,
                    fusion: str = "generalized_harmonic") -> list[tuple[str, str, float]]:
    """(query, map, score) pairs, the ``topk`` best map images per query."""
    if not types:
        raise ValueError("retrieval needs at least one global feature type")
    topk = min(topk, len(map_names) - (1 if exclude_self else 0))
    if topk <= 0:
        return []
    if len(types) == 1:
        return pairs_from_retrieval(query_names, load_global_features(query_names, query_stores, types[0]),
                                    map_names, load_global_features(map_names, map_stores, types[0]), topk,
                                    exclude_self=exclude_self)
    from kapturelike.retrieval.fusion import FusionOptions, late_fusion_pairs

    return late_fusion_pairs(query_names, [load_global_features(query_names, query_stores, t) for t in types],
                             map_names, [load_global_features(map_names, map_stores, t) for t in types], topk,
                             FusionOptions(method=fusion), exclude_self=exclude_self)
