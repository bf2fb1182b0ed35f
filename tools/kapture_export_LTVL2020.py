"""Write the pose file of the long-term visual localization benchmark (visuallocalization.net): one line
``name qw qx qy qz tx ty tz`` per query image with a pose (world-to-camera unless --inverse-pose).

kapture's naming flags apply in order: --full_file_name (keep the record path, else the file name),
-p/--prepend_cam (camera id as folder, RobotCar Seasons), --truncate-extensions (name up to its first
dot); --full_file_name --truncate-extensions --inverse-pose is RIO10's format. --convention selects a
dataset's naming instead (ours).
"""

from __future__ import annotations

import argparse

from kapturelike.converters.ltvl import CONVENTIONS, export_ltvl, kapture_naming
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_LTVL2020", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_input(parser, what="kapture dataset folder holding the query poses")
    flags.add_output(parser, what="submission file to write")
    parser.add_argument("--full_file_name", action="store_true", help="keep the full record path as name")
    parser.add_argument("-p", "--prepend_cam", action="store_true", help="prepend the camera id to the name")
    parser.add_argument("--truncate-extensions", action="store_true", help="cut the name at its first dot")
    parser.add_argument("--inverse-pose", action="store_true", help="write camera-to-world poses")
    parser.add_argument("--convention", choices=CONVENTIONS, default=None,
                        help="a dataset's naming instead of kapture's flags: aachen, aachen_v1_1, cmu, inloc, silda: "
                             "file name; robotcar: camera/file name; full: record path; rio10: path without "
                             "extension and camera-to-world pose")
    parser.add_argument("--skip-missing", action="store_true", help="leave out queries without a pose")
    return parser


def action(args: argparse.Namespace) -> None:
    if args.convention:
        n = export_ltvl(args.input, args.output, args.convention, args.skip_missing)
    else:
        n = export_ltvl(args.input, args.output, skip_missing=True,
                        naming=kapture_naming(args.full_file_name, args.prepend_cam, args.truncate_extensions),
                        inverse_pose=args.inverse_pose)
    print(f"{n} poses -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
