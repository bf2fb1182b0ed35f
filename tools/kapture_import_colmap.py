"""Import a COLMAP sparse model (-txt, text or binary) and/or database.db (-db) into a kapture dataset.

Accepts every flag of kapture's kapture_import_colmap; -im/--images brings the images in with
--image_transfer; --skip_reconstruction leaves out the reconstruction (keypoints, points, observations);
--no_geometric_filtering imports the raw matches instead of the verified ones; -rig FILE reads COLMAP's rig
configuration (rigs rig<n> of unknown poses; a rig's images share a timestamp, as kapture's importer does).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from kapturelike.converters.colmap import apply_colmap_rig_json, import_colmap
from kapturelike.converters.common import ConversionError
from kapturelike.dataset_tools.output import place_records_data
from kapturelike.io.dataset import RECONSTRUCTION_DIR, load_kapture, save_kapture
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_import_colmap", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_database(parser)
    parser.add_argument("-txt", "--reconstruction", "-i", "--input", dest="reconstruction", default=None,
                        help="COLMAP model folder (cameras/images/points3D .txt or .bin)")
    parser.add_argument("-im", "--images", default=None, help="folder of the images the model names")
    flags.add_image_transfer(parser, default="link_absolute")
    flags.add_rig(parser)
    parser.add_argument("-o", "-k", "--kapture", "--output", dest="kapture", required=True,
                        help="kapture dataset folder to write")
    parser.add_argument("-kpt", "--keypoints-type", default="SIFT", help="name of the keypoints type [SIFT]")
    parser.add_argument("-desc", "--descriptors-type", default="SIFT", help="name of the descriptors type [SIFT]")
    flags.add_skip_reconstruction(parser)
    parser.add_argument("--no_geometric_filtering", action="store_true",
                        help="import the raw matches (table matches), not the verified ones (two_view_geometries)")
    return parser


def action(args: argparse.Namespace) -> None:
    if args.reconstruction is None and args.database is None:
        raise ConversionError("give -txt MODEL and/or -db DATABASE")
    k = import_colmap(args.kapture, args.reconstruction, args.database, args.keypoints_type, args.descriptors_type,
                      force=args.force, geometric_filtering=not args.no_geometric_filtering)
    if args.rig:
        k = apply_colmap_rig_json(load_kapture(args.kapture), args.rig)
        save_kapture(k, args.kapture)
    if args.skip_reconstruction and Path(args.kapture, RECONSTRUCTION_DIR).is_dir():
        shutil.rmtree(Path(args.kapture, RECONSTRUCTION_DIR))
    if args.images:
        place_records_data(k, None, Path(args.kapture), args.image_transfer, Path(args.images))
    print(f"{len(k.image_names())} images, {0 if k.points3d is None else len(k.points3d)} points -> {args.kapture}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
