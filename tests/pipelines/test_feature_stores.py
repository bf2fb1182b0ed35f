"""FeatureStore is the only way the steps touch features: the HDF5 store, chosen in the configuration
(``features.store: hdf5``), runs mapping and localization end to end with the same poses as the
kapture per-file layout; and localization reads each feature file once."""

from __future__ import annotations

import numpy as np

from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.h5store import H5FeatureStore
from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.localization import run_localization
from kapturelike.pipelines.mapping import run_mapping

SEEDED = {"localization": {"random_seed": 0}, "verification": {"random_seed": 0}}


def test_hdf5_store_runs_both_pipelines_with_the_same_poses(synthetic_map, tmp_path):
    scene, kapture_map_dir, kapture_map = synthetic_map  # built with the default store: kapture
    config = load_config(None, {**SEEDED, "features": {"store": "hdf5"}})
    h5_map = run_mapping(scene.mapping, tmp_path / "map", config)
    h5_loc = run_localization(tmp_path / "map", scene.query, tmp_path / "loc", config)
    kapture_loc = run_localization(kapture_map_dir, scene.query, tmp_path / "kapture_loc", load_config(None, SEEDED))
    assert (h5_map.num_points, h5_map.num_pairs) == (kapture_map.num_points, kapture_map.num_pairs)
    for root in (tmp_path / "map", tmp_path / "loc"):
        assert (root / "features.h5").is_file()
        assert not KaptureFeatureStore(root).types("keypoints")  # nothing went to the per-file layout
    with H5FeatureStore(tmp_path / "map" / "features.h5", "r") as store:
        assert store.types("keypoints") == ["sift"] and store.match_pairs("sift")
    assert kapture_loc.counts() == h5_loc.counts() and h5_loc.counts().get("localized", 0) > 0
    theirs = load_kapture(tmp_path / "kapture_loc" / "localized").trajectories
    mine = load_kapture(tmp_path / "loc" / "localized").trajectories
    assert theirs.keys() == mine.keys()
    for key in theirs.keys():
        np.testing.assert_allclose(mine[key].t, theirs[key].t, atol=1e-9)


def test_localization_reads_each_feature_file_once(synthetic_map, tmp_path, monkeypatch):
    scene, map_dir, _ = synthetic_map
    reads: list[tuple[str, str, str]] = []
    matches_read: list[tuple[str, str]] = []
    read, read_matches = KaptureFeatureStore.read, KaptureFeatureStore.read_matches

    def counting_read(self, kind, type_name, image_name):
        reads.append((kind, type_name, image_name))
        return read(self, kind, type_name, image_name)

    def counting_read_matches(self, keypoints_type, image1, image2):
        matches_read.append((image1, image2))
        return read_matches(self, keypoints_type, image1, image2)

    monkeypatch.setattr(KaptureFeatureStore, "read", counting_read)
    monkeypatch.setattr(KaptureFeatureStore, "read_matches", counting_read_matches)
    run = run_localization(map_dir, scene.query, tmp_path / "loc", load_config(None, SEEDED))
    assert run.counts().get("localized", 0) > 0
    assert reads and len(reads) == len(set(reads))  # every keypoints / descriptors / global file once
    assert not matches_read  # the matches just written are used from memory
