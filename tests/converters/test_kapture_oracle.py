"""Pose conventions cross-checked against the reference ``kapture`` package's own readers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kapturelike.converters.colmap import export_colmap
from kapturelike.converters.common import image_table
from kapturelike.converters.openmvg import export_openmvg
from kapturelike.core import pose as P
from kapturelike.core.sensors import Camera

from .conftest import make_dataset

reconstruction = pytest.importorskip("kapture.converter.colmap.import_colmap_reconstruction")
openmvg = pytest.importorskip("kapture.converter.openmvg.import_openmvg")


def _centres_by_name(records, trajectories) -> dict[str, np.ndarray]:
    out = {}
    import kapture

    for ts, sensor_id, name in kapture.flatten(records):
        pose = trajectories[ts, sensor_id]
        out[name] = pose.inverse().t.ravel()
    return out


def test_colmap_images_txt_read_by_kapture(tmp_path):
    src, _ = make_dataset(tmp_path / "k")
    export_colmap(tmp_path / "k", tmp_path / "m")
    records, trajectories, _ = reconstruction.import_from_colmap_images_txt(str(tmp_path / "m" / "images.txt"))
    table = image_table(src)
    ref = dict(zip(table.names, P.camera_centers(table.q, table.t)))
    theirs = _centres_by_name(records, trajectories)
    assert theirs.keys() == ref.keys()
    for name, c in ref.items():
        np.testing.assert_allclose(theirs[name], c, atol=1e-9)


def test_openmvg_read_by_kapture(tmp_path):
    cams = {"cam_00001": Camera("SIMPLE_RADIAL", 640, 480, (500.0, 320.0, 240.0, 0.01))}
    src, kp = make_dataset(tmp_path / "k", cameras=cams)
    doc = export_openmvg(tmp_path / "k", tmp_path / "sfm_data.json")
    theirs = openmvg.import_openmvg_sfm_data_json(json.loads((tmp_path / "sfm_data.json").read_text()),
                                                  str(tmp_path / "out"), {})
    table = image_table(src)
    ref = dict(zip(table.names, P.camera_centers(table.q, table.t)))
    got = _centres_by_name(theirs.records_camera, theirs.trajectories)
    assert len(got) == len(ref) == len(doc["extrinsics"])
    for name, c in ref.items():
        key = next(k for k in got if k.endswith(name.rsplit("/", 1)[-1]) and name.split("/")[1] in k)
        np.testing.assert_allclose(got[key], c, atol=1e-9)


def _kapture_records_and_poses(records, trajectories) -> dict[str, tuple[str, np.ndarray, np.ndarray] | str]:
    """image name -> (camera, q, t), or the camera alone for an image without pose, as kapture read them."""
    import kapture

    out = {}
    for ts, sensor_id, name in kapture.flatten(records):
        pose = trajectories[ts, sensor_id] if trajectories is not None and (ts, sensor_id) in trajectories else None
        out[name] = sensor_id if pose is None else (sensor_id, np.asarray(pose.r_raw, float),
                                                    np.asarray(pose.t_raw, float).ravel())
    return out


def _our_records_and_poses(k) -> dict[str, tuple[str, np.ndarray, np.ndarray] | str]:
    out = {}
    for name, key in k.image_keys().items():
        pose = k.trajectories[key] if k.trajectories is not None and key in k.trajectories else None
        out[name] = key[1] if pose is None else (key[1], pose.q, pose.t)
    return out


def _assert_same_images(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for name in ours:
        if isinstance(theirs[name], str):
            assert ours[name] == theirs[name], name
        else:
            assert ours[name][0] == theirs[name][0], name
            np.testing.assert_allclose(ours[name][1], theirs[name][1], atol=1e-12)
            np.testing.assert_allclose(ours[name][2], theirs[name][2], atol=1e-12)


def test_colmap_database_pose_priors_read_both_ways(tmp_path):
    """kapture's own import_colmap reads the images, cameras and pose priors of the database we export (COLMAP
    3.x's images.prior_* columns beside the 4.x tables), and we read a database kapture's export writes: the
    same records and poses both ways, equal to the dataset's (an image without pose has no prior)."""
    import_colmap = pytest.importorskip("kapture.converter.colmap.import_colmap")
    kapture_export = pytest.importorskip("kapture.converter.colmap.export_colmap")
    from kapturelike.converters.colmap_database import export_database, import_database
    from kapturelike.io.dataset import load_kapture, save_kapture

    src, _ = make_dataset(tmp_path / "k")
    src.trajectories = src.trajectories.select(np.arange(len(src.trajectories)) > 0)
    save_kapture(src, tmp_path / "k")
    expected = _our_records_and_poses(load_kapture(tmp_path / "k"))
    export_database(tmp_path / "k", tmp_path / "ours.db")
    theirs = import_colmap.import_colmap_database(str(tmp_path / "ours.db"), None, "sift", "sift")
    read_by_kapture = _kapture_records_and_poses(theirs.records_camera, theirs.trajectories)
    # kapture names cameras and timestamps by COLMAP ids: compare poses by image name
    assert read_by_kapture.keys() == expected.keys()
    unposed = [n for n, v in expected.items() if isinstance(v, str)]
    assert len(unposed) == 1 and isinstance(read_by_kapture[unposed[0]], str)
    for name, value in expected.items():
        if name not in unposed:
            np.testing.assert_allclose(read_by_kapture[name][1], value[1], atol=1e-12)
            np.testing.assert_allclose(read_by_kapture[name][2], value[2], atol=1e-12)
    kapture_export.export_colmap(str(tmp_path / "k"), str(tmp_path / "theirs.db"), None)
    ours = import_database(tmp_path / "theirs.db", tmp_path / "ours_of_theirs", keypoints_type="sift",
                           descriptors_type="sift")
    theirs = import_colmap.import_colmap_database(str(tmp_path / "theirs.db"), None, "sift", "sift")
    theirs = _kapture_records_and_poses(theirs.records_camera, theirs.trajectories)
    # kapture writes a zero quaternion for an image without pose and reads it back as a pose: we read no pose
    assert not np.any(theirs[unposed[0]][1])
    theirs[unposed[0]] = theirs[unposed[0]][0]
    _assert_same_images(_our_records_and_poses(ours), theirs)
