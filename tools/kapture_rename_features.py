"""Rename a feature type of a kapture dataset: its folder, its type file, and what refers to it."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.rename import rename_feature_type
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_rename_features", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument(
        "--feature-type", choices=["keypoints", "descriptors", "global_features"], required=True, help="kind of feature"
    )
    parser.add_argument("--current-name", required=True, help="current type name")
    parser.add_argument("--new-name", required=True, help="new type name")
    return parser


def action(args: argparse.Namespace) -> int | None:
    rename_feature_type(args.input, args.feature_type, args.current_name, args.new_name, args.force)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
