"""kapture_import_7scenes on a tiny scene in 7-Scenes' layout, against kapture's own importer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.common import read_depth_map
from kapturelike.importers.seven_scenes import SevenScenesOptions, import_7scenes
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.tools import kapture_import_7scenes

from .oracle import assert_same_kapture, kapture_tool, transfer


def camera_to_world(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    M = np.eye(4)
    M[:3, :3] = P.quat_to_rotmat(P.normalize_quaternions(rng.normal(size=4)))
    M[:3, 3] = rng.uniform(-2, 2, 3)
    return M


def make_scene(root: Path, n_frames: int = 2) -> None:
    """seq-01 (train) and seq-02 (test), frames of colour, 16-bit depth (mm, 65535 invalid) and pose."""
    root.mkdir(parents=True)
    (root / "TrainSplit.txt").write_text("sequence1\n")
    (root / "TestSplit.txt").write_text("sequence2\n")
    for s, seq in enumerate(("seq-01", "seq-02")):
        (root / seq).mkdir(parents=True)
        for f in range(n_frames):
            stem = root / seq / f"frame-{f:06d}"
            cv2.imwrite(f"{stem}.color.png", np.full((6, 8, 3), 10 * f + s, np.uint8))
            depth = np.full((6, 8), 1000 + 100 * f, np.uint16)
            depth[0, 0] = 65535
            cv2.imwrite(f"{stem}.depth.png", depth)
            np.savetxt(f"{stem}.pose.txt", camera_to_world(10 * s + f), fmt="%.10e")


def test_7scenes_pose_by_hand_and_records(tmp_path: Path) -> None:
    make_scene(tmp_path / "raw")
    out = tmp_path / "kapture"
    assert kapture_import_7scenes.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q"]) == 0
    k = load_kapture(out)
    assert len(k.records["camera"]) == 4 and len(k.records["depth"]) == 8 and len(k.trajectories) == 4
    assert k.records["camera"][2, "kinect_rgb"] == "seq-02/frame-000000.color.png"
    # seq-02 frame 0 is shot 2: its pose is the inverse of the camera-to-world matrix of the file
    M = np.loadtxt(tmp_path / "raw" / "seq-02" / "frame-000000.pose.txt")
    pose = k.trajectories[2, "kinect"]
    np.testing.assert_allclose(P.to_matrix(pose.q, pose.t) @ M, np.eye(4), atol=1e-9)
    # images linked (kapture's default), depth in metres with invalid -> 0
    assert records_data_path(out, "seq-01/frame-000001.color.png").is_symlink()
    depth = read_depth_map(records_data_path(out, "seq-01/frame-000001.depth"), 8, 6)
    assert depth[0, 0] == 0 and depth[1, 1] == np.float32(1100) * np.float32(1e-3)
    assert set(k.rigs["kinect"]) == {"kinect_rgb", "kinect_depth", "kinect_depth_reg"}
    # a second run needs --force; the partition keeps the authors' test sequence only, stamps kept
    assert kapture_import_7scenes.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q"]) == 1
    assert kapture_import_7scenes.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q", "-f",
                                        "-p", "query", "--image_transfer", "skip"]) == 0
    assert load_kapture(out).records["camera"].keys() == [(2, "kinect_rgb"), (3, "kinect_rgb")]


def test_7scenes_same_as_kapture(tmp_path: Path) -> None:
    oracle = kapture_tool("kapture_import_7scenes")
    make_scene(tmp_path / "raw")
    for partition in (None, "mapping"):
        ours, theirs = tmp_path / f"ours_{partition}", tmp_path / f"theirs_{partition}"
        import_7scenes(tmp_path / "raw", ours, SevenScenesOptions(partition=partition, progress=False))
        oracle.import_7scenes(str(tmp_path / "raw"), str(theirs), True, transfer("link_absolute"), partition)
        assert_same_kapture(ours, theirs)
        for name in load_kapture(ours).records["depth"].paths:
            if not name.endswith(".reg"):  # raw depth maps: same bytes (kapture's .reg use other intrinsics)
                assert records_data_path(ours, name).read_bytes() == records_data_path(theirs, name).read_bytes()
