"""kapture_import_12scenes on a tiny scene in 12-Scenes' layout, against kapture's own importer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.twelve_scenes import TwelveScenesOptions, import_12scenes
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.tools import kapture_import_12scenes

from .oracle import assert_same_kapture, kapture_tool, transfer
from .test_7scenes import camera_to_world

INFO = """m_versionNumber = 4
m_sensorName = StructureSensor
m_colorWidth = 16
m_colorHeight = 12
m_depthWidth = 8
m_depthHeight = 6
m_depthShift = 1000
m_calibrationColorIntrinsic = 20.5 0 8.25 0 0 21 6.5 0 0 0 1 0 0 0 0 1
m_calibrationColorExtrinsic = 1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1
m_calibrationDepthIntrinsic = 10 0 4 0 0 10.5 3 0 0 0 1 0 0 0 0 1
m_calibrationDepthExtrinsic = 1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1
m_frames.size = 5
"""


def make_scene(root: Path, n_frames: int = 5) -> None:
    (root / "data").mkdir(parents=True)
    (root / "info.txt").write_text(INFO)
    (root / "split.txt").write_text("sequence0 [frames=2]  [start=0 ; end=1]\nsequence1 [frames=3]  "
                                    "[start=2 ; end=4]\n")
    for f in range(n_frames):
        stem = root / "data" / f"frame-{f:06d}"
        cv2.imwrite(f"{stem}.color.jpg", np.full((12, 16, 3), 20 * f, np.uint8))
        depth = (np.arange(48).reshape(6, 8) * 10 + 500 + f).astype(np.uint16)
        cv2.imwrite(f"{stem}.depth.png", depth)
        if f == 3:  # a frame the tracker lost
            (stem.parent / f"{stem.name}.pose.txt").write_text("-INF -INF -INF -INF\n" * 4)
        else:
            np.savetxt(f"{stem}.pose.txt", camera_to_world(f), fmt="%.10e")


def test_12scenes_pose_by_hand_and_records(tmp_path: Path) -> None:
    make_scene(tmp_path / "raw")
    out = tmp_path / "kapture"
    assert kapture_import_12scenes.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q",
                                         "--image_transfer", "copy"]) == 0
    k = load_kapture(out)
    assert len(k.records["camera"]) == 5 and len(k.records["depth"]) == 10
    assert len(k.trajectories) == 4 and (3, "rgbd_rig") not in k.trajectories  # INF pose left out
    M = np.loadtxt(tmp_path / "raw" / "data" / "frame-000004.pose.txt")
    pose = k.trajectories[4, "rgbd_rig"]
    np.testing.assert_allclose(P.to_matrix(pose.q, pose.t) @ M, np.eye(4), atol=1e-9)
    assert k.sensors["ipad_camera"].params == (20.5, 21.0, 8.25, 6.5)
    image = records_data_path(out, "frame-000001.color.jpg")
    assert image.is_file() and not image.is_symlink()
    assert kapture_import_12scenes.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q", "-f",
                                         "-p", "mapping"]) == 0
    assert [ts for ts, _ in load_kapture(out).records["camera"].keys()] == [2, 3, 4]


def test_12scenes_same_as_kapture(tmp_path: Path) -> None:
    oracle = kapture_tool("kapture_import_12scenes")
    make_scene(tmp_path / "raw")
    for partition in (None, "query"):
        ours, theirs = tmp_path / f"ours_{partition}", tmp_path / f"theirs_{partition}"
        import_12scenes(tmp_path / "raw", ours, TwelveScenesOptions(partition=partition, progress=False))
        oracle.import_12scenes(str(tmp_path / "raw"), str(theirs), True, transfer("link_absolute"), partition)
        assert_same_kapture(ours, theirs)
        for name in load_kapture(ours).records["depth"].paths:  # raw and registered depth: same bytes
            assert records_data_path(ours, name).read_bytes() == records_data_path(theirs, name).read_bytes()
