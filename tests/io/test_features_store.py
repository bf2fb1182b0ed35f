"""KaptureFeatureStore and H5FeatureStore behave the same through the FeatureStore interface."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType
from kapturelike.errors import FormatError, MissingDataError
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.h5store import H5FeatureStore, escape, unescape

NAMES = ["a.jpg", "map/b c.jpg", "q/été%2F.png"]


@pytest.fixture(params=["kapture", "h5"])
def store(request, tmp_path: Path) -> Iterator:
    if request.param == "kapture":
        yield KaptureFeatureStore(tmp_path / "kapture")
    else:
        with H5FeatureStore(tmp_path / "features.h5") as s:
            yield s


def _types(store) -> None:
    store.write_type(FeatureType("keypoints", "sift", np.float32, 4))
    store.write_type(FeatureType("descriptors", "sift", np.uint8, 128, "sift", "L2"))
    store.write_type(FeatureType("global_features", "netvlad", np.float32, 16, metric_type="cosine"))


def test_types_round_trip(store) -> None:
    _types(store)
    assert store.types("keypoints") == ["sift"] and store.types("global_features") == ["netvlad"]
    assert store.types("matches") == []
    d = store.read_type("descriptors", "sift")
    assert (d.dtype, d.dsize, d.keypoints_type, d.metric_type) == (np.dtype(np.uint8), 128, "sift", "L2")
    g = store.read_type("global_features", "netvlad")
    assert (g.dtype, g.dsize, g.metric_type, g.keypoints_type) == (np.dtype(np.float32), 16, "cosine", None)
    with pytest.raises(MissingDataError, match="surf"):
        store.read_type("keypoints", "surf")


def test_arrays_round_trip(store) -> None:
    _types(store)
    rng = np.random.default_rng(0)
    kpts = {n: rng.random((i + 2, 4), dtype=np.float32) for i, n in enumerate(NAMES)}
    for n, k in kpts.items():
        store.write("keypoints", "sift", n, k)
    store.write("descriptors", "sift", NAMES[0], np.zeros((0, 128), np.uint8))
    g = rng.random(16, dtype=np.float32)
    store.write("global_features", "netvlad", NAMES[1], g)
    assert store.names("keypoints", "sift") == set(NAMES)
    assert store.names("descriptors", "sift") == {NAMES[0]}
    for n, k in kpts.items():
        got = store.read("keypoints", "sift", n)
        assert got.dtype == np.float32 and np.array_equal(got, k)
    assert store.read("descriptors", "sift", NAMES[0]).shape == (0, 128)
    np.testing.assert_array_equal(store.read("global_features", "netvlad", NAMES[1]), g)
    assert store.has("keypoints", "sift", NAMES[2]) and not store.has("descriptors", "sift", NAMES[2])
    # overwriting replaces
    store.write("keypoints", "sift", NAMES[0], kpts[NAMES[1]])
    np.testing.assert_array_equal(store.read("keypoints", "sift", NAMES[0]), kpts[NAMES[1]])


def test_wrong_arrays_refused(store) -> None:
    _types(store)
    with pytest.raises(FormatError, match="dtype"):
        store.write("keypoints", "sift", "a.jpg", np.zeros((3, 4), np.float64))
    with pytest.raises(FormatError, match="float32 x 4"):
        store.write("keypoints", "sift", "a.jpg", np.zeros((3, 5), np.float32))
    with pytest.raises(MissingDataError, match="a.jpg"):
        store.read("keypoints", "sift", "a.jpg")
    with pytest.raises(ValueError, match="relative"):
        store.write("keypoints", "sift", "../evil.jpg", np.zeros((3, 4), np.float32))


def test_matches_lexical_order(store) -> None:
    m = np.array([[0, 5, 0.9], [1, 2, 0.5]])
    store.write_matches("sift", NAMES[1], NAMES[0], m)  # stored as (NAMES[0], NAMES[1]), columns swapped
    store.write_matches("sift", NAMES[0], NAMES[2], m[:, :2].astype(np.int64))
    assert store.match_pairs("sift") == {(NAMES[0], NAMES[1]), (NAMES[0], NAMES[2])}
    assert store.match_pairs("other") == set()
    np.testing.assert_array_equal(store.read_matches("sift", NAMES[1], NAMES[0]), m)
    np.testing.assert_array_equal(store.read_matches("sift", NAMES[0], NAMES[1]), m[:, [1, 0, 2]])
    got = store.read_matches("sift", NAMES[0], NAMES[2])
    assert got.dtype == np.float64 and np.array_equal(got[:, 2], [1.0, 1.0])
    assert store.has_matches("sift", NAMES[2], NAMES[0]) and not store.has_matches("sift", NAMES[1], NAMES[2])
    with pytest.raises(MissingDataError):
        store.read_matches("sift", NAMES[1], NAMES[2])
    with pytest.raises(ValueError, match=r"\(M, 2\)"):
        store.write_matches("sift", NAMES[1], NAMES[2], np.zeros((3, 4)))


def test_h5_layout_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    with H5FeatureStore(path) as s:
        _types(s)
        s.write("keypoints", "sift", "map/x.jpg", np.ones((2, 4), np.float32))
        s.write_matches("sift", "b.jpg", "a.jpg", np.array([[1, 0]]))
    with h5py.File(path, "r") as f:
        assert f["keypoints/sift"].attrs["dtype"] == "float32" and f["keypoints/sift"].attrs["dsize"] == 4
        assert f["descriptors/sift"].attrs["keypoints_type"] == "sift"
        assert "map%2Fx.jpg" in f["keypoints/sift"]
        np.testing.assert_array_equal(f["matches/sift/a.jpg/b.jpg"][()], [[0, 1, 1.0]])
    with H5FeatureStore(path, mode="r") as s:
        assert s.read_type("keypoints", "sift").images == {"map/x.jpg"}
        np.testing.assert_array_equal(s.read("keypoints", "sift", "map/x.jpg"), np.ones((2, 4)))
    with pytest.raises(MissingDataError, match="missing"):
        H5FeatureStore(tmp_path / "none.h5", mode="r").types("keypoints")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(FormatError, match="junk.h5"):
        H5FeatureStore(tmp_path / "junk.h5", mode="r").types("keypoints")


def test_escape_round_trip() -> None:
    for name in ["a/b/c.jpg", "50%/x.jpg", "%2F.jpg", "é ü.png"]:
        assert "/" not in escape(name) and unescape(escape(name)) == name
