"""The front half's feature rules and the pipelines' command lines, without running a pipeline."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType
from kapturelike.errors import MissingDataError
from kapturelike.io.features import FolderFeatureStore, KaptureFeatureStore
from kapturelike.pipelines.command_line import localize_parser, mapping_parser, request
from kapturelike.pipelines.front import ImageSet, needs_extraction

NAMES = ["a.jpg", "b.jpg"]


def _keypoints(store, type_name: str, names) -> None:
    store.write_type(FeatureType("keypoints", type_name, np.float32, 2))
    for n in names:
        store.write("keypoints", type_name, n, np.zeros((3, 2), np.float32))


def test_types_present_are_used_as_given_and_never_completed(tmp_path):
    given = KaptureFeatureStore(tmp_path / "input")
    _keypoints(given, "r2d2_500", NAMES)
    _keypoints(given, "sift", NAMES[:1])
    side = ImageSet(NAMES, tmp_path, KaptureFeatureStore(tmp_path / "out"), [given])
    assert needs_extraction(side, "keypoints", "r2d2_500", "features.local") is False
    with pytest.raises(MissingDataError, match="never completed"):  # ours would mix conventions
        needs_extraction(side, "keypoints", "sift", "features.local")
    other = ImageSet(NAMES, tmp_path, KaptureFeatureStore(tmp_path / "out"), [])
    assert needs_extraction(other, "keypoints", "sift", "features.local") is True
    with pytest.raises(MissingDataError, match="unknown local extractor 'd2net'.*present: r2d2_500, sift"):
        needs_extraction(side, "keypoints", "d2net", "features.local")


def test_separate_folders_are_read_in_place(tmp_path):
    folder = tmp_path / "local_features" / "r2d2_500" / "keypoints"
    assert FolderFeatureStore.type_name_of(folder) == "r2d2_500"
    writer = FolderFeatureStore({("keypoints", "r2d2_500"): folder, ("matches", "r2d2_500"): tmp_path / "gv"})
    _keypoints(writer, "r2d2_500", NAMES)
    assert (folder / "keypoints.txt").is_file() and (folder / "a.jpg.kpt").is_file()
    writer.write_matches("r2d2_500", "b.jpg", "a.jpg", np.array([[1, 2]]))
    assert (tmp_path / "gv" / "a.jpg.overlapping" / "b.jpg.matches").is_file()
    reader = FolderFeatureStore({("keypoints", "r2d2_500"): folder, ("matches", "r2d2_500"): tmp_path / "gv"})
    assert reader.types("keypoints") == ["r2d2_500"] and reader.has("keypoints", "r2d2_500", "b.jpg")
    assert reader.read("keypoints", "r2d2_500", "a.jpg").shape == (3, 2)
    assert reader.match_pairs("r2d2_500") == {("a.jpg", "b.jpg")}
    assert not reader.has("descriptors", "r2d2_500", "a.jpg")
    with pytest.raises(MissingDataError, match="no descriptors folder"):
        reader.read("descriptors", "r2d2_500", "a.jpg")


TUTORIAL_FLAGS = ["-kpt", "./local_features/r2d2_500/keypoints", "-desc", "./local_features/r2d2_500/descriptors",
                  "-gfeat", "./global_features/AP-GeM-LM18/global_features",
                  "-matches", "./local_features/r2d2_500/NN_no_gv/matches",
                  "-matches-gv", "./local_features/r2d2_500/NN_colmap_gv/matches",
                  "--colmap-map", "./colmap-sfm/r2d2_500/AP-GeM-LM18_top5", "--topk", "5"]


def test_kapture_localization_flags_become_one_request():
    args = localize_parser().parse_args(["-v", "info", "-i", "./mapping", "--query", "./query", *TUTORIAL_FLAGS,
                                         "-o", "./out", "--config", "2", "-colmap", "colmap", "-s", "evaluate"])
    assert args.map is None and args.matches_path.endswith("NN_no_gv/matches")  # never '-m atches'
    assert args.verbose == logging.INFO
    config, control = request(args, mapping=False, out_dir=Path("./out"))
    assert (config.features.local, config.features.descriptors, config.features.global_) == (
        "r2d2_500", "r2d2_500", "AP-GeM-LM18")
    assert config.localization_preset == "config2" and config.pairs.topk_localization == 5
    assert config.matching.ratio_threshold is None and config.verification.method == "ransac"
    assert control.pairs_name == "pairs_localization_5.txt" and control.skip == {"evaluate"}
    assert isinstance(control.features, FolderFeatureStore) and isinstance(control.raw_matches, FolderFeatureStore)
    args = mapping_parser().parse_args(["-i", "./mapping", *TUTORIAL_FLAGS])
    config, control = request(args, mapping=True, out_dir=Path("./map"))
    assert config.pairs.topk_mapping == 5 and control.colmap_outputs and control.pairs_name == "pairs_mapping_5.txt"
    with pytest.raises(SystemExit):  # abbreviations are refused: '--colmap' is not '--colmap-map'
        mapping_parser().parse_args(["-i", "m", "--colmap", "x"])


def test_short_interface_keeps_working():
    args = localize_parser().parse_args(["-m", "MAP", "-q", "QUERY", "-o", "OUT", "-v"])
    config, control = request(args, mapping=False, out_dir=Path("OUT"))
    assert (args.map, args.query) == ("MAP", "QUERY") and control.features is None and control.pairs_name is None
    assert config.matching.ratio_threshold == 0.8 and config.localization_preset == "config1"


def test_q_is_our_query_or_their_quiet():
    ours = localize_parser().parse_args(["-m", "MAP", "-q", "QUERY", "-o", "OUT"])
    assert ours.query == "QUERY" and ours.verbose == logging.WARNING
    theirs = localize_parser().parse_args(["-i", "mapping", "--query", "QUERY", "--colmap-map", "MAP", "-q", "-o", "O"])
    assert theirs.query == "QUERY" and theirs.verbose == logging.CRITICAL
    assert localize_parser().parse_args(["-m", "MAP", "-o", "OUT"]).query is None  # the command refuses it
    assert mapping_parser().parse_args(["-i", "m", "-o", "M", "-f", "--remove-intermediate"]).force


def test_global_features_of_any_dtype_rank_by_dot_product(tmp_path):
    from kapturelike.pipelines.pairs_files import image_pairs_file

    rng = np.random.default_rng(3)
    names = [f"{i}.jpg" for i in range(6)]
    feats = rng.normal(size=(6, 8))
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)  # as global extractors write them
    store = KaptureFeatureStore(tmp_path)
    for type_name, dtype in (("dirtorch64", np.float64), ("half", np.float16)):
        store.write_type(FeatureType("global_features", type_name, dtype, 8, metric_type="L2"))
        for n, f in zip(names, feats):
            store.write("global_features", type_name, n, f.astype(dtype))
    pairs = image_pairs_file(tmp_path, None, ["dirtorch64"], tmp_path / "p.txt", topk=2)
    scores = feats @ feats.T
    np.fill_diagonal(scores, -np.inf)
    for i, n in enumerate(names):
        ranked = [m for q, m, _ in pairs if q == n]
        assert ranked == [names[j] for j in np.argsort(-scores[i])[:2]]
    fused = image_pairs_file(tmp_path, None, ["dirtorch64", "half"], tmp_path / "f.txt", topk=2)
    assert {q for q, _, _ in fused} == set(names) and len(fused) == 12
