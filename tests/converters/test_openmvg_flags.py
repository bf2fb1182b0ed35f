"""kapture_export_openmvg / kapture_import_openmvg flags against kapture's own converter, file by file.

Every export below is done twice on the same dataset: by our tool and by kapture's
``kapture.converter.openmvg.export_openmvg`` (kapture's tool front end is not called: it reads
sys.argv; its function is what it runs). Files must be byte-equal; the only exceptions are the output
folder inside root_path, the order of pairs in matches.txt (kapture iterates a set) and the regions
file names with --image_path_flatten (see test_flatten).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from kapturelike.converters.features_io import add_feature_arrays, add_matches
from kapturelike.core import pose as P
from kapturelike.core.sensors import Camera
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.tools import kapture_export_openmvg, kapture_import_openmvg

from .conftest import SHARED, make_dataset

export_mod = pytest.importorskip("kapture.converter.openmvg.export_openmvg")
import_mod = pytest.importorskip("kapture.converter.openmvg.import_openmvg")
from kapture.io.records import TransferAction  # noqa: E402

CAMS = {"cam_00001": Camera("PINHOLE", 64, 48, (50.0, 52.0, 32.5, 24.25)),
        "cam_00002": Camera("FULL_OPENCV", 64, 48, (50, 51, 32, 24, 0.1, 0.01, 1e-3, 2e-3, 0.001, 0, 0, 0)),
        "cam_00003": Camera("OPENCV_FISHEYE", 64, 48, (40, 40, 32, 24, 0.1, 0.01, 0.001, 1e-4)),
        "cam_00004": Camera("RADIAL", 64, 48, (50.0, 32.0, 24.0, 0.01, -0.002))}


@pytest.fixture
def dataset(tmp_path) -> Path:
    """5 images (tiny JPEGs), keypoints,
    descriptors and matches of two types: 'sift' (x, y; with observations) and 'SIFT' (x, y, scale, angle)."""
    root = tmp_path / "k"
    k, kp = make_dataset(root, cameras=CAMS, n_images=5)
    rng = np.random.default_rng(1)
    names = sorted(kp)
    for n in names:
        path = root / "sensors" / "records_data" / n
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(cv2.imencode(".jpg", rng.integers(0, 255, (6, 8, 3), np.uint8))[1].tobytes())
    sift = {n: np.c_[kp[n], rng.uniform(1, 5, len(kp[n])), rng.uniform(-3, 3, len(kp[n]))].astype(np.float32)
            for n in names}
    add_feature_arrays(root, k, "keypoints", "SIFT", sift.items())
    add_feature_arrays(root, k, "descriptors", "SIFT",
                       ((n, rng.integers(0, 256, (len(a), 128)).astype(np.uint8)) for n, a in sift.items()),
                       keypoints_type="SIFT")
    m = np.stack([np.arange(7), np.arange(7)[::-1] + 3, np.ones(7)], 1)
    add_matches(root, k, "SIFT", [(names[0], names[1], m), (names[3], names[2], m[:4])])
    save_kapture(k, root)
    return root


def _ours(root: Path, out: Path, *flags: str) -> None:
    assert kapture_export_openmvg.main(["-i", str(root), "-s", str(out / "sfm_data.json"), *flags]) == 0


def _theirs(root: Path, out: Path, images=None, regions=None, matches=None, action="skip", flatten=False,
            kpt=None, desc=None, v2=False) -> None:
    if images is not None:
        (out / "images").mkdir(parents=True, exist_ok=True)  # kapture's root_link needs the parent to exist
    export_mod.export_openmvg(str(root), str(out / "sfm_data.json"), images, regions, matches,
                              TransferAction[action], flatten, kpt, desc, v2, False)


def _matches_blocks(path: Path) -> list[str]:
    """The pair blocks of a matches.txt, sorted (kapture writes them in set order)."""
    lines = path.read_text().splitlines(keepends=True)
    blocks, i = [], 0
    while i < len(lines):
        n = int(lines[i + 1])
        blocks.append("".join(lines[i:i + 2 + n]))
        i += 2 + n
    return sorted(blocks)


def _same_tree(ours: Path, theirs: Path, rename=lambda rel: rel) -> list[str]:
    """Assert both output folders hold the same files with the same bytes; returns the relative paths."""
    mine = sorted(str(p.relative_to(ours)) for p in ours.rglob("*") if p.is_file() or p.is_symlink())
    other = sorted(rename(str(p.relative_to(theirs))) for p in theirs.rglob("*") if p.is_file() or p.is_symlink())
    assert mine == other
    back = {rename(str(p.relative_to(theirs))): p for p in theirs.rglob("*") if p.is_file() or p.is_symlink()}
    for rel in mine:
        a, b = ours / rel, back[rel]
        assert a.is_symlink() == b.is_symlink(), rel
        if a.is_symlink():
            assert a.resolve() == b.resolve(), rel
            assert os.path.isabs(os.readlink(a)) == os.path.isabs(os.readlink(b)), rel
        elif rel.endswith("matches.txt"):
            assert _matches_blocks(a) == _matches_blocks(b)
        elif rel.endswith("sfm_data.json"):
            assert a.read_text().replace(str(ours), "OUT") == b.read_text().replace(str(theirs), "OUT"), rel
        else:
            assert a.read_bytes() == b.read_bytes(), rel
    return mine


@pytest.mark.parametrize("flags, kwargs", [
    (["-kpt", "sift", "-desc", "sift"], {"kpt": "sift", "desc": "sift"}),
    (["-kpt", "sift", "-desc", "sift", "--use_v2_intrinsics_format"], {"kpt": "sift", "desc": "sift", "v2": True}),
    (["-kpt", "SIFT", "-desc", "SIFT"], {"kpt": "SIFT", "desc": "SIFT"}),  # no observations of SIFT keypoints
])
def test_sfm_data_equal(dataset, tmp_path, flags, kwargs):
    _ours(dataset, tmp_path / "ours", *flags)
    _theirs(dataset, tmp_path / "theirs", **kwargs)
    assert _same_tree(tmp_path / "ours", tmp_path / "theirs") == ["sfm_data.json"]


def test_several_types_need_a_choice(dataset, tmp_path, capsys):
    """Two keypoints types and no -kpt: kapture raises; so do we, in one line."""
    assert kapture_export_openmvg.main(["-i", str(dataset), "-s", str(tmp_path / "s.json")]) == 1
    assert "several keypoints types (SIFT, sift): choose one with -kpt" in capsys.readouterr().err
    with pytest.raises(ValueError, match="more than 1 key"):
        _theirs(dataset, tmp_path / "theirs")


def test_v2_layout(dataset, tmp_path):
    """kapture nests brown / fisheye intrinsics in value0 by default, not with the v2 flag."""
    import json

    for flags in ([], ["--use_v2_intrinsics_format"]):
        _ours(dataset, tmp_path / "o", "-f", "-kpt", "sift", "-desc", "sift", *flags)
        intrinsics = json.loads((tmp_path / "o" / "sfm_data.json").read_text())["intrinsics"]
        nested = [("value0" in i["value"]["ptr_wrapper"]["data"]) for i in intrinsics]
        assert nested == ([False, True, True, False] if not flags else [False] * 4)


@pytest.mark.parametrize("action", ["copy", "link_absolute", "link_relative"])
def test_images_regions_matches(dataset, tmp_path, action):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _ours(dataset, ours, "-im", str(ours / "images"), "-r", str(ours / "matches"),
          "-m", str(ours / "matches" / "matches.txt"), "--image_action", action, "-kpt", "SIFT", "-desc", "SIFT")
    _theirs(dataset, theirs, str(theirs / "images"), str(theirs / "matches"), str(theirs / "matches" / "matches.txt"),
            action, kpt="SIFT", desc="SIFT")
    files = _same_tree(ours, theirs)
    assert "matches/image_describer.json" in files and "matches/matches.txt" in files
    assert sum(f.endswith(".feat") for f in files) == sum(f.endswith(".desc") for f in files) == 5
    desc = (ours / "matches" / "0001.desc").read_bytes()
    assert int(np.frombuffer(desc[:8], np.uint64)[0]) * 128 == len(desc) - 8  # size_t count, then descriptors


def test_root_link(dataset, tmp_path):
    """One link to the images' common folder. kapture writes sfm_data.json and the link, then fails on
    transferring each image with root_link (so it writes no regions or matches after it; we do)."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _ours(dataset, ours, "-im", str(ours / "images"), "--image_action", "root_link", "-kpt", "sift", "-desc", "sift")
    with pytest.raises(ValueError, match="Unsupported copy action"):
        _theirs(dataset, theirs, str(theirs / "images"), action="root_link", kpt="sift", desc="sift")
    assert _same_tree(ours, theirs) == ["images/map", "sfm_data.json"]
    assert (ours / "images" / "map").resolve() == (dataset / "sensors" / "records_data" / "map").resolve()


