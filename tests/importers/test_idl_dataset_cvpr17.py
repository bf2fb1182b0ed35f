"""kapture_import_IDL_dataset_cvpr17 on a tiny image folder with ground truth, against kapture's importer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.common import TransferAction
from kapturelike.importers.idl_dataset_cvpr17 import IdlOptions, import_idl_dataset_cvpr17
from kapturelike.io.dataset import load_kapture
from kapturelike.tools import kapture_import_IDL_dataset_cvpr17

from .oracle import assert_same_kapture, kapture_tool, transfer
from .test_7scenes import camera_to_world


def make_idl(root: Path) -> None:
    (root / "images" / "seq1").mkdir(parents=True)
    (root / "gt" / "seq1").mkdir(parents=True)
    cv2.imwrite(str(root / "images" / "seq1" / "a.jpg"), np.zeros((6, 8, 3), np.uint8))
    (root / "images" / "seq1" / "notes.txt").write_text("not an image")
    cv2.imwrite(str(root / "images" / "seq1" / "c.png"), np.zeros((12, 10), np.uint8))
    M = camera_to_world(4)
    rows = ["500.5 0 4.25", "0 501 3.5", "0 0 1", "0 0 0"] + [" ".join(repr(float(v)) for v in r) for r in M[:3, :3]]
    rows += [" ".join(repr(float(v)) for v in M[:3, 3]), "8 6"]
    (root / "gt" / "seq1" / "a.camera").write_text("\n".join(rows) + "\n")


def test_idl_by_hand(tmp_path: Path) -> None:
    make_idl(tmp_path)
    out = tmp_path / "kapture"
    assert kapture_import_IDL_dataset_cvpr17.main(["-i", str(tmp_path / "images"), "-gt", str(tmp_path / "gt"),
                                                   "-o", str(out), "-q"]) == 0
    k = load_kapture(out)
    assert k.records["camera"].keys() == [(0, "sensor0"), (1, "sensor1")]  # notes.txt (rank 2) is no image
    pose = k.trajectories[0, "sensor0"]
    np.testing.assert_allclose(P.to_matrix(pose.q, pose.t) @ camera_to_world(4), np.eye(4), atol=1e-12)
    assert k.sensors["sensor0"].params == (500.5, 501.0, 4.25, 3.5)
    assert (k.sensors["sensor1"].model, k.sensors["sensor1"].width, k.sensors["sensor1"].height) == \
        ("UNKNOWN_CAMERA", 10, 12)


def test_idl_same_as_kapture(tmp_path: Path) -> None:
    oracle = kapture_tool("kapture_import_IDL_dataset_cvpr17")
    make_idl(tmp_path)
    import_idl_dataset_cvpr17(tmp_path / "images", tmp_path / "ours",
                              IdlOptions(str(tmp_path / "gt"), TransferAction.skip, progress=False))
    oracle.import_idl_dataset_cvpr17(str(tmp_path / "images"), str(tmp_path / "gt"), str(tmp_path / "theirs"), True,
                                     transfer("skip"))
    assert_same_kapture(tmp_path / "ours", tmp_path / "theirs")
