"""The main job: generate the built-in synthetic scene, map it, localize its queries (rig and
sequence post-processing included), evaluate, and return the numbers to print."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from kapturelike.pipelines.config import PipelineConfig
from kapturelike.pipelines.localization import LocalizationRun, run_localization
from kapturelike.pipelines.mapping import MappingResult, run_mapping
from kapturelike.synthetic.export import write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset


@dataclass
class DemoResult:
    mapping: MappingResult
    localization: LocalizationRun
    seconds: dict[str, float]


def run_demo(workdir: str | Path, config: PipelineConfig | None = None, seed: int = 0) -> DemoResult:
    workdir = Path(workdir)
    config = config or PipelineConfig()
    seconds = {}
    start = time.perf_counter()
    paths = write_synthetic_kapture(generate_dataset(SyntheticOptions(seed=seed)), workdir / "synthetic")
    seconds["scene"] = time.perf_counter() - start
    start = time.perf_counter()
    mapping = run_mapping(paths.mapping, workdir / "map", config)
    seconds["mapping"] = time.perf_counter() - start
    start = time.perf_counter()
    localization = run_localization(workdir / "map", paths.query, workdir / "localization", config)
    seconds["localization"] = time.perf_counter() - start
    return DemoResult(mapping, localization, seconds)
