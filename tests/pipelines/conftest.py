"""One synthetic scene and its map, built once for all pipeline tests (mapping is the slow part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapturelike.pipelines.config import PipelineConfig
from kapturelike.pipelines.mapping import MappingResult, run_mapping
from kapturelike.synthetic.export import SyntheticPaths, write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset


@pytest.fixture(scope="session")
def synthetic_scene(tmp_path_factory) -> SyntheticPaths:
    return write_synthetic_kapture(generate_dataset(SyntheticOptions(seed=0)), tmp_path_factory.mktemp("scene"))


@pytest.fixture(scope="session")
def synthetic_map(synthetic_scene, tmp_path_factory) -> tuple[SyntheticPaths, Path, MappingResult]:
    map_dir = tmp_path_factory.mktemp("map")
    result = run_mapping(synthetic_scene.mapping, map_dir, PipelineConfig())
    return synthetic_scene, map_dir, result
