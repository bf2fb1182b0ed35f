"""Retrieval front ends: image pairs, late fusion, pairs-file fusion, distance / sequence pairs, evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kapturelike.core.image_poses import image_poses
from kapturelike.core.pose import camera_centers, viewing_directions
from kapturelike.core.reconstruction import FeatureType
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore, read_global_features
from kapturelike.io.pairs import read_pairs, write_pairs
from kapturelike.retrieval.expansion import ExpansionOptions
from kapturelike.retrieval.topk import pairs_from_retrieval
from kapturelike.tools import (
    kapture_compute_distance_pairs,
    kapture_compute_image_pairs,
    kapture_compute_sequence_pairs,
    kapture_evaluate_retrieval,
    kapture_image_retrieval_late_fusion,
    kapture_pairsfile_fusion,
)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """Mapping (6 images) and query (2 cameras x 2 timestamps) datasets with DenseVLAD features,
    plus a second global type 'noisy' (DenseVLAD with noise) to fuse with."""
    from kapturelike.pipelines.extract_features import main_global
    from kapturelike.synthetic.export import write_synthetic_kapture
    from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset

    root = tmp_path_factory.mktemp("retrieval_tools")
    paths = write_synthetic_kapture(generate_dataset(SyntheticOptions(
        num_mapping=6, num_sequences=1, sequence_length=2, width=320, height=240, focal=250)), root)
    main_global(paths.mapping)
    main_global(paths.query, map_dir=paths.mapping)
    rng = np.random.default_rng(0)
    for dataset in (paths.mapping, paths.query):
        store = KaptureFeatureStore(dataset)
        names, feats = read_global_features([KaptureFeatureStore(dataset)], "densevlad")
        noisy = feats + rng.normal(0, 0.5 / np.sqrt(feats.shape[1]), feats.shape).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        store.write_type(FeatureType("global_features", "noisy", np.float32, feats.shape[1]))
        for name, f in zip(names, noisy):
            store.write("global_features", "noisy", name, f)
    return paths


def _posed(root):
    poses = image_poses(load_kapture(root))
    names = sorted(poses)
    return names, np.stack([poses[n][0] for n in names]), np.stack([poses[n][1] for n in names])


def _expected_topk(q_names, q_feats, db_names, db_feats, k, exclude_self):
    sims = q_feats @ db_feats.T
    expected = set()
    for i, q in enumerate(q_names):
        order = [j for j in np.argsort(-sims[i], kind="stable") if not (exclude_self and db_names[j] == q)]
        expected |= {(q, db_names[j]) for j in order[:k]}
    return expected


def test_image_pairs_mapping_and_query(scene, tmp_path, capsys):
    m_names, m_feats = read_global_features([KaptureFeatureStore(scene.mapping)], "densevlad")
    out = tmp_path / "map_pairs.txt"
    assert kapture_compute_image_pairs.main(["--mapping", str(scene.mapping), "-gfeat", "densevlad",
                                             "--topk", "3", "-o", str(out)]) == 0
    assert "18 pairs written" in capsys.readouterr().out
    pairs = read_pairs(out)
    assert len(pairs) == 18 and all(q != m for q, m, _ in pairs)
    assert {(q, m) for q, m, _ in pairs} == _expected_topk(m_names, m_feats, m_names, m_feats, 3, True)

    q_names, q_feats = read_global_features([KaptureFeatureStore(scene.query)], "densevlad")
    out = tmp_path / "query_pairs.txt"
    assert kapture_compute_image_pairs.main(["--mapping", str(scene.mapping), "--query", str(scene.query),
                                             "-gfeat", "densevlad", "--topk", "2", "-o", str(out)]) == 0
    pairs = read_pairs(out)
    assert len(pairs) == 2 * len(q_names)
    assert {q for q, _, _ in pairs} == set(q_names) and {m for _, m, _ in pairs} <= set(m_names)
    assert {(q, m) for q, m, _ in pairs} == _expected_topk(q_names, q_feats, m_names, m_feats, 2, False)
    scores = {(q, m): s for q, m, s in pairs}
    sims = q_feats @ m_feats.T
    for (q, m), s in scores.items():
        assert s == pytest.approx(sims[q_names.index(q), m_names.index(m)], abs=1e-5)


def test_image_pairs_expansion_matches_library(scene, tmp_path):
    out = tmp_path / "qe.txt"
    assert kapture_compute_image_pairs.main(["--mapping", str(scene.mapping), "--query", str(scene.query),
                                             "-gfeat", "densevlad", "--topk", "4", "--qe-n", "2", "--qe-alpha", "2",
                                             "--dba-n", "1", "-o", str(out)]) == 0
    m_names, m_feats = read_global_features([KaptureFeatureStore(scene.mapping)], "densevlad")
    q_names, q_feats = read_global_features([KaptureFeatureStore(scene.query)], "densevlad")
    expected = pairs_from_retrieval(q_names, q_feats, m_names, m_feats, 4,
                                    expansion=ExpansionOptions(qe_neighbors=2, qe_alpha=2.0, dba_neighbors=1))
    got = read_pairs(out)
    assert [(q, m) for q, m, _ in got] == [(q, m) for q, m, _ in expected]
    np.testing.assert_allclose([s for _, _, s in got], [s for _, _, s in expected], atol=1e-5)
    # with several types each is expanded on its own: mean fusion of a type with itself changes nothing
    fused = tmp_path / "qe_fused.txt"
    assert kapture_compute_image_pairs.main(["--mapping", str(scene.mapping), "--query", str(scene.query),
                                             "-gfeat", "densevlad", "densevlad", "--fusion", "mean", "--topk", "4",
                                             "--qe-n", "2", "--qe-alpha", "2", "--dba-n", "1",
                                             "-o", str(fused)]) == 0
    got = read_pairs(fused)
    assert [(q, m) for q, m, _ in got] == [(q, m) for q, m, _ in expected]
    np.testing.assert_allclose([s for _, _, s in got], [s for _, _, s in expected], atol=1e-5)


def test_fused_pairs_agree_between_tools(scene, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    common = ["--mapping", str(scene.mapping), "--query", str(scene.query), "-gfeat", "densevlad", "noisy",
              "--topk", "3"]
    assert kapture_compute_image_pairs.main(common + ["--fusion", "mean", "-o", str(a)]) == 0
    assert kapture_image_retrieval_late_fusion.main(common + ["--method", "mean", "-o", str(b)]) == 0
    pa, pb = read_pairs(a), read_pairs(b)
    assert [(q, m) for q, m, _ in pa] == [(q, m) for q, m, _ in pb] and len(pa) == 12
    np.testing.assert_allclose([s for *_, s in pa], [s for *_, s in pb], atol=1e-5)
    # mean fusion of cosine similarities, checked against the features themselves
    m_names, m1 = read_global_features([KaptureFeatureStore(scene.mapping)], "densevlad")
    _, m2 = read_global_features([KaptureFeatureStore(scene.mapping)], "noisy")
    q_names, q1 = read_global_features([KaptureFeatureStore(scene.query)], "densevlad")
    _, q2 = read_global_features([KaptureFeatureStore(scene.query)], "noisy")
    fused = (q1 @ m1.T + q2 @ m2.T) / 2
    for q, m, s in pb:
        assert s == pytest.approx(fused[q_names.index(q), m_names.index(m)], abs=1e-5)
    # kapture-localization's operator names are accepted
    assert kapture_image_retrieval_late_fusion.main(common + ["--method", "generalized_harmonic_mean",
                                                              "--weights", "1", "2", "-o", str(b)]) == 0
    assert len(read_pairs(b)) == 12


def test_pairsfile_fusion(tmp_path, capsys):
    a, b, out = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "fused.txt"
    write_pairs(a, [("q1", "m1", 0.8), ("q1", "m2", 0.4), ("q2", "m1", 0.6)])
    write_pairs(b, [("q1", "m1", 0.2), ("q1", "m2", 0.9), ("q2", "m3", 0.9)])
    assert kapture_pairsfile_fusion.main(["-i", str(a), str(b), "-o", str(out), "--method", "mean"]) == 0
    fused = read_pairs(out)
    assert [(q, m) for q, m, _ in fused] == [("q1", "m2"), ("q1", "m1")]
    np.testing.assert_allclose([s for *_, s in fused], [0.65, 0.5])
    assert kapture_pairsfile_fusion.main(["-i", str(a), str(b), "-o", str(out), "--method", "max",
                                          "--fill-missing", "0", "--topk", "1"]) == 0
    assert read_pairs(out) == [("q1", "m2", 0.9), ("q2", "m3", 0.9)]
    capsys.readouterr()
    assert kapture_pairsfile_fusion.main(["-i", str(a), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "at least 2" in err and err.count("\n") == 1


def test_distance_and_sequence_pairs(scene, tmp_path):
    out = tmp_path / "dist.txt"
    assert kapture_compute_distance_pairs.main(["--mapping", str(scene.mapping), "-o", str(out),
                                                "--max-distance", "100", "--max-angle", "100"]) == 0
    names, q, t = _posed(scene.mapping)
    dirs = viewing_directions(q)
    angles = np.degrees(np.arccos(np.clip(dirs @ dirs.T, -1, 1)))
    expected = {(names[i], names[j]) for i in range(len(names)) for j in range(len(names))
                if i != j and angles[i, j] <= 100}
    pairs = read_pairs(out)
    assert expected and {(a, b) for a, b, _ in pairs} == expected
    # query against map: a tight distance keeps only map images near each query
    assert kapture_compute_distance_pairs.main(["--mapping", str(scene.mapping), "--query", str(scene.query),
                                                "-o", str(out), "--max-distance", "1.5", "--max-angle", "180"]) == 0
    qn, qq, qt = _posed(scene.query)
    centers, q_centers = camera_centers(q, t), camera_centers(qq, qt)
    dist = np.linalg.norm(q_centers[:, None] - centers[None], axis=2)
    expected = {(qn[i], names[j]) for i, j in zip(*np.nonzero(dist <= 1.5))}
    assert {(a, b) for a, b, _ in read_pairs(out)} == expected

    assert kapture_compute_sequence_pairs.main(["-i", str(scene.query), "-o", str(out), "--window", "1"]) == 0
    pairs = read_pairs(out)
    # 2 cameras x 2 timestamps: each image pairs with the other frame of its camera
    assert len(pairs) == 4 and all(a.split("/")[1] == b.split("/")[1] and a != b for a, b, _ in pairs)
    assert all(s == pytest.approx(0.0) for *_, s in pairs)  # score 1 - offset / window
    assert kapture_compute_sequence_pairs.main(["-i", str(scene.query), "-o", str(out), "--window", "2"]) == 0
    assert sorted(s for *_, s in read_pairs(out)) == pytest.approx([0.5] * 4)


def test_evaluate_retrieval(scene, tmp_path, capsys):
    gt, result = tmp_path / "gt.txt", tmp_path / "eval.json"
    # ground-truth pairs (pose-relevant map images) must score a hit for every query that has one
    assert kapture_compute_distance_pairs.main(["--mapping", str(scene.mapping), "--query", str(scene.query),
                                                "-o", str(gt), "--max-distance", "5", "--max-angle", "45"]) == 0
    with_relevant = {q for q, _, _ in read_pairs(gt)}
    capsys.readouterr()
    assert kapture_evaluate_retrieval.main(["--pairs", str(gt), "--mapping", str(scene.mapping), "--query",
                                            str(scene.query), "-k", "1", "3", "--json", str(result)]) == 0
    assert capsys.readouterr().out.strip()
    report = json.loads(result.read_text())
    assert report["ks"] == [1, 3] and report["num_queries"] == 4
    assert report["pose_hit_rate"] == [pytest.approx(len(with_relevant) / 4)] * 2

    retrieved = tmp_path / "retrieved.txt"
    assert kapture_compute_image_pairs.main(["--mapping", str(scene.mapping), "--query", str(scene.query),
                                             "-gfeat", "densevlad", "--topk", "6", "-o", str(retrieved)]) == 0
    assert kapture_evaluate_retrieval.main(["--pairs", str(retrieved), "--mapping", str(scene.mapping),
                                            "--query", str(scene.query), "-k", "1", "6", "--json",
                                            str(result)]) == 0
    hits = json.loads(result.read_text())["pose_hit_rate"]
    # all 6 map images retrieved: hit@6 is the share of queries having a relevant image at all
    assert 0 <= hits[0] <= hits[1] == pytest.approx(len(with_relevant) / 4)


def test_clear_errors(scene, tmp_path, capsys):
    out = tmp_path / "pairs.txt"
    capsys.readouterr()
    assert kapture_compute_image_pairs.main(["--mapping", str(scene.mapping), "-gfeat", "apgem",
                                             "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'apgem'" in err and "densevlad" in err and err.count("\n") == 1
    assert not out.exists()
    assert kapture_image_retrieval_late_fusion.main(["--mapping", str(scene.mapping), "-gfeat", "densevlad",
                                                     "apgem", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "apgem" in err and err.count("\n") == 1

    bad = tmp_path / "bad.txt"
    bad.write_text("# query, map, score\nmapping/cam0/000001.png, mapping/cam0/000002.png\n")
    assert kapture_evaluate_retrieval.main(["--pairs", str(bad), "--mapping", str(scene.mapping),
                                            "--query", str(scene.query)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(bad) in err and "line 2" in err and err.count("\n") == 1
    assert kapture_pairsfile_fusion.main(["-i", str(bad), str(bad), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err and err.count("\n") == 1
    # bad option values: argparse's exit 2, or a one-line error from the library's checks
    assert kapture_compute_image_pairs.main(["--mapping", str(scene.mapping), "-o", str(out),
                                             "--fusion", "median"]) == 2
    capsys.readouterr()
    assert kapture_compute_image_pairs.main(["--mapping", str(scene.mapping), "-o", str(out),
                                             "--qe-n", "-1"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert kapture_compute_distance_pairs.main(["--mapping", str(scene.mapping), "-o", str(out),
                                                "--max-angle", "0"]) == 1
    assert capsys.readouterr().err.startswith("error: ")
