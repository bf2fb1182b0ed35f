"""kapture_extract_global_features: global features (image retrieval) of every image of a kapture dataset."""

from __future__ import annotations

import argparse

from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.extract_features import main_global
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run
from kapturelike.tools.kapture_extract_features import print_reports


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_extract_global_features", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset")
    parser.add_argument("-o", "--output", help="kapture dataset to write features to (default: the input)")
    parser.add_argument("--map", help="map dataset whose fitted DenseVLAD model the queries reuse (without it, "
                                      "the input is the map and the model is fitted on its images)")
    parser.add_argument("--config", help="YAML configuration (its features section is used)")
    parser.add_argument("--global", dest="global_", metavar="TYPE",
                        help="global feature type(s), comma separated, overriding the configuration")
    parser.add_argument("--overwrite", action="store_true", help="recompute features that exist")
    flags.add_verbosity(parser)
    return parser


def action(args: argparse.Namespace) -> int:
    config = load_config(args.config, {"features": {"global": args.global_}} if args.global_ else None)
    return print_reports(main_global(args.input, args.output, config, map_dir=args.map, overwrite=args.overwrite))


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
