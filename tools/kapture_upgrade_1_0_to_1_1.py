"""Upgrade a kapture 1.0 dataset to format 1.1 into a new folder (feature types get their own folders)."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.upgrade import UpgradeOptions, upgrade_to_1_1
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_upgrade_1_0_to_1_1", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    parser.add_argument("--keypoints-type", help="keypoints type")
    parser.add_argument("--descriptors-type", help="descriptors type")
    parser.add_argument("--descriptors-metric-type", default="L2", help="descriptors metric type")
    parser.add_argument("--global-features-type", help="global features type")
    parser.add_argument("--global-features-metric-type", default="L2", help="global features metric type")
    flags.add_image_transfer(parser, default="skip")
    return parser


def action(args: argparse.Namespace) -> int | None:
    upgrade_to_1_1(args.input, args.output, UpgradeOptions.from_args(args))


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
