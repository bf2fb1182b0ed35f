"""Shared importer pieces: record transfer (every kapture action, resume), output preparation, rig collapse
(against kapture's rigs_recover_inplace), depth registration."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from kapturelike.core import pose as P
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.importers.common import (
    DatasetImportError,
    TransferAction,
    collapse_to_rig,
    intrinsic_matrix,
    prepare_output,
    register_depth,
    transfer_records_data,
)
from kapturelike.io.dataset import records_data_path


def make_source(root: Path) -> list[str]:
    names = ["a/1.jpg", "a/2.jpg", "b/3.jpg"]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode())
    return names


@pytest.mark.parametrize("action", ["copy", "move", "link_absolute", "link_relative"])
def test_transfer_actions_and_resume(tmp_path: Path, action: str) -> None:
    names = make_source(tmp_path / "src")
    out = tmp_path / "out"
    assert transfer_records_data(tmp_path / "src", out, names, TransferAction(action), progress=False) == 3
    for name in names:
        dst = records_data_path(out, name)
        assert dst.read_bytes() == name.encode()
        assert dst.is_symlink() == action.startswith("link")
        if action == "link_relative":
            assert not os.path.isabs(os.readlink(dst))
        if action == "link_absolute":
            assert os.path.isabs(os.readlink(dst))
        assert (tmp_path / "src" / name).exists() == (action != "move")
    # a second run (resume) transfers nothing and keeps every file
    assert transfer_records_data(tmp_path / "src", out, names, TransferAction(action), progress=False) == 0
    assert all(records_data_path(out, n).read_bytes() == n.encode() for n in names)


def test_root_link_skip_and_missing(tmp_path: Path) -> None:
    names = make_source(tmp_path / "src")
    assert transfer_records_data(tmp_path / "src", tmp_path / "o1", names, "skip", progress=False) == 0
    assert not records_data_path(tmp_path / "o1").exists()
    assert transfer_records_data(tmp_path / "src", tmp_path / "o2", names, "root_link", progress=False) == 1
    assert records_data_path(tmp_path / "o2").is_symlink()
    assert records_data_path(tmp_path / "o2", "b/3.jpg").read_bytes() == b"b/3.jpg"
    assert transfer_records_data(tmp_path / "src", tmp_path / "o2", names, "root_link", progress=False) == 0
    warnings: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warnings.append  # the tools' logging setup stops propagation: listen on the logger itself
    logger = logging.getLogger("kapturelike.importers")
    level, logger.level = logger.level, logging.WARNING
    logger.addHandler(handler)
    try:
        done = transfer_records_data(tmp_path / "src", tmp_path / "o3", names + ["c/none.jpg"], "copy",
                                     progress=False)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert done == 3 and "1 record file(s) missing" in warnings[0].getMessage()


def test_prepare_output_keeps_transferred_records(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare_output(out)
    (out / "sensors" / "records_data").mkdir(parents=True)
    (out / "sensors" / "records_data" / "x.jpg").write_bytes(b"x")
    prepare_output(out)  # an interrupted import (no text file yet): goes on without --force
    (out / "sensors" / "sensors.txt").write_text("# kapture format: 1.1\n")
    with pytest.raises(DatasetImportError, match="use -f/--force"):
        prepare_output(out)
    prepare_output(out, force=True)
    assert not (out / "sensors" / "sensors.txt").exists() and (out / "sensors" / "records_data" / "x.jpg").exists()


def test_collapse_to_rig_as_kapture(tmp_path: Path) -> None:
    kapture = pytest.importorskip("kapture")
    rng = np.random.default_rng(3)
    q = P.normalize_quaternions(rng.normal(size=(5, 4)))
    t = rng.normal(size=(5, 3))
    rig = {"rig": {"cam0": Pose(P.normalize_quaternions([1, 0.1, 0.2, 0.3]), np.array([0.1, 0, 0])),
                   "cam1": Pose(P.normalize_quaternions([1, -0.2, 0.1, 0]), np.array([-0.1, 0.02, 0]))}}
    stamps = np.array([1, 1, 2, 3, 3])
    devices = np.array(["cam0", "cam1", "cam1", "cam0", "other"], dtype=object)
    ours = collapse_to_rig(Trajectories(stamps, devices, q, t), rig, ["cam1"])
    theirs = kapture.Trajectories()
    for i in range(5):
        theirs[int(stamps[i]), devices[i]] = kapture.PoseTransform(q[i], t[i])
    rigs = kapture.Rigs()
    for sid, pose in rig["rig"].items():
        rigs["rig", sid] = kapture.PoseTransform(pose.q, pose.t)
    kapture.rigs_recover_inplace(theirs, rigs, ["cam1"])
    keys = sorted((ts, d) for ts, d, _ in kapture.flatten(theirs))
    assert ours.keys() == keys == [(1, "rig"), (2, "rig"), (3, "other")]
    for ts, device in keys:
        expected = theirs[ts, device]
        np.testing.assert_allclose(ours[ts, device].t, expected.t.ravel(), atol=1e-12)
        assert P.rotation_error_deg(ours[ts, device].q, expected.r_raw) < 1e-6


def test_register_depth_same_camera_is_identity() -> None:
    K = intrinsic_matrix(5.0, 5.0, 3.5, 2.5)
    depth = np.arange(1, 49, dtype=np.float32).reshape(6, 8) / 10
    np.testing.assert_allclose(register_depth(K, K, np.eye(4), depth, 8, 6), depth, rtol=1e-6)
    # moved 0.4 m along x at depth 1 m with f=5: every pixel lands 2 columns right, the first two are holes
    shifted = np.eye(4)
    shifted[0, 3] = 0.4
    flat = np.ones((6, 8), np.float32)
    moved = register_depth(K, K, shifted, flat, 8, 6)
    assert (moved[:, :2] == 0).all() and (moved[:, 2:] == 1).all()
