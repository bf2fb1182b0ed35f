"""Import a Bundler bundle.out (v0.3) with its image list into a kapture dataset.

As kapture: the reconstruction (keypoints, points, observations) only with --add-reconstruction,
no trajectories with --ignore-trajectories, images brought in with --image_transfer."""

from __future__ import annotations

import argparse
from pathlib import Path

from kapturelike.converters.bundler import import_bundler
from kapturelike.dataset_tools.output import place_records_data
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_import_bundler", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_input(parser, what="bundle.out")
    parser.add_argument("-l", "--image-list", required=True, help="image list, one name per camera")
    parser.add_argument("-im", "--image-path", "--images", dest="image_path", required=True,
                        help="folder of the images (their sizes are read)")
    flags.add_image_transfer(parser, default="link_absolute")
    flags.add_output(parser, what="kapture dataset folder to write")
    parser.add_argument("--ignore-trajectories", action="store_true", help="leave the poses out")
    parser.add_argument("--add-reconstruction", action="store_true", help="import keypoints, points, observations")
    return parser


def action(args: argparse.Namespace) -> None:
    k = import_bundler(args.input, args.image_list, args.output, images_dir=args.image_path, force=args.force)
    flags.reconstruction_parts(args.output, args.add_reconstruction, args.ignore_trajectories)
    place_records_data(k, None, Path(args.output), args.image_transfer, Path(args.image_path))
    print(f"{len(k.image_names())} images -> {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
