"""LTVL2020 submission files: byte-exact per dataset naming convention, missing poses."""

from __future__ import annotations

import numpy as np
import pytest

from kapturelike.converters.ltvl import CONVENTIONS, MissingPoseError, export_ltvl
from kapturelike.core.pose import quat_from_axis_angle
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories


def _kapture(names: list[str], cams: list[str], posed: list[bool]) -> Kapture:
    stamps = np.arange(len(names), dtype=np.int64)
    devices = np.array(cams, dtype=object)
    q = np.array([[1.0, 0.0, 0.0, 0.0], [0.5, 0.5, -0.5, 0.5]] * len(names))[: len(names)]
    t = np.array([[1.0, 2.0, 3.0], [-0.25, 0.125, 10.0]] * len(names))[: len(names)]
    keep = np.array(posed)
    return Kapture(sensors={c: Camera("SIMPLE_PINHOLE", 10, 10, (5, 5, 5)) for c in set(cams)},
                   trajectories=Trajectories(stamps[keep], devices[keep], q[keep], t[keep]),
                   records={"camera": Records("camera", stamps, devices, [(n,) for n in names])})


EXPECTED = {
    "aachen": "IMG_20161227_191152.jpg 0.5 0.5 -0.5 0.5 -0.25 0.125 10.0\n"
              "IMG_7974.jpg 1.0 0.0 0.0 0.0 1.0 2.0 3.0\n",
    "robotcar": "rear/1417176586710385.jpg 1.0 0.0 0.0 0.0 1.0 2.0 3.0\n"
                "right/1417176586710386.jpg 0.5 0.5 -0.5 0.5 -0.25 0.125 10.0\n",
    "cmu": "img_00122_c0_1303398475046031us.jpg 1.0 0.0 0.0 0.0 1.0 2.0 3.0\n"
           "img_00123_c1_1303398475046032us.jpg 0.5 0.5 -0.5 0.5 -0.25 0.125 10.0\n",
    "inloc": "IMG_0731.JPG 1.0 0.0 0.0 0.0 1.0 2.0 3.0\nIMG_0732.JPG 0.5 0.5 -0.5 0.5 -0.25 0.125 10.0\n",
    "full": "query/a/1.jpg 1.0 0.0 0.0 0.0 1.0 2.0 3.0\nquery/b/2.jpg 0.5 0.5 -0.5 0.5 -0.25 0.125 10.0\n",
}
NAMES = {
    "aachen": (["query/night/nexus5x/IMG_7974.jpg", "query/day/milestone/IMG_20161227_191152.jpg"], ["n5x", "mil"]),
    "robotcar": (["query/rear/1417176586710385.jpg", "query/right/1417176586710386.jpg"], ["rear", "right"]),
    "cmu": (["slice2/query/img_00122_c0_1303398475046031us.jpg", "slice2/query/img_00123_c1_1303398475046032us.jpg"],
            ["c0", "c1"]),
    "inloc": (["query/iphone7/IMG_0731.JPG", "query/iphone7/IMG_0732.JPG"], ["iphone7", "iphone7"]),
    "full": (["query/a/1.jpg", "query/b/2.jpg"], ["a", "b"]),
}


@pytest.mark.parametrize("convention", sorted(EXPECTED))
def test_byte_exact(tmp_path, convention):
    names, cams = NAMES[convention]
    out = tmp_path / "result.txt"
    assert export_ltvl(_kapture(names, cams, [True, True]), out, convention) == 2
    assert out.read_bytes() == EXPECTED[convention].encode()


@pytest.mark.parametrize("convention", ["aachen_v1_1", "silda"])
def test_basename_aliases(tmp_path, convention):
    names, cams = NAMES["aachen"]
    export_ltvl(_kapture(names, cams, [True, True]), tmp_path / "r.txt", convention)
    assert (tmp_path / "r.txt").read_text() == EXPECTED["aachen"]


def test_rio10_inverse_and_truncated(tmp_path):
    q = quat_from_axis_angle(np.array([0.0, 0.0, np.pi / 2]))
    export_ltvl({"seq01/frame-000001.color.jpg": Pose(q, np.array([1.0, 0.0, 0.0]))}, tmp_path / "r.txt", "rio10")
    name, *values = (tmp_path / "r.txt").read_text().split()
    assert name == "seq01/frame-000001" and len(values) == 7
    np.testing.assert_allclose([float(v) for v in values], [q[0], 0, 0, -q[3], 0, 1, 0], atol=1e-12)


def test_missing_and_skip(tmp_path):
    names, cams = NAMES["aachen"]
    kapture = _kapture(names, cams, [True, False])
    with pytest.raises(MissingPoseError, match="IMG_20161227_191152") as e:
        export_ltvl(kapture, tmp_path / "r.txt", "aachen")
    assert e.value.names == [names[1]] and not (tmp_path / "r.txt").exists()
    assert export_ltvl(kapture, tmp_path / "r.txt", "aachen", skip_missing=True) == 1
    assert (tmp_path / "r.txt").read_text() == "IMG_7974.jpg 1.0 0.0 0.0 0.0 1.0 2.0 3.0\n"


def test_inputs_and_errors(tmp_path):
    names, cams = NAMES["robotcar"]
    kapture = _kapture(names, cams, [True, True])
    export_ltvl((kapture.trajectories, kapture.records_camera), tmp_path / "a.txt", "robotcar")
    export_ltvl({n: kapture.trajectories[i, c] for i, (n, c) in enumerate(zip(names, cams))}, tmp_path / "b.txt",
                "robotcar")
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes() == EXPECTED["robotcar"].encode()
    with pytest.raises(ValueError, match="unknown LTVL naming convention"):
        export_ltvl(kapture, tmp_path / "c.txt", "nowhere")
    assert "robotcar" in CONVENTIONS
