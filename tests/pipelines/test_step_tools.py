"""The step front ends (extract, global extract, match, verify, evaluate) on a tiny synthetic scene,
in process through main([...]): outputs on disk, resuming, and one-line errors (exit 1)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from kapturelike.core.image_poses import camera_trajectories, image_poses
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import write_pairs
from kapturelike.synthetic.export import write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset
from kapturelike.tools import (
    kapture_compute_matches,
    kapture_evaluate,
    kapture_extract_features,
    kapture_extract_global_features,
    kapture_run_gv,
)

CONFIG = """\
features:
  global: densevlad
  global_options: {num_clusters: 8, pca_dim: 4, max_image_size: 160, descriptors_per_image: 300}
verification: {min_num_inliers: 8, random_seed: 0, num_workers: 1}
"""


def _error_line(capsys) -> str:
    """The tool's stderr: exactly one 'error: ...' line, no traceback."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.fixture(scope="module")
def steps(tmp_path_factory) -> dict[str, Path]:
    """Scene; map features, global features and matches; query features and query-map matches."""
    root = tmp_path_factory.mktemp("steps")
    scene = write_synthetic_kapture(generate_dataset(SyntheticOptions(
        num_mapping=6, num_sequences=1, sequence_length=2, width=320, height=240, focal=250)), root / "scene")
    (root / "config.yaml").write_text(CONFIG)
    paths = {"mapping": scene.mapping, "query": scene.query, "map": root / "map", "q": root / "q",
             "config": root / "config.yaml", "map_pairs": root / "pairs_map.txt", "loc_pairs": root / "pairs_loc.txt"}
    map_names = load_kapture(scene.mapping).image_names()
    query_names = load_kapture(scene.query).image_names()
    write_pairs(paths["map_pairs"], [(a, b, 1.0) for a, b in combinations(map_names, 2)])
    write_pairs(paths["loc_pairs"], [(q, m, 1.0) for q in query_names for m in map_names])
    cfg = ["--config", str(paths["config"])]
    assert kapture_extract_features.main(["-i", str(scene.mapping), "-o", str(paths["map"])] + cfg) == 0
    assert kapture_extract_global_features.main(["-i", str(scene.mapping), "-o", str(paths["map"])] + cfg) == 0
    assert kapture_compute_matches.main(["-i", str(paths["map"]), "--pairs", str(paths["map_pairs"])] + cfg) == 0
    assert kapture_extract_features.main(["-i", str(scene.query), "-o", str(paths["q"])] + cfg) == 0
    assert kapture_compute_matches.main(["-i", str(scene.query), "-o", str(paths["q"]), "--map", str(paths["map"]),
                                         "--pairs", str(paths["loc_pairs"])] + cfg) == 0
    return paths


def test_extract_features_writes_a_kapture_and_resumes(steps, capsys):
    out = load_kapture(steps["map"])
    names = load_kapture(steps["mapping"]).image_names()
    assert out.image_names() == names  # a separate output is a kapture of the same images
    assert out.keypoints["sift"].images == set(names) == out.descriptors["sift"].images
    kp = KaptureFeatureStore(steps["map"]).read("keypoints", "sift", names[0])
    assert len(kp) > 50 and kp.dtype == np.float32
    capsys.readouterr()
    assert kapture_extract_features.main(["-i", str(steps["mapping"]), "-o", str(steps["map"])]) == 0
    assert "0 done, 6 already there" in capsys.readouterr().out


def test_global_features_fit_on_map_and_reused_for_queries(steps, tmp_path, capsys):
    model = steps["map"] / "reconstruction" / "global_features" / "densevlad" / "densevlad_model.npz"
    assert model.is_file()
    cfg = ["--config", str(steps["config"])]
    assert kapture_extract_global_features.main(["-i", str(steps["query"]), "-o", str(steps["q"]),
                                                 "--map", str(steps["map"])] + cfg) == 0
    store = KaptureFeatureStore(steps["q"])
    feats = [store.read("global_features", "densevlad", n) for n in load_kapture(steps["query"]).image_names()]
    assert all(f.shape == (4,) and abs(np.linalg.norm(f) - 1) < 1e-4 for f in feats)
    assert not (steps["q"] / "reconstruction" / "global_features" / "densevlad" / model.name).exists()
    # a map without a fitted model: one-line error naming the model file
    capsys.readouterr()
    assert kapture_extract_global_features.main(["-i", str(steps["query"]), "-o", str(tmp_path / "q2"),
                                                 "--map", str(steps["mapping"])] + cfg) == 1
    assert "densevlad_model.npz" in _error_line(capsys)


