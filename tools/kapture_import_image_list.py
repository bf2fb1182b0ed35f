"""Make a kapture dataset from image lists.

kapture's form: ``-i LIST... -im IMAGES``, each line ``name`` or ``name MODEL width height params...``;
each image gets its own camera ``sensor<i>`` and timestamp ``i``.
kapturelike's form: ``-l LIST -im IMAGES``, whitespace separated lines ``name``,
``name MODEL width height params...``, ``name qw qx qy qz tx ty tz`` (world-to-camera) or both;
cameras shared by equal intrinsics; '#' starts a comment.
"""

from __future__ import annotations

import argparse

from kapturelike.core.sensors import CAMERA_MODEL_PARAMS
from kapturelike.dataset_tools import ImportOptions, import_image_list
from kapturelike.dataset_tools.image_list import import_kapture_image_lists
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_import_image_list", __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add_verbosity(parser)
    flags.add_force(parser, ("-f", "--force"))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("-i", "--inputs", nargs="+", help="image list files (kapture's form)")
    source.add_argument("-l", "--list", help="image list file (kapturelike's form, with intrinsics and poses)")
    flags.add_output(parser, what="kapture dataset folder to create")
    parser.add_argument("-im", "--image_path", default="", help="folder the names of the lists are relative to")
    flags.add_image_transfer(parser, default="link_absolute")
    parser.add_argument("--camera-model", default="UNKNOWN_CAMERA", choices=list(CAMERA_MODEL_PARAMS),
                        help="with -l: model of cameras for lines without intrinsics (default: %(default)s)")
    parser.add_argument("--copy", action="store_true", help="copy images (same as --image_transfer copy)")
    return parser


def action(args: argparse.Namespace) -> None:
    transfer = "copy" if args.copy else args.image_transfer
    if args.inputs:
        k = import_kapture_image_lists(args.inputs, args.image_path or ".", args.output, transfer, args.force)
    else:
        k = import_image_list(args.list, args.image_path or ".", args.output,
                              ImportOptions(camera_model=args.camera_model, image_transfer=transfer,
                                            force=args.force))
    poses = 0 if k.trajectories is None else len(k.trajectories)
    print(f"imported {len(k.image_names())} images, {len(k.sensors)} camera(s), {poses} poses into {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
