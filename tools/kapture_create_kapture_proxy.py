"""A kapture dataset of links: the input's sensors with feature folders kept elsewhere (kapture-localization's
layout)."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.proxy import create_proxy
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_create_kapture_proxy", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    parser.add_argument("-kpt", "--keypoints-path", nargs="+", help="keypoints path")
    parser.add_argument("-desc", "--descriptors-path", nargs="+", help="descriptors path")
    parser.add_argument("-gfeat", "--global-features-path", nargs="+", help="global features path")
    parser.add_argument("-matches", "--matches-path", nargs="+", help="matches path")
    parser.add_argument("--keypoints-type", nargs="+", help="keypoints type")
    parser.add_argument("--descriptors-type", nargs="+", help="descriptors type")
    parser.add_argument("--global-features-type", nargs="+", help="global features type")
    return parser


def action(args: argparse.Namespace) -> int | None:
    create_proxy(
        args.input,
        args.output,
        {
            "keypoints": (args.keypoints_path, args.keypoints_type),
            "descriptors": (args.descriptors_path, args.descriptors_type),
            "global_features": (args.global_features_path, args.global_features_type),
            "matches": (args.matches_path, args.keypoints_type),
        },
        args.force,
    )


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
