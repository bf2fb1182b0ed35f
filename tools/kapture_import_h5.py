"""Copy the features of an HDF5 file (kapturelike.io.h5store layout) into a kapture dataset's
per-file layout (reconstruction/keypoints, descriptors, global_features, matches), losslessly."""

from __future__ import annotations

import argparse

from kapturelike.io.feature_copy import copy_features
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.h5store import H5FeatureStore
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run
from kapturelike.tools.kapture_export_h5 import KINDS


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_import_h5", __doc__)
    flags.add_verbosity(parser)
    flags.add_input(parser, what="HDF5 feature file")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to write the features into")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="what to copy (default: all)")
    flags.add_force(parser)
    return parser


def action(args: argparse.Namespace) -> None:
    with H5FeatureStore(args.input, mode="r") as source:
        report = copy_features(source, KaptureFeatureStore(args.output), args.kinds, overwrite=args.force)
    print(f"{report.arrays} arrays and {report.matches} matches copied, {report.skipped} already there "
          f"({', '.join(report.types) or 'no feature types'}) -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
