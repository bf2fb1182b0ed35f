"""kapture's shared command-line flags, defined once: same option strings, destinations and defaults.

Each ``add_*`` function adds one flag (or one family) to a parser the way kapture's and
kapture-localization's tools spell it, so that a command line written for kapture parses here
into the same namespace. Option strings can be overridden where a kapture tool spells a flag
differently (``kapture_import_image_list`` has ``-f/--force`` without ``-y``).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

# kapture.io.binary.TransferAction, in its order
IMAGE_TRANSFERS = ("skip", "root_link", "copy", "move", "link_absolute", "link_relative")


class Verbosity(argparse.Action):
    """kapture's ``-v LEVEL``: a logging level name (any case) or number; bare ``-v`` means info."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        try:
            level = int(values)
        except ValueError:
            level = logging.getLevelName(str(values).upper())
            if not isinstance(level, int):
                parser.error(f"{option_string}: unknown level '{values}' (debug, info, warning, error, critical)")
        setattr(namespace, self.dest, level)


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    """``-v/--verbose [LEVEL]`` (default warning, bare: info) and ``-q/--silent/--quiet`` (critical)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", nargs="?", default=logging.WARNING, const=logging.INFO,
                       action=Verbosity, metavar="LEVEL",
                       help="verbosity: debug, info, warning (default), error, critical or a number; "
                            "-v alone means info")
    group.add_argument("-q", "--silent", "--quiet", action="store_const", dest="verbose", const=logging.CRITICAL,
                       help="only critical messages")


def add_force(parser: argparse.ArgumentParser, flags: Sequence[str] = ("-f", "-y", "--force")) -> None:
    """kapture's overwrite rule: without it an existing output is refused."""
    parser.add_argument(*flags, action="store_true", default=False, dest="force",
                        help="overwrite (or write into) an existing output")


def add_image_transfer(parser: argparse.ArgumentParser, default: str = "link_absolute",
                       flags: Sequence[str] = ("--image_transfer",), dest: str = "image_transfer") -> None:
    """How record files (images) reach the output, with the tool's own kapture default."""
    parser.add_argument(*flags, dest=dest, default=default, choices=IMAGE_TRANSFERS,
                        help=f"how images are transferred (default: {default})")


def add_input(parser: argparse.ArgumentParser, flags: Sequence[str] = ("-i", "--input"), dest: str = "input",
              required: bool = True, what: str = "input kapture dataset folder") -> None:
    parser.add_argument(*flags, dest=dest, required=required, help=what)


def add_output(parser: argparse.ArgumentParser, flags: Sequence[str] = ("-o", "--output"), dest: str = "output",
               required: bool = True, default: str | None = None, what: str = "output folder") -> None:
    parser.add_argument(*flags, dest=dest, required=required, default=default, help=what)


def add_kapture(parser: argparse.ArgumentParser, flags: Sequence[str] = ("-k", "--kapture"),
                required: bool = True) -> None:
    """``-k/--kapture``: the kapture dataset folder (dest ``kapture``)."""
    parser.add_argument(*flags, dest="kapture", required=required, help="kapture dataset folder")