def test_openmvg_folder_defaults(dataset, tmp_path):
    """-o DIR: kapture's guesses (DIR/images, DIR/matches, DIR/matches/matches.txt); one type each: sift."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    assert kapture_export_openmvg.main(["-i", str(dataset), "-o", str(ours), "-kpt", "sift", "-desc", "sift"]) == 0
    _theirs(dataset, theirs, None, str(theirs / "matches"), str(theirs / "matches" / "matches.txt"), kpt="sift",
            desc="sift")
    _same_tree(ours, theirs)
    assert not (ours / "images").exists()  # skip: no image transferred, root_path is the dataset's


def test_flatten(dataset, tmp_path):
    """sfm_data and images: as kapture. Regions: named after the view's file name (what openMVG and kapture's
    importer look for); kapture names them after the whole flattened image path ('map_' + ours)."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _ours(dataset, ours, "-im", str(ours / "images"), "-r", str(ours / "r"), "--image_action", "copy",
          "--image_path_flatten", "-kpt", "SIFT", "-desc", "SIFT")
    _theirs(dataset, theirs, str(theirs / "images"), str(theirs / "r"), None, "copy", True, "SIFT", "SIFT")
    files = _same_tree(ours, theirs, rename=lambda rel: rel.replace("r/map_", "r/"))
    assert "images/map/cam_00001_0001.jpg" in files and "r/cam_00001_0001.feat" in files


