"""kapture-localization's image retrieval benchmark (kapture_pipeline_image_retrieval_benchmark and its
_from_pairsfile twin), composed from kapturelike's steps.

Pairs come from global features (top k map images per query) or from a given pairs file. Then, as
kapture-localization, each localization strategy writes its poses and its LTVL2020 file into OUTPUT:

  global_sfm/              the localization pipeline against the --colmap-map map (kapture_pipeline_localize's
                           steps: features read in place, matches, verification, PnP); poses in global_sfm/localized
  local_sfm/localized      each query registered in a local model of its paired map images
                           (kapture_colmap_localize_localsfm), from the matches the global_sfm step wrote
  pose_approx/EWB, BDI, CSI  pose approximation from the retrieved map images (equal weights, barycentric
                           descriptor interpolation, cosine similarity); no BDI from a pairs file, as theirs
  <STRATEGY>_LTVL2020_style_result.txt   one per strategy (global_sfm, EWB, BDI, CSI)
  pairs_localization_<topk>.txt          the retrieval pairs (global features only)
  eval/                    scores_<label>.txt, stats.txt (table over all strategies) and plot.png, when
                           the query kapture has trajectories

kapture_inputs/ holds the merged map+query dataset (or --merge-path) and the proxies linking the feature
folders, as kapture-localization builds them. -colmap and -python are accepted and ignored.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from kapturelike.converters.ltvl import export_ltvl
from kapturelike.dataset_tools.localsfm import colmap_localize_localsfm
from kapturelike.dataset_tools.merge import MergeOptions, merge
from kapturelike.dataset_tools.pose_approximation import approximate_poses
from kapturelike.dataset_tools.proxy import create_proxy
from kapturelike.evaluation.compare_inputs import evaluate_inputs
from kapturelike.io.dataset import sensors_path
from kapturelike.pipelines.command_line import BENCHMARK_STYLES, localize_parser, map_dir_of, request
from kapturelike.pipelines.localization import run_localization

logger = logging.getLogger("kapturelike")

APPROXIMATIONS = {"EWB": "equal_weighted_barycenter", "BDI": "barycentric_descriptor_interpolation",
                  "CSI": "cosine_similarity"}
FRONT_STEPS = ("compute_image_pairs", "compute_matches", "geometric_verification")


@dataclass
class BenchmarkRun:
    out_dir: Path
    localized: dict[str, Path] = field(default_factory=dict)  # evaluation label -> kapture of poses
    skipped: list[str] = field(default_factory=list)  # one line per step not run, with the reason
    stats: str | None = None


def _localize_argv(args: argparse.Namespace, out: Path, from_pairsfile: bool) -> list[str]:
    """kapture_pipeline_localize's command line for the global_sfm strategy (the flags mean the same)."""
    argv = ["-v", str(args.verbose), "-i", args.kapture_map, "--query", args.query, "--colmap-map", args.colmap_map,
            "-o", str(out), "-kpt", args.keypoints_path, "-desc", args.descriptors_path,
            "-matches", args.matches_path, "-matches-gv", args.matches_gv_path, "--config", str(args.config),
            "--benchmark-style", args.benchmark_style]
    if from_pairsfile:
        argv += ["--pairsfile-path", args.pairsfile_path]
    else:
        argv += ["-gfeat", args.global_features_path, "--topk", str(args.topk)]
        if args.global_features_type:
            argv += ["--global-features-type", args.global_features_type]
    for flag, value in (("--keypoints-type", args.keypoints_type), ("--descriptors-type", args.descriptors_type)):
        if value:
            argv += [flag, value]
    argv += ["-s", "evaluate", "export_LTVL2020", *(s for s in args.skip if s in FRONT_STEPS)]
    return argv + (["-f"] if args.force else [])


def _global_sfm(args: argparse.Namespace, out: Path, from_pairsfile: bool) -> Path:
    parser = localize_parser()
    local = parser.parse_args(_localize_argv(args, out / "global_sfm", from_pairsfile))
    config, control = request(local, mapping=False, out_dir=local.output)
    result = run_localization(map_dir_of(local, parser, mapping=False), local.query, local.output, config,
                              overwrite=local.force, control=control)
    if not from_pairsfile and control.pairs_name:  # kapture-localization keeps the pairs at the top
        shutil.copyfile(Path(local.output) / control.pairs_name, out / control.pairs_name)
    return result.out_dir / "localized"


