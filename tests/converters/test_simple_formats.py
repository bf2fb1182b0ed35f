"""Query lists with intrinsics, Strecha ground truth, PLY export."""

from __future__ import annotations

import numpy as np
import pytest

from kapturelike.converters.camera_files import StrechaOptions, import_strecha, read_camera_file
from kapturelike.converters.ply import PlyOptions, export_ply, read_ply
from kapturelike.converters.query_list import import_query_list, read_query_list, write_query_list
from kapturelike.core import pose as P
from kapturelike.errors import FormatError
from kapturelike.io.dataset import load_kapture, records_data_path

from .conftest import SHARED, make_dataset

QUERY_LIST = ("query/night/nexus5x/IMG_1.jpg SIMPLE_RADIAL 1600 1200 1469.2 800 600 -0.0353\n"
              "query/day/milestone/IMG_2.jpg SIMPLE_RADIAL 1600 1200 1469.2 800 600 -0.0353\n"
              "query/day/nexus4/IMG_3.jpg PINHOLE 640 480 500 501 320 240\n")


def test_query_list(tmp_path):
    (tmp_path / "q.txt").write_text(QUERY_LIST)
    k = import_query_list(tmp_path / "q.txt", tmp_path / "out")
    loaded = load_kapture(tmp_path / "out")
    assert loaded.sensors == k.sensors and len(k.sensors) == 2
    assert loaded.image_names() == ["query/night/nexus5x/IMG_1.jpg", "query/day/milestone/IMG_2.jpg",
                                    "query/day/nexus4/IMG_3.jpg"]
    assert loaded.records_camera.device_ids.tolist() == ["cam_00000", "cam_00000", "cam_00001"]
    write_query_list(loaded, tmp_path / "q2.txt")
    again = read_query_list(tmp_path / "q2.txt")
    assert again.sensors == k.sensors and again.records_camera == k.records_camera


@pytest.mark.parametrize("line, field", [("a.jpg SIMPLE_RADIAL 10 10 1 2 3\n", "params"),
                                         ("a.jpg FISH 10 10 1\n", "MODEL"),
                                         ("a.jpg PINHOLE 10 ten 1 1 1 1\n", "width"),
                                         ("a.jpg PINHOLE 10 10 1 1 1 y\n", "params")])
def test_query_list_malformed(tmp_path, line, field):
    (tmp_path / "q.txt").write_text("# comment\n" + line)
    with pytest.raises(FormatError) as e:
        read_query_list(tmp_path / "q.txt")
    assert e.value.line == 2 and e.value.field == field


def test_strecha_synthetic(tmp_path):
    scene = tmp_path / "scene"
    (scene / "gt_dense_cameras").mkdir(parents=True)
    (scene / "images").mkdir()
    R = P.quat_to_rotmat(P.quat_from_axis_angle(np.array([0.1, -0.2, 0.3])))  # camera-to-world
    C = np.array([1.0, 2.0, 3.0])
    numbers = [100, 0, 50, 0, 110, 40, 0, 0, 1, 0, 0, 0, *R.ravel(), *C, 100, 80]
    (scene / "gt_dense_cameras" / "0000.jpg.camera").write_text(" ".join(map(repr, map(float, numbers))))
    (scene / "images" / "0000.jpg").write_bytes(b"jpeg")
    cam, q, t = read_camera_file(scene / "gt_dense_cameras" / "0000.jpg.camera")
    assert cam.model == "PINHOLE" and cam.params == (100, 110, 50, 40) and (cam.width, cam.height) == (100, 80)
    np.testing.assert_allclose(P.camera_centers(q, t), C, atol=1e-12)
    X = C + R[:, 2] * 4  # 4 m along the viewing direction
    np.testing.assert_allclose(P.apply(q, t, X), [0, 0, 4], atol=1e-12)
    k = import_strecha(scene, tmp_path / "out", StrechaOptions(images="copy", name_prefix="map/"))
    assert k.image_names() == ["map/0000.jpg"]
    assert records_data_path(tmp_path / "out", "map/0000.jpg").read_bytes() == b"jpeg"
    (scene / "gt_dense_cameras" / "0001.jpg.camera").write_text("1 2 3")
    with pytest.raises(FormatError, match="expected 26 numbers") as e:
        import_strecha(scene, tmp_path / "out2")
    assert e.value.path.endswith("0001.jpg.camera") and e.value.field == "K"


@pytest.mark.skipif(not (SHARED / "data" / "strecha" / "fountain-P11").is_dir(), reason="shared Strecha data absent")
def test_strecha_fountain(tmp_path):
    k = import_strecha(SHARED / "data" / "strecha" / "fountain-P11", tmp_path / "out")
    assert len(k.image_names()) == 11 and list(k.cameras().values())[0].width == 1536
    centres = P.camera_centers(k.trajectories.rotations, k.trajectories.translations)
    spread = np.linalg.norm(centres.max(0) - centres.min(0))
    assert 5 < spread < 30  # README: ~15 m camera spread
    assert records_data_path(tmp_path / "out", "0000.jpg").is_file()
    assert load_kapture(tmp_path / "out").trajectories == k.trajectories


@pytest.mark.parametrize("binary", [False, True])
def test_ply(tmp_path, binary):
    k, _ = make_dataset(tmp_path / "k")
    n = export_ply(k, tmp_path / "x.ply", PlyOptions(binary=binary, camera_color=(0, 255, 0)))
    assert n == 30 + 4
    v = read_ply(tmp_path / "x.ply")
    np.testing.assert_array_equal(np.stack([v["x"], v["y"], v["z"]], 1)[:30], k.points3d[:, :3])
    np.testing.assert_array_equal(np.stack([v["red"], v["green"], v["blue"]], 1)[:30], k.points3d[:, 3:])
    np.testing.assert_allclose(np.stack([v["x"], v["y"], v["z"]], 1)[30:],
                               P.camera_centers(k.trajectories.rotations, k.trajectories.translations), atol=1e-12)
    assert (v["green"][30:] == 255).all()
    header = (tmp_path / "x.ply").read_bytes().split(b"end_header")[0].decode()
    assert ("binary_little_endian" in header) == binary and "element vertex 34" in header
    (tmp_path / "bad.ply").write_bytes(b"plx\n")
    with pytest.raises(FormatError, match="not a PLY file"):
        read_ply(tmp_path / "bad.ply")
