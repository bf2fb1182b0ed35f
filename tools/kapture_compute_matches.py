"""kapture_compute_matches: match the local features of the image pairs of a pairs file.

Without --config, kapture-localization's matcher: mutual nearest neighbours of the descriptors by dot product, no
ratio test, no epipolar guidance, each match scored by its dot product. --config gives kapturelike's matching
settings instead (datasets/configs/default.yaml: ratio test, epipolar band with known poses)."""

from __future__ import annotations

import argparse

from kapturelike.io.features import KaptureFeatureStore
from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.match_features import main as compute_matches
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run
from kapturelike.tools.kapture_extract_features import print_reports

# kapture-localization's MatchPairNnTorch: cross-checked nearest neighbours of raw descriptors' dot products
KAPTURE_LOCALIZATION_MATCHING = {"ratio_threshold": None, "distance_threshold": None, "mutual": True,
                                 "normalize": False, "epipolar_band": 0.0}


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_compute_matches", description=__doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset (its features are used)")
    flags.add_pairsfile_path(parser, flags=("--pairsfile-path", "--pairs"))
    parser.add_argument("-o", "--output", help="kapture dataset to write matches to (default: the input)")
    parser.add_argument("--map", help="map dataset holding the features (and poses) of the map images")
    parser.add_argument("--verify", action="store_true",
                        help="verify matches geometrically (known poses where both images have one, else RANSAC)")
    parser.add_argument("--config", help="YAML configuration (features, matching, verification sections)")
    parser.add_argument("--local", help="local feature type, overriding the configuration (e.g. sift)")
    parser.add_argument("-ow", "--overwrite", action="store_true", help="recompute matches that exist")
    flags.add_descriptors_type(parser)
    return parser


def action(args: argparse.Namespace) -> int:
    local = args.local or args.descriptors_type  # kapture-localization names the local features by -desc
    if local is None and args.config is None:  # as kapture-localization: the dataset's only descriptors type
        types = KaptureFeatureStore(args.input).types("descriptors")
        local = next(iter(types)) if len(types) == 1 else None
    overrides: dict = {"features": {"local": local}} if local else {}
    if args.config is None:
        overrides["matching"] = KAPTURE_LOCALIZATION_MATCHING
    config = load_config(args.config, overrides or None)
    return print_reports([compute_matches(args.input, args.pairsfile_path, args.output, config, verify=args.verify,
                                          map_dir=args.map, overwrite=args.overwrite)])


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
