"""Outputs never overlap inputs (even with --force); a non-empty output needs --force, which leaves
no file of an earlier run behind."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from kapturelike.io.output import OutputError, prepare_output, refuse_overlap
from kapturelike.io.text import TEMPORARY_SUFFIX
from kapturelike.pipeline_tools import kapture_pipeline_localize, kapture_pipeline_mapping
from kapturelike.tools import kapture_import_image_folder, kapture_merge, kapture_split


def _digest(root: Path) -> dict[str, str]:
    """Every file below root (links not followed) -> hash of its bytes or its link target."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(root))] = "link:" + str(p.readlink())
        elif p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha1(p.read_bytes()).hexdigest()
    return out


def _imported(tmp_path: Path, name: str = "ds") -> tuple[Path, Path]:
    images = tmp_path / f"{name}_images"
    images.mkdir()
    for i in range(3):
        cv2.imwrite(str(images / f"{i}.png"), np.full((6, 8), 10 * i, np.uint8))
    root = tmp_path / name
    assert kapture_import_image_folder.main(["-i", str(images), "-o", str(root)]) == 0
    return images, root


def test_overlap_relations(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(data, target_is_directory=True)
    for out in (data, data / "sub", data / "sub" / "new", tmp_path, link, link / "sub"):
        with pytest.raises(OutputError, match="overlaps input"):
            refuse_overlap(out, [tmp_path / "elsewhere", data])
    refuse_overlap(tmp_path / "data2", [data, None])  # a sibling with a common prefix is fine


def test_force_never_allows_an_overlap_and_the_input_is_intact(tmp_path: Path, capsys) -> None:
    images, root = _imported(tmp_path)
    before = _digest(tmp_path)
    for argv in (["-i", str(images), "-o", str(images), "-f"], ["-i", str(images), "-o", str(images / "k"), "-f"],
                 ["-i", str(images), "-o", str(tmp_path), "-f"]):
        assert kapture_import_image_folder.main(argv) == 1
        assert "overlaps input" in capsys.readouterr().err
    for out in (root, root / "sensors", tmp_path):
        assert kapture_merge.main(["-i", str(root), "-o", str(out), "-f"]) == 1
        assert "overlaps input" in capsys.readouterr().err
    names = tmp_path / "names.txt"
    names.write_text("0.png\n")
    assert kapture_split.main(["-i", str(root), "--images", str(names), "-o", str(root / "a"),
                               "--rest", str(tmp_path / "b"), "-f"]) == 1
    names.unlink()
    assert _digest(tmp_path) == before


def test_non_empty_output_needs_force_which_replaces_what_the_tool_writes(tmp_path: Path, capsys) -> None:
    images, _ = _imported(tmp_path)
    out = tmp_path / "out"
    (out / "reconstruction" / "keypoints" / "old").mkdir(parents=True)
    stale = out / "reconstruction" / "keypoints" / "old" / "keypoints.txt"
    stale.write_text("from an earlier run")
    (out / "README").write_text("user notes")
    assert kapture_import_image_folder.main(["-i", str(images), "-o", str(out)]) == 1
    assert "not empty" in capsys.readouterr().err and stale.exists()
    assert kapture_import_image_folder.main(["-i", str(images), "-o", str(out), "-f"]) == 0
    assert not stale.exists() and (out / "README").read_text() == "user notes"


def test_force_removes_stale_temporaries(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "notes").mkdir(parents=True)
    tmp = out / "notes" / f".a.txt.0123abcd{TEMPORARY_SUFFIX}"
    tmp.write_text("left by a killed run")
    prepare_output(out, [], force=True)
    assert not tmp.exists() and (out / "notes").is_dir()


def test_pipelines_never_write_into_an_input(tmp_path: Path, capsys) -> None:
    _, query = _imported(tmp_path, "query")
    _, fake_map = _imported(tmp_path, "map")
    before = _digest(tmp_path)
    for out in (fake_map, fake_map / "reconstruction", query, tmp_path):
        assert kapture_pipeline_localize.main(["-m", str(fake_map), "-q", str(query), "-o", str(out)]) == 1
        assert "overlaps" in capsys.readouterr().err
    for out in (query, query / "out", tmp_path):
        assert kapture_pipeline_mapping.main(["-i", str(query), "-o", str(out)]) == 1
        assert "overlaps input" in capsys.readouterr().err
    assert _digest(tmp_path) == before
