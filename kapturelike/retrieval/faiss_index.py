"""A ``RetrievalIndex`` on faiss (optional extra: ``pip install -r requirements-faiss.txt``).

Kinds, chosen from the map size unless ``FaissIndexOptions.kind`` names one:
- ``flat``: ``faiss.IndexFlatIP``, exact. Its candidates are re-scored like ``DenseIndex``'s
  (``topk.rerank_exact``), so both indexes return the same pairs to the bit.
- ``ivfpq``: an inverted file (``nlist`` k-means cells of the map, ``nprobe`` of them searched per
  query) whose vectors are stored compressed by product quantization (``m`` sub-quantizers of
  ``nbits`` bits coding the residual to the cell centre; Jegou et al., "Product quantization for
  nearest neighbor search", TPAMI 2011).
- ``ivfrabitq``: the same inverted file with RaBitQ codes (``rabitq_bits`` bits per dimension of the
  rotated residual; Gao and Long, SIGMOD 2024 and 2025). The default for large maps: on the benchmark's
  clustered 256-D descriptors PQ reaches recall@10 0.63-0.74 of exact at 64-128 bytes per vector
  while 5-bit RaBitQ reaches >= 0.95 in about 190 bytes (benchmarks/bench_retrieval.py).
Scores of the compressed kinds are faiss's approximations.
The faiss index serialises to bytes (``to_bytes`` / ``from_bytes``); the pipelines save it beside
the map's global features and load it for the queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from kapturelike.retrieval.topk import RESCORE_MARGIN, _as_features, check_search_input, rerank_exact

KINDS = ("auto", "flat", "ivfpq", "ivfrabitq")


@dataclass
class FaissIndexOptions:
    kind: str = "auto"
    """auto (flat below ``exact_below`` map images, ivfrabitq from there) | flat | ivfpq | ivfrabitq"""
    exact_below: int = 50000
    """auto: maps with fewer images get the exact index."""
    nlist: int = 0
    """ivf kinds: inverted lists (k-means cells); 0: about 2 sqrt(N), a power of two."""
    m: int = 0
    """ivfpq: PQ sub-quantizers, i.e. bytes per vector at 8 bits; must divide the dimension; 0: from it."""
    nbits: int = 8
    """ivfpq: bits per sub-quantizer code."""
    rabitq_bits: int = 5
    """ivfrabitq: bits per dimension (1-9)."""
    nprobe: int = 0
    """ivf kinds: cells searched per query; 0: from nlist."""
    train_size: int = 0
    """ivf kinds: map vectors the quantizers are trained on (an even sample); 0: min(N, 40 nlist)."""
    threads: int = 0
    """faiss OpenMP threads; 0: faiss's default (all cores)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"faiss index kind '{self.kind}' is unknown (known: {', '.join(KINDS)})")
        for name in ("exact_below", "nlist", "m", "nprobe", "train_size", "threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"FaissIndexOptions.{name} must be >= 0, got {getattr(self, name)}")
        if not 1 <= self.nbits <= 16:
            raise ValueError(f"FaissIndexOptions.nbits must be in 1..16, got {self.nbits}")
        if not 1 <= self.rabitq_bits <= 9:
            raise ValueError(f"FaissIndexOptions.rabitq_bits must be in 1..9, got {self.rabitq_bits}")


def import_faiss() -> Any:
    try:
        import faiss
    except ImportError as e:
        raise ImportError("the faiss retrieval index needs the faiss extra: "
                          "pip install -r requirements-faiss.txt") from e
    return faiss


@dataclass(frozen=True)
class IvfParameters:
    kind: str
    nlist: int
    nprobe: int
    train_size: int
    factory: str
    """faiss.index_factory string, e.g. 'IVF2048,RaBitQ5'."""


def ivf_parameters(kind: str, n: int, dim: int, options: FaissIndexOptions) -> IvfParameters:
    """nlist, nprobe, codes and training size for ``n`` map vectors of ``dim`` values; options win."""
    # faiss's k-means wants >= 39 training points per cell; 2 sqrt(N) cells keep training affordable
    # on 2 cores at 1M images (2048 cells) with lists ~sqrt(N)/2 long
    nlist = options.nlist or max(1, min(2 ** round(math.log2(2 * math.sqrt(max(n, 1)))), n // 39))
    nprobe = options.nprobe or min(nlist, max(8, nlist // 64))
    train_size = min(n, options.train_size or 40 * nlist)
    if kind == "ivfrabitq":
        return IvfParameters(kind, nlist, nprobe, train_size, f"IVF{nlist},RaBitQ{options.rabitq_bits}")
    if options.m:
        m = options.m
    else:
        # 2 values per sub-quantizer up to 128 bytes per vector (1M images: ~136 MB with the ids)
        m = max(d for d in range(1, min(dim // 2, 128) + 1) if dim % d == 0) if dim >= 2 else 1
    if dim % m:
        raise ValueError(f"FaissIndexOptions.m = {m} does not divide the feature dimension {dim}")
    train_size = min(n, max(train_size, 2 ** options.nbits * 40))  # PQ's own k-means
    return IvfParameters(kind, nlist, nprobe, train_size, f"IVF{nlist},PQ{m}x{options.nbits}")


class FaissIndex:
    """``RetrievalIndex`` on faiss; the faiss index is built on the first search (or ``build``) from
    everything added so far, because the compressed kind trains on the map itself."""

    def __init__(self, options: FaissIndexOptions | None = None):
        self.options = options or FaissIndexOptions()
        self.faiss = import_faiss()
        self._pending: list[np.ndarray] = []
        self._index: Any = None
        self.kind: str | None = None
        self.parameters: IvfParameters | None = None

    @property
    def size(self) -> int:
        built = self._index.ntotal if self._index is not None else 0
        return built + sum(len(p) for p in self._pending)

    @property
    def dim(self) -> int | None:
        if self._index is not None:
            return self._index.d
        return self._pending[0].shape[1] if self._pending else None

    def add(self, features: np.ndarray) -> None:
        features = _as_features(features, "database features")
        if self.dim is not None and features.shape[1] != self.dim:
            raise ValueError(f"database features: dimension {features.shape[1]} differs from the index's {self.dim}")
        if self._index is None:
            self._pending.append(features)
        else:
            self._with_threads(self._index.add, features)

    def _with_threads(self, call, *args):
        if not self.options.threads:
            return call(*args)
        before = self.faiss.omp_get_max_threads()
        self.faiss.omp_set_num_threads(self.options.threads)
        try:
            return call(*args)
        finally:
            self.faiss.omp_set_num_threads(before)

    def build(self) -> FaissIndex:
        """Train (ivfpq) and fill the faiss index with the added vectors; a no-op once built."""
        if self._index is not None:
            return self
        if not self._pending:
            raise ValueError("FaissIndex.build: no database features were added")
        features = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
        n, dim = features.shape
        kind = self.options.kind
        if kind == "auto":
            kind = "flat" if n < self.options.exact_below else "ivfrabitq"
        if kind == "flat":
            index = self.faiss.IndexFlatIP(dim)
        else:
            p = ivf_parameters(kind, n, dim, self.options)
            if p.train_size < p.nlist:
                raise ValueError(f"{kind} index: {n} map vectors cannot train {p.nlist} lists "
                                 "(use kind flat, or a smaller nlist)")
            index = self.faiss.index_factory(dim, p.factory, self.faiss.METRIC_INNER_PRODUCT)
            index.nprobe = p.nprobe
            # an even sample (every n/train_size-th vector) keeps the build deterministic
            sample = features[np.linspace(0, n - 1, p.train_size).astype(np.int64)] if p.train_size < n else features
            self._with_threads(index.train, np.ascontiguousarray(sample))
            self.parameters = p
        self._with_threads(index.add, features)
        self._index, self.kind, self._pending = index, kind, []
        return self

    def search(self, queries: np.ndarray, k: int,
               exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        queries, exclude = check_search_input(queries, k, self.size, self.dim, exclude, "FaissIndex")
        self.build()
        n_db = self._index.ntotal
        width = 0 if exclude is None else exclude.shape[1]
        margin = RESCORE_MARGIN if self.kind == "flat" else 0
        fetch = min(n_db, k + width + margin)  # excluded entries may take places among the first k
        scores, indices = self._with_threads(self._index.search, queries, fetch)
        indices = indices.astype(np.int64, copy=False)
        if exclude is not None:
            hit = (indices[:, :, None] == exclude[:, None, :]).any(axis=2) & (indices >= 0)
            indices = np.where(hit, -1, indices)
        if self.kind == "flat":
            return rerank_exact(queries, self.database(), indices, k)
        scores = np.where(indices >= 0, scores, -np.inf).astype(np.float32)
        order = np.lexsort((np.where(indices >= 0, indices, np.iinfo(np.int64).max), -scores), axis=-1)[:, :k]
        scores, indices = np.take_along_axis(scores, order, 1), np.take_along_axis(indices, order, 1)
        if indices.shape[1] < k:
            pad = k - indices.shape[1]
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
            indices = np.pad(indices, ((0, 0), (0, pad)), constant_values=-1)
        return scores, indices

    def set_nprobe(self, nprobe: int) -> None:
        """Cells searched per query from now on (ivf kinds; a speed / recall trade-off)."""
        self.build()
        if self.kind == "flat":
            raise ValueError("nprobe applies to the ivf kinds, not to the flat faiss index")
        self._index.nprobe = max(1, min(nprobe, self._index.nlist))
        self.parameters = IvfParameters(self.kind, self._index.nlist, self._index.nprobe,
                                        self.parameters.train_size, self.parameters.factory)

    def database(self) -> np.ndarray:
        """(N, D) float32 view of the exact index's vectors (no copy)."""
        if self.kind != "flat":
            raise ValueError("only the flat faiss index keeps the database vectors")
        return self.faiss.rev_swig_ptr(self._index.get_xb(), self._index.ntotal * self._index.d).reshape(
            self._index.ntotal, self._index.d)

    def nbytes(self) -> int:
        """Size of the serialised faiss index: what it holds in memory, give or take a few KB."""
        return int(self.to_bytes().nbytes)

    def to_bytes(self) -> np.ndarray:
        """The built faiss index as uint8 (faiss.serialize_index), with the kind recorded by faiss."""
        return self.faiss.serialize_index(self.build()._index)

    @classmethod
    def from_bytes(cls, data: np.ndarray, options: FaissIndexOptions | None = None) -> FaissIndex:
        """The index that ``to_bytes`` wrote; ``options.nprobe`` (when set) overrides the saved one."""
        self = cls(options)
        index = self.faiss.deserialize_index(np.ascontiguousarray(data, dtype=np.uint8))  # already downcast
        kinds = {"IndexFlatIP": "flat", "IndexIVFPQ": "ivfpq", "IndexIVFRaBitQ": "ivfrabitq"}
        if type(index).__name__ not in kinds or index.metric_type != self.faiss.METRIC_INNER_PRODUCT:
            raise ValueError(f"saved faiss index is a {type(index).__name__}, not an inner-product "
                             f"{', '.join(kinds)}")
        self.kind = kinds[type(index).__name__]
        if self.kind != "flat":
            if self.options.nprobe:
                index.nprobe = min(self.options.nprobe, index.nlist)
            self.parameters = IvfParameters(self.kind, index.nlist, index.nprobe, 0, "")
        self._index = index
        return self
