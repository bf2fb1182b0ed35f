"""Record paths and feature / match file names never lead outside their dataset folder."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType
from kapturelike.errors import FormatError
from kapturelike.io.dataset import records_data_path
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.paths import inside, quote
from kapturelike.tools import kapture_check, kapture_merge, kapture_split

V = "# kapture format: 1.1\n"
SENSORS = V + "# sensor_id, name, sensor_type, [sensor_params]+\ncam, , camera, PINHOLE, 8, 6, 5, 5, 4, 3\n"


def _dataset(root: Path, names: list[str]) -> Path:
    """A dataset of one image per name; names that are fine get an image file."""
    (root / "sensors" / "records_data").mkdir(parents=True)
    (root / "sensors" / "sensors.txt").write_text(SENSORS)
    rows = "".join(f"{i}, cam, {n}\n" for i, n in enumerate(names))
    (root / "sensors" / "records_camera.txt").write_text(V + "# timestamp, device_id, image_path\n" + rows)
    for n in names:
        if n.endswith(".png") and inside_ok(root / "sensors" / "records_data", n):
            (root / "sensors" / "records_data" / n).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / "sensors" / "records_data" / n), np.zeros((6, 8), np.uint8))
    return root


def inside_ok(folder: Path, name: str) -> bool:
    try:
        inside(folder, name)
        return True
    except FormatError:
        return False


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    return outside


@pytest.mark.parametrize("name, reason", [
    ("../../../../secret.txt", "leaves its folder"), ("a/../../secret.txt", "leaves its folder"),
    ("/etc/passwd", "absolute"), ("", "empty"), ("a\0b", "NUL"), ("a/..", "folder itself"),
])
def test_lexical_escapes_are_refused(tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(FormatError, match=reason) as info:
        inside(tmp_path, name, tmp_path / "records_camera.txt", 7, "image_path")
    assert info.value.line == 7 and info.value.field == "image_path"


def test_links(tmp_path: Path, secret: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "up").symlink_to(secret, target_is_directory=True)
    with pytest.raises(FormatError, match="symbolic link outside"):
        inside(folder, "up/secret.txt")
    assert inside(folder, "a/../b.jpg") == folder / "a/../b.jpg"  # stays inside
    (folder / "seq").mkdir()
    (folder / "seq" / "loop").symlink_to(folder, target_is_directory=True)
    assert inside(folder, "seq/loop/x.jpg")  # a link that stays inside is fine
    linked = tmp_path / "linked"  # the folder itself may be a link (MAP_DIR's records_data)
    linked.symlink_to(folder, target_is_directory=True)
    assert inside(linked, "seq/x.jpg") == linked / "seq/x.jpg"
    (folder / "img.jpg").symlink_to(secret / "secret.txt")  # a linked file (kapture's link_absolute imports)
    assert inside(folder, "img.jpg") == folder / "img.jpg"


def test_quote_is_short() -> None:
    assert len(quote("x" * 2_000_000)) < 120 and quote("short") == "'short'"


def _escaping_dataset(tmp_path: Path, secret: Path) -> Path:
    root = _dataset(tmp_path / "ds", ["ok.png", "../../outside/secret.txt", str(secret / "secret.txt"),
                                      "/etc/passwd", "up/secret.txt"])
    (root / "sensors" / "records_data" / "up").symlink_to(secret, target_is_directory=True)
    return root


def test_check_reports_each_escaping_path_with_file_line_field(tmp_path: Path, secret: Path, capsys) -> None:
    root = _escaping_dataset(tmp_path, secret)
    assert kapture_check.main(["-i", str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    records = str(root / "sensors" / "records_camera.txt")
    for line in (4, 5, 6, 7):
        assert any(records in o and f"line {line}" in o and "'image_path'" in o and "refused" in o for o in out), out
    assert not any("line 3," in o for o in out)


def test_merge_and_split_refuse_and_place_nothing_outside(tmp_path: Path, secret: Path, capsys) -> None:
    root = _escaping_dataset(tmp_path, secret)
    good = _dataset(tmp_path / "good", ["g.png"])
    for copy in ([], ["--copy"]):
        out = tmp_path / f"merged{len(copy)}"
        assert kapture_merge.main(["-i", str(root), str(good), "-o", str(out), *copy]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "records_camera.txt, line 4, field 'image_path'" in err, err
        assert not any(p.is_symlink() or p.name == "secret.txt" for p in out.rglob("*")) if out.exists() else True
    names = tmp_path / "names.txt"
    names.write_text("ok.png\n")
    assert kapture_split.main(["-i", str(root), "--images", str(names), "-o", str(tmp_path / "a"),
                               "--rest", str(tmp_path / "b")]) == 1
    assert "line 4, field 'image_path'" in capsys.readouterr().err
    for part in ("a", "b"):
        assert not any(p.name == "secret.txt" for p in (tmp_path / part).rglob("*"))


def test_record_file_names_the_records_line(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", ["a.png", "../x.png"])
    with pytest.raises(FormatError) as info:
        records_data_path(root, "../x.png")
    assert info.value.line == 4 and info.value.field == "image_path"
    assert info.value.path == str(root / "sensors" / "records_camera.txt")


def test_feature_and_match_names_stay_in_their_folder(tmp_path: Path, secret: Path) -> None:
    store = KaptureFeatureStore(tmp_path / "ds")
    store.write_type(FeatureType("keypoints", "sift", np.float32, 2))
    for bad in ("../../../../x", "/tmp/x", "a/../../x"):
        with pytest.raises(FormatError, match="relative path inside"):
            store.write("keypoints", "sift", bad, np.zeros((1, 2), np.float32))
        with pytest.raises(FormatError):
            store.write_matches("sift", "a.jpg", bad, np.zeros((1, 2)))
    folder = store.folder("keypoints", "sift")
    (folder / "up").symlink_to(secret, target_is_directory=True)
    with pytest.raises(FormatError, match="symbolic link outside"):
        store.write("keypoints", "sift", "up/x.jpg", np.zeros((1, 2), np.float32))
    with pytest.raises(FormatError, match="type name"):
        store.folder("keypoints", "../../x")
    assert not any(p.name.endswith(".kpt") for p in secret.iterdir())
    assert os.listdir(secret) == ["secret.txt"]
