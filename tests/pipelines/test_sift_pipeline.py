"""kapture_pipeline_colmap_vocab_tree with kapturelike's steps, on the synthetic scene and its map (built once
for the pipeline tests, given with --colmap-map: kapture-localization then reuses it): the queries localized,
kapture_evaluate's files and the LTVL2020 file where kapture-localization writes them; kapture reads the poses.
The mapping step is run_mapping with SIFT (tested with the mapping pipeline)."""

from __future__ import annotations

from pathlib import Path

import kapture.io.csv as kcsv

from kapturelike.pipeline_tools import kapture_pipeline_colmap_vocab_tree


def test_vocab_tree_pipeline_localizes_in_a_given_map(synthetic_map, tmp_path: Path, capsys) -> None:
    scene, map_dir, _ = synthetic_map
    out = tmp_path / "out"
    argv = ["-i", str(scene.mapping), "--query", str(scene.query), "--colmap-map", str(map_dir), "-o", str(out),
            "-voc", str(tmp_path / "vocab_tree_flickr100K_words32K.bin"), "--localize-config", "2"]
    assert kapture_pipeline_colmap_vocab_tree.main(argv) == 0
    printed = capsys.readouterr().out
    assert "-voc" in printed and "is not read" in printed and "reusing that map" in printed
    assert not (out / "colmap_map").exists()
    localized = kcsv.kapture_from_dir(str(out / "localization/localized"))
    poses = sum(len(per_time) for per_time in localized.trajectories.values())
    images = sum(len(per_time) for per_time in kcsv.kapture_from_dir(str(scene.query)).records_camera.values())
    assert poses >= 0.8 * images
    stats = (out / "eval/stats.txt").read_text()
    assert stats.startswith("Model: sift_colmap_vocab_tree_config_2\n") and (out / "eval/plot.png").is_file()
    assert len((out / "LTVL2020_style_result.txt").read_text().splitlines()) == poses
