"""Dataset importers never write into their input: -o equal to, inside or holding -i is refused, even
with --force, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapturelike.importers.common import prepare_output
from kapturelike.io.output import OutputError
from kapturelike.tools import kapture_import_7scenes

from .test_7scenes import make_scene


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_7scenes_into_its_input_is_refused(tmp_path: Path, capsys) -> None:
    raw = tmp_path / "raw"
    make_scene(raw)
    before = _listing(tmp_path)
    for out in (raw, raw / "kapture", tmp_path):
        assert kapture_import_7scenes.main(["-i", str(raw), "-o", str(out), "-q", "-f"]) == 1
        assert "overlaps input" in capsys.readouterr().err
    assert _listing(tmp_path) == before


def test_prepare_output_refuses_links_onto_an_input(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "in", target_is_directory=True)
    with pytest.raises(OutputError, match="overlaps input"):
        prepare_output(tmp_path / "link" / "out", force=True, inputs=[tmp_path / "in"])
    assert not (tmp_path / "in" / "out").exists()
