"""The typed configuration: default.yaml is PipelineConfig(), typos are one-line errors at load time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from kapturelike.errors import FormatError
from kapturelike.pipelines.config import PipelineConfig, load_config, save_config

DEFAULT_YAML = Path(__file__).resolve().parents[2] / "datasets" / "configs" / "default.yaml"


def _keys(value) -> set[str]:
    return {f.name.rstrip("_") for f in dataclasses.fields(value)}


def test_default_yaml_equals_pipeline_config_field_for_field():
    loaded = load_config(DEFAULT_YAML)
    default = PipelineConfig()
    for f in dataclasses.fields(default):
        assert getattr(loaded, f.name) == getattr(default, f.name), f.name
    assert loaded == default
    # the file documents every setting: each top-level key, and each key of each section but the
    # preset overrides (whose default, empty, means "the preset's value")
    data = yaml.safe_load(DEFAULT_YAML.read_text())
    assert set(data) == _keys(default)
    for f in dataclasses.fields(default):
        section = getattr(default, f.name)
        if dataclasses.is_dataclass(section) and f.name != "localization":
            assert set(data[f.name]) == _keys(section), f.name


def test_saved_config_loads_back_equal(tmp_path):
    config = load_config(None, {"matching": {"mutual": False}, "localization": {"max_error": 8.0},
                                "features": {"global": "densevlad,apgem"}})
    save_config(config, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == config
    assert config.matching.ratio_threshold == 0.8  # a section replaces only the keys it names
    assert config.localization_options().max_error == 8.0
    assert config.localization_options().min_num_inliers == 30  # config1's


@pytest.mark.parametrize("text, key", [
    ("matching: {ratio_treshold: 0.8}\n", "matching.ratio_treshold"),
    ("verification: {max_eror: 2}\n", "verification.max_eror"),
    ("triangulation: {min_tri_angel: 2}\n", "triangulation.min_tri_angel"),
    ("localization: {max_err: 2}\n", "localization.max_err"),
    ("pairs: {topk: 3}\n", "pairs.topk"),
    ("features: {local_options: {max_keypoint: 10}}\n", "features.local_options.max_keypoint"),
    ("features: {global_options: {num_cluster: 8}}\n", "features.global_options.num_cluster"),
    ("machter: mnn\n", "machter"),
])
def test_misspelt_key_is_one_line_error_naming_key_and_known_ones(tmp_path, text, key):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(FormatError) as e:
        load_config(path)
    message = str(e.value)
    assert "\n" not in message and f"'{key}'" in message and "known:" in message and str(path) in message


@pytest.mark.parametrize("text", ["matching: {ratio_threshold: high}\n", "pairs: {topk_mapping: 2.5}\n",
                                  "matching: {mutual: 1}\n", "localization_preset: config9\n",
                                  "verification: {method: nope}\n", "matching: 3\n"])
def test_wrong_value_is_one_line_error(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(FormatError) as e:
        load_config(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)
