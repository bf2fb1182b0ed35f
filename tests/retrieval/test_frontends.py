"""File-level front ends: global features in a kapture folder in, pairs file out."""

from __future__ import annotations

import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType
from kapturelike.errors import MissingDataError
from kapturelike.io.features import KaptureFeatureStore, read_global_features
from kapturelike.io.pairs import read_pairs
from kapturelike.pipelines.pairs_files import image_pairs_file
from kapturelike.retrieval.fusion import FusionOptions, late_fusion_pairs
from kapturelike.retrieval.topk import pairs_from_retrieval


def write_features(root, type_name, names, feats):
    store = KaptureFeatureStore(root)
    store.write_type(FeatureType(kind="global_features", name=type_name, dtype=np.float32, dsize=feats.shape[1],
                                 metric_type="L2", dtype_name="float32"))
    for n, f in zip(names, feats):
        store.write("global_features", type_name, n, f.astype(np.float32))


def test_image_pairs_file(tmp_path):
    rng = np.random.default_rng(11)
    map_names = [f"map/{i:02d}.jpg" for i in range(8)]
    query_names = ["query/a.jpg", "query/b.jpg"]
    map_feats, query_feats = rng.normal(size=(8, 6)), rng.normal(size=(2, 6))
    write_features(tmp_path / "map", "gf", map_names, 3 * map_feats)  # stored unnormalised
    write_features(tmp_path / "query", "gf", query_names, query_feats)
    names, feats = read_global_features([KaptureFeatureStore(tmp_path / "map")], "gf")
    assert names == map_names
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, rtol=1e-6)

    out = tmp_path / "pairs_map.txt"
    written = image_pairs_file(tmp_path / "map", None, "gf", out, topk=3)
    assert read_pairs(out) == [(q, m, pytest.approx(s)) for q, m, s in written]
    assert written == pairs_from_retrieval(names, feats, names, feats, 3, exclude_self=True)

    out = tmp_path / "pairs_query.txt"
    written = image_pairs_file(tmp_path / "map", tmp_path / "query", "gf", out, topk=2)
    assert {q for q, _, _ in written} == set(query_names) and len(written) == 4

    with pytest.raises(MissingDataError, match="no global features"):
        read_global_features([KaptureFeatureStore(tmp_path / "map")], "other")


def test_late_fusion_files(tmp_path):
    rng = np.random.default_rng(12)
    names = [f"{i}.jpg" for i in range(6)]
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    write_features(tmp_path, "a", names, a)
    write_features(tmp_path, "b", names[:5], b[:5])  # 5.jpg lacks type b and is left out
    out = tmp_path / "fused.txt"
    options = FusionOptions(method="mean_and_min")
    written = image_pairs_file(tmp_path, None, ["a", "b"], out, 2, options)
    fa, fb = (x / np.linalg.norm(x, axis=1, keepdims=True) for x in (a[:5], b[:5]))
    expected = late_fusion_pairs(names[:5], [fa, fb], names[:5], [fa, fb], 2, options, exclude_self=True)
    assert [(q, m) for q, m, _ in written] == [(q, m) for q, m, _ in expected]
    np.testing.assert_allclose([s for *_, s in written], [s for *_, s in expected], rtol=1e-5)
    assert len(read_pairs(out)) == 10
