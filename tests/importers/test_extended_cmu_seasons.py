"""kapture_import_Extended_CMU_Seasons on a tiny slice in its raw layout, against kapture's importer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.common import TransferAction
from kapturelike.importers.extended_cmu_seasons import ExtendedCmuOptions, import_extended_cmu_seasons
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.tools import kapture_import_Extended_CMU_Seasons

from .oracle import assert_same_kapture, kapture_tool, transfer

LINE = "img_{n:05d}_{cam}_{ts}us.jpg"


def make_cmu(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "intrinsics.txt").write_text("# Camera ID, model, w, h, fx, fy, cx, cy, k1, k2, p1, p2\n"
                                         "c0 OPENCV 1024 768 868.99 866.06 525.94 420.04 -0.399 0.188 0.0004 -0.0004\n"
                                         "c1 OPENCV 1024 768 873.38 876.49 529.32 397.27 -0.397 0.181 0.0002 0.0002\n")
    s = root / "slice2"
    for sub in ("database", "query", "camera-poses"):
        (s / sub).mkdir(parents=True)
    (s / "ground-truth-database-images-slice2.txt").write_text(
        LINE.format(n=1, cam="c0", ts=1000) + " 0.636779 0.569692 0.379586 -0.354792 -85.392177 55.210379 -2.9807\n" +
        LINE.format(n=2, cam="c1", ts=1000) + " 0.5 0.5 -0.5 0.5 1 2 3\n")
    (s / "test-images-slice2.txt").write_text("\n".join(LINE.format(n=n, cam="c0", ts=2000 + n) for n in (3, 4, 5)))
    (s / "camera-poses" / "slice2.txt").write_text(LINE.format(n=4, cam="c0", ts=2004) + " 1 0 0 0 4 5 6\n")
    for name in (LINE.format(n=1, cam="c0", ts=1000), LINE.format(n=9, cam="c1", ts=9000)):
        (s / "database" / name).write_bytes(b"jpg")


def test_cmu_by_hand(tmp_path: Path) -> None:
    make_cmu(tmp_path / "raw")
    out = tmp_path / "kapture"
    assert kapture_import_Extended_CMU_Seasons.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q",
                                                     "--slice-range", "2", "--all-files",
                                                     "--image_transfer", "link_relative"]) == 0
    mapping = load_kapture(out / "slice2" / "mapping")
    pose = mapping.trajectories[1000, "c0"]  # R from the quaternion, t = -R C
    R = P.quat_to_rotmat([0.636779, 0.569692, 0.379586, -0.354792])
    np.testing.assert_allclose(pose.t, -R @ [-85.392177, 55.210379, -2.9807], atol=1e-9)
    assert len(mapping.records["camera"]) == 3  # two listed, one more found in the folder
    assert records_data_path(out / "slice2" / "mapping", LINE.format(n=9, cam="c1", ts=9000)).is_symlink()
    query = load_kapture(out / "slice2" / "query")
    assert len(query.records["camera"]) == 3 and query.trajectories.keys() == [(2004, "c0")]
    assert mapping.sensors["c1"].model == "OPENCV"


def test_cmu_same_as_kapture(tmp_path: Path) -> None:
    oracle = kapture_tool("kapture_import_Extended_CMU_Seasons")
    make_cmu(tmp_path / "raw")
    import_extended_cmu_seasons(tmp_path / "raw", tmp_path / "ours",
                                ExtendedCmuOptions([2], True, TransferAction.skip, progress=False))
    oracle.import_extended_cmu_seasons(str(tmp_path / "raw"), str(tmp_path / "theirs"), [2], True, True,
                                       transfer("skip"))
    for part in ("slice2/mapping", "slice2/query"):
        assert_same_kapture(tmp_path / "ours" / part, tmp_path / "theirs" / part)
