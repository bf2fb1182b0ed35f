"""kapture_import_RIO10 on a tiny scene in RIO10's layout, against kapture's own importer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.common import TransferAction, read_depth_map
from kapturelike.importers.rio10 import INTRINSICS, Rio10Options, import_rio10
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.tools import kapture_import_RIO10

from .oracle import assert_same_kapture, kapture_tool, transfer
from .test_7scenes import camera_to_world


def make_rio10(root: Path) -> None:
    """Scene 2: mapping seq02_01 (frames 0-1), validation seq02_02, tests seq02_03 and seq02_05 (no pose)."""
    folder = root / "scene02" / "seq02"
    for seq, frames, posed in (("01", (0, 1), True), ("02", (0,), True), ("03", (0, 2), False),
                               ("05", (1,), False)):
        (folder / f"seq02_{seq}").mkdir(parents=True)
        for f in frames:
            stem = folder / f"seq02_{seq}" / f"frame-{f:06d}"
            cv2.imwrite(f"{stem}.color.jpg", np.zeros((4, 3, 3), np.uint8))
            cv2.imwrite(f"{stem}.rendered.depth.png", np.full((4, 3), 1500 + f, np.uint16))
            if posed:
                np.savetxt(f"{stem}.pose.txt", camera_to_world(f + int(seq)), fmt="%.17g")


def test_rio10_by_hand(tmp_path: Path) -> None:
    make_rio10(tmp_path / "raw")
    out = tmp_path / "kapture"
    assert kapture_import_RIO10.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q"]) == 0
    mapping = load_kapture(out / "scene02" / "mapping")
    pose = mapping.trajectories[1, "seq02_01"]
    np.testing.assert_allclose(P.to_matrix(pose.q, pose.t) @ camera_to_world(2), np.eye(4), atol=1e-12)
    assert mapping.sensors["seq02_01_rgb"].params == (756.026, 756.832, 270.419, 492.889)
    depth = read_depth_map(records_data_path(out / "scene02" / "mapping", "seq02_01/frame-000001.rendered.depth"),
                           3, 4)
    assert depth[0, 0] == np.float32(1501) * np.float32(1e-3)
    testing = load_kapture(out / "scene02" / "testing")
    # seq02_05 starts after seq02_03's last frame (2) + 1 + 999
    assert testing.records["camera"].keys() == [(0, "seq02_03_rgb"), (2, "seq02_03_rgb"), (1003, "seq02_05_rgb")]
    assert testing.trajectories is None
    assert len(INTRINSICS) == 74


def test_rio10_same_as_kapture(tmp_path: Path) -> None:
    oracle = kapture_tool("kapture_import_RIO10")
    make_rio10(tmp_path / "raw")
    import_rio10(tmp_path / "raw", tmp_path / "ours", Rio10Options(TransferAction.skip, progress=False))
    oracle.import_rio10(str(tmp_path / "raw"), str(tmp_path / "theirs"), True, transfer("skip"))
    assert INTRINSICS == {k: tuple(v) for k, v in oracle.INTRINSICS.items()}
    for part in ("mapping", "validation", "testing"):
        ours, theirs = tmp_path / "ours" / "scene02" / part, tmp_path / "theirs" / "scene02" / part
        assert_same_kapture(ours, theirs)
        for name in load_kapture(ours).records["depth"].paths:
            assert records_data_path(ours, name).read_bytes() == records_data_path(theirs, name).read_bytes()
