"""The command lines of kapture_pipeline_mapping and kapture_pipeline_localize, one code path for both
interfaces: kapturelike's short one (``-i MAP -o MAP_DIR``; ``-m MAP_DIR -q QUERY -o OUT_DIR``) and every
flag of kapture-localization's pipelines with its meaning (``-kpt -desc -gfeat -matches -matches-gv
--colmap-map --topk --config 1|2|3 --benchmark-style -s ...``). Both become a PipelineConfig and a
RunControl for ``run_mapping`` / ``run_localization``.

kapture-localization reads its feature folders through symlink proxies; here they are read in place.
Flags that only steer its subprocesses (``-colmap``, ``-python``, ``--auto-python-binary``,
``--merge-path``) are accepted and noted as ignored.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from kapturelike.io.features import FolderFeatureStore
from kapturelike.pipelines.config import PipelineConfig, load_config
from kapturelike.pipelines.front import RunControl

logger = logging.getLogger("kapturelike")

# kapture-localization's BenchmarkFormatStyle -> our LTVL naming convention. Its Default ends in
# kapture_export_LTVL2020 --full_file_name (the pipeline's style test is always true but for RobotCar).
BENCHMARK_STYLES = {"Default": "full", "RobotCar_Seasons": "robotcar", "Gangnam_Station": "full",
                    "Hyundai_Department_Store": "full", "RIO10": "rio10", "ETH_Microsoft": "full"}
MAPPING_STEPS = ("compute_image_pairs", "compute_matches", "geometric_verification", "colmap_build_map")
LOCALIZE_STEPS = ("compute_image_pairs", "compute_matches", "geometric_verification", "colmap_localize",
                  "import_colmap", "evaluate", "export_LTVL2020")
IGNORED = {"colmap_binary": "-colmap", "python_binary": "-python", "auto_python_binary": "--auto-python-binary",
           "merge_path": "--merge-path"}


def verbosity(text: str) -> int:
    """A logging level from a name (debug, info, warning, ...) or a number, as kapture's -v."""
    if text.strip().lstrip("-").isdigit():
        return int(text)
    level = logging.getLevelName(text.strip().upper())
    if not isinstance(level, int):
        raise argparse.ArgumentTypeError(f"unknown verbosity '{text}' (debug, info, warning, error, critical)")
    return level


def add_common_arguments(parser: argparse.ArgumentParser, steps: tuple[str, ...]) -> None:
    parser.add_argument("-v", "--verbose", nargs="?", type=verbosity, default=logging.WARNING, const=logging.INFO,
                        help="verbosity level (debug, info, warning, critical or a number); -v alone: info")
    parser.add_argument("--silent", "--quiet", dest="verbose", action="store_const", const=logging.CRITICAL)
    parser.add_argument("-f", "-y", "--force", "--overwrite", dest="force", action="store_true",
                        help="recompute what already exists")
    parser.add_argument("--remove-intermediate", action="store_true", help="kapture-localization removes the "
                        "proxy folders it builds; kapturelike builds none, so there is nothing to remove")
    parser.add_argument("--config", help="YAML configuration (see datasets/configs/default.yaml), or 0-3: "
                        "kapture-localization's COLMAP config index, i.e. the paper's localization preset")
    parser.add_argument("-kpt", "--keypoints-path", help="folder of keypoints computed before (kapture's "
                        "separate-folder layout; type: the folder above it)")
    parser.add_argument("-desc", "--descriptors-path", help="folder of descriptors computed before")
    parser.add_argument("-gfeat", "--global-features-path", nargs="+", help="folder(s) of global features "
                        "computed before; several are fused late")
    parser.add_argument("--pairsfile-path", help="image pairs to match (instead of retrieval)")
    parser.add_argument("-matches", "--matches-path", help="folder for the matches before verification")
    parser.add_argument("-matches-gv", "--matches-gv-path", help="folder for the verified matches")
    parser.add_argument("--keypoints-type", help="keypoints type (default: the -kpt folder's, or the config's)")
    parser.add_argument("--descriptors-type", help="descriptors type (default: the -desc folder's)")
    parser.add_argument("--global-features-type", nargs="+", help="global features type(s)")
    parser.add_argument("--topk", type=int, help="retrieved images per image")
    parser.add_argument("-s", "--skip", nargs="+", choices=steps, default=[], help="steps to skip")
    parser.add_argument("--scheduler", help="run extraction, matching and PnP on Dask: local:N (N worker processes) "
                        "or a scheduler address, e.g. tcp://host:8786 (extra: requirements-dask.txt)")
    parser.add_argument("-colmap", "--colmap_binary", help="accepted for kapture-localization's command lines; "
                        "ignored (pycolmap runs in process)")
    parser.add_argument("-python", "--python_binary", help="accepted; ignored (no subprocess)")
    parser.add_argument("--auto-python-binary", action="store_true", help="accepted; ignored (no subprocess)")


