"""Copy the features of a kapture dataset (keypoints, descriptors, global features, matches) into
one HDF5 file, losslessly (kapturelike.io.h5store layout); an interrupted copy resumes."""

from __future__ import annotations

import argparse
from pathlib import Path

from kapturelike.errors import MissingDataError
from kapturelike.io.feature_copy import copy_features
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.h5store import H5FeatureStore
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run

KINDS = ("keypoints", "descriptors", "global_features", "matches")


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_h5", __doc__)
    flags.add_verbosity(parser)
    flags.add_input(parser)
    parser.add_argument("-o", "--output", required=True, help="HDF5 file to write (created or completed)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="what to copy (default: all)")
    flags.add_force(parser)
    return parser


def action(args: argparse.Namespace) -> None:
    if not (Path(args.input) / "reconstruction").is_dir():
        raise MissingDataError(f"{args.input}: no reconstruction folder, so no features to export")
    with H5FeatureStore(args.output) as target:
        report = copy_features(KaptureFeatureStore(args.input), target, args.kinds, overwrite=args.force)
    print(f"{report.arrays} arrays and {report.matches} matches copied, {report.skipped} already there "
          f"({', '.join(report.types) or 'no feature types'}) -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
