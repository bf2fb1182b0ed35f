"""kapture_import_image_list_with_poses on a tiny list, against kapture's own importer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kapturelike.importers.image_list_with_poses import ImageListWithPosesOptions, import_image_list_with_poses
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.tools import kapture_import_image_list_with_poses

from .oracle import assert_same_kapture, kapture_tool, transfer

CALIBRATION = """%YAML:1.0
---
camera_name: cam0
image_width: 8
image_height: 6
camera_matrix: !!opencv-matrix
   rows: 3
   cols: 3
   dt: d
   data: [ 10.5, 0., 4., 0., 11., 3., 0., 0., 1. ]
distortion_coefficients: !!opencv-matrix
   rows: 1
   cols: 5
   dt: d
   data: [ 0.1, -0.01, 0.001, 0.002, 0. ]
"""


def make_list(root: Path) -> Path:
    for i, (folder, size) in enumerate((("a", (6, 8)), ("a", (6, 8)), ("b/c", (12, 16)))):
        (root / "images" / folder).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "images" / folder / f"{i}.png"), np.full(size + (3,), 40 * i, np.uint8))
    lines = ["# timestamp, camera_id, image_path, qw, qx, qy, qz, tx, ty, tz",
             "1, cam0, a/0.png, 0.5, 0.5, -0.5, 0.5, 1.25, -2.5, 3",
             "2, cam0, a/1.png, 1, 0, 0, 0, 0.1, 0.2, 0.3",
             "3, cam1, b/c/2.png, 0.7071067811865476, 0, 0.7071067811865476, 0, , , ",
             "4, cam1, b/c/missing.png, 1, 0, 0, 0, 4, 5, 6"]
    (root / "list.txt").write_text("\n".join(lines) + "\n")
    (root / "calib.yml").write_text(CALIBRATION)
    return root / "list.txt"


def test_image_list_with_poses_by_hand(tmp_path: Path) -> None:
    lst = make_list(tmp_path)
    out = tmp_path / "kapture"
    assert kapture_import_image_list_with_poses.main(["-l", str(lst), "--top_dir_images", str(tmp_path / "images"),
                                                      "-k", str(out), "-q"]) == 0
    k = load_kapture(out)
    pose = k.trajectories[1, "cam0"]  # written as given (world-to-camera)
    assert pose.q.tolist() == [0.5, 0.5, -0.5, 0.5] and pose.t.tolist() == [1.25, -2.5, 3.0]
    assert k.trajectories[3, "cam1"].t is None or np.isnan(k.trajectories[3, "cam1"].t).all()
    assert len(k.trajectories) == 4 and len(k.records["camera"]) == 3  # the missing image keeps its pose
    assert k.records["camera"][3, "cam1"] == "b/c/2.png"
    assert (k.sensors["cam1"].width, k.sensors["cam1"].height) == (16, 12)
    assert records_data_path(out, "a/0.png").is_file() and not records_data_path(out, "a/0.png").is_symlink()
    # relative paths need the top folder: one-line error, exit 1
    assert kapture_import_image_list_with_poses.main(["-l", str(lst), "-k", str(tmp_path / "k2"), "-q"]) == 1
    # a calibration file gives its camera to every camera id of the list
    assert kapture_import_image_list_with_poses.main(["-l", str(lst), "--top_dir_images", str(tmp_path / "images"),
                                                      "-c", str(tmp_path / "calib.yml"), "-k", str(tmp_path / "k3"),
                                                      "-q", "--image_action", "skip"]) == 0
    sensors = load_kapture(tmp_path / "k3").sensors
    assert sensors["cam1"] == sensors["cam0"] and sensors["cam0"].model == "OPENCV"
    assert sensors["cam0"].params == (10.5, 11.0, 4.0, 3.0, 0.1, -0.01, 0.001, 0.002)
    assert not records_data_path(tmp_path / "k3").exists()


def test_image_list_with_poses_same_as_kapture(tmp_path: Path) -> None:
    oracle = kapture_tool("kapture_import_image_list_with_poses")
    lst = make_list(tmp_path)
    top = str(tmp_path / "images")
    (tmp_path / "cam0.txt").write_text("".join(line for line in lst.read_text().splitlines(True)
                                               if "cam1" not in line))
    for calib, no_images in ((None, False), (tmp_path / "calib.yml", False), (None, True)):
        tag = f"{calib is not None}_{no_images}"
        lst = tmp_path / ("cam0.txt" if calib else "list.txt")  # kapture files the calibration as cam0 only
        ours, theirs = tmp_path / f"ours_{tag}", tmp_path / f"theirs_{tag}"
        import_image_list_with_poses(lst, ours, ImageListWithPosesOptions(
            top, calib and str(calib), do_not_import_images=no_images, progress=False))
        oracle.import_image_list_with_poses(str(lst), top, calib and str(calib), str(theirs), True,
                                            transfer("copy"), no_images)
        assert_same_kapture(ours, theirs)
        for name in load_kapture(theirs).records["camera"].paths:
            assert records_data_path(ours, name).read_bytes() == records_data_path(theirs, name).read_bytes()
