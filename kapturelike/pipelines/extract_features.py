"""Steps: local features and global features for a batch of images, written to a FeatureStore."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import FeatureType
from kapturelike.errors import MissingDataError
from kapturelike.io.features import FeatureStore, KaptureFeatureStore
from kapturelike.io.images import load_image
from kapturelike.pipelines.config import FeaturesConfig
from kapturelike.pipelines.steps import StepReport, run_batched, timed_step

LocalExtractor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
GlobalExtractor = Callable[[np.ndarray], np.ndarray]

DENSEVLAD_MODEL_FILE = "densevlad_model.npz"


def _ensure_type(store: FeatureStore, kind: str, name: str, array: np.ndarray, keypoints_type: str | None = None,
                 metric: str | None = None) -> None:
    try:
        existing = store.read_type(kind, name)
    except MissingDataError:
        existing = None
    wanted = FeatureType(kind, name, array.dtype, int(array.shape[-1]), keypoints_type=keypoints_type,
                         metric_type=metric)
    if existing is None:
        store.write_type(wanted)
    elif not existing.same_type(wanted):
        raise ValueError(f"{kind} type '{name}' on disk is {existing.dtype_name} x {existing.dsize}, the extractor "
                         f"gives {wanted.dtype_name} x {wanted.dsize}: choose another type name or remove it")


def extract_local_features(image_names: Sequence[str], image_root: Path, store: FeatureStore, type_name: str,
                           extractor: LocalExtractor, overwrite: bool = False) -> StepReport:
    """Keypoints and descriptors of each image not done yet (both files present)."""
    report = StepReport(f"local features ({type_name})")

    def is_done(name: str) -> bool:
        return store.has("keypoints", type_name, name) and store.has("descriptors", type_name, name)

    def process(batch: list[str]):
        for name in batch:
            keypoints, descriptors = extractor(load_image(Path(image_root) / name))
            _ensure_type(store, "keypoints", type_name, keypoints)
            _ensure_type(store, "descriptors", type_name, descriptors, keypoints_type=type_name, metric="L2")
            # descriptors first: an image counts as done once its keypoints exist too
            store.write("descriptors", type_name, name, descriptors)
            store.write("keypoints", type_name, name, keypoints)
            yield name, None

    with timed_step(report):
        run_batched(report, image_names, is_done, process, overwrite=overwrite)
    return report


def extract_global_features(image_names: Sequence[str], image_root: Path, store: FeatureStore, type_name: str,
                            extractor: GlobalExtractor, overwrite: bool = False) -> StepReport:
    report = StepReport(f"global features ({type_name})")

    def process(batch: list[str]):
        for name in batch:
            feature = np.asarray(extractor(load_image(Path(image_root) / name)), dtype=np.float32).reshape(-1)
            _ensure_type(store, "global_features", type_name, feature[None], metric="L2")
            store.write("global_features", type_name, name, feature)
            yield name, None

    with timed_step(report):
        run_batched(report, image_names, lambda n: store.has("global_features", type_name, n), process,
                    overwrite=overwrite)
    return report


def make_local_extractor(config: FeaturesConfig, device: str = "auto") -> LocalExtractor:
    from kapturelike.features.registry import get_local_extractor

    return get_local_extractor(config.local, config.local_options, checkpoint=config.local_checkpoint,
                               device=device)


def global_types(config: FeaturesConfig) -> list[str]:
    return [t.strip() for t in config.global_.split(",") if t.strip()]


def make_global_extractor(type_name: str, config: FeaturesConfig, model_dir: Path, map_images: Sequence[str],
                          image_root: Path, device: str = "auto", fit: bool = False) -> GlobalExtractor:
    """A global extractor; DenseVLAD learns its vocabulary and PCA from the map images once (``fit``)
    and saves them beside the map's global features, so queries reuse exactly the same model."""
    if type_name == "densevlad":
        from kapturelike.features.densevlad import (
            DenseVladModel,
            DenseVladOptions,
            extract_densevlad,
            fit_densevlad,
        )

        options = DenseVladOptions(**config.global_options)
        model_path = Path(model_dir) / DENSEVLAD_MODEL_FILE
        if model_path.is_file():
            model = DenseVladModel.load(model_path)
        elif fit:
            model = fit_densevlad(lambda: (load_image(Path(image_root) / n) for n in map_images), options)
            model.save(model_path)
        else:
            raise MissingDataError(f"{model_path}: the map has no DenseVLAD model; run the mapping pipeline first")
        return lambda image: extract_densevlad(image, model, options)
    from kapturelike.features.registry import get_global_extractor

    return get_global_extractor(type_name, config.global_options, checkpoint=config.global_checkpoint,
                                device=device)


def main(argv: list[str] | None = None) -> int:
    """kapture_extract_features: local features of every image of a kapture dataset."""
    from kapturelike.io.dataset import load_kapture, records_data_path
    from kapturelike.pipelines.config import load_config

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset")
    parser.add_argument("-o", "--output", help="kapture dataset to write features to (default: the input)")
    parser.add_argument("--config", help="YAML configuration (features section)")
    parser.add_argument("--overwrite", action="store_true", help="recompute features that exist")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    kapture = load_kapture(args.input)
    store = KaptureFeatureStore(args.output or args.input)
    report = extract_local_features(kapture.image_names(), records_data_path(args.input), store,
                                    config.features.local, make_local_extractor(config.features, config.device),
                                    overwrite=args.overwrite)
    print(report.summary())
    return 1 if report.failures else 0
