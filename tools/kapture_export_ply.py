"""Export 3D points (with colours) and camera positions of a kapture dataset to PLY.

kapture's form: -o FOLDER gets points3d.ply and trajectories.ply (--only / --skip choose among rigs,
trajectories, points3d, lidar; rigs, lidar and --axis_length are accepted and not applied).
kapturelike's form: -o FILE.ply gets both in one file (--binary, --no-points, --no-cameras)."""

from __future__ import annotations

import argparse

from kapturelike.converters.ply import PlyOptions, export_ply
from kapturelike.io.dataset import load_kapture
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, note_ignored, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_ply", __doc__)
    flags.add_verbosity(parser)
    flags.add_input(parser, what="kapture dataset folder")
    parser.add_argument("-o", "--output", default=None, help="folder for the PLY files (or FILE.ply); default: -i")
    parts = ["rigs", "trajectories", "points3d", "lidar"]
    parser.add_argument("--only", nargs="+", choices=parts, default=[], help="export only these parts")
    parser.add_argument("--skip", nargs="+", choices=parts, default=[], help="leave these parts out")
    parser.add_argument("--axis_length", type=float, default=0.1, help="accepted and not applied")
    parser.add_argument("--binary", action="store_true", help="binary little endian instead of ascii")
    parser.add_argument("--no-points", action="store_true", help="leave the 3D points out")
    parser.add_argument("--no-cameras", action="store_true", help="leave the camera positions out")
    return parser


def action(args: argparse.Namespace) -> None:
    note_ignored(build_parser(), args, ["axis_length"])
    k = load_kapture(args.input)
    output = args.output or args.input
    if output.endswith(".ply"):
        options = PlyOptions(binary=args.binary, points=not args.no_points, cameras=not args.no_cameras)
        print(f"{export_ply(k, output, options)} vertices -> {output}")
        return
    wanted = [p for p in (args.only or ["trajectories", "points3d"]) if p not in args.skip]
    for part in wanted:
        if part == "points3d" and k.points3d is not None:
            n = export_ply(k, flags.file_in(output, "points3d.ply"), PlyOptions(binary=args.binary, cameras=False))
        elif part == "trajectories" and k.trajectories is not None:
            n = export_ply(k, flags.file_in(output, "trajectories.ply"), PlyOptions(binary=args.binary, points=False))
        else:
            continue
        print(f"{n} vertices -> {output}/{part}.ply")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
