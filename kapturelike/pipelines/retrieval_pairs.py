"""Step: image pairs from global features stored in kapture feature stores.

One global type: top-k through the retrieval index (``dense``: DenseIndex; ``faiss``: FaissIndex,
saved beside the map's global features by ``map_faiss_index`` and reused while the map features and
index options are unchanged). Several types: late fusion of their similarity matrices
(kapturelike.retrieval.fusion), per block of queries, always dense. Optional query expansion
(alpha-QE) and database-side augmentation (DBA) act on each type's features before the search.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence

import numpy as np

from kapturelike.io.features import FeatureStore, read_global_features
from kapturelike.io.text import atomic_write
from kapturelike.retrieval.expansion import ExpansionOptions, expand_features
from kapturelike.retrieval.faiss_index import FaissIndexOptions
from kapturelike.retrieval.topk import DenseIndex, pairs_from_retrieval, ranked_to_pairs, self_exclusion

INDEX_KINDS = ("dense", "faiss")
FAISS_INDEX_FILE = "retrieval_index.faiss"
FAISS_INDEX_INFO = "retrieval_index.json"


def _features(names: Sequence[str], stores: Sequence[FeatureStore], type_name: str) -> np.ndarray:
    """(N, D) float32 unit-norm global features of ``names``, each from the first store that has it."""
    return read_global_features(stores, type_name, names)[1]


def _fingerprint(names: Sequence[str], features: np.ndarray, options: FaissIndexOptions) -> str:
    """What a saved index was built from: map names, features and the options that shape the build."""
    digest = hashlib.sha256()
    digest.update("\n".join(names).encode("utf-8"))
    digest.update(np.ascontiguousarray(features, dtype=np.float32).tobytes())
    built_by = {k: v for k, v in dataclasses.asdict(options).items() if k not in ("nprobe", "threads")}
    digest.update(json.dumps(built_by, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def map_faiss_index(store: FeatureStore, type_name: str, names: Sequence[str], features: np.ndarray,
                    options: FaissIndexOptions):
    """The faiss index of the map's ``type_name`` features: loaded from beside them when it was built
    from the same names, features and options, else built and saved there (temporary file + rename)."""
    from kapturelike.retrieval.faiss_index import FaissIndex

    index_path = store.aux_path("global_features", type_name, FAISS_INDEX_FILE)
    info_path = store.aux_path("global_features", type_name, FAISS_INDEX_INFO)
    fingerprint = _fingerprint(names, features, options)
    if index_path.is_file() and info_path.is_file():
        try:
            saved = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = {}
        if saved.get("fingerprint") == fingerprint:
            return FaissIndex.from_bytes(np.fromfile(index_path, dtype=np.uint8), options)
    index = FaissIndex(options)
    index.add(features)
    data = index.to_bytes()
    with atomic_write(index_path, "wb") as f:
        f.write(data.tobytes())
    with atomic_write(info_path) as f:
        json.dump({"fingerprint": fingerprint, "kind": index.kind, "images": len(names),
                   "parameters": dataclasses.asdict(index.parameters) if index.parameters else None}, f, indent=1)
        f.write("\n")
    return index


def retrieval_pairs(query_names: Sequence[str], query_stores: Sequence[FeatureStore], map_names: Sequence[str],
                    map_stores: Sequence[FeatureStore], types: Sequence[str], topk: int, exclude_self: bool = False,
                    fusion: str = "generalized_harmonic", expansion: ExpansionOptions | None = None,
                    index: str = "dense", faiss_options: FaissIndexOptions | None = None
                    ) -> list[tuple[str, str, float]]:
    """(query, map, score) pairs, the ``topk`` best map images per query.

    ``expansion``: DBA of the map features and/or alpha-QE of the query features (None: neither);
    with several types each type is expanded on its own before the fusion.
    ``index``: dense | faiss (one global type; the faiss index is kept beside the map's features in
    ``map_stores[0]``, see ``map_faiss_index``).
    """
    if not types:
        raise ValueError("retrieval needs at least one global feature type")
    if index not in INDEX_KINDS:
        raise ValueError(f"unknown retrieval index '{index}' (known: {', '.join(INDEX_KINDS)})")
    topk = min(topk, len(map_names) - (1 if exclude_self else 0))
    if topk <= 0:
        return []
    if len(types) == 1 and index == "faiss":
        query_feats = _features(query_names, query_stores, types[0])
        map_feats = _features(map_names, map_stores, types[0])
        exclude = self_exclusion(query_names, map_names) if exclude_self else None
        if expansion is not None:
            query_feats, map_feats = expand_features(query_feats, map_feats, expansion, _filled_index, exclude)
        faiss_index = map_faiss_index(map_stores[0], types[0], map_names, map_feats,
                                      faiss_options or FaissIndexOptions())
        scores, indices = faiss_index.search(query_feats, topk, exclude=exclude)
        return ranked_to_pairs(query_names, map_names, scores, indices)
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