def _kapture_import(src: Path, out: Path, regions=True, matches=True) -> None:
    import_mod.import_openmvg(str(src / "sfm_data.json"), str(src / "matches") if regions else None,
                              str(src / "matches" / "matches.txt") if matches else None, str(out),
                              TransferAction.skip, True)


def test_import_regions_matches_like_kapture(dataset, tmp_path):
    """Import with -r -m what kapture exported: every file is byte-equal to what kapture's importer writes
    from the same files, but trajectories.txt (same poses; kapture's quaternion sign and -0.0 differ)."""
    src = tmp_path / "mvg"
    _theirs(dataset, src, None, str(src / "matches"), str(src / "matches" / "matches.txt"), kpt="SIFT", desc="SIFT")
    assert kapture_import_openmvg.main(["-s", str(src / "sfm_data.json"), "-r", str(src / "matches"), "-m",
                                        str(src / "matches" / "matches.txt"), "-o", str(tmp_path / "ours"),
                                        "--image_action", "skip"]) == 0
    _kapture_import(src, tmp_path / "theirs")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    files = sorted(str(p.relative_to(ours)) for p in ours.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(theirs)) for p in theirs.rglob("*") if p.is_file())
    assert {"reconstruction/keypoints/SIFT_Regions/keypoints.txt", "reconstruction/observations.txt",
            "reconstruction/descriptors/SIFT_Image_describer/descriptors.txt"} < set(files)
    for rel in files:
        if rel != "sensors/trajectories.txt":
            assert (ours / rel).read_bytes() == (theirs / rel).read_bytes(), rel
    a, b = load_kapture(ours).trajectories, load_kapture(theirs).trajectories
    assert a.keys() == b.keys()
    np.testing.assert_allclose(P.canonical_quaternions(a.rotations), P.canonical_quaternions(b.rotations), atol=1e-12)
    np.testing.assert_allclose(a.translations, b.translations, atol=1e-12)


def test_round_trip(dataset, tmp_path):
    """export -r -m, import -r -m: keypoints (to the 5 decimals of .feat), descriptors and matches come back."""
    out = tmp_path / "mvg"
    assert kapture_export_openmvg.main(["-i", str(dataset), "-o", str(out), "-kpt", "SIFT", "-desc", "SIFT",
                                        "--image_action", "copy"]) == 0
    back_root = out / "matches" / "back"  # inside the regions folder, as `-i DIR -o DIR/kapture` is
    assert kapture_import_openmvg.main(["-i", str(out), "-r", str(out / "matches"), "-m",
                                        str(out / "matches" / "matches.txt"), "-o", str(back_root)]) == 0
    src, back = load_kapture(dataset), load_kapture(back_root)
    assert (back_root / "sensors" / "records_data" / "map").is_symlink()  # root_link, kapture's default
    assert set(back.keypoints) == {"SIFT_Regions"} and set(back.descriptors) == {"SIFT_Image_describer"}
    s_store, b_store = KaptureFeatureStore(dataset), KaptureFeatureStore(back_root)
    for name in src.image_names():
        np.testing.assert_allclose(b_store.read("keypoints", "SIFT_Regions", name),
                                   s_store.read("keypoints", "SIFT", name), atol=5e-6)
        assert np.array_equal(b_store.read("descriptors", "SIFT_Image_describer", name),
                              s_store.read("descriptors", "SIFT", name))
        assert (back_root / "sensors" / "records_data" / name).read_bytes() == \
               (dataset / "sensors" / "records_data" / name).read_bytes()
    assert back.matches["SIFT_Regions"] == src.matches["SIFT"]
    for a, b in src.matches["SIFT"]:
        assert np.array_equal(b_store.read_matches("SIFT_Regions", a, b)[:, :2],
                              s_store.read_matches("SIFT", a, b)[:, :2])


