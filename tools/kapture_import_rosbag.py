"""Import a ROS bag (ROS1 .bag or ROS2 folder; RealSense T265 topics by default) into a kapture dataset:
the images of the image topics and the rig poses of the odometry topic, with the sensors and rig of a
given kapture. Reads bags with the pure-Python 'rosbags' package (pip install -r requirements-rosbag.txt)."""

from __future__ import annotations

import argparse

from kapturelike.importers.rosbag import DEFAULT_IMAGE_TOPICS, TOPIC_ODOMETRY, RosbagOptions, import_rosbag
from kapturelike.tools.cli import run
from kapturelike.tools.import_cli import configure_logging, importer_parser, report


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_rosbag", __doc__, force_flags=("-y", "--force"))
    parser.add_argument("-b", "--bag_file", default="input.bag", help="bag file (or ROS2 bag folder)")
    parser.add_argument("-r", "--kapture_rig", required=True,
                        help="kapture with the rig and sensors of the equipment that recorded the bag")
    parser.add_argument("-o", "--odometry_topic", default=TOPIC_ODOMETRY,
                        help=f"odometry topic to import [{TOPIC_ODOMETRY}]; '' for none")
    parser.add_argument("-i", "--image_topics", nargs="*", help=f"image topics [{' '.join(DEFAULT_IMAGE_TOPICS)}]")
    parser.add_argument("-c", "--camera_identifiers", nargs="*", required=True,
                        help="camera ids of the rig kapture, one per image topic, in the same order")
    parser.add_argument("-a", "--all_pose", action="store_true", default=False,
                        help="save every pose of the odometry topic in the trajectory")
    parser.add_argument("-m", "--match_pose", action="store_true", default=True,
                        help="give each image group the nearest odometry pose, at the images' timestamp")
    parser.add_argument("-p", "--percent", type=int, default=100, help="percentage of images to keep")
    parser.add_argument("-k", "--kapture_output", required=True, help="kapture folder to write")
    return parser


def action(args: argparse.Namespace) -> None:
    progress = configure_logging(args)
    options = RosbagOptions(args.image_topics or list(DEFAULT_IMAGE_TOPICS), args.camera_identifiers or [],
                            args.odometry_topic or None, None, args.all_pose, args.match_pose, True, args.percent,
                            args.force, progress)
    k = import_rosbag(args.bag_file, args.kapture_rig, args.kapture_output, options)
    report(k, args.kapture_output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
