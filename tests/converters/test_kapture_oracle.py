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
