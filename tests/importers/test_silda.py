"""kapture_import_silda on a tiny SILDa folder in its raw layout, against kapture's own importer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.common import TransferAction
from kapturelike.importers.silda import SildaOptions, import_silda
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.tools import kapture_import_silda

from .oracle import assert_same_kapture, kapture_tool, transfer
from .test_7scenes import camera_to_world


def make_silda(root: Path) -> None:
    for sub in ("silda-images", "camera-intrinsics"):
        (root / sub).mkdir(parents=True)
    poses = []
    for ts in (12, 13, 14):
        for cam in (0, 1):
            (root / "silda-images" / f"{ts}_{cam}.png").write_bytes(b"png")
            (root / "camera-intrinsics" / f"{ts}_{cam}.intrinsics").write_text(f"0.{5 + cam}1 0.49\n")
            q, t = P.from_matrix(camera_to_world(ts + 10 * cam))
            poses.append(f"{ts}_{cam}.png " + " ".join(repr(float(v)) for v in [*q, *t]))
    (root / "silda-train-poses.txt").write_text("\n".join(poses[:4]) + "\n")  # the last shot has no pose
    (root / "train_imgs.txt").write_text("12_0.png\n12_1.png\n13_0.png\n13_1.png\n")
    (root / "query_imgs.txt").write_text("14_0.png\n14_1.png\n")


def test_silda_by_hand(tmp_path: Path) -> None:
    make_silda(tmp_path / "raw")
    out = tmp_path / "kapture"
    assert kapture_import_silda.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q", "-s",
                                      "--image_transfer", "copy"]) == 0
    k = load_kapture(out)
    assert len(k.records["camera"]) == 6 and len(k.trajectories) == 4
    assert k.records["camera"][13, "1"] == "1/0013.png" and records_data_path(out, "1/0013.png").read_bytes() == b"png"
    pose = k.trajectories[13, "1"]  # the inverse of the file's camera-to-world
    np.testing.assert_allclose(P.to_matrix(pose.q, pose.t) @ camera_to_world(23), np.eye(4), atol=1e-12)
    assert k.sensors["1"].model == "FOV" and k.sensors["1"].params[2:4] == (0.61 * 1024, 0.49 * 1024)
    assert kapture_import_silda.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q", "-f", "--rig_collapse",
                                      "--corpus", "mapping", "--cam_model", "OPENCV_FISHEYE"]) == 0
    k = load_kapture(out)
    assert set(k.trajectories.device_ids) == {"silda_rig"} and len(k.trajectories) == 2
    assert kapture_import_silda.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q", "-f", "-s",
                                      "--image_transfer", "root_link"]) == 1


def test_silda_same_as_kapture(tmp_path: Path) -> None:
    oracle = kapture_tool("kapture_import_silda")
    make_silda(tmp_path / "raw")
    for model, split, corpus, collapse in (("FOV", False, None, False), ("OPENCV_FISHEYE", True, "mapping", True)):
        ours, theirs = tmp_path / f"ours_{model}", tmp_path / f"theirs_{model}"
        import_silda(tmp_path / "raw", ours, SildaOptions(model, split, corpus, collapse, TransferAction.skip,
                                                          progress=False))
        oracle.import_silda(str(tmp_path / "raw"), str(theirs), model, split, corpus, collapse, True,
                            transfer("skip"))
        assert_same_kapture(ours, theirs)
