"""kapture_create_3D_model_from_depth: a 3D model (points3d.txt, observations.txt) from the depth maps and
keypoints of a kapture dataset with poses, as kapture-localization's tool builds it (voxel-grid merging)."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.depth_model import DepthModelOptions, create_3d_model_from_depth
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_create_3D_model_from_depth", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output kapture dataset folder")
    parser.add_argument("--keypoints-type", help="keypoints type (default: the dataset's only one)")
    parser.add_argument("-d", "--depth", help="depth sensor id (default: <camera id>_depth, e.g. ipad0_depth)")
    parser.add_argument("-k", "--topk", type=int, default=20000, help="number of keypoints used per image")
    parser.add_argument("--cellsizes", nargs="+", default=["10", "1", "0.01"],
                        help="voxel grid cell sizes, coarse to fine (points in one finest cell are merged)")
    flags.add_force(parser)
    return parser


def action(args: argparse.Namespace) -> int | None:
    try:
        cellsizes = tuple(float(v) for v in args.cellsizes)
    except ValueError as e:
        raise ValueError(f"--cellsizes takes numbers, got {args.cellsizes}") from e
    options = DepthModelOptions(args.keypoints_type, args.depth, args.topk, cellsizes)
    create_3d_model_from_depth(args.input, args.output, options, force=args.force)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
