"""Round trips kapture -> X -> kapture for NVM, Bundler, OpenMVG, OpenSfM, and their malformed inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kapturelike.converters.bundler import bundler_to_kapture, export_bundler, import_bundler
from kapturelike.converters.common import ConversionError, image_table
from kapturelike.converters.nvm import export_nvm, import_nvm, nvm_to_kapture
from kapturelike.converters.openmvg import export_openmvg, import_openmvg, openmvg_to_kapture
from kapturelike.converters.opensfm import export_opensfm, import_opensfm, opensfm_to_kapture
from kapturelike.core import pose as P
from kapturelike.core.sensors import Camera
from kapturelike.errors import FormatError
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore

from .conftest import make_dataset


def _poses_close(a, b):
    ta, tb = image_table(a), image_table(b)
    assert ta.names == tb.names
    np.testing.assert_allclose(P.canonical_quaternions(ta.q), P.canonical_quaternions(tb.q), atol=1e-12)
    np.testing.assert_allclose(ta.t, tb.t, atol=1e-12)
    return ta, tb


def _observed_xy(kapture, keypoints):
    """(point id, image) -> keypoint xy, the part of keypoints every format keeps."""
    obs = kapture.observations
    return {(int(p), n): tuple(np.asarray(keypoints(n))[f, :2].tolist())
            for p, n, f in zip(obs.point_ids, obs.image_names, obs.feature_ids)}


def _check_reconstruction(src, src_kp, back, back_kp, atol=1e-4):
    width = back.points3d.shape[1]  # OpenMVG keeps no colour
    np.testing.assert_allclose(back.points3d, src.points3d[:, :width], atol=1e-12)
    a, b = _observed_xy(src, src_kp), _observed_xy(back, back_kp)
    assert a.keys() == b.keys()
    np.testing.assert_allclose(np.array([b[k] for k in a]), np.array([a[k] for k in a]), atol=atol)


def _cams_per_image(kapture):
    cams = kapture.cameras()
    return {n: cams[c] for n, c in zip(*(lambda t: (t.names, t.camera_ids))(image_table(kapture)))}


CENTRED = {"cam_00001": Camera("SIMPLE_RADIAL", 640, 480, (500.0, 320.0, 240.0, 0.01)),
           "cam_00002": Camera("RADIAL", 320, 240, (300.0, 160.0, 120.0, 0.01, -0.002))}


def test_nvm_roundtrip(tmp_path):
    cams = {"cam_00001": CENTRED["cam_00001"]}
    src, kp = make_dataset(tmp_path / "src", cameras=cams)
    export_nvm(src, tmp_path / "m.nvm", kp.get)
    sizes = {n: (640, 480) for n in kp}
    back = import_nvm(tmp_path / "m.nvm", tmp_path / "back", image_sizes=sizes)
    _poses_close(src, back)
    assert set(_cams_per_image(back).values()) == set(cams.values())
    store = KaptureFeatureStore(tmp_path / "back")
    _check_reconstruction(src, kp.get, load_kapture(tmp_path / "back"),
                          lambda n: store.read("keypoints", "nvm", n))
    assert back.points3d.shape == (30, 6)


def test_nvm_refuses_inexpressible_camera(tmp_path):
    src, kp = make_dataset(tmp_path / "src")  # PINHOLE fx != fy, off-centre principal point
    with pytest.raises(ConversionError, match="cam_00001.*not expressible in NVM"):
        export_nvm(src, tmp_path / "m.nvm", kp.get)
    export_nvm(src, tmp_path / "m.nvm", kp.get, approximate=True)
    assert (tmp_path / "m.nvm").read_text().startswith("NVM_V3")


@pytest.mark.parametrize("text, line, field", [
    ("NVMX\n", 1, "header"),
    ("NVM_V3\n\n1\na.jpg 100 1 0 0 0 0 0 0 0\n", 4, "camera"),
    ("NVM_V3\n\n1\na.jpg 100 1 0 0 0 0 0 0 0 0\n1\n0 0 1 255 0 0 1 0 3\n", 6, "measurements"),
    ("NVM_V3\n\n1\na.jpg 100 1 0 0 0 0 0 0 0 0\n1\n0 0 1 255 0 0 1 5 3 1 1\n", 6, "measurements"),
    ("NVM_V3\n\nx\n", 3, "cameras"),
])
def test_nvm_malformed(tmp_path, text, line, field):
    (tmp_path / "m.nvm").write_text(text)
    with pytest.raises(FormatError) as e:
        nvm_to_kapture(tmp_path / "m.nvm", {"a.jpg": (10, 10)})
    assert e.value.line == line and e.value.field == field and e.value.path.endswith("m.nvm")


def test_bundler_roundtrip(tmp_path):
    src, kp = make_dataset(tmp_path / "src", cameras=CENTRED)
    export_bundler(src, tmp_path / "bundle.out", tmp_path / "list.txt", kp.get)
    sizes = {n: (c.width, c.height) for n, c in _cams_per_image(src).items()}
    back = import_bundler(tmp_path / "bundle.out", tmp_path / "list.txt", tmp_path / "back", image_sizes=sizes)
    _poses_close(src, back)
    assert set(back.cameras().values()) == {CENTRED["cam_00002"], Camera("RADIAL", 640, 480,
                                                                         (500.0, 320.0, 240.0, 0.01, 0.0))}
    store = KaptureFeatureStore(tmp_path / "back")
    _check_reconstruction(src, kp.get, back, lambda n: store.read("keypoints", "bundler", n))


def test_bundler_axes(tmp_path):
    """A Bundler camera at the origin looking down -z sees a point at z = -5 in front of it."""
    (tmp_path / "list.txt").write_text("a.jpg\n")
    (tmp_path / "b.out").write_text("# Bundle file v0.3\n1 1\n100 0 0\n1 0 0\n0 1 0\n0 0 1\n0 0 0\n"
                                    "1 2 -5\n10 20 30\n1 0 7 10 20\n")
    k, kp = bundler_to_kapture(tmp_path / "b.out", tmp_path / "list.txt", {"a.jpg": (200, 100)})
    pose = k.trajectories[0, "cam_00000"]
    pc = P.apply(pose.q, pose.t, k.points3d[0, :3])
    assert pc[2] == pytest.approx(5.0)
    uv = pc[:2] / pc[2] * 100 + [100, 50]
    np.testing.assert_allclose(uv, [120.0, 10.0])  # x right, y down: y_bundler 2 up -> 40 px above centre
    np.testing.assert_allclose(kp["a.jpg"][0], [110.0, 30.0])


def test_bundler_malformed(tmp_path):
    (tmp_path / "list.txt").write_text("a.jpg\n")
    (tmp_path / "b.out").write_text("# Bundle file v0.3\n1 0\n100 0 0\n1 0 0\n0 1 0\n0 0 x\n0 0 0\n")
    with pytest.raises(FormatError) as e:
        bundler_to_kapture(tmp_path / "b.out", tmp_path / "list.txt", {"a.jpg": (10, 10)})
    assert e.value.line == 6 and e.value.field == "R"


OPENMVG_CAMS = {"cam_00000": Camera("SIMPLE_PINHOLE", 640, 480, (500.0, 320.5, 240.25)),
                "cam_00001": Camera("SIMPLE_RADIAL", 640, 480, (500.0, 320.0, 240.0, 0.01)),
                "cam_00002": Camera("FULL_OPENCV", 320, 240, (300, 300, 160, 120, 0.1, 0.01, 0, 0, 0.001, 0, 0, 0)),
                "cam_00003": Camera("FULL_OPENCV", 320, 240, (300, 300, 160, 120, 0.1, 0.01, 1e-3, 2e-3, 0.001,
                                                               0, 0, 0)),
                "cam_00004": Camera("SIMPLE_RADIAL_FISHEYE", 320, 240, (200.0, 160.0, 120.0, 0.0))}


def test_openmvg_roundtrip(tmp_path):
    src, kp = make_dataset(tmp_path / "src", cameras=OPENMVG_CAMS, n_images=5)
    export_openmvg(tmp_path / "src", tmp_path / "sfm_data.json")
    back = import_openmvg(tmp_path / "sfm_data.json", tmp_path / "back")
    _poses_close(src, back)
    assert _cams_per_image(back) == _cams_per_image(src)  # a fisheye without distortion: kapture writes none
    assert back.records_camera.timestamps.tolist() == list(range(5))
    store = KaptureFeatureStore(tmp_path / "back")
    _check_reconstruction(src, kp.get, back, lambda n: store.read("keypoints", "openmvg", n), atol=1e-12)


def test_openmvg_errors(tmp_path):
    src, kp = make_dataset(tmp_path / "src", cameras={"c": Camera("FOV", 10, 10, (5, 5, 5, 5, 0.1))}, n_images=1)
    with pytest.raises(ConversionError, match="'c' .*FOV.* no OpenMVG counterpart"):
        export_openmvg(tmp_path / "src", tmp_path / "x.json")
    (tmp_path / "bad.json").write_text('{"views": [}')
    with pytest.raises(FormatError) as e:
        openmvg_to_kapture(tmp_path / "bad.json")
    assert e.value.line == 1 and e.value.field == "json"
    doc = json.loads((tmp_path / "src" / ".." / "x.json").read_text()) if (tmp_path / "x.json").exists() else None
    assert doc is None  # nothing half-written on error


OPENSFM_CAMS = {"persp": Camera("RADIAL", 640, 480, (500.0, 320.0, 240.0, 0.01, -0.002)),
                "brown": Camera("FULL_OPENCV", 320, 240, (300, 310, 161, 119, 0.1, 0.01, 1e-3, 2e-3, 0.001, 0, 0, 0)),
                "fish": Camera("RADIAL_FISHEYE", 320, 240, (200.0, 160.0, 120.0, 0.1, 0.01))}


def test_opensfm_roundtrip(tmp_path):
    src, _ = make_dataset(tmp_path / "src", cameras=OPENSFM_CAMS, n_images=6)
    export_opensfm(src, tmp_path / "reconstruction.json")
    back = import_opensfm(tmp_path / "reconstruction.json", tmp_path / "back")
    ta, tb = _poses_close(src, back)
    assert ta.timestamps.tolist() == tb.timestamps.tolist()
    ca, cb = _cams_per_image(src), _cams_per_image(back)
    for n in ca:
        assert cb[n].model == ca[n].model
        np.testing.assert_allclose(cb[n].params, ca[n].params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(back.points3d, src.points3d, atol=1e-12)


def test_opensfm_malformed(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps([{"cameras": {"c": {"projection_type": "spherical", "width": 2,
                                                                    "height": 1}}, "shots": {}}]))
    with pytest.raises(FormatError, match="unsupported projection_type 'spherical'") as e:
        opensfm_to_kapture(tmp_path / "r.json")
    assert e.value.field == "projection_type"
    (tmp_path / "r.json").write_text(json.dumps([{"cameras": {}, "shots": {"a.jpg": {"camera": "x"}}}]))
    with pytest.raises(FormatError, match="unknown camera 'x'"):
        opensfm_to_kapture(tmp_path / "r.json")


def test_json_missing_fields(tmp_path):
    (tmp_path / "sfm.json").write_text(json.dumps({"views": [{"key": 0, "value": {}}], "intrinsics": []}))
    with pytest.raises(FormatError, match="missing or malformed") as e:
        openmvg_to_kapture(tmp_path / "sfm.json")
    assert e.value.field == "views"
    (tmp_path / "r.json").write_text(json.dumps([{"cameras": {}, "shots": {}, "points": {"1": {"color": [1, 2, 3]}}}]))
    with pytest.raises(FormatError, match="missing or malformed"):
        opensfm_to_kapture(tmp_path / "r.json")
