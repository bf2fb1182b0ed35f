"""The faiss RetrievalIndex (extra: requirements-faiss.txt): exact kind identical to DenseIndex, the
compressed kinds close to exact on clustered data, bytes round trip, parameters from the map size."""

from __future__ import annotations

import numpy as np
import pytest

faiss = pytest.importorskip("faiss")

from kapturelike.retrieval.faiss_index import (  # noqa: E402
    FaissIndex,
    FaissIndexOptions,
    ivf_parameters,
)
from kapturelike.retrieval.topk import DenseIndex, RetrievalIndex, pairs_from_retrieval  # noqa: E402


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered(rng: np.random.Generator, n: int, d: int, centres: int = 40) -> np.ndarray:
    c = rng.normal(size=(centres, d)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + 0.3 * rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_pairs_identical_to_dense():
    rng = np.random.default_rng(0)
    db, q = unit(rng, 300, 64), unit(rng, 120, 64)
    db_names = [f"map/{i:04d}.jpg" for i in range(300)]
    q_names = [f"query/{i:04d}.jpg" for i in range(120)]
    dense = pairs_from_retrieval(q_names, q, db_names, db, topk=7)
    index = FaissIndex()
    assert isinstance(index, RetrievalIndex)
    flat = pairs_from_retrieval(q_names, q, db_names, db, topk=7, index=index)
    assert index.kind == "flat"
    assert flat == dense  # names, order and scores to the bit
    # mapping: map against itself, self pairs excluded
    dense_map = pairs_from_retrieval(db_names, db, db_names, db, topk=5, exclude_self=True)
    flat_map = pairs_from_retrieval(db_names, db, db_names, db, topk=5, exclude_self=True, index=FaissIndex())
    assert flat_map == dense_map
    assert all(a != b for a, b, _ in flat_map)


def test_flat_search_matches_dense_with_exclusions_and_short_rows():
    rng = np.random.default_rng(1)
    db, q = unit(rng, 9, 8), unit(rng, 5, 8)
    exclude = np.array([[0, 3], [-1, -1], [8, 1], [2, 2], [4, -1]])
    dense = DenseIndex()
    dense.add(db)
    index = FaissIndex(FaissIndexOptions(kind="flat"))
    index.add(db[:4])
    index.add(db[4:])
    for k in (1, 3, 12):
        ds, di = dense.search(q, k, exclude=exclude)
        fs, fi = index.search(q, k, exclude=exclude)
        np.testing.assert_array_equal(fi, di)
        np.testing.assert_array_equal(fs, ds)
    assert (fi[:, 9:] == -1).all() and np.isneginf(fs[:, 9:]).all()


@pytest.mark.parametrize("kind,least", [("ivfrabitq", 0.8), ("ivfpq", 0.4)])
def test_compressed_kinds_find_most_exact_neighbours(kind, least):
    rng = np.random.default_rng(2)
    db = clustered(rng, 2000, 16)
    q = clustered(np.random.default_rng(3), 50, 16)
    # 4-bit PQ codes: faiss trains 8-bit PQ slowly, and exactness is not the point here
    options = FaissIndexOptions(kind=kind, nlist=16, nprobe=8, m=8, nbits=4, rabitq_bits=5)
    index = FaissIndex(options)
    index.add(db)
    scores, found = index.search(q, 10)
    dense = DenseIndex()
    dense.add(db)
    truth = dense.search(q, 10)[1]
    recall = np.mean([len(np.intersect1d(a, b)) for a, b in zip(found, truth)]) / 10
    assert recall >= least, recall  # choosing 10 of 2000 at random would give 0.005
    assert index.kind == kind and index.parameters.nlist == 16 and index.parameters.nprobe == 8
    assert (np.diff(scores, axis=1) <= 0).all()  # best first
    # excluded indices never come back
    exclude = truth[:, :2]
    assert not (index.search(q, 10, exclude=exclude)[1][:, :, None] == exclude[:, None, :]).any()


def test_bytes_round_trip_and_nprobe_override():
    rng = np.random.default_rng(4)
    db, q = clustered(rng, 1500, 16), unit(rng, 20, 16)
    index = FaissIndex(FaissIndexOptions(kind="ivfrabitq", nlist=8, nprobe=2))
    index.add(db)
    data = index.to_bytes()
    assert data.dtype == np.uint8 and index.nbytes() == data.nbytes
    loaded = FaissIndex.from_bytes(data)
    assert loaded.kind == "ivfrabitq" and loaded.parameters.nprobe == 2
    for a, b in zip(index.search(q, 5), loaded.search(q, 5)):
        np.testing.assert_array_equal(a, b)
    assert FaissIndex.from_bytes(data, FaissIndexOptions(nprobe=8)).parameters.nprobe == 8
    flat = FaissIndex(FaissIndexOptions(kind="flat"))
    flat.add(db)
    again = FaissIndex.from_bytes(flat.to_bytes())
    assert again.kind == "flat"
    for a, b in zip(flat.search(q, 5), again.search(q, 5)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not an inner-product"):
        FaissIndex.from_bytes(faiss.serialize_index(faiss.IndexFlatL2(16)))


def test_parameters_from_map_size_and_overrides():
    million = ivf_parameters("ivfrabitq", 1_000_000, 256, FaissIndexOptions())
    assert million.nlist == 2048 and million.nprobe == 32 and million.factory == "IVF2048,RaBitQ5"
    assert million.train_size == 40 * 2048
    small = ivf_parameters("ivfpq", 5000, 256, FaissIndexOptions())
    assert small.nlist <= 5000 // 39 and small.factory.endswith("PQ128x8")
    custom = ivf_parameters("ivfpq", 10**6, 256, FaissIndexOptions(nlist=1024, nprobe=4, m=32, nbits=4))
    assert (custom.nlist, custom.nprobe, custom.factory) == (1024, 4, "IVF1024,PQ32x4")
    with pytest.raises(ValueError, match="does not divide"):
        ivf_parameters("ivfpq", 10**6, 256, FaissIndexOptions(m=48))
    with pytest.raises(ValueError, match="unknown"):
        FaissIndexOptions(kind="hnsw")
    # auto: exact below the threshold, compressed from it
    rng = np.random.default_rng(5)
    auto = FaissIndex(FaissIndexOptions(exact_below=100, nlist=2))
    auto.add(clustered(rng, 100, 8))
    auto.build()
    assert auto.kind == "ivfrabitq"


def test_bad_input():
    index = FaissIndex()
    with pytest.raises(ValueError, match="empty"):
        index.search(np.zeros((1, 3), np.float32), 1)
    index.add(np.eye(3, dtype=np.float32))
    with pytest.raises(ValueError, match="dimension"):
        index.add(np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.zeros((1, 4), np.float32), 1)
    with pytest.raises(ValueError, match="k must be"):
        index.search(np.zeros((1, 3), np.float32), 0)
    with pytest.raises(ValueError, match="cannot train"):
        few = FaissIndex(FaissIndexOptions(kind="ivfpq", nlist=64))
        few.add(np.eye(3, dtype=np.float32))
        few.build()


def _store_with_global_features(root, names, feats, type_name="gf"):
    from kapturelike.core.reconstruction import FeatureType
    from kapturelike.io.features import KaptureFeatureStore

    store = KaptureFeatureStore(root)
    store.write_type(FeatureType(kind="global_features", name=type_name, dtype=np.float32, dsize=feats.shape[1],
                                 metric_type="L2"))
    for name, row in zip(names, feats):
        store.write("global_features", type_name, name, row)
    return store


def test_pipeline_pairs_with_faiss_index_saved_beside_the_map(tmp_path, monkeypatch):
    from kapturelike.pipelines.retrieval_pairs import FAISS_INDEX_FILE, retrieval_pairs
    from kapturelike.retrieval import faiss_index

    rng = np.random.default_rng(6)
    map_names = [f"map/{i:03d}.jpg" for i in range(80)]
    query_names = [f"query/{i:03d}.jpg" for i in range(15)]
    map_store = _store_with_global_features(tmp_path / "map", map_names, unit(rng, 80, 32))
    query_store = _store_with_global_features(tmp_path / "query", query_names, unit(rng, 15, 32))
    dense = retrieval_pairs(query_names, [query_store], map_names, [map_store], ["gf"], 6)
    faiss_pairs = retrieval_pairs(query_names, [query_store], map_names, [map_store], ["gf"], 6, index="faiss")
    assert faiss_pairs == dense
    saved = map_store.aux_path("global_features", "gf", FAISS_INDEX_FILE)
    assert saved.is_file() and saved.parent == map_store.folder("global_features", "gf")
    assert map_store.names("global_features", "gf") == set(map_names)  # the index file is no feature
    # mapping pairs, then queries reuse the saved index: nothing is built again
    mapping = retrieval_pairs(map_names, [map_store], map_names, [map_store], ["gf"], 4, exclude_self=True,
                              index="faiss")
    assert mapping == retrieval_pairs(map_names, [map_store], map_names, [map_store], ["gf"], 4, exclude_self=True)
    built = []
    monkeypatch.setattr(faiss_index.FaissIndex, "add",
                        lambda self, x, _add=faiss_index.FaissIndex.add: built.append(1) or _add(self, x))
    again = retrieval_pairs(query_names, [query_store], map_names, [map_store], ["gf"], 6, index="faiss")
    assert again == dense and not built
    # a changed map feature (or changed build options) makes a new index
    map_store.write("global_features", "gf", map_names[0], unit(rng, 1, 32)[0])
    retrieval_pairs(query_names, [query_store], map_names, [map_store], ["gf"], 6, index="faiss")
    assert built
    with pytest.raises(ValueError, match="unknown retrieval index"):
        retrieval_pairs(query_names, [query_store], map_names, [map_store], ["gf"], 6, index="annoy")


def test_config_selects_the_index(tmp_path):
    from kapturelike.pipelines.config import load_config

    config = load_config(None, {"pairs": {"index": "faiss", "faiss": {"kind": "flat", "nprobe": 4}}})
    assert config.pairs.index == "faiss"
    assert config.pairs.faiss.kind == "flat" and config.pairs.faiss.nprobe == 4
    assert load_config().pairs.index == "dense"
