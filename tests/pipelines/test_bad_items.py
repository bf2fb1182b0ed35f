"""A bad item never stops a run: a truncated or missing image is reported by the feature step, left out
by every later step (DenseVLAD fit, pairs, matching, triangulation, pose estimation), listed in the
final summary, and the command exits with 1 after finishing with the rest."""

from __future__ import annotations

import json

import pytest

from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.pipeline_tools import kapture_pipeline_localize, kapture_pipeline_mapping
from kapturelike.synthetic.export import write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """The tiny scene with one truncated and one missing map image and one truncated query image."""
    options = SyntheticOptions(num_mapping=8, num_sequences=1, sequence_length=2, width=320, height=240, focal=250)
    paths = write_synthetic_kapture(generate_dataset(options), tmp_path_factory.mktemp("damaged"))
    names = sorted(load_kapture(paths.mapping).image_names())
    truncated = records_data_path(paths.mapping, names[2])
    truncated.write_bytes(truncated.read_bytes()[:200])
    records_data_path(paths.mapping, names[5]).unlink()
    query = sorted(load_kapture(paths.query).image_names())[0]
    records_data_path(paths.query, query).write_bytes(b"\x89PNG\r\n")
    return paths, (names[2], names[5]), query


def test_damaged_images_are_left_out_and_reported(damaged, tmp_path, capsys):
    paths, bad_maps, bad_query = damaged
    config = tmp_path / "config.yaml"  # the map's 6 good images matched exhaustively; DenseVLAD fitted on them
    config.write_text("pairs:\n  exhaustive_below: 6\n  topk_localization: 3\n")
    map_dir = tmp_path / "map"
    assert kapture_pipeline_mapping.main(["-i", str(paths.mapping), "-o", str(map_dir), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert all(f"failed: {name}: local features" in err for name in bad_maps), err
    k = load_kapture(map_dir)
    assert k.points3d is not None and not set(bad_maps) & set(k.observations.image_names.tolist())
    report = (map_dir / "mapping_report.txt").read_text()
    assert all(f"failed: {name}" in report for name in bad_maps)
    assert "global model (densevlad: load, or fit on the map): 1 done" in report  # fitted on the 6 good images
    assert "matching + verification: 15 done" in report and "triangulation" in report  # 6 images: 15 pairs
    out = tmp_path / "loc"
    config.write_text("pairs:\n  exhaustive_below: 2\n  topk_localization: 3\n")  # retrieval in the map
    assert kapture_pipeline_localize.main(["-m", str(map_dir), "-q", str(paths.query), "-o", str(out),
                                           "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"failed: {bad_query}: local features" in err and err.strip().splitlines()[-1].startswith("error:")
    results = json.loads((out / "localization_results.json").read_text())
    assert len(results) == 4 and results[bad_query]["status"] != "localized"  # every query has its outcome
