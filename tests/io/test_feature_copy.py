"""kapture per-file features -> HDF5 -> kapture: the same files, byte for byte (tools and library)."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType
from kapturelike.io.feature_copy import copy_features
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.h5store import H5FeatureStore
from kapturelike.tools.kapture_export_h5 import main as export_h5
from kapturelike.tools.kapture_import_h5 import main as import_h5


def _dataset(root: Path) -> KaptureFeatureStore:
    rng = np.random.default_rng(0)
    store = KaptureFeatureStore(root)
    store.write_type(FeatureType("keypoints", "sift", np.float32, 4, dtype_name="float32"))
    store.write_type(FeatureType("descriptors", "sift", np.uint8, 16, keypoints_type="sift", metric_type="L2",
                                 dtype_name="uint8"))
    store.write_type(FeatureType("global_features", "vlad", np.float64, 8, metric_type="L2", dtype_name="float64"))
    names = ["map/a.jpg", "map/b%20c.jpg", "query/d.jpg"]
    for i, name in enumerate(names):
        n = 0 if i == 2 else 5 + i  # an image without keypoints too
        store.write("keypoints", "sift", name, rng.normal(size=(n, 4)).astype(np.float32))
        store.write("descriptors", "sift", name, rng.integers(0, 255, (n, 16)).astype(np.uint8))
        store.write("global_features", "vlad", name, rng.normal(size=8))
    store.write_matches("sift", names[1], names[0], np.array([[0, 1, 0.5], [2, 3, 0.25]]))
    store.write_matches("sift", names[0], names[2], np.zeros((0, 3)))
    return store


def _same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


def test_round_trip_is_lossless(tmp_path):
    source = _dataset(tmp_path / "src")
    with H5FeatureStore(tmp_path / "features.h5") as h5:
        report = copy_features(source, h5, progress=False)
        assert report.arrays == 9 and report.matches == 2 and report.skipped == 0
        assert h5.read_type("descriptors", "sift").keypoints_type == "sift"
    with H5FeatureStore(tmp_path / "features.h5", mode="r") as h5:
        copy_features(h5, KaptureFeatureStore(tmp_path / "back"), progress=False)
        # resumes: everything already there is skipped
        again = copy_features(h5, KaptureFeatureStore(tmp_path / "back"), progress=False)
        assert again.arrays == 0 and again.skipped == 11
    _same_tree(tmp_path / "src" / "reconstruction", tmp_path / "back" / "reconstruction")


def test_tools_round_trip(tmp_path, capsys):
    _dataset(tmp_path / "src")
    assert export_h5(["-i", str(tmp_path / "src"), "-o", str(tmp_path / "f.h5")]) == 0
    assert "9 arrays and 2 matches copied" in capsys.readouterr().out
    assert import_h5(["-i", str(tmp_path / "f.h5"), "-o", str(tmp_path / "back"), "--kinds", "keypoints",
                      "descriptors", "global_features", "matches"]) == 0
    _same_tree(tmp_path / "src" / "reconstruction", tmp_path / "back" / "reconstruction")
    assert import_h5(["-i", str(tmp_path / "f.h5"), "-o", str(tmp_path / "kp"), "--kinds", "keypoints"]) == 0
    assert not (tmp_path / "kp" / "reconstruction" / "descriptors").exists()
    # bad input: one line, exit 1
    assert export_h5(["-i", str(tmp_path / "nothing"), "-o", str(tmp_path / "g.h5")]) == 1
    assert "no reconstruction folder" in capsys.readouterr().err
    assert import_h5(["-i", str(tmp_path / "missing.h5"), "-o", str(tmp_path / "x")]) == 1


def test_unknown_kind(tmp_path):
    with pytest.raises(ValueError, match="unknown feature kind"):
        copy_features(KaptureFeatureStore(tmp_path), KaptureFeatureStore(tmp_path / "b"), ["points"])
