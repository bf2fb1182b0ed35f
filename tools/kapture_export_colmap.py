"""Export a kapture dataset to a COLMAP database.db (-db) and/or sparse model (-txt text, -o with --binary).

Accepts every flag of kapture's kapture_export_colmap; --pairsfile-path keeps only the matches of its pairs in
the database; -rig FILE writes COLMAP's rig configuration (JSON: each rig's camera ids and image prefixes).
"""

from __future__ import annotations

import argparse

from kapturelike.converters.colmap import ColmapExportOptions, export_colmap, write_colmap_rig_json
from kapturelike.converters.common import ConversionError
from kapturelike.io.dataset import load_kapture
from kapturelike.io.pairs import read_pairs
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_colmap", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_kapture(parser, flags=("-i", "-k", "--kapture"))
    flags.add_pairsfile_path(parser, required=False)
    flags.add_keypoints_type(parser)
    flags.add_descriptors_type(parser)
    flags.add_database(parser)
    flags.add_reconstruction(parser)
    flags.add_rig(parser)
    parser.add_argument("-o", "--output", default=None, help="COLMAP model folder to write (.txt; .bin: --binary)")
    parser.add_argument("--binary", action="store_true", help="with -o: write .bin files instead of .txt")
    parser.add_argument("--approximate", action="store_true", help="replace cameras COLMAP cannot hold by the nearest")
    return parser


def action(args: argparse.Namespace) -> None:
    if not (args.database or args.reconstruction or args.output):
        raise ConversionError("nothing to write: give -db DATABASE, -txt FOLDER and/or -o FOLDER")
    pairs = frozenset((a, b) for a, b, _ in read_pairs(args.pairsfile_path)) if args.pairsfile_path else None
    options = ColmapExportOptions(args.keypoints_type, args.approximate, pairs)
    model = export_colmap(args.kapture, args.reconstruction, False, args.database, options) if args.reconstruction \
        else export_colmap(args.kapture, args.output, args.binary, args.database, options)
    if args.reconstruction and args.output:
        export_colmap(args.kapture, args.output, args.binary, None, options)
    if args.rig:
        write_colmap_rig_json(args.rig, load_kapture(args.kapture), model)
    print(f"{len(model.images)} images, {len(model.points)} points -> "
          f"{', '.join(str(p) for p in (args.database, args.reconstruction, args.output) if p)}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
