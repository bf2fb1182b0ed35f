"""Upgrade feature folders kept outside a dataset (kapture-localization's layout) from 1.0 to 1.1 type files."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.upgrade import upgrade_orphan_features
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_upgrade_1_0_to_1_1_orphan_features", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-gfeat", "--global-features", nargs="+", default=[], help="global feature folders")
    parser.add_argument("-lfeat", "--local-features", nargs="+", default=[], help="local feature folders")
    return parser


def action(args: argparse.Namespace) -> int | None:
    upgrade_orphan_features(args.global_features, args.local_features)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