def _local_sfm(args: argparse.Namespace, out: Path, pairs: Path) -> Path:
    """Local SfM localization through kapture-localization's map+query proxies (raw and verified matches)."""
    inputs = out / "kapture_inputs"
    merged = Path(args.merge_path) if args.merge_path else inputs / "map_plus_query"
    if not args.merge_path:
        merge([args.kapture_map, args.query], merged, MergeOptions(force=True, image_transfer="skip",
                                                                   skip=("keypoints", "descriptors", "global_features",
                                                                         "matches")))
    kpt = ([args.keypoints_path], [args.keypoints_type] if args.keypoints_type else None)
    desc = ([args.descriptors_path], [args.descriptors_type] if args.descriptors_type else None)
    proxies = []
    for name, matches in (("proxy_map_plus_query", args.matches_path), ("proxy_map_plus_query_gv",
                                                                         args.matches_gv_path)):
        proxies.append(create_proxy(merged, inputs / name, {"keypoints": kpt, "descriptors": desc,
                                                            "matches": ([matches], None)}, force=True))
    target = out / "local_sfm"
    colmap_localize_localsfm(proxies[0], proxies[1], args.query, target, pairs, args.descriptors_type,
                             force=args.force)
    return target / "localized"


def _pose_approximations(args: argparse.Namespace, out: Path, from_pairsfile: bool) -> dict[str, Path]:
    """EWB, BDI and CSI poses (EWB and CSI from a pairs file)."""
    if from_pairsfile:
        mapping, query, gtype = args.kapture_map, args.query, None
    else:  # the global features are in their own folder: read them through proxies, as kapture-localization
        inputs = out / "kapture_inputs"
        gfeat = ([args.global_features_path], [args.global_features_type] if args.global_features_type else None)
        mapping = create_proxy(args.kapture_map, inputs / "proxy_mapping", {"global_features": gfeat}, force=True)
        query = create_proxy(args.query, inputs / "proxy_query", {"global_features": gfeat}, force=True)
        gtype = args.global_features_type
    done = {}
    for label, method in APPROXIMATIONS.items():
        if from_pairsfile and label == "BDI":
            continue  # it needs the global features
        target = out / "pose_approx" / label
        approximate_poses(mapping, query, target, method, None if from_pairsfile else args.topk,
                          global_features_type=gtype, pairsfile=args.pairsfile_path if from_pairsfile else None,
                          force=True)
        done[label] = target
    return done


def run_benchmark(args: argparse.Namespace, from_pairsfile: bool) -> BenchmarkRun:
    """Run every strategy not in ``args.skip``; outputs in ``args.output`` (see the module's docstring)."""
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    run = BenchmarkRun(out)
    if getattr(args, "python_binary", None):
        logger.warning("note: -python is accepted and ignored (kapturelike runs every step in process)")
    convention = BENCHMARK_STYLES[args.benchmark_style]
    strategies: dict[str, Path] = {}
    if "global_sfm" in args.skip:
        run.skipped.append("global_sfm: skipped (-s)")
    else:
        strategies["global_sfm"] = _global_sfm(args, out, from_pairsfile)
        run.localized[f"global_sfm_config_{args.config}"] = strategies["global_sfm"]
    if "local_sfm" in args.skip:
        run.skipped.append("local_sfm: skipped (-s)")
    else:
        pairs = Path(args.pairsfile_path) if from_pairsfile else out / f"pairs_localization_{args.topk}.txt"
        if not pairs.is_file():
            run.skipped.append(f"local_sfm: not run ({pairs} is missing: the global_sfm step writes it)")
        else:
            strategies["local_sfm"] = _local_sfm(args, out, pairs)
            run.localized["local_sfm"] = strategies["local_sfm"]
    if "pose_approximation" in args.skip:
        run.skipped.append("pose_approximation: skipped (-s)")
    else:
        for label, path in _pose_approximations(args, out, from_pairsfile).items():
            strategies[label] = path
            run.localized[label] = path
    if "export_LTVL2020" not in args.skip:
        for label, path in strategies.items():
            export_ltvl(path, out / f"{label}_LTVL2020_style_result.txt", convention, skip_missing=True)
    if "evaluate" in args.skip:
        run.skipped.append("evaluate: skipped (-s)")
    elif not sensors_path(args.query, "trajectories.txt").is_file():
        run.skipped.append("evaluate: not run (the query kapture has no trajectories.txt)")
    elif run.localized:
        run.stats = evaluate_inputs(list(run.localized.values()), list(run.localized), args.query, out / "eval",
                                    force=True)
    if args.remove_intermediate:
        shutil.rmtree(out / "kapture_inputs", ignore_errors=True)
    return run
