"""The converter commands: one library call each, exit 0 on success, 1 with one error line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pycolmap

from kapturelike.core.sensors import Camera
from kapturelike.io.dataset import load_kapture
from kapturelike.tools import (
    kapture_export_colmap,
    kapture_export_LTVL2020,
    kapture_export_nvm,
    kapture_export_openmvg,
    kapture_export_opensfm,
    kapture_export_ply,
    kapture_import_bundler,
    kapture_import_colmap,
    kapture_import_nvm,
    kapture_import_openmvg,
    kapture_import_opensfm,
    kapture_import_query_list,
    kapture_import_strecha,
)

from .conftest import make_dataset

CAMS = {"cam_00001": Camera("SIMPLE_RADIAL", 64, 48, (50.0, 32.0, 24.0, 0.01))}


def test_colmap_tools(tmp_path):
    root = tmp_path / "k"
    kapture, _ = make_dataset(root)
    assert kapture_export_colmap.main(["-i", str(root), "-o", str(tmp_path / "m"), "--binary",
                                       "-db", str(tmp_path / "d.db")]) == 0
    assert pycolmap.Reconstruction(str(tmp_path / "m")).num_points3D() == len(kapture.points3d)
    assert kapture_import_colmap.main(["-i", str(tmp_path / "m"), "-db", str(tmp_path / "d.db"),
                                       "-o", str(tmp_path / "back")]) == 0
    assert load_kapture(tmp_path / "back").trajectories == kapture.trajectories
    assert kapture_import_colmap.main(["-o", str(tmp_path / "x")]) == 1


def test_other_tools(tmp_path, capsys):
    root = tmp_path / "k"
    make_dataset(root, cameras=CAMS, n_images=3)
    images = tmp_path / "images"
    for name in load_kapture(root).image_names():
        (images / name).parent.mkdir(parents=True, exist_ok=True)
        import cv2

        cv2.imwrite(str(images / name), np.zeros((48, 64, 3), np.uint8))
    assert kapture_export_nvm.main(["-i", str(root), "-o", str(tmp_path / "m.nvm")]) == 0
    assert kapture_import_nvm.main(["-i", str(tmp_path / "m.nvm"), "--images", str(images),
                                    "-o", str(tmp_path / "nvm")]) == 0
    assert kapture_export_openmvg.main(["-i", str(root), "-o", str(tmp_path / "sfm.json")]) == 0
    assert kapture_import_openmvg.main(["-i", str(tmp_path / "sfm.json"), "-o", str(tmp_path / "mvg")]) == 0
    assert kapture_export_opensfm.main(["-i", str(root), "-o", str(tmp_path / "r.json")]) == 0
    assert kapture_import_opensfm.main(["-i", str(tmp_path / "r.json"), "-o", str(tmp_path / "sfm")]) == 0
    assert kapture_export_ply.main(["-i", str(root), "-o", str(tmp_path / "x.ply"), "--binary"]) == 0
    assert kapture_export_LTVL2020.main(["-i", str(root), "-o", str(tmp_path / "r.txt"), "--convention",
                                         "robotcar"]) == 0
    assert (tmp_path / "r.txt").read_text().splitlines()[0].startswith("cam_00001/0001.jpg ")
    for d in ("nvm", "mvg", "sfm"):
        assert len(load_kapture(tmp_path / d).image_names()) == 3
    (tmp_path / "q.txt").write_text("a.jpg PINHOLE 10 10 5 5 5 5\n")
    assert kapture_import_query_list.main(["-i", str(tmp_path / "q.txt"), "-o", str(tmp_path / "q")]) == 0
    (tmp_path / "bad.txt").write_text("a.jpg PINHOLE 10 10 5 5 5\n")
    capsys.readouterr()
    assert kapture_import_query_list.main(["-i", str(tmp_path / "bad.txt"), "-o", str(tmp_path / "q2")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.txt, line 1, field 'params'" in err and err.count("\n") == 1
    assert kapture_import_strecha.main(["-i", str(tmp_path / "nowhere"), "-o", str(tmp_path / "s")]) == 1
    (tmp_path / "list.txt").write_text("x.jpg\n")
    (tmp_path / "b.out").write_text("not bundler\n")
    assert kapture_import_bundler.main(["-i", str(tmp_path / "b.out"), "-l", str(tmp_path / "list.txt"),
                                        "--images", str(images), "-o", str(tmp_path / "b")]) == 1
    json.loads((tmp_path / "sfm.json").read_text())


def test_ltvl_subprocess(tmp_path):
    root = tmp_path / "k"
    make_dataset(root, cameras=CAMS, n_images=2)
    done = subprocess.run([sys.executable, "-m", "kapturelike.tools.kapture_export_LTVL2020", "-i", str(root),
                           "-o", str(tmp_path / "r.txt")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in (tmp_path / "r.txt").read_text().splitlines()] == ["0001.jpg", "0002.jpg"]


MINE = [kapture_export_colmap, kapture_export_LTVL2020, kapture_export_nvm, kapture_export_openmvg,
        kapture_export_opensfm, kapture_export_ply, kapture_import_bundler, kapture_import_colmap, kapture_import_nvm,
        kapture_import_openmvg, kapture_import_opensfm, kapture_import_query_list, kapture_import_strecha]


def test_help_and_bad_options(capsys):
    for module in MINE:
        assert module.main(["--help"]) == 0
        assert "usage:" in capsys.readouterr().out
        assert module.main(["--no-such-option"]) == 2