def add_reconstruction(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """``-txt/--reconstruction``: a COLMAP text reconstruction folder."""
    parser.add_argument("-txt", "--reconstruction", dest="reconstruction", required=required, default=None,
                        help="COLMAP reconstruction folder (cameras.txt, images.txt, points3D.txt)")


def add_database(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("-db", "--database", dest="database", required=required, default=None,
                        help="COLMAP database file")


def add_keypoints_type(parser: argparse.ArgumentParser, flags: Sequence[str] = ("-kpt", "--keypoints-type"),
                       required: bool = False) -> None:
    parser.add_argument(*flags, dest="keypoints_type", required=required, default=None,
                        help="keypoints type (default: the only one, or guessed)")


def add_descriptors_type(parser: argparse.ArgumentParser, flags: Sequence[str] = ("-desc", "--descriptors-type"),
                         required: bool = False) -> None:
    parser.add_argument(*flags, dest="descriptors_type", required=required, default=None,
                        help="descriptors type (default: the only one, or guessed)")


def add_global_features_type(parser: argparse.ArgumentParser,
                             flags: Sequence[str] = ("-gfeat", "--global-features-type"),
                             required: bool = False) -> None:
    parser.add_argument(*flags, dest="global_features_type", required=required, default=None,
                        help="global features type (default: the only one, or guessed)")


def add_feature_paths(parser: argparse.ArgumentParser, required: bool = True, matches_gv: bool = True) -> None:
    """kapture-localization's separate feature folders: ``-kpt/-desc/-gfeat/-matches[/-matches-gv]`` paths."""
    parser.add_argument("-kpt", "--keypoints-path", dest="keypoints_path", required=required,
                        help="keypoints folder (kapture's separate-folder layout)")
    parser.add_argument("-desc", "--descriptors-path", dest="descriptors_path", required=required,
                        help="descriptors folder")
    parser.add_argument("-gfeat", "--global-features-path", dest="global_features_path", required=required,
                        help="global features folder")
    parser.add_argument("-matches", "--matches-path", dest="matches_path", required=required,
                        help="folder of matches")
    if matches_gv:
        parser.add_argument("-matches-gv", "--matches-gv-path", dest="matches_gv_path", required=required,
                            help="folder of geometrically verified matches")


def add_pairsfile_path(parser: argparse.ArgumentParser, required: bool = True,
                       flags: Sequence[str] = ("--pairsfile-path",)) -> None:
    parser.add_argument(*flags, dest="pairsfile_path", required=required, default=None, type=str,
                        help="pairs file: 'image, image, score' lines")


def add_localizer_io(parser: argparse.ArgumentParser, input_help: str = "input kapture dataset folder",
                     query_help: str = "query kapture dataset folder",
                     output_help: str = "output folder or file") -> None:
    """-i MAP, --query QUERY, -o OUT and --pairsfile-path of kapture-localization's localizers."""
    parser.add_argument("-i", "--input", required=True, help=input_help)
    parser.add_argument("--query", required=True, help=query_help)
    parser.add_argument("-o", "--output", required=True, help=output_help)
    add_pairsfile_path(parser, required=True)


def add_rig_localization(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rig-ids", nargs="+", default=[], help="rig ids to localize as rigs")
    parser.add_argument("--apply-rigs-remove", action="store_true", help="write camera poses instead of rig poses")


def add_pycolmap_ransac(parser: argparse.ArgumentParser, max_error: float = 8.0) -> None:
    """pycolmap's absolute-pose RANSAC options, with kapture-localization's defaults (the rig localizer's
    inlier threshold is 12 px, the others' 8 px)."""
    parser.add_argument("--max-error", type=float, default=max_error, help="RANSAC inlier threshold in pixels")
    parser.add_argument("--min-inlier-ratio", type=float, default=0.01, help="smallest inlier ratio")
    parser.add_argument("--min-num-iterations", type=int, default=1000, help="fewest RANSAC iterations")
    parser.add_argument("--max-num-iterations", type=int, default=100000, help="most RANSAC iterations")
    parser.add_argument("--confidence", type=float, default=0.9999, help="RANSAC confidence")


def pycolmap_ransac_options(args: argparse.Namespace):
    """The LocalizationOptions of ``add_pycolmap_ransac``'s flags (kapture-localization's settings)."""
    from kapturelike.dataset_tools.pycolmap_localize import kapture_options  # pycolmap: only the tools that need it

    return kapture_options(args.max_error, args.min_inlier_ratio, args.min_num_iterations, args.max_num_iterations,
                           args.confidence)


def pyransaclib_ransac_options(args: argparse.Namespace, prog: str):
    """The LocalizationOptions of ``add_pyransaclib_ransac``'s flags, pycolmap standing in for pyransaclib (said in
    one note line): its inlier ratio and confidence, --number-lo-steps and --refine-poses."""
    from dataclasses import replace

    from kapturelike.dataset_tools.pycolmap_localize import kapture_options

    print(f"{prog}: note: pyransaclib is not available, pycolmap's P3P LO-RANSAC is used", file=sys.stderr)
    return replace(kapture_options(args.inlier_threshold, 0.01, args.min_num_iterations, args.max_num_iterations,
                                   0.9999), lo_steps=args.number_lo_steps, refine=args.refine_poses)


def add_pyransaclib_ransac(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inlier-threshold", type=float, default=8.0, help="RANSAC inlier threshold")
    parser.add_argument("--number-lo-steps", type=int, default=10, help="local optimisation steps")
    parser.add_argument("--min-num-iterations", type=int, default=200, help="fewest RANSAC iterations")
    parser.add_argument("--max-num-iterations", type=int, default=100000, help="most RANSAC iterations")
    parser.add_argument("--refine-poses", action="store_true", help="refine the poses")


def add_correspondence_strategies(parser: argparse.ArgumentParser) -> None:
    """How kapture-localization's localizers treat duplicate 2D-3D correspondences and rank map images."""
    parser.add_argument("--duplicate-strategy", default="ignore",
                        choices=["keep", "ignore_strict", "ignore", "ignore_same_kpid", "ignore_same_p3did"],
                        help="what to do with duplicate 2D-3D correspondences")
    parser.add_argument("--rerank-strategy", choices=["none", "matches_count", "correspondences_count"],
                        default="none", help="how to re-rank the map images")


def add_rig(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-rig", "--rig", dest="rig", default=None, help="COLMAP rig json file to write")


def add_skip_reconstruction(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skip_reconstruction", action="store_true", default=False,
                        help="import only sensors and records, not the reconstruction")


class IgnoredColmapBinary(argparse.Action):
    """kapture's path to the COLMAP executable: accepted, not needed (pycolmap does the work)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"{parser.prog}: note: {option_string} {values} ignored, pycolmap is used instead of the COLMAP "
              "executable", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_colmap_binary(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-colmap", "--colmap_binary", dest="colmap_binary", default="colmap",
                        action=IgnoredColmapBinary, help="accepted for kapture compatibility and ignored")


# kapture-localization's benchmark file namings, in its order
BENCHMARK_STYLES = ("Default", "RobotCar_Seasons", "Gangnam_Station", "Hyundai_Department_Store", "RIO10",
                    "ETH_Microsoft")


def add_benchmark_style(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark-style", choices=BENCHMARK_STYLES, default="Default",
                        help="benchmark file naming")


def add_python_binary(parser: argparse.ArgumentParser) -> None:
    """kapture-localization's pipelines run their steps with a python executable: here they run in process."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-python", "--python_binary", dest="python_binary", default=None,
                       help="accepted for kapture compatibility and ignored (steps run in this process)")
    group.add_argument("--auto-python-binary", dest="auto_python_binary", action="store_true", default=False,
                       help="accepted for kapture compatibility and ignored")


def add_threads(parser: argparse.ArgumentParser, flags: Sequence[str] = ("--max-number-of-threads",)) -> None:
    parser.add_argument(*flags, dest="max_number_of_threads", type=int, default=None,
                        help="number of threads (default: all)")


def file_in(path: str, file_name: str) -> Path:
    """kapture names a folder where kapturelike names a file: a path ending in the file's extension is the
    file itself, any other path a folder holding ``file_name``."""
    return Path(path) if Path(path).suffix == Path(file_name).suffix else Path(path) / file_name


def reconstruction_parts(kapture_dir: str | Path, add_reconstruction: bool, ignore_trajectories: bool) -> None:
    """kapture's importers add the reconstruction (keypoints, points, observations) only when asked, and
    leave the trajectories out when asked: apply these choices to a dataset just written."""
    root = Path(kapture_dir)
    if not add_reconstruction and (root / "reconstruction").is_dir():
        shutil.rmtree(root / "reconstruction")
    if ignore_trajectories:
        (root / "sensors" / "trajectories.txt").unlink(missing_ok=True)