def mapping_parser(prog: str = "kapture_pipeline_mapping") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, allow_abbrev=False, description=(
        "map kapture (images with known poses) -> features, pairs, verified matches, 3D points"))
    parser.add_argument("-i", "--input", "--kapture-map", dest="input", required=True,
                        help="map kapture dataset (images with poses)")
    parser.add_argument("-o", "--output", help="MAP_DIR: where the map is built (resumable)")
    parser.add_argument("--colmap-map", help="kapture-localization's name for MAP_DIR (also gets colmap.db and "
                        "a COLMAP model in reconstruction/)")
    parser.add_argument("-q", dest="verbose", action="store_const", const=logging.CRITICAL,
                        help="quiet (kapture-localization's -q)")
    add_common_arguments(parser, MAPPING_STEPS)
    return parser


class QueryOrQuiet(argparse.Action):
    """``-q DIR`` is our short interface's query dataset, a bare ``-q`` kapture-localization's quiet flag:
    both spellings are in users' scripts, and a bare flag can never be a folder name."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: str | None,
                 option_string: str | None = None) -> None:
        if values is None:
            namespace.verbose = logging.CRITICAL
        else:
            namespace.query = values


def localize_parser(prog: str = "kapture_pipeline_localize") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, allow_abbrev=False, description=(
        "map + query kapture -> poses, post-processing, evaluation, benchmark file"))
    parser.add_argument("-m", "--map", help="MAP_DIR written by kapture_pipeline_mapping")
    parser.add_argument("--colmap-map", help="kapture-localization's name for MAP_DIR")
    parser.add_argument("-i", "--kapture-map", help="the map kapture (kapture-localization's interface; the map "
                        "in MAP_DIR already refers to it)")
    parser.add_argument("-q", dest="verbose", nargs="?", action=QueryOrQuiet, default=argparse.SUPPRESS,
                        metavar="QUERY", help="-q QUERY: the query kapture (our short interface); -q alone: quiet "
                        "(kapture-localization's -q)")
    parser.add_argument("--query", help="query kapture dataset (ground truth, if any, is used only for evaluation)")
    parser.add_argument("-o", "--output", required=True, help="OUT_DIR (resumable)")
    parser.add_argument("--merge-path", help="accepted; ignored (nothing is merged)")
    parser.add_argument("--benchmark-style", choices=sorted(BENCHMARK_STYLES), help="LTVL2020 file naming")
    parser.add_argument("--prepend_cam", action="store_true", help="LTVL2020 names with the camera id prepended")
    parser.add_argument("--bins", nargs="+", help="evaluation thresholds, each 'metres degrees'")
    add_common_arguments(parser, LOCALIZE_STEPS)
    return parser


def _settings(args: argparse.Namespace, mapping: bool) -> dict:
    """Overrides of the YAML configuration from the flags."""
    features: dict = {}
    if args.keypoints_type or args.keypoints_path:
        features["local"] = args.keypoints_type or FolderFeatureStore.type_name_of(args.keypoints_path)
    if args.descriptors_type or args.descriptors_path:
        features["descriptors"] = args.descriptors_type or FolderFeatureStore.type_name_of(args.descriptors_path)
    if args.global_features_type or args.global_features_path:
        types = args.global_features_type or [FolderFeatureStore.type_name_of(p) for p in args.global_features_path]
        features["global"] = ",".join(types)
    overrides: dict = {"features": features} if features else {}
    preset = args.config is not None and args.config.strip().isdigit()
    # kapture-localization's defaults apply to its interface unless a YAML file says otherwise
    their_defaults = args.colmap_map is not None and (args.config is None or preset)
    topk = args.topk if args.topk is not None else 20 if their_defaults else None
    if topk is not None:
        overrides["pairs"] = {"topk_mapping" if mapping else "topk_localization": topk}
    if preset:
        index = int(args.config)
        if index not in (0, 1, 2, 3):
            raise ValueError(f"--config {args.config}: kapture-localization's configs are 0, 1, 2 and 3")
        # config 0 is COLMAP's defaults, closest to the strict preset; 1-3 are the paper's presets
        overrides["localization_preset"] = f"config{max(index, 1)}"
    if their_defaults:  # kapture-localization's kapture_compute_matches: mutual nearest neighbours, no ratio test
        overrides["matching"] = {"ratio_threshold": None}
    if args.matches_gv_path and not mapping:  # kapture-localization verifies query-map matches (COLMAP gv)
        overrides["verification"] = {"method": "ransac"}
    if not mapping and (args.benchmark_style or args.prepend_cam):
        overrides["ltvl_convention"] = "robotcar" if args.prepend_cam else BENCHMARK_STYLES[args.benchmark_style]
    if args.scheduler:
        overrides["scheduler"] = args.scheduler
    if not mapping and args.bins:
        overrides["eval_thresholds"] = [[float(v) for v in b.split()] for b in args.bins]
    return overrides


def _folders(args: argparse.Namespace, config: PipelineConfig) -> tuple[FolderFeatureStore | None, ...]:
    """The separate folders as feature stores: (features and verified matches, unverified matches)."""
    local = config.features.local
    folders: dict[tuple[str, str], Path] = {}
    if args.keypoints_path:
        folders[("keypoints", local)] = Path(args.keypoints_path)
    if args.descriptors_path:
        folders[("descriptors", config.features.descriptors or local)] = Path(args.descriptors_path)
    types = [t.strip() for t in config.features.global_.split(",") if t.strip()]
    for type_name, path in zip(types, args.global_features_path or []):
        folders[("global_features", type_name)] = Path(path)
    if args.matches_gv_path:
        folders[("matches", local)] = Path(args.matches_gv_path)
    raw = FolderFeatureStore({("matches", local): Path(args.matches_path)}) if args.matches_path else None
    return (FolderFeatureStore(folders) if folders else None), raw


def request(args: argparse.Namespace, mapping: bool, out_dir: Path) -> tuple[PipelineConfig, RunControl]:
    """The configuration and run control the flags ask for (the one path of both interfaces)."""
    logging.basicConfig(level=args.verbose, format="%(message)s")
    for name, flag in IGNORED.items():
        if getattr(args, name, None):
            logger.warning(f"note: {flag} is accepted for kapture-localization's command lines and ignored "
                           "(kapturelike runs COLMAP's steps in process with pycolmap)")
    yaml_path = args.config if args.config is not None and not args.config.strip().isdigit() else None
    config = load_config(yaml_path, _settings(args, mapping))
    features, raw = _folders(args, config)
    topk = config.pairs.topk_mapping if mapping else config.pairs.topk_localization
    kapture_localization = args.colmap_map is not None
    pairs_name = f"pairs_{'mapping' if mapping else 'localization'}_{topk}.txt" if kapture_localization else None
    control = RunControl(features=features, raw_matches=raw, pairs_file=Path(args.pairsfile_path)
                         if args.pairsfile_path else None, pairs_name=pairs_name, skip=frozenset(args.skip),
                         colmap_outputs=kapture_localization and mapping)
    return config, control


def map_dir_of(args: argparse.Namespace, parser: argparse.ArgumentParser, mapping: bool) -> Path:
    """MAP_DIR from ours (mapping -o, localization -m) or kapture-localization's --colmap-map."""
    ours = args.output if mapping else args.map
    if ours and args.colmap_map and Path(ours).resolve() != Path(args.colmap_map).resolve():
        parser.error(f"{'-o' if mapping else '-m'} and --colmap-map name different map folders; give one")
    if not (ours or args.colmap_map):
        parser.error(f"the map folder is missing: give {'-o' if mapping else '-m'} MAP_DIR or --colmap-map")
    return Path(ours or args.colmap_map)
