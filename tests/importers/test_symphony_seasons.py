"""kapture_import_symphony_seasons on tiny file lists, against kapture's own importer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.common import TransferAction
from kapturelike.importers.symphony_seasons import QUERY_FILES, SymphonyOptions, import_symphony_seasons
from kapturelike.io.dataset import load_kapture
from kapturelike.tools import kapture_import_symphony_seasons

from .oracle import assert_same_kapture, kapture_tool, transfer

Q = [0.6367790454, 0.5696920406, 0.3795860271, -0.3547920253]


def make_symphony(root: Path) -> None:
    (root / "file_list").mkdir(parents=True)
    (root / "file_list" / "db.txt").write_text(
        "0001/img_0001.jpg " + " ".join(map(str, Q)) + " 10.5 -2 3.25\n0001/img_0002.jpg 1 0 0 0 1 2 3\n")
    for i, name in enumerate(QUERY_FILES):
        (root / "file_list" / name).write_text(f"q/{name}_{i}.jpg\n" + ("0001/img_0002.jpg\n" if i == 0 else ""))


def test_symphony_by_hand(tmp_path: Path) -> None:
    make_symphony(tmp_path / "raw")
    out = tmp_path / "kapture"
    assert kapture_import_symphony_seasons.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q"]) == 0
    k = load_kapture(out)
    assert len(k.records["camera"]) == 2 + len(QUERY_FILES)  # the image listed twice keeps its first line
    pose = k.trajectories[0, "camera_0"]
    np.testing.assert_allclose(pose.t, -P.quat_to_rotmat(Q) @ [10.5, -2, 3.25], atol=1e-9)
    assert k.records["camera"][2, "camera_0"] == "q/autumn-dawn.txt_0.jpg"
    assert kapture_import_symphony_seasons.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q", "-f",
                                                 "-p", "query"]) == 0
    assert load_kapture(out).trajectories is None


def test_symphony_same_as_kapture(tmp_path: Path) -> None:
    oracle = kapture_tool("kapture_import_symphony_seasons")
    make_symphony(tmp_path / "raw")
    for partition in (None, "mapping"):
        ours, theirs = tmp_path / f"ours_{partition}", tmp_path / f"theirs_{partition}"
        import_symphony_seasons(tmp_path / "raw", ours, SymphonyOptions(TransferAction.skip, partition,
                                                                        progress=False))
        oracle.import_symphony_seasons(str(tmp_path / "raw"), str(theirs), True, transfer("skip"), partition)
        assert_same_kapture(ours, theirs)
