"""End to end on the synthetic scene: mapping, localization, post-processing, evaluation, outputs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from kapturelike.core.image_poses import image_poses
from kapturelike.core.pose import pose_errors
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.images import load_image, save_image
from kapturelike.pipelines.config import PipelineConfig
from kapturelike.pipelines.localization import run_localization
from kapturelike.pipelines.mapping import run_mapping
from kapturelike.pipelines.pairs_files import evaluate_pairs_file


def test_mapping_builds_a_consistent_map(synthetic_map):
    scene, map_dir, result = synthetic_map
    assert result.num_images == 24
    assert result.num_points > 1000
    assert result.mean_reprojection_error < 1.0
    kmap = load_kapture(map_dir)
    assert kmap.points3d.shape == (result.num_points, 6)
    assert len(kmap.observations) == result.num_observations
    # every observation points at an existing keypoint of a map image
    store = KaptureFeatureStore(map_dir)
    for name, (fids, _) in kmap.observations.for_image("sift").items():
        assert fids.max() < len(store.read("keypoints", "sift", name))
    # 3D points project into the images that observe them, close to their keypoints
    poses = image_poses(kmap)
    cam = kmap.cameras()["cam0"]
    name, (fids, pids) = next(iter(kmap.observations.for_image("sift").items()))
    q, t = poses[name]
    from kapturelike.core.pose import apply
    xyz = apply(q, t, kmap.points3d[pids, :3])
    uv = (cam.K @ (xyz / xyz[:, 2:]).T).T[:, :2]
    kp = store.read("keypoints", "sift", name)[fids, :2]
    assert np.median(np.linalg.norm(uv - kp, axis=1)) < 1.0


def test_real_kapture_reads_the_map(synthetic_map):
    kapture_csv = pytest.importorskip("kapture.io.csv")
    _, map_dir, result = synthetic_map
    oracle = kapture_csv.kapture_from_dir(str(map_dir))
    ours = load_kapture(map_dir)
    assert set(oracle.keypoints["sift"]) == ours.keypoints["sift"].images
    assert set(oracle.descriptors["sift"]) == ours.descriptors["sift"].images
    # 24 map images (<= pairs.exhaustive_below): every pair matched, no global features computed
    assert not oracle.global_features and not ours.global_features
    assert set(oracle.matches["sift"]) == ours.matches["sift"]
    assert len(oracle.points3d) == result.num_points
    assert oracle.observations.observations_number() == result.num_observations


def test_mapping_resumes_without_recomputing(synthetic_map):
    scene, map_dir, first = synthetic_map
    again = run_mapping(scene.mapping, map_dir, PipelineConfig())
    extraction = [r for r in again.reports if r.step.startswith(("local features", "global features", "matching"))]
    assert all(r.done == 0 and r.skipped == r.items for r in extraction)
    assert again.num_points == pytest.approx(first.num_points, rel=0.02)


def test_localization_recall_and_outputs(synthetic_map, tmp_path):
    scene, map_dir, _ = synthetic_map
    run = run_localization(map_dir, scene.query, tmp_path / "out", PipelineConfig())
    ev = run.evaluation
    assert ev is not None and ev.overall.num_queries == 16
    assert ev.overall.percent_within[0] >= 95.0
    # outputs: a kapture of poses that the real kapture reads, results, evaluation, benchmark file
    localized = load_kapture(tmp_path / "out" / "localized")
    assert len(localized.trajectories) == sum(o.q is not None for o in run.outcomes.values())
    kapture_csv = pytest.importorskip("kapture.io.csv")
    oracle = kapture_csv.kapture_from_dir(str(tmp_path / "out" / "localized"))
    assert len(list(oracle.trajectories.key_pairs())) == len(localized.trajectories)
    results = json.loads((tmp_path / "out" / "localization_results.json").read_text())
    assert set(results) == set(load_kapture(scene.query).image_names())
    assert all("num_inliers" in r and "seconds" in r for r in results.values())
    assert (tmp_path / "out" / "eval" / "errors.png").stat().st_size > 1000
    lines = (tmp_path / "out" / "LTVL2020_style_result.txt").read_text().splitlines()
    assert len(lines) == len(localized.trajectories)
    assert all(len(line.split(" ")) == 8 for line in lines)
    # DenseVLAD top-5 holds a map image within 10 m and 30 degrees of each query
    retrieval = evaluate_pairs_file(tmp_path / "out" / "pairs_localization.txt", scene.mapping, scene.query,
                                         max_distance=10.0, max_angle=30.0, ks=(1, 5))
    assert retrieval.pose_hit_rate[1] >= 0.9


def _blank(query_dir, names):
    for name in names:
        path = records_data_path(query_dir, name)
        save_image(path, np.zeros_like(load_image(path)))


def test_rig_and_sequence_recovery_against_ground_truth(synthetic_map, tmp_path):
    scene, map_dir, _ = synthetic_map
    query = tmp_path / "query"
    shutil.copytree(scene.query, query)
    kq = load_kapture(query)
    names = sorted(kq.image_names())
    # cam0 at the 2nd timestamp loses its image: its rig sibling still localizes -> rig recovery;
    # both cameras at the 3rd timestamp lose theirs -> sequence interpolation.
    rig_victim = names[1]
    seq_victims = [names[2], names[10]]
    assert kq.image_keys()[names[2]][0] == kq.image_keys()[names[10]][0]
    _blank(query, [rig_victim, *seq_victims])
    config = PipelineConfig(rig_localization=False)
    run = run_localization(map_dir, query, tmp_path / "out", config)
    gt = image_poses(kq)
    assert run.outcomes[rig_victim].status == "recovered_rig"
    for n in seq_victims:
        assert run.outcomes[n].status == "recovered_sequence"
    for n in [rig_victim, *seq_victims]:
        o = run.outcomes[n]
        dt, dr = pose_errors(o.q, o.t, *gt[n])
        assert dt < 0.1 and dr < 2.0, (n, dt, dr)
    assert "correspondences" in run.outcomes[rig_victim].reason


def test_rig_localization_jointly(synthetic_map, tmp_path):
    scene, map_dir, _ = synthetic_map
    run = run_localization(map_dir, scene.query, tmp_path / "out", PipelineConfig(postprocess_rig=False,
                                                                                  postprocess_sequence=False))
    gt = image_poses(load_kapture(scene.query))
    localized = [n for n, o in run.outcomes.items() if o.status == "localized"]
    assert len(localized) >= 15
    errors = np.array([pose_errors(run.outcomes[n].q, run.outcomes[n].t, *gt[n]) for n in localized])
    assert np.median(errors[:, 0]) < 0.02 and np.median(errors[:, 1]) < 0.2
