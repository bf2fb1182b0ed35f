"""kapture_train_apgem: fine-tune an AP-GeM checkpoint on a mapped kapture scene (AP loss)."""

from __future__ import annotations

import argparse

from kapturelike.features.train_apgem import FinetuneOptions, PairMiningOptions
from kapturelike.pipelines.train_global import MINING_METHODS, TrainGlobalOptions
from kapturelike.pipelines.train_global import main as train_global
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_train_apgem", description=__doc__)
    parser.add_argument("-i", "--mapping", required=True, help="kapture map: images with poses (or 3D points)")
    parser.add_argument("-c", "--checkpoint", "--init", dest="checkpoint", required=True,
                        help="AP-GeM checkpoint to start from (official format, e.g. Resnet101-AP-GeM-LM18.pt)")
    parser.add_argument("-o", "--output", required=True, help="fine-tuned checkpoint to write (official format)")
    parser.add_argument("--mining", choices=MINING_METHODS, default="poses",
                        help="training pairs from image poses or from shared 3D points (default: poses)")
    mine, tune = PairMiningOptions(), FinetuneOptions()
    group = parser.add_argument_group("pair mining (scene units and degrees)")
    group.add_argument("--pos-max-distance", type=float, default=mine.pos_max_distance)
    group.add_argument("--pos-max-angle", type=float, default=mine.pos_max_angle_deg)
    group.add_argument("--neg-min-distance", type=float, default=mine.neg_min_distance)
    group.add_argument("--neg-min-angle", type=float, default=mine.neg_min_angle_deg)
    group.add_argument("--min-shared-points", type=int, default=mine.min_shared_points)
    group.add_argument("--min-overlap", type=float, default=mine.min_overlap)
    group.add_argument("--keypoints-type", help="observation mining: keypoints type to use (default: all)")
    group = parser.add_argument_group("training")
    group.add_argument("--steps", type=int, default=tune.steps, help=f"default: {tune.steps}")
    group.add_argument("--batch-size", type=int, default=tune.batch_size, help=f"default: {tune.batch_size}")
    group.add_argument("--image-size", type=int, default=tune.image_size,
                       help=f"training images are resized to this square (default: {tune.image_size})")
    group.add_argument("--lr", type=float, default=tune.lr, help=f"default: {tune.lr}")
    group.add_argument("--weight-decay", type=float, default=tune.weight_decay)
    group.add_argument("--train-batchnorm", action="store_true",
                       help="update batch-norm statistics (default: frozen)")
    group.add_argument("--seed", type=int, default=tune.seed)
    group.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    group = parser.add_argument_group("whitening")
    group.add_argument("--pca-name", help="fit a PCA whitening on the map's new descriptors, saved under this name")
    group.add_argument("--pca-components", type=int, help="components kept by the PCA (default: all)")
    group.add_argument("--pca-max-size", type=int, default=512,
                       help="largest image side when describing the map for the PCA (default: 512)")
    flags.add_verbosity(parser)
    return parser


def action(args: argparse.Namespace) -> int:
    for name in ("steps", "batch_size", "image_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    options = TrainGlobalOptions(
        mining=PairMiningOptions(pos_max_distance=args.pos_max_distance, pos_max_angle_deg=args.pos_max_angle,
                                 neg_min_distance=args.neg_min_distance, neg_min_angle_deg=args.neg_min_angle,
                                 min_shared_points=args.min_shared_points, min_overlap=args.min_overlap),
        finetune=FinetuneOptions(steps=args.steps, batch_size=args.batch_size, image_size=args.image_size,
                                 lr=args.lr, weight_decay=args.weight_decay,
                                 freeze_batchnorm=not args.train_batchnorm, seed=args.seed),
        keypoints_type=args.keypoints_type, pca_name=args.pca_name, pca_components=args.pca_components,
        pca_max_size=args.pca_max_size, device=args.device)
    result = train_global(args.mapping, args.output, args.checkpoint, options, mining=args.mining)
    losses = result["loss"]
    print(f"{len(losses)} steps on {result['images']} images ({result['anchors']} with a positive), "
          f"loss {losses[0]:.4f} -> {losses[-1]:.4f}; written to {result['checkpoint']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