def test_bad_regions_and_matches(dataset, tmp_path):
    out = tmp_path / "mvg"
    _ours(dataset, out, "-r", str(out / "r"), "-m", str(out / "m.txt"), "-kpt", "SIFT", "-desc", "SIFT")
    (out / "r" / "0001.desc").write_bytes((out / "r" / "0001.desc").read_bytes()[:-3])
    args = ["-s", str(out / "sfm_data.json"), "-r", str(out / "r"), "-o", str(tmp_path / "b"), "--image_action",
            "skip"]
    assert kapture_import_openmvg.main(args) == 1
    (out / "r" / "0001.desc").unlink()
    (out / "m.txt").write_text("0 1\n2\n0  1\n")
    assert kapture_import_openmvg.main([*args, "-y", "-m", str(out / "m.txt")]) == 1
    assert kapture_import_openmvg.main([*args, "-y", "-m", str(out / "m.bin")]) == 1


@pytest.mark.parametrize("action", ["copy", "link_absolute", "link_relative", "root_link"])
def test_import_image_action_like_kapture(dataset, tmp_path, action):
    """--image_action on import: the same record files (or links to the same files) as kapture's importer."""
    _ours(dataset, tmp_path / "mvg", "-kpt", "sift", "-desc", "sift")  # root_path: the dataset's images
    assert kapture_import_openmvg.main(["-s", str(tmp_path / "mvg" / "sfm_data.json"), "-o", str(tmp_path / "ours"),
                                        "--image_action", action]) == 0
    import_mod.import_openmvg(str(tmp_path / "mvg" / "sfm_data.json"), None, None, str(tmp_path / "theirs"),
                              TransferAction[action], True)
    data = ("sensors", "records_data")
    files = _same_tree(tmp_path / "ours" / Path(*data), tmp_path / "theirs" / Path(*data))
    assert files == (["map"] if action == "root_link" else sorted(load_kapture(dataset).image_names()))
    assert (tmp_path / "ours" / "sensors" / "records_camera.txt").read_bytes() == \
           (tmp_path / "theirs" / "sensors" / "records_camera.txt").read_bytes()


def test_rig_poses_like_kapture(dataset, tmp_path):
    """Images posed through a rig: the same bytes as kapture, which composes rig and camera poses itself."""
    from kapturelike.core.trajectories import Pose, Trajectories

    k = load_kapture(dataset)
    rng = np.random.default_rng(2)
    in_rig = {"cam_00001": Pose(P.normalize_quaternions(rng.normal(size=4)), rng.normal(size=3)),
              "cam_00002": Pose(P.normalize_quaternions(rng.normal(size=4)), rng.normal(size=3))}
    k.rigs = {"rig": in_rig}
    k.trajectories = Trajectories.from_items(((ts, "rig") if dev in in_rig else (ts, dev), pose)
                                             for (ts, dev), pose in k.trajectories.items())
    k.keypoints, k.descriptors, k.matches, k.points3d, k.observations = {}, {}, {}, None, None
    save_kapture(k, tmp_path / "rig")
    _ours(tmp_path / "rig", tmp_path / "ours")
    _theirs(tmp_path / "rig", tmp_path / "theirs")
    ours, theirs = ((p / "sfm_data.json").read_text() for p in (tmp_path / "ours", tmp_path / "theirs"))
    assert ours.count('"view_priors"') == 1 and ours.count("use_pose_center_prior") == 5
    assert ours.replace('"structure": []', '"structure": null') == theirs  # no points: kapture writes null


@pytest.mark.skipif(not (SHARED / "data" / "virtual_gallery_tutorial").is_dir(), reason="../shared absent")
def test_virtual_gallery_like_kapture(tmp_path):
    """kapture-localization's tutorial mapping (a rig naming absent sensors, no points): kapture's bytes."""
    import shutil

    shutil.copytree(SHARED / "data" / "virtual_gallery_tutorial" / "mapping", tmp_path / "k", symlinks=False)
    _ours(tmp_path / "k", tmp_path / "ours")
    _theirs(tmp_path / "k", tmp_path / "theirs")
    ours, theirs = ((p / "sfm_data.json").read_text() for p in (tmp_path / "ours", tmp_path / "theirs"))
    assert ours.replace('"structure": []', '"structure": null') == theirs
