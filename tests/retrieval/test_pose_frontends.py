"""Distance / sequence pairs and retrieval evaluation from kapture folders (with a rig)."""

from __future__ import annotations

import numpy as np
import pytest

from kapturelike.core.image_poses import image_pose_table
from kapturelike.core.pose import camera_centers
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.pairs import read_pairs, write_pairs
from kapturelike.pipelines.pairs_files import distance_pairs_file, evaluate_pairs_file, sequence_pairs_file
from kapturelike.retrieval.evaluate import ranked_from_pairs
from kapturelike.retrieval.pose_pairs import (
    DistancePairsOptions,
)

CAM = Camera("PINHOLE", 640, 480, (500.0, 500.0, 320.0, 240.0))
IDENTITY = [1.0, 0.0, 0.0, 0.0]


def make_dataset(root, prefix, xs, rig_xs=()):
    """cam0 at x = xs (looking +z), and a rig whose cam1 sits 0.5 to the right of the rig centre."""
    ts = list(range(len(xs))) + list(range(100, 100 + len(rig_xs)))
    devs = ["cam0"] * len(xs) + ["rig"] * len(rig_xs)
    centres = np.array([[x, 0.0, 0.0] for x in list(xs) + list(rig_xs)]).reshape(-1, 3)
    traj = Trajectories(np.array(ts), np.array(devs, dtype=object), np.array([IDENTITY] * len(ts)), -centres)
    images = [((t, "cam0"), f"{prefix}/c0_{t:03d}.jpg") for t in ts[:len(xs)]]
    images += [((t, "cam1"), f"{prefix}/c1_{t:03d}.jpg") for t in ts[len(xs):]]
    kapture = Kapture(sensors={"cam0": CAM, "cam1": CAM},
                      rigs={"rig": {"cam1": Pose(np.array(IDENTITY), np.array([-0.5, 0.0, 0.0]))}},
                      trajectories=traj, records={"camera": Records.camera(images)})
    save_kapture(kapture, root)
    return kapture


def test_image_poses_with_rig(tmp_path):
    make_dataset(tmp_path, "map", [0.0, 1.0], rig_xs=[3.0])
    names, ts, sensors, q, t = image_pose_table(load_kapture(tmp_path))
    assert names == ["map/c0_000.jpg", "map/c0_001.jpg", "map/c1_100.jpg"]
    assert sensors.tolist() == ["cam0", "cam0", "cam1"] and ts.tolist() == [0, 1, 100]
    np.testing.assert_allclose(camera_centers(q, t)[:, 0], [0.0, 1.0, 3.5], atol=1e-12)


def test_distance_and_sequence_pairs_files(tmp_path):
    make_dataset(tmp_path / "map", "map", [0.0, 1.0, 2.0, 10.0], rig_xs=[2.4])
    make_dataset(tmp_path / "query", "query", [0.9])
    out = tmp_path / "pairs.txt"
    pairs = distance_pairs_file(tmp_path / "map", None, out, DistancePairsOptions(max_distance=1.5))
    assert read_pairs(out) == pairs
    as_set = {(a, b) for a, b, _ in pairs}
    assert ("map/c0_001.jpg", "map/c0_000.jpg") in as_set and ("map/c0_002.jpg", "map/c1_100.jpg") in as_set
    assert not any(a == b or "c0_003" in a for a, b in as_set)
    pairs = distance_pairs_file(tmp_path / "map", tmp_path / "query", out,
                                         DistancePairsOptions(max_distance=1.5, topk=1))
    assert pairs == [("query/c0_000.jpg", "map/c0_001.jpg", pytest.approx(2 - 0.1 / 1.5))]

    seq = sequence_pairs_file(tmp_path / "map", out, window=1)
    assert {(a, b) for a, b, _ in seq} == {("map/c0_000.jpg", "map/c0_001.jpg"), ("map/c0_001.jpg", "map/c0_000.jpg"),
                                           ("map/c0_001.jpg", "map/c0_002.jpg"), ("map/c0_002.jpg", "map/c0_001.jpg"),
                                           ("map/c0_002.jpg", "map/c0_003.jpg"), ("map/c0_003.jpg", "map/c0_002.jpg")}


def test_evaluate_pairs_file(tmp_path):
    make_dataset(tmp_path / "map", "map", [0.0, 10.0, 20.0])
    make_dataset(tmp_path / "query", "query", [0.5, 19.0, 50.0])
    pairs = [("query/c0_000.jpg", "map/c0_001.jpg", 0.9), ("query/c0_000.jpg", "map/c0_000.jpg", 0.5),
             ("query/c0_001.jpg", "map/c0_002.jpg", 0.7), ("query/c0_001.jpg", "unknown.jpg", 0.99)]
    write_pairs(tmp_path / "pairs.txt", pairs)
    ev = evaluate_pairs_file(tmp_path / "pairs.txt", tmp_path / "map", tmp_path / "query",
                                  max_distance=2.0, ks=(1, 2))
    assert ev.num_queries == 3
    np.testing.assert_allclose(ev.pose_hit_rate, [1 / 3, 2 / 3])


def test_ranked_from_pairs():
    ranked = ranked_from_pairs([("a", "x", 0.1), ("a", "y", 0.5), ("b", "x", 1.0), ("c", "x", 1.0)],
                               ["a", "b", "d"], ["x", "y"])
    np.testing.assert_array_equal(ranked, [[1, 0], [0, -1], [-1, -1]])
    assert ranked_from_pairs([], ["a"], ["x"]).shape == (1, 0)
