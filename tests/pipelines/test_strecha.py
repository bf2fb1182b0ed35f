"""Real data: map two thirds of each Strecha scene with its ground-truth cameras, localize the rest,
through the pipeline commands, with the default local and global features (SIFT, DenseVLAD).

Skipped when ../shared/data/strecha is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kapturelike.pipeline_tools import kapture_pipeline_localize, kapture_pipeline_mapping
from kapturelike.pipelines.pairs_files import evaluate_pairs_file
from kapturelike.pipelines.real_scenes import SCENES, prepare_strecha, shared_strecha_dir

STRECHA = shared_strecha_dir(Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("scene", SCENES)
def test_strecha_pipelines_from_their_commands(scene, tmp_path, capsys):
    if not (STRECHA / scene / "images").is_dir():
        pytest.skip(f"{STRECHA / scene} is absent")
    split = prepare_strecha(STRECHA / scene, tmp_path / "scene")
    assert split.num_query >= 3 and split.num_mapping >= 2 * split.num_query - 1
    assert kapture_pipeline_mapping.main(["-i", str(split.mapping), "-o", str(tmp_path / "map")]) == 0
    assert kapture_pipeline_localize.main(["-m", str(tmp_path / "map"), "-q", str(split.query),
                                           "-o", str(tmp_path / "loc")]) == 0
    printed = capsys.readouterr().out
    assert "(0.25m,2deg)" in printed  # the recall table
    results = json.loads((tmp_path / "loc" / "eval" / "results.json").read_text())
    overall = results["overall"]
    assert overall["num_queries"] == split.num_query
    assert overall["percent_within"][0] >= 90.0, overall  # (0.25 m, 2 deg)
    # retrieval: DenseVLAD top-5 holds a map image within 10 m and 30 degrees for >= 90% of queries
    retrieval = evaluate_pairs_file(tmp_path / "loc" / "pairs_localization.txt", split.mapping, split.query,
                                         max_distance=10.0, max_angle=30.0, ks=(1, 5))
    assert retrieval.pose_hit_rate[1] >= 0.9
