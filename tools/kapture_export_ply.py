"""Export 3D points (with colours) and camera positions of a kapture dataset to PLY.

kapture's form: -o FOLDER gets rig_<id>.ply, trajectories.ply (each pose's axes, --axis_length long) and
points3d.ply as kapture writes them, and records_data/<lidar>/<timestamp>.ply per lidar record (its point
cloud, pcd / ply / xyz, moved into the world by the lidar's pose, directly or through its rig; kapture's
binary PLY); --only / --skip choose among rigs, trajectories, points3d, lidar. kapturelike's form: -o FILE.ply
gets points and camera centres in one file (--binary, --no-points, --no-cameras)."""

from __future__ import annotations

import argparse

from kapturelike.converters.ply import (
    PlyOptions,
    export_ply,
    write_kapture_lidar_plys,
    write_kapture_points3d_ply,
    write_kapture_rig_ply,
    write_kapture_trajectories_ply,
)
from kapturelike.io.dataset import load_kapture
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_ply", __doc__)
    flags.add_verbosity(parser)
    flags.add_input(parser, what="kapture dataset folder")
    parser.add_argument("-o", "--output", default=None, help="folder for the PLY files (or FILE.ply); default: -i")
    parts = ["rigs", "trajectories", "points3d", "lidar"]
    parser.add_argument("--only", nargs="+", choices=parts, default=[], help="export only these parts")
    parser.add_argument("--skip", nargs="+", choices=parts, default=[], help="leave these parts out")
    parser.add_argument("--axis_length", type=float, default=0.1,
                        help="length of the axes drawn per pose and rig device (world units; default 0.1)")
    parser.add_argument("--binary", action="store_true", help="binary little endian instead of ascii")
    parser.add_argument("--no-points", action="store_true", help="leave the 3D points out")
    parser.add_argument("--no-cameras", action="store_true", help="leave the camera positions out")
    return parser


def action(args: argparse.Namespace) -> None:
    k = load_kapture(args.input)
    output = args.output or args.input
    if output.endswith(".ply"):
        options = PlyOptions(binary=args.binary, points=not args.no_points, cameras=not args.no_cameras)
        print(f"{export_ply(k, output, options)} vertices -> {output}")
        return
    wanted = [p for p in ("rigs", "trajectories", "points3d", "lidar") if (not args.only or p in args.only)
              and p not in args.skip]
    if "rigs" in wanted:
        for rig_id, rig in (k.rigs or {}).items():
            n = write_kapture_rig_ply(rig, flags.file_in(output, f"rig_{rig_id}.ply"), args.axis_length)
            print(f"{n} vertices -> {output}/rig_{rig_id}.ply")
    if "trajectories" in wanted and k.trajectories is not None and len(k.trajectories):
        n = write_kapture_trajectories_ply(k, flags.file_in(output, "trajectories.ply"), args.axis_length)
        print(f"{n} vertices -> {output}/trajectories.ply")
    if "points3d" in wanted and k.points3d is not None and len(k.points3d):
        n = write_kapture_points3d_ply(k, flags.file_in(output, "points3d.ply"))
        print(f"{n} vertices -> {output}/points3d.ply")
    if "lidar" in wanted and "lidar" in k.records and len(k.records["lidar"]):
        n = write_kapture_lidar_plys(k, args.input, output)
        print(f"{n} lidar point clouds -> {output}/records_data")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
