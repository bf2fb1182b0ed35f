"""Importers: an output on an input is refused even with --force; a second import into the same folder
needs --force and leaves a dataset that reads back consistently (no stale file of the first run)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kapturelike.dataset_tools import check_kapture
from kapturelike.io.dataset import load_kapture
from kapturelike.tools import kapture_export_colmap, kapture_import_colmap

from .conftest import make_dataset


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_import_colmap_into_its_input_is_refused(tmp_path: Path, capsys) -> None:
    make_dataset(tmp_path / "k")
    model = tmp_path / "m"
    assert kapture_export_colmap.main(["-i", str(tmp_path / "k"), "-o", str(model), "-db", str(tmp_path / "d.db")]) == 0
    before = _digest(tmp_path)
    for argv in (["-i", str(model), "-o", str(model)], ["-i", str(model), "-o", str(model / "k"), "-f"],
                 ["-i", str(model), "-o", str(tmp_path), "-f"], ["-db", str(tmp_path / "d.db"), "-o", str(tmp_path)]):
        assert kapture_import_colmap.main(argv) == 1
        assert "overlaps input" in capsys.readouterr().err
    assert _digest(tmp_path) == before


def test_second_import_needs_force_and_leaves_no_stale_file(tmp_path: Path, capsys) -> None:
    make_dataset(tmp_path / "k4", n_images=4)
    make_dataset(tmp_path / "k3", n_images=3, seed=1)
    for n in (4, 3):
        assert kapture_export_colmap.main(["-i", str(tmp_path / f"k{n}"), "-o", str(tmp_path / f"m{n}"),
                                           "-db", str(tmp_path / f"d{n}.db")]) == 0
    out = tmp_path / "out"
    assert kapture_import_colmap.main(["-i", str(tmp_path / "m4"), "-db", str(tmp_path / "d4.db"), "-o", str(out)]) == 0
    assert load_kapture(out).descriptors  # the database gave descriptors and matches
    assert kapture_import_colmap.main(["-i", str(tmp_path / "m3"), "-o", str(out)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert kapture_import_colmap.main(["-i", str(tmp_path / "m3"), "-o", str(out), "-f"]) == 0
    k = load_kapture(out)
    assert len(k.image_names()) == 3 and not k.descriptors and not k.matches  # nothing of the first run
    assert [p for p in check_kapture(out) if "image file is missing" not in str(p)] == []  # no images given
