"""Import an OpenSfM project into kapture, as kapture's kapture_import_opensfm: the first reconstruction of
reconstruction.json (cameras, images, poses, 3D points), the images of its images/ folder (--transfer,
kapture's default link_absolute), GNSS positions of exif/*.exif, and the features (features/*.features.npz,
stored as --keypoints-type and --descriptors-type, kapture's defaults HessianAffine and HOG: OpenSfM's HAHOG)
and matches (matches/*_matches.pkl.gz, under the keypoints type). -i may also name the .json file itself
(its folder holds the rest)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kapturelike.dataset_tools.opensfm_folder import import_opensfm_folder
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_import_opensfm", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", "--opensfm", dest="input", required=True,
                        help="OpenSfM folder holding reconstruction.json")
    parser.add_argument("-o", "-k", "--output", "--kapture", dest="output", required=True,
                        help="kapture dataset folder to write")
    parser.add_argument("--transfer", default="link_absolute", choices=list(flags.IMAGE_TRANSFERS),
                        help="how the images of the OpenSfM images/ folder are imported (default: link_absolute)")
    flags.add_force(parser)
    parser.add_argument("--keypoints-type", default="HessianAffine",
                        help="kapture keypoints type of the imported features and matches (default: HessianAffine)")
    parser.add_argument("--descriptors-type", default="HOG",
                        help="kapture descriptors type of the imported features (default: HOG)")
    return parser


def action(args: argparse.Namespace) -> None:
    reconstruction = flags.file_in(args.input, "reconstruction.json")
    k = import_opensfm_folder(reconstruction.parent, args.output, args.transfer, args.keypoints_type,
                              args.descriptors_type, force=args.force, reconstruction=reconstruction)
    pairs = sum(len(p) for p in k.matches.values())
    print(f"{len(k.image_names())} images, {0 if k.points3d is None else len(k.points3d)} points, "
          f"{len(next(iter(k.keypoints.values())).images) if k.keypoints else 0} feature files, {pairs} matched "
          f"pairs -> {Path(args.output)}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
