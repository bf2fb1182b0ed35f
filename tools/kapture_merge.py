"""Merge kapture datasets (sensors, poses, records, features, matches, points and observations)."""

from __future__ import annotations

import argparse
import sys

from kapturelike.dataset_tools import MergeOptions, merge
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_merge", description=__doc__)
    parser.add_argument("-i", "--inputs", required=True, nargs="+", help="kapture dataset folders")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to create")
    parser.add_argument("--copy", action="store_true", help="copy record files instead of symlinking them")
    parser.add_argument("-f", "--force", action="store_true", help="write into a non-empty output folder")

    def action(args: argparse.Namespace) -> None:
        k = merge(args.inputs, args.output, MergeOptions(copy=args.copy, force=args.force))
        print(f"merged {len(args.inputs)} datasets: {len(k.sensors)} sensors, {len(k.image_names())} images "
              f"into {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    sys.exit(main())
