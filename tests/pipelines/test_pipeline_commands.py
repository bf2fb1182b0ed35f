"""The two pipeline commands on a tiny synthetic scene: exit codes, outputs, one-line errors."""

from __future__ import annotations

import json

import pytest

from kapturelike.io.dataset import load_kapture
from kapturelike.pipeline_tools import kapture_pipeline_localize, kapture_pipeline_mapping
from kapturelike.synthetic.export import write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    options = SyntheticOptions(num_mapping=8, num_sequences=1, sequence_length=2, width=320, height=240, focal=250)
    return write_synthetic_kapture(generate_dataset(options), tmp_path_factory.mktemp("tiny"))


def test_mapping_then_localize_commands(tiny, tmp_path, capsys):
    assert kapture_pipeline_mapping.main(["-i", str(tiny.mapping), "-o", str(tmp_path / "map")]) == 0
    assert "points" in capsys.readouterr().out
    assert load_kapture(tmp_path / "map").points3d is not None
    assert kapture_pipeline_localize.main(["-m", str(tmp_path / "map"), "-q", str(tiny.query),
                                           "-o", str(tmp_path / "loc")]) == 0
    out = capsys.readouterr().out
    assert "queries:" in out and "(0.25m,2deg)" in out
    results = json.loads((tmp_path / "loc" / "localization_results.json").read_text())
    assert len(results) == 4 and all(r["status"] in ("localized", "recovered_rig", "recovered_sequence", "failed")
                                     for r in results.values())
    assert (tmp_path / "loc" / "localized" / "sensors" / "trajectories.txt").is_file()


def test_commands_report_bad_input_in_one_line(tiny, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pairs:\n  topk_mapping: 5\n  no_such_setting: 1\n")
    assert kapture_pipeline_mapping.main(["-i", str(tiny.mapping), "-o", str(tmp_path / "m"),
                                          "--config", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_setting" in err[0] and str(bad) in err[0]
    assert kapture_pipeline_localize.main(["-m", str(tmp_path / "no_map"), "-q", str(tiny.query),
                                           "-o", str(tmp_path / "l")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "observations" in err[0]
