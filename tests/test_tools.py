"""The dataset tools, in process through main([...]) and once as a subprocess."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType, Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.dataset_tools import (
    DatasetToolError,
    check_kapture,
    merge,
    merge_kaptures,
    parse_image_list,
    split,
)
from kapturelike.errors import FormatError, FormatWarning
from kapturelike.io.dataset import load_kapture, records_data_path, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.tools import (
    kapture_check,
    kapture_export_image_list,
    kapture_import_image_folder,
    kapture_import_image_list,
    kapture_merge,
    kapture_print,
    kapture_split,
)

SIZES = {"a.png": (40, 30), "sub/b.png": (40, 30), "sub/c d.png": (20, 10), "é.png": (20, 10)}


def _images(folder: Path) -> Path:
    for name, (w, h) in SIZES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / name), np.full((h, w), 100, np.uint8))
    (folder / "notes.txt").write_text("not an image")
    return folder


def _dataset(tmp_path: Path, name: str = "ds") -> Path:
    """An imported dataset with poses, keypoints, descriptors, matches, points and observations."""
    root = tmp_path / name
    images = _images(tmp_path / f"{name}_img")
    assert kapture_import_image_folder.main(["-i", str(images), "-o", str(root), "--camera-per-size"]) == 0
    k = load_kapture(root)
    keys = k.image_keys()
    k.trajectories = Trajectories.from_items((key, Pose([1.0, 0, 0, 0], [i, 0.0, 0.0]))
                                             for i, key in enumerate(keys.values()))
    store = KaptureFeatureStore(root)
    k.keypoints["sift"] = FeatureType("keypoints", "sift", np.float32, 2)
    k.descriptors["sift"] = FeatureType("descriptors", "sift", np.uint8, 8, "sift")
    for kind in ("keypoints", "descriptors"):
        store.write_type(getattr(k, kind)["sift"])
    for i, image in enumerate(sorted(keys)):
        store.write("keypoints", "sift", image, np.full((5 + i, 2), i, np.float32))
        store.write("descriptors", "sift", image, np.full((5 + i, 8), i, np.uint8))
    names = sorted(keys)
    store.write_matches("sift", names[0], names[1], np.array([[0, 1], [2, 3]]))
    store.write_matches("sift", names[2], names[3], np.array([[4, 4]]))
    k.points3d = np.arange(12, dtype=np.float64).reshape(4, 3)
    k.observations = Observations.from_lists([(0, "sift", names[0], 1), (0, "sift", names[1], 2),
                                              (3, "sift", names[3], 4)])
    save_kapture(k, root)
    return root


def _text_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.txt"))


def test_import_image_folder(tmp_path: Path, capsys) -> None:
    images, out = _images(tmp_path / "img"), tmp_path / "out"
    assert kapture_import_image_folder.main(["-i", str(images), "-o", str(out), "--camera-per-size"]) == 0
    assert "imported 4 images with 2 camera(s)" in capsys.readouterr().out
    k = load_kapture(out, check_images=True)
    assert sorted(k.image_names()) == sorted(SIZES)
    assert {(c.model, c.width, c.height) for c in k.cameras().values()} == {("UNKNOWN_CAMERA", 40, 30),
                                                                            ("UNKNOWN_CAMERA", 20, 10)}
    assert sorted(k.records_camera.timestamps.tolist()) == [0, 1, 2, 3]
    assert os.path.islink(records_data_path(out, "sub/c d.png"))
    # a non-empty output is refused in one line, then accepted with --force; --copy copies
    assert kapture_import_image_folder.main(["-i", str(images), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not empty" in err and err.count("\n") == 1
    assert kapture_import_image_folder.main(["-i", str(images), "-o", str(out), "--force", "--copy",
                                             "--camera-model", "SIMPLE_RADIAL", "--camera-per-size"]) == 0
    k = load_kapture(out, check_images=True)
    assert not os.path.islink(records_data_path(out, "a.png"))
    cam = next(c for c in k.cameras().values() if c.width == 40)
    assert cam.model == "SIMPLE_RADIAL" and cam.params == (48.0, 20.0, 15.0, 0.0)
    assert kapture_import_image_folder.main(["-i", str(tmp_path / "none"), "-o", str(tmp_path / "o2")]) == 1
    assert kapture_import_image_folder.main(["-i", str(images)]) == 2  # argparse: missing -o


def test_print(tmp_path: Path, capsys) -> None:
    root = _dataset(tmp_path)
    capsys.readouterr()
    assert kapture_print.main(["-i", str(root), "--summary"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "sensors: 2 (camera: 2)" in out and "poses: 4" in out and "records: camera: 4" in out
    assert "keypoints: sift (float32 x 2, 4 images)" in out and "match pairs: sift: 2" in out
    assert "points3d: 4" in out and "observations: 3" in out
    assert kapture_print.main(["-i", str(tmp_path / "nothing")]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_print_subprocess(tmp_path: Path) -> None:
    root = _dataset(tmp_path)
    result = subprocess.run([sys.executable, "-m", "kapturelike.tools.kapture_print", "-i", str(root), "--summary"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "records: camera: 4" in result.stdout
    result = subprocess.run([sys.executable, "-m", "kapturelike.tools.kapture_print", "-i", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_check_clean_and_broken(tmp_path: Path, capsys) -> None:
    root = _dataset(tmp_path)
    capsys.readouterr()
    assert kapture_check.main(["-i", str(root)]) == 0
    assert "ok" in capsys.readouterr().out
    names = sorted(load_kapture(root).image_names())
    store = KaptureFeatureStore(root)
    os.unlink(records_data_path(root, names[0]))  # missing image
    with open(store.path("keypoints", "sift", names[1]), "ab") as f:  # size no longer a multiple of dsize
        f.write(b"\0\0")
    # fewer keypoints than descriptors
    store.write("keypoints", "sift", names[2], np.zeros((1, 2), np.float32))
    store.write_matches("sift", names[0], "ghost.png", np.array([[0, 0]]))  # image without keypoints
    (root / "reconstruction" / "observations.txt").write_text(
        f"# kapture format: 1.1\n0, sift, {names[3]}, 99\n9, sift, {names[0]}, 0\n")
    with open(root / "sensors" / "trajectories.txt", "a") as f:
        f.write("7, nobody, 1, 0, 0, 0, 0, 0, 0\n")
    problems = check_kapture(root)
    text = "\n".join(str(p) for p in problems)
    assert all(isinstance(p, FormatError) for p in problems)
    assert "nobody" in text and "line 7" in text  # unknown device, with its line
    assert "image file is missing" in text and names[0] in text
    assert "does not fit float32 x 2" in text
    assert "6 descriptors for 1 keypoints" in text or "descriptors for 1 keypoints" in text
    assert "without keypoints of type 'sift': ghost.png" in text
    assert "feature id 99" in text and "beyond the 4 of points3d.txt" in text
    assert kapture_check.main(["-i", str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    warnings = [p for p in problems if isinstance(p, FormatWarning)]  # the unknown device
    assert len(warnings) == 1 and "nobody" in str(warnings[0])
    assert out[-1] == f"{len(problems) - 1} error(s), 1 warning(s) found" and len(out) == len(problems) + 1
    assert sum(line.startswith("warning: ") for line in out) == 1


def test_image_list_forms_and_export_round_trip(tmp_path: Path, capsys) -> None:
    images = _images(tmp_path / "img")
    lst = tmp_path / "list.txt"
    lst.write_text("# comment\na.png\nsub/b.png PINHOLE 40 30 50 51 20 15\n"
                   "é.png 1 0 0 0 1 2 3\nsub/c%20d.png SIMPLE_PINHOLE 20 10 30 10 5 0 1 0 0 4 5 6\n")
    os.rename(images / "sub" / "c d.png", images / "sub" / "c%20d.png")
    out = tmp_path / "out"
    assert kapture_import_image_list.main(["-l", str(lst), "-im", str(images), "-o", str(out)]) == 0
    assert "imported 4 images, 4 camera(s), 2 poses" in capsys.readouterr().out
    k = load_kapture(out, check_images=True)
    cams = {name: k.sensors[cam] for name, (_, cam) in k.image_keys().items()}
    assert cams["sub/b.png"].model == "PINHOLE" and cams["sub/b.png"].params == (50, 51, 20, 15)
    assert cams["a.png"].model == "UNKNOWN_CAMERA" and (cams["a.png"].width, cams["a.png"].height) == (40, 30)
    pose = k.trajectories[k.image_keys()["sub/c%20d.png"]]
    assert pose.q.tolist() == [0, 1, 0, 0] and pose.t.tolist() == [4, 5, 6]
    # export with intrinsics and poses, import again: same cameras and poses
    exported = tmp_path / "exported.txt"
    assert kapture_export_image_list.main(["-i", str(out), "-o", str(exported), "--intrinsics",
                                           "--poses"]) == 0
    assert len(exported.read_text().splitlines()) == 4
    assert kapture_import_image_list.main(["-l", str(exported), "-im", str(images),
                                           "-o", str(tmp_path / "o2")]) == 0
    k2 = load_kapture(tmp_path / "o2")
    assert sorted(map(repr, k2.sensors.values())) == sorted(map(repr, k.sensors.values()))
    for name, key in k.image_keys().items():
        assert k2.trajectories.get(k2.image_keys()[name]) == k.trajectories.get(key)
    # plain export: names only
    assert kapture_export_image_list.main(["-i", str(out), "-o", str(exported)]) == 1  # exists: kapture's -f rule
    assert kapture_export_image_list.main(["-i", str(out), "-o", str(exported), "-f"]) == 0
    assert sorted(exported.read_text().split()) == sorted(k.image_names())


@pytest.mark.parametrize("line, field", [("a.png FISHEYE 1 2", "model"), ("a.png PINHOLE 40 30 1", "params"),
                                         ("a.png 1 0 0 0 1 2", "qw"), ("a.png 3 0 0 0 1 2 3", "qw"),
                                         ("b.png", "name"), ("a.png PINHOLE 40.5 30 1 1 1 1", "params")])
def test_bad_image_list(tmp_path: Path, line: str, field: str) -> None:
    lst = tmp_path / "list.txt"
    lst.write_text("b.png\n" + line + "\n")
    with pytest.raises(FormatError) as info:
        parse_image_list(lst)
    assert info.value.line == 2 and info.value.field == field and str(lst) in str(info.value)


def test_merge_one_input_is_identical_copy(tmp_path: Path, capsys) -> None:
    root = _dataset(tmp_path)
    out = tmp_path / "merged"
    assert kapture_merge.main(["-i", str(root), "-o", str(tmp_path / "no_images")]) == 0  # kapture: skip images
    assert not records_data_path(tmp_path / "no_images").exists()
    assert kapture_merge.main(["-i", str(root), "-o", str(out), "--image_transfer", "link_absolute",
                               "--keep-sensor-ids"]) == 0
    assert _text_files(out) == _text_files(root)
    for name in _text_files(root):
        assert filecmp.cmp(root / name, out / name, shallow=False), name
    # binary feature files and images come along
    match, mismatch, errors = filecmp.cmpfiles(root, out, [str(p.relative_to(root)) for p in root.rglob("*")
                                                           if p.is_file()], shallow=False)
    assert not mismatch and not errors and len(match) > 20
    assert kapture_check.main(["-i", str(out)]) == 0
    name = load_kapture(root).image_names()[0]
    assert os.path.islink(records_data_path(out, name))
    assert kapture_merge.main(["-i", str(root), "-o", str(out), "--force", "--copy"]) == 0
    assert not os.path.islink(records_data_path(out, name)) and records_data_path(out, name).is_file()
    # an output overlapping an input is refused, even with --force (it would delete the input)
    assert kapture_merge.main(["-i", str(root), str(out), "-o", str(root), "--force"]) == 1
    assert "overlap" in capsys.readouterr().err and load_kapture(root, check_images=True).image_names()


def test_merge_two_inputs(tmp_path: Path) -> None:
    a, b = _dataset(tmp_path, "a"), _dataset(tmp_path, "b")
    with pytest.raises(DatasetToolError, match="is in input 1 and input 2"):  # same image names
        merge([a, b], tmp_path / "m")
    # move b's images under another folder so names differ; its sensors keep colliding ids
    kb = load_kapture(b)
    rc = kb.records["camera"]
    kb.records["camera"] = Records("camera", rc.timestamps, rc.device_ids, [(f"b/{p}",) for p in rc.paths])
    b2 = tmp_path / "b2"
    save_kapture(kb, b2)
    for name in rc.paths:
        (records_data_path(b2, f"b/{name}")).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(records_data_path(b, name).resolve(), records_data_path(b2, f"b/{name}"))
    out = tmp_path / "m2"
    m = merge([a, b2], out)
    assert sorted(m.sensors) == ["cam0", "cam0_1", "cam1", "cam1_1"]  # same cameras, same timestamps: renamed
    assert len(m.records_camera) == 8 and len(m.trajectories) == 8 and len(m.points3d) == 8
    assert sorted(set(m.observations.point_ids.tolist())) == [0, 3, 4, 7]  # b2's point ids offset by 4
    k = load_kapture(out, check_images=True)
    assert k.image_keys()["b/a.png"][1].endswith("_1") and len(k.trajectories) == 8
    # feature types must agree
    c = _dataset(tmp_path, "c")
    (c / "reconstruction" / "keypoints" / "sift" / "keypoints.txt").write_text(
        "# kapture format: 1.1\n# name, dtype, dsize\nsift, float64, 2\n")
    with pytest.raises(DatasetToolError, match="keypoints type 'sift' differs"):
        merge([b2, c], tmp_path / "m3")


def test_merge_offsets_point_ids(tmp_path: Path) -> None:
    a, b = _dataset(tmp_path, "a"), _dataset(tmp_path, "b")
    kb = load_kapture(b)
    obs = kb.observations
    renamed = np.array([f"x/{n}" for n in obs.image_names], dtype=object)
    kb.observations = Observations(obs.point_ids, obs.keypoints_types, renamed, obs.feature_ids)
    rc = kb.records["camera"]
    kb.records["camera"] = Records("camera", rc.timestamps, rc.device_ids, [(f"x/{p}",) for p in rc.paths])
    kb.keypoints, kb.descriptors, kb.matches = {}, {}, {}
    b2 = tmp_path / "b2"
    save_kapture(kb, b2)
    m = merge([a, b2], tmp_path / "m")
    assert len(m.points3d) == 8
    got = sorted(zip(m.observations.point_ids.tolist(), m.observations.image_names.tolist()))
    assert (4, f"x/{obs.image_names[0]}") in got and (7, f"x/{obs.image_names[2]}") in got


def test_split(tmp_path: Path, capsys) -> None:
    root = _dataset(tmp_path)
    names = sorted(load_kapture(root).image_names())
    lst = tmp_path / "query.txt"
    lst.write_text(f"{names[0]}\n{names[1]} extra fields are ignored\n")
    qa, qb = tmp_path / "query", tmp_path / "mapping"
    assert kapture_split.main(["-i", str(root), "--images", str(lst), "-o", str(qa), "--rest", str(qb)]) == 0
    assert "2 images into" in capsys.readouterr().out
    a, b = load_kapture(qa, check_images=True), load_kapture(qb, check_images=True)
    assert sorted(a.image_names()) == names[:2] and sorted(b.image_names()) == names[2:]
    assert len(a.trajectories) == 2 and len(b.trajectories) == 2
    assert a.keypoints["sift"].images == set(names[:2]) and b.keypoints["sift"].images == set(names[2:])
    assert a.matches == {"sift": {(names[0], names[1])}} and b.matches == {"sift": {(names[2], names[3])}}
    assert len(a.observations) == 2 and len(b.observations) == 1
    assert check_kapture(qa) == [] and check_kapture(qb) == []
    # merging the two parts back gives the original dataset
    merge([qa, qb], tmp_path / "back")
    back = load_kapture(tmp_path / "back")
    orig = load_kapture(root)
    assert back.trajectories == orig.trajectories and back.records_camera == orig.records_camera
    assert back.matches == orig.matches and back.keypoints["sift"].images == orig.keypoints["sift"].images
    # unknown names are refused; existing outputs too
    lst.write_text("nope.png\n")
    with pytest.raises(DatasetToolError, match="nope.png"):
        split(root, {"nope.png"}, tmp_path / "x", tmp_path / "y")
    assert kapture_split.main(["-i", str(root), "--images", str(lst), "-o", str(qa), "--rest", str(qb)]) == 1


def test_merge_renamed_ids_never_clash_with_the_input_own_ids(tmp_path: Path) -> None:
    from kapturelike.core.records import Records

    cam, other = Camera("PINHOLE", 10, 10, (5, 5, 5, 5)), Camera("PINHOLE", 20, 20, (9, 9, 9, 9))
    first = Kapture(sensors={"cam": cam}, records={"camera": Records.camera([((0, "cam"), "a.jpg")])})
    # second input: its 'cam' differs, and it already owns an id 'cam_1' equal to nothing in the first
    second = Kapture(sensors={"cam": other, "cam_1": cam},
                     records={"camera": Records.camera([((0, "cam"), "b.jpg"), ((0, "cam_1"), "c.jpg")])})
    m = merge_kaptures([first, second])
    assert m.sensors == {"cam": cam, "cam_2": other, "cam_1": cam}
    assert m.records_camera.image_index() == {"a.jpg": (0, "cam"), "b.jpg": (0, "cam_2"),
                                              "c.jpg": (0, "cam_1")}
    # identical sensors with disjoint timestamps are shared
    third = Kapture(sensors={"cam": cam}, records={"camera": Records.camera([((5, "cam"), "d.jpg")])})
    assert sorted(merge_kaptures([first, third]).sensors) == ["cam"]
