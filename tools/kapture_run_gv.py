"""kapture_run_gv: geometric verification of the matches of a kapture dataset, in place or into a new type."""

from __future__ import annotations

import argparse
import dataclasses

from kapturelike.matching.verification import METHODS
from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.verify_matches import main as verify_kapture
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run
from kapturelike.tools.kapture_extract_features import print_reports


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_run_gv", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset holding the matches")
    parser.add_argument("--pairs", "--pairsfile-path", dest="pairs",
                        help="verify only these pairs (default: every stored pair)")
    parser.add_argument("--keypoints-type", help="matches to verify (default: the configuration's local type)")
    parser.add_argument("--output-type", help="write the verified matches as this new keypoints/matches type "
                                              "(default: replace the matches in place)")
    parser.add_argument("--map", help="map dataset holding the keypoints (and poses) of the map images")
    parser.add_argument("--method", choices=METHODS, help="verification method, overriding the configuration")
    parser.add_argument("--config", help="YAML configuration (features and verification sections)")
    parser.add_argument("--overwrite", action="store_true", help="verify again pairs already in the output type")
    flags.add_verbosity(parser)
    return parser


def action(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.method:
        config.verification = dataclasses.replace(config.verification, method=args.method)
    return print_reports([verify_kapture(args.input, args.pairs, args.output_type, config, map_dir=args.map,
                                         keypoints_type=args.keypoints_type, overwrite=args.overwrite)])


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
