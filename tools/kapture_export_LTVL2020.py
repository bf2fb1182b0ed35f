"""Write the pose file of the long-term visual localization benchmark (visuallocalization.net)."""

from __future__ import annotations

import argparse

from kapturelike.converters.ltvl import CONVENTIONS, export_ltvl
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_export_LTVL2020", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset folder holding the query poses")
    parser.add_argument("-o", "--output", required=True, help="submission file to write")
    parser.add_argument("--convention", choices=CONVENTIONS, default="aachen",
                        help="image naming of the dataset [aachen]: aachen, aachen_v1_1, cmu, inloc, silda: file "
                             "name only; robotcar: camera/file name; full: record path; rio10: path without "
                             "extension and camera-to-world pose")
    parser.add_argument("--skip-missing", action="store_true", help="leave out queries without a pose")

    def action(args: argparse.Namespace) -> None:
        n = export_ltvl(args.input, args.output, args.convention, args.skip_missing)
        print(f"{n} poses -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