def test_compute_matches_map_and_query_pairs(steps):
    store = KaptureFeatureStore(steps["map"])
    assert len(store.match_pairs("sift")) == 15
    query_store = KaptureFeatureStore(steps["q"])
    pairs = query_store.match_pairs("sift")
    assert len(pairs) == 24  # query-map matches live with the queries, map features stay in the map
    counts = [len(query_store.read_matches("sift", *p)) for p in pairs]
    assert max(counts) > 100
    # matches index both images' keypoints
    a, b = max(pairs, key=lambda p: len(query_store.read_matches("sift", *p)))
    m = query_store.read_matches("sift", a, b)
    ka = (query_store if query_store.has("keypoints", "sift", a) else store).read("keypoints", "sift", a)
    kb = (query_store if query_store.has("keypoints", "sift", b) else store).read("keypoints", "sift", b)
    assert m[:, 0].max() < len(ka) and m[:, 1].max() < len(kb)


def test_compute_matches_with_verification_keeps_a_subset(steps, tmp_path):
    out = tmp_path / "verified"
    assert kapture_compute_matches.main(["-i", str(steps["q"]), "-o", str(out), "--map", str(steps["map"]),
                                         "--pairs", str(steps["loc_pairs"]), "--verify",
                                         "--config", str(steps["config"])]) == 0
    raw, verified = KaptureFeatureStore(steps["q"]), KaptureFeatureStore(out)
    best = max(raw.match_pairs("sift"), key=lambda p: len(raw.read_matches("sift", *p)))
    r, v = raw.read_matches("sift", *best), verified.read_matches("sift", *best)
    assert 8 <= len(v) <= len(r)
    assert {tuple(x) for x in v[:, :2].astype(int)} <= {tuple(x) for x in r[:, :2].astype(int)}


def test_run_gv_into_a_new_type_and_in_place(steps, tmp_path):
    q = tmp_path / "q"
    shutil.copytree(steps["q"], q, symlinks=True)
    args = ["-i", str(q), "--map", str(steps["map"]), "--pairs", str(steps["loc_pairs"]),
            "--config", str(steps["config"])]
    assert kapture_run_gv.main(args + ["--output-type", "sift_gv"]) == 0
    k = load_kapture(q)
    query_names = set(k.image_names())
    assert k.keypoints["sift_gv"].images == query_names  # keypoints shared with the new type
    store = KaptureFeatureStore(q)
    pairs = store.match_pairs("sift")
    assert store.match_pairs("sift_gv") == pairs
    kept = raw = 0
    for p in pairs:
        r, v = store.read_matches("sift", *p), store.read_matches("sift_gv", *p)
        assert {tuple(x) for x in v[:, :2].astype(int)} <= {tuple(x) for x in r[:, :2].astype(int)}
        kept, raw = kept + len(v), raw + len(r)
    assert 0 < kept < raw
    # resumable: the second run finds everything done
    assert kapture_run_gv.main(args + ["--output-type", "sift_gv"]) == 0
    # in place: the input type becomes the verified matches
    assert kapture_run_gv.main(args) == 0
    assert sum(len(store.read_matches("sift", *p)) for p in pairs) < raw


def _estimated(query: Path, out: Path, drop: str, shift: float) -> dict[str, tuple]:
    """A camera-level kapture of the query poses (no rig), one image dropped, centres moved by ``shift``."""
    k = load_kapture(query)
    traj = camera_trajectories(k)
    keys = k.image_keys()
    items = []
    for name, (ts, cam) in keys.items():
        if name == drop:
            continue
        p = traj[(ts, cam)]
        items.append(((ts, cam), Pose(p.q, p.t + np.array([shift, 0.0, 0.0]))))
    est = Kapture(sensors=k.cameras(), trajectories=Trajectories.from_items(items), records=k.records)
    save_kapture(est, out)
    return image_poses(k)


def test_evaluate_rig_ground_truth(steps, tmp_path, capsys):
    names = load_kapture(steps["query"]).image_names()
    gt = _estimated(steps["query"], tmp_path / "est", names[0], 0.1)
    assert set(gt) == set(names)  # rig poses became camera poses
    out = tmp_path / "eval"
    assert kapture_evaluate.main(["-i", str(tmp_path / "est"), "--gt", str(steps["query"]), "-o", str(out),
                                  "--thresholds", "0.05,1", "0.25,2"]) == 0
    table = capsys.readouterr().out
    assert "cam0" in table and "cam1" in table
    results = json.loads((out / "results.json").read_text())
    assert results["overall"]["num_queries"] == 4 and results["overall"]["num_localized"] == 3
    assert results["overall"]["percent_within"] == [0.0, 75.0]
    errors = {r["name"]: r["translation_error"] for r in results["queries"]}
    assert errors[names[0]] is None
    assert all(abs(errors[n] - 0.1) < 1e-9 for n in names[1:])
    assert (out / "results.txt").read_text().startswith("group")
    assert (out / "errors.png").stat().st_size > 1000
    assert (out / "stats.txt").read_text().startswith("Model: input1\n\nFound 3 / 4 image positions (75.00 %).")
    assert kapture_evaluate.main(["-i", str(tmp_path / "est"), "--gt", str(steps["query"]), "-o", str(out),
                                  "--group-by", "none"]) == 1  # stats.txt exists: kapture's -f rule
    assert kapture_evaluate.main(["-i", str(tmp_path / "est"), "--gt", str(steps["query"]), "-o", str(out),
                                  "--group-by", "none", "-f"]) == 0
    assert json.loads((out / "results.json").read_text())["groups"] == {}


