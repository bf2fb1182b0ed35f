"""kapture-localization's kapture_pipeline_colmap_vocab_tree with kapturelike's steps: SIFT features, a map
triangulated from the map kapture's known poses (COLMAP's point_triangulator, as kapture_colmap_build_sift_map,
done with pycolmap), then the query images localized in it, evaluated and exported.

COLMAP matches SIFT features through a vocabulary tree (-voc); here the pairs come from kapturelike's
retrieval (the configuration's global features, or every pair for a small map): the vocabulary tree
file is not read. OUTPUT holds, as kapture-localization's: colmap_map/ (unless --colmap-map names a map
built before, which is then reused), the localization run (localization/, the query with its poses in
localization/localized), eval/ (kapture_evaluate's files, label sift_colmap_vocab_tree_config_<n>) and
LTVL2020_style_result.txt.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path

from kapturelike.converters.ltvl import export_ltvl
from kapturelike.evaluation.compare_inputs import evaluate_inputs
from kapturelike.io.dataset import sensors_path
from kapturelike.pipelines.command_line import BENCHMARK_STYLES
from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.front import RunControl
from kapturelike.pipelines.localization import run_localization
from kapturelike.pipelines.mapping import run_mapping

logger = logging.getLogger("kapturelike")


@dataclass
class SiftPipelineRun:
    colmap_map: Path
    localized: Path | None = None
    stats: str | None = None
    notes: list[str] = field(default_factory=list)


def run_sift_pipeline(args: argparse.Namespace) -> SiftPipelineRun:
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    run = SiftPipelineRun(Path(args.colmap_map) if args.colmap_map else out / "colmap_map")
    run.notes.append(f"note: -voc {args.vocab_tree_path} is not read: SIFT features are paired by kapturelike's "
                     "retrieval instead of COLMAP's vocabulary tree")
    if getattr(args, "python_binary", None):
        run.notes.append("note: -python is accepted and ignored (kapturelike runs every step in process)")
    preset = f"config{max(args.localize_config, 1)}"  # config 0 is COLMAP's defaults, closest to config1
    config = load_config(None, {"features": {"local": "sift"}, "localization_preset": preset,
                                "ltvl_convention": BENCHMARK_STYLES[args.benchmark_style],
                                "eval_thresholds": [[float(v) for v in b.split()] for b in args.bins]})
    if args.colmap_map:
        run.notes.append(f"--colmap-map {args.colmap_map}: reusing that map (no mapping step)")
    else:
        run_mapping(args.kapture_map, run.colmap_map, config, overwrite=args.force,
                    control=RunControl(colmap_outputs=True))
    if args.query is None:
        return run
    skip = set(args.skip)
    result = run_localization(run.colmap_map, args.query, out / "localization", config, overwrite=args.force,
                              control=RunControl(skip=frozenset({"evaluate", "export_LTVL2020"})))
    run.localized = result.out_dir / "localized"
    if "export_LTVL2020" not in skip:
        export_ltvl(run.localized, out / "LTVL2020_style_result.txt", config.ltvl_convention, skip_missing=True)
    if "evaluate" not in skip and sensors_path(args.query, "trajectories.txt").is_file():
        run.stats = evaluate_inputs([run.localized], [f"sift_colmap_vocab_tree_config_{args.localize_config}"],
                                    args.query, out / "eval", args.bins, force=True)
    return run
