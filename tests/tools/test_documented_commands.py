"""Command lines copied from kapture's and kapture-localization's documentation (doc/datasets.adoc,
doc/tutorial.adoc) run unchanged here; where kapture's own tool runs (kapture 1.1.12, numpy 2), its output
is the oracle (compared through kapture's reader), otherwise the result is checked by hand."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import kapture
import kapture.algo.compare as kcompare
import kapture.io.csv as kcsv
import numpy as np
import pytest

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.tools import (
    kapture_evaluate,
    kapture_export_LTVL2020,
    kapture_import_colmap,
    kapture_import_image_list,
    kapture_import_nvm,
    kapture_merge,
    kapture_print,
)

KAPTURE_TOOLS = Path(kapture.__file__).resolve().parents[1] / "tools"  # the scripts pip installs with kapture


def _kapture_tool(name: str, *args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, str(KAPTURE_TOOLS / f"{name}.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _ours(main, command: str, cwd: Path, monkeypatch) -> int:
    """Run a documented command line (its first word names the tool) in ``cwd``."""
    monkeypatch.chdir(cwd)
    return main(command.split()[1:])


def _same_as_kapture(ours: Path, theirs: Path) -> None:
    assert kcompare.equal_kapture(kcsv.kapture_from_dir(str(ours)), kcsv.kapture_from_dir(str(theirs)))


@pytest.fixture
def aachen(tmp_path: Path) -> Path:
    """An Aachen-like folder: images/, day and night query lists with intrinsics, a COLMAP text model."""
    root = tmp_path / "aachenv11"
    for name, size in (("db/1.jpg", (40, 30)), ("db/2.jpg", (40, 30)), ("query/day/a.jpg", (32, 24)),
                       ("query/night/b.jpg", (32, 24))):
        (root / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "images" / name), np.full((size[1], size[0], 3), 90, np.uint8))
    (root / "day_time_queries_with_intrinsics.txt").write_text(
        "query/day/a.jpg SIMPLE_RADIAL 32 24 30.5 16 12 0.01\n")
    (root / "night_time_queries_with_intrinsics.txt").write_text("query/night/b.jpg SIMPLE_RADIAL 32 24 29 16 12 0\n")
    model = root / "3D-models" / "aachen_v_1_1"
    model.mkdir(parents=True)
    (model / "cameras.txt").write_text("1 SIMPLE_RADIAL 40 30 35 20 15 0.02\n2 PINHOLE 40 30 30 31 20 15\n")
    (model / "images.txt").write_text("1 1 0 0 0 0.5 0 1 1 db/1.jpg\n10 20 1\n"
                                      "2 0.7071067811865476 0 0.7071067811865476 0 1 2 3 2 db/2.jpg\n11 21 1\n")
    (model / "points3D.txt").write_text("1 0.5 0.25 4 200 100 50 0.1 1 0 2 0\n")
    (root / "kapture").mkdir()
    return root


def test_aachen_commands_of_datasets_adoc(aachen: Path, monkeypatch) -> None:
    theirs = aachen.parent / "theirs"
    theirs.mkdir()
    for part in ("day", "night"):
        command = (f"kapture_import_image_list.py -v debug -i {part}_time_queries_with_intrinsics.txt "
                   f"-o kapture/query_{part} -im images")
        assert _ours(kapture_import_image_list.main, command, aachen, monkeypatch) == 0
        _kapture_tool("kapture_import_image_list", *command.split()[1:5], "-o", str(theirs / f"query_{part}"),
                      "-im", "images", cwd=aachen)
        _same_as_kapture(aachen / f"kapture/query_{part}", theirs / f"query_{part}")
    command = "kapture_merge.py -v debug -i kapture/query_day kapture/query_night -o kapture/query"
    assert _ours(kapture_merge.main, command, aachen, monkeypatch) == 0
    _kapture_tool("kapture_merge", "-v", "debug", "-i", str(theirs / "query_day"), str(theirs / "query_night"),
                  "-o", str(theirs / "query"), cwd=aachen)
    _same_as_kapture(aachen / "kapture/query", theirs / "query")
    assert not (aachen / "kapture/query/sensors/records_data").exists()  # kapture_merge skips images
    command = "kapture_import_colmap.py -v debug -txt 3D-models/aachen_v_1_1/ -im images -o kapture/mapping " \
              "--skip_reconstruction"
    assert _ours(kapture_import_colmap.main, command, aachen, monkeypatch) == 0
    _kapture_tool("kapture_import_colmap", "-v", "debug", "-txt", "3D-models/aachen_v_1_1/", "-im", "images", "-o",
                  str(theirs / "mapping"), "--skip_reconstruction", cwd=aachen)
    _same_as_kapture(aachen / "kapture/mapping", theirs / "mapping")
    assert (aachen / "kapture/mapping/sensors/records_data/db/1.jpg").is_symlink()


def test_cambridge_nvm_command_with_filter_list(tmp_path: Path, monkeypatch) -> None:
    scene = tmp_path / "ShopFacade"
    for name in ("seq1/frame00001.png", "seq1/frame00002.png", "seq2/frame00001.png"):
        (scene / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(scene / name), np.full((24, 32, 3), 70, np.uint8))
    (scene / "reconstruction_png.nvm").write_text(
        "NVM_V3\n\n3\n"
        "seq1/frame00001.png 30 1 0 0 0 0 0 0 0 0\n"
        "seq1/frame00002.png 30 0.7071067811865476 0 0.7071067811865476 0 1 0 0 0 0\n"
        "seq2/frame00001.png 31 1 0 0 0 0 1 0 0 0\n"
        "0\n\n0\n")
    (scene / "dataset_train_list.txt").write_text("seq1/frame00001.png\nseq2/frame00001.png\n")
    command = ("kapture_import_nvm.py -v info -i ./ShopFacade/reconstruction_png.nvm -im ./ShopFacade/ "
               "-o ./kapture/ShopFacade/mapping --filter-list ./ShopFacade/dataset_train_list.txt")
    assert _ours(kapture_import_nvm.main, command, tmp_path, monkeypatch) == 0
    theirs = tmp_path / "theirs"
    _kapture_tool("kapture_import_nvm", *command.split()[1:8], str(theirs), *command.split()[9:], cwd=tmp_path)
    _same_as_kapture(tmp_path / "kapture/ShopFacade/mapping", theirs)
    assert sorted(load_kapture(tmp_path / "kapture/ShopFacade/mapping").image_names()) == [
        "seq1/frame00001.png", "seq2/frame00001.png"]
    # datasets.adoc's second line: the query part, with the test list
    (scene / "dataset_test_list.txt").write_text("seq1/frame00002.png\n")
    command = ("kapture_import_nvm.py -v info -i ./ShopFacade/reconstruction_png.nvm -im ./ShopFacade/ "
               "-o ./kapture/ShopFacade/query --filter-list ./ShopFacade/dataset_test_list.txt")
    assert _ours(kapture_import_nvm.main, command, tmp_path, monkeypatch) == 0
    _kapture_tool("kapture_import_nvm", *command.split()[1:8], str(tmp_path / "theirs_query"), *command.split()[9:],
                  cwd=tmp_path)
    _same_as_kapture(tmp_path / "kapture/ShopFacade/query", tmp_path / "theirs_query")
    assert load_kapture(tmp_path / "kapture/ShopFacade/query").image_names() == ["seq1/frame00002.png"]


def _sets_sorted(text: str) -> str:
    """kapture prints Python sets, whose order varies from run to run."""
    return re.sub(r"\{([^}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", text)


@pytest.mark.parametrize("flags", [[], ["-d"], ["-d", "-a"], ["-a"], ["-d", "-t", "second", "-f", "%Y"]])
def test_kapture_print_prints_as_kapture(aachen: Path, flags: list[str], monkeypatch, capsys) -> None:
    assert _ours(kapture_import_colmap.main, "kapture_import_colmap.py -txt 3D-models/aachen_v_1_1 -o k",
                 aachen, monkeypatch) == 0
    capsys.readouterr()
    assert kapture_print.main(["-i", "k", *flags]) == 0
    ours = capsys.readouterr().out
    theirs = _kapture_tool("kapture_print", "-i", "k", *flags, cwd=aachen)
    assert _sets_sorted(ours) == _sets_sorted(theirs)


def _posed(root: Path, shift: float, names: list[str]) -> Path:
    k = Kapture(sensors={"cam": Camera("SIMPLE_PINHOLE", 32, 24, (30.0, 16.0, 12.0))})
    k.records["camera"] = Records.camera([((i, "cam"), n) for i, n in enumerate(names)])
    k.trajectories = Trajectories.from_items(((i, "cam"), Pose([1.0, 0, 0, 0], [i + shift, 0.0, 0.0]))
                                             for i in range(len(names)))
    save_kapture(k, root)
    return root


def test_tutorial_evaluate_and_ltvl_export(tmp_path: Path, monkeypatch, capsys) -> None:
    names = ["query/a.jpg", "query/b.jpg", "query/c.jpg", "query/d.jpg"]
    _posed(tmp_path / "query", 0.0, names)
    _posed(tmp_path / "tutorial/localized_colmap/imported", 0.012, names[:3])  # d.jpg not localized
    command = ('kapture_evaluate.py -v info -i ./tutorial/localized_colmap/imported --labels tutorial_localization '
               '-gt ./query -o ./tutorial/localized_colmap/eval --bins 0.01_0.1 0.015_0.3 0.2_0.5 --plot-max 10')
    argv = [a.replace("_", " ") if a[0].isdigit() else a for a in command.split()[1:]]  # the doc quotes the bins
    monkeypatch.chdir(tmp_path)
    assert kapture_evaluate.main(argv) == 0
    stats = (tmp_path / "tutorial/localized_colmap/eval/stats.txt").read_text()
    assert stats.startswith("Model: tutorial_localization\n\nFound 3 / 4 image positions (75.00 %).\n"
                            "Found 3 / 4 image rotations (75.00 %).\n"
                            "Localized images: mean=(0.0120m, 0.0000 deg) / median=(0.0120m, 0.0000 deg)\n"
                            "All: median=(0.0120m, 0.0000 deg)\n")
    assert "(0.01m, 0.1 deg): 0.00%\n(0.015m, 0.3 deg): 75.00%\n(0.2m, 0.5 deg): 75.00%\n" in stats
    scores = (tmp_path / "tutorial/localized_colmap/eval/scores_tutorial_localization.txt").read_text().splitlines()
    assert scores[-1] == "query/d.jpg nan nan" and math.isclose(float(scores[0].split()[1]), 0.012)
    for flags in ([], ["-p"], ["--full_file_name", "--truncate-extensions", "--inverse-pose"]):
        out = tmp_path / "ltvl.txt"
        assert kapture_export_LTVL2020.main(["-i", "query", "-o", str(out), "-f", *flags]) == 0
        _kapture_tool("kapture_export_LTVL2020", "-i", "query", "-o", str(tmp_path / "theirs.txt"), *flags,
                      cwd=tmp_path)
        assert sorted(out.read_text().splitlines()) == sorted((tmp_path / "theirs.txt").read_text().splitlines())


def test_tutorial_merge_with_skip(tmp_path: Path, monkeypatch) -> None:
    tutorial = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "virtual_gallery_tutorial"
    if not tutorial.is_dir():
        pytest.skip("../shared/data/virtual_gallery_tutorial is absent")
    for part in ("mapping", "query"):
        shutil.copytree(tutorial / part, tmp_path / part, symlinks=True)
    command = "kapture_merge.py -v info -i ./mapping ./query -o ./tutorial/mapping_query -s global_features"
    assert _ours(kapture_merge.main, command, tmp_path, monkeypatch) == 0
    _kapture_tool("kapture_merge", "-v", "info", "-i", "./mapping", "./query", "-o", "./theirs", "-s",
                  "global_features", cwd=tmp_path)
    _same_as_kapture(tmp_path / "tutorial/mapping_query", tmp_path / "theirs")