def test_evaluate_disjoint_names_and_missing_folder(steps, tmp_path, capsys):
    assert kapture_evaluate.main(["-i", str(steps["mapping"]), "--gt", str(steps["query"]),
                                  "-o", str(tmp_path / "e")]) == 1
    assert "none of the 6 posed images" in _error_line(capsys)
    assert kapture_evaluate.main(["-i", str(tmp_path / "nowhere"), "--gt", str(steps["query"]),
                                  "-o", str(tmp_path / "e")]) == 1
    assert "sensors.txt is missing" in _error_line(capsys)


def test_malformed_pairs_file_names_the_line(steps, tmp_path, capsys):
    bad = tmp_path / "pairs.txt"
    bad.write_text(steps["loc_pairs"].read_text() + "query/cam0/000001.png, mapping/cam0/000001.png\n")
    line = len(bad.read_text().splitlines())
    assert kapture_compute_matches.main(["-i", str(steps["query"]), "-o", str(tmp_path / "o"),
                                         "--map", str(steps["map"]), "--pairs", str(bad)]) == 1
    err = _error_line(capsys)
    assert f"line {line}" in err and str(bad) in err
    bad.write_text("# comment\na, b, notanumber\n")
    assert kapture_run_gv.main(["-i", str(steps["q"]), "--pairs", str(bad)]) == 1
    assert "line 2" in _error_line(capsys)


def test_missing_feature_file(steps, tmp_path, capsys):
    q = tmp_path / "q"
    shutil.copytree(steps["q"], q, symlinks=True)
    name = load_kapture(steps["query"]).image_names()[1]
    kpt = KaptureFeatureStore(q).path("keypoints", "sift", name)
    kpt.unlink()
    assert kapture_compute_matches.main(["-i", str(steps["query"]), "-o", str(q), "--map", str(steps["map"]),
                                         "--pairs", str(steps["loc_pairs"]), "--overwrite"]) == 1
    err = _error_line(capsys)
    assert name in err and "missing keypoints file" in err
    assert kapture_run_gv.main(["-i", str(q), "--map", str(steps["map"]), "--pairs", str(steps["loc_pairs"])]) == 1
    assert "missing keypoints file" in _error_line(capsys)


def test_query_without_matches(steps, tmp_path, capsys):
    pairs = tmp_path / "pairs.txt"
    map_name = load_kapture(steps["mapping"]).image_names()[0]
    write_pairs(pairs, [("query/cam0/000001.png", map_name, 1.0), ("query/cam9/000001.png", map_name, 1.0)])
    assert kapture_run_gv.main(["-i", str(steps["q"]), "--map", str(steps["map"]), "--pairs", str(pairs)]) == 1
    err = _error_line(capsys)
    assert "query 'query/cam9/000001.png' has no matches" in err


def test_missing_dataset_folder(tmp_path, capsys):
    missing = str(tmp_path / "missing")
    pairs = tmp_path / "pairs.txt"
    write_pairs(pairs, [("a.png", "b.png", 1.0)])
    for tool, args in ((kapture_extract_features, ["-i", missing]),
                       (kapture_extract_global_features, ["-i", missing]),
                       (kapture_compute_matches, ["-i", missing, "--pairs", str(pairs)]),
                       (kapture_run_gv, ["-i", missing])):
        assert tool.main(args) == 1
        assert "not a kapture dataset" in _error_line(capsys)


def test_command_line_entry_point(tmp_path):
    done = subprocess.run([sys.executable, "-m", "kapturelike.tools.kapture_evaluate", "-i", str(tmp_path / "x"),
                           "--gt", str(tmp_path / "y"), "-o", str(tmp_path / "z")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: ") and "Traceback" not in done.stderr


def test_unknown_extractor_is_a_one_line_error(steps, tmp_path, capsys):
    assert kapture_extract_features.main(["-i", str(steps["mapping"]), "-o", str(tmp_path / "o"),
                                          "--local", "nosuch"]) == 1
    assert "unknown local extractor 'nosuch'" in _error_line(capsys)
    bad = tmp_path / "config.yaml"
    bad.write_text("features: {local_options: {no_such_option: 1}}\n")
    assert kapture_extract_features.main(["-i", str(steps["mapping"]), "-o", str(tmp_path / "o"),
                                          "--config", str(bad)]) == 1
    assert "features.local_options" in _error_line(capsys)
