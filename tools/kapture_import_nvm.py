"""Import a VisualSfM NVM_V3 file (e.g. Aachen Day-Night's) into a kapture dataset.

As kapture: only the images of --filter-list when given, the reconstruction (keypoints, points,
observations) only with --add-reconstruction, no trajectories with --ignore-trajectories, images
brought in with --image_transfer."""

from __future__ import annotations

import argparse
from pathlib import Path

from kapturelike.converters.nvm import NvmImportOptions, import_nvm
from kapturelike.dataset_tools.output import keep_images, place_records_data
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_import_nvm", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_input(parser, what="file.nvm")
    parser.add_argument("-im", "--images", default=None, help="folder of the images (needed: NVM holds no image size)")
    flags.add_image_transfer(parser, default="link_absolute")
    flags.add_output(parser, what="kapture dataset folder to write")
    parser.add_argument("--filter-list", default="", help="file of the image names to keep, one a line")
    parser.add_argument("--ignore-trajectories", action="store_true", help="leave the poses out")
    parser.add_argument("--add-reconstruction", action="store_true", help="import keypoints, points, observations")
    parser.add_argument("--keypoints-type", default="nvm", help="name of the keypoints type [nvm]")
    return parser


def action(args: argparse.Namespace) -> None:
    if not args.images:
        raise ValueError("-im/--images is needed: NVM files hold no image size")
    k = import_nvm(args.input, args.output, images_dir=args.images,
                   options=NvmImportOptions(keypoints_type=args.keypoints_type, camera_prefix="sensor",
                                            camera_per_image=True), force=args.force)
    flags.reconstruction_parts(args.output, args.add_reconstruction, args.ignore_trajectories)
    if args.filter_list:
        k = keep_images(args.output, Path(args.filter_list).read_text(encoding="utf-8").split())
    place_records_data(k, None, Path(args.output), args.image_transfer, Path(args.images))
    print(f"{len(k.image_names())} images -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
