"""Real data: map two thirds of each Strecha scene with its ground-truth cameras, localize the rest.

Skipped when ../shared/data/strecha is absent. Default local and global features (SIFT, DenseVLAD).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kapturelike.pipelines.config import PipelineConfig
from kapturelike.pipelines.localization import run_localization
from kapturelike.pipelines.mapping import run_mapping
from kapturelike.pipelines.strecha import SCENES, prepare_strecha, shared_strecha_dir

STRECHA = shared_strecha_dir(Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("scene", SCENES)
def test_strecha_localization_recall(scene, tmp_path):
    if not (STRECHA / scene / "images").is_dir():
        pytest.skip(f"{STRECHA / scene} is absent")
    split = prepare_strecha(STRECHA / scene, tmp_path / "scene")
    assert split.num_query >= 3 and split.num_mapping >= 2 * split.num_query - 1
    config = PipelineConfig()
    mapped = run_mapping(split.mapping, tmp_path / "map", config)
    assert mapped.num_points > 1000
    run = run_localization(tmp_path / "map", split.query, tmp_path / "loc", config)
    assert run.evaluation is not None
    assert run.evaluation.overall.num_queries == split.num_query
    within = run.evaluation.overall.percent_within[0]  # (0.25 m, 2 deg)
    assert within >= 90.0, run.evaluation.overall
