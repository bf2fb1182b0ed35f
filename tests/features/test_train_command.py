"""kapture_train_apgem: fine-tune an official-format AP-GeM checkpoint on a tiny synthetic map."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.features.apgem import APGeMOptions, build_apgem, extract_apgem, load_apgem
from kapturelike.features.checkpoints import safe_load
from kapturelike.io.dataset import records_data_path
from kapturelike.io.images import load_image
from kapturelike.pipelines.train_global import TrainGlobalOptions, _observation_pairs
from kapturelike.tools import kapture_train_apgem

torch.set_num_threads(2)
OPTIONS = {"arch": "resnet50_rmac", "out_dim": 2048, "pooling": "gem", "gemp": 3, "dropout_p": None,
           "without_fc": False}


@pytest.fixture(scope="module")
def mapping(tmp_path_factory):
    from kapturelike.synthetic.export import write_synthetic_kapture
    from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset

    root = tmp_path_factory.mktemp("train_apgem")
    return write_synthetic_kapture(generate_dataset(SyntheticOptions(
        num_mapping=6, num_sequences=1, sequence_length=1, width=160, height=120, focal=125)), root).mapping


@pytest.fixture(scope="module")
def init_checkpoint(tmp_path_factory):
    """Random ResNet-50 AP-GeM weights saved as the official release does (DataParallel 'module.' keys)."""
    torch.manual_seed(0)
    net, _ = build_apgem(OPTIONS)
    path = tmp_path_factory.mktemp("apgem_init") / "Resnet50-AP-GeM.pt"
    torch.save({"state_dict": OrderedDict((f"module.{k}", v) for k, v in net.state_dict().items()),
                "model_options": OPTIONS, "epoch": 12}, path)
    return path


def test_train_command_writes_a_loadable_checkpoint(mapping, init_checkpoint, tmp_path, capsys):
    out = tmp_path / "finetuned.pt"
    # the 6 map views are 60 degrees apart on a ring: neighbours are positives, opposite views negatives
    code = kapture_train_apgem.main(["-i", str(mapping), "-c", str(init_checkpoint), "-o", str(out),
                                     "--steps", "2", "--batch-size", "4", "--image-size", "48", "--lr", "1e-3",
                                     "--pos-max-angle", "70", "--pca-name", "map", "--pca-max-size", "64",
                                     "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    assert "2 steps on 6 images" in capsys.readouterr().out
    model, pcas, info = load_apgem(out, "cpu")  # strict: every key and shape must match the network
    assert info["model_options"]["arch"] == "resnet50_rmac" and sorted(pcas) == ["map"]
    images = [load_image(records_data_path(mapping, n)) for n in ("mapping/cam0/000001.png",
                                                                   "mapping/cam0/000004.png")]
    raw = extract_apgem(images, model, APGeMOptions(max_size=64))
    white = extract_apgem(images, model, APGeMOptions(max_size=64, pca_name="map"), pcas)
    assert raw.shape == (2, 2048) and white.shape[0] == 2 and white.shape[1] <= 5
    np.testing.assert_allclose(np.linalg.norm(raw, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(white, axis=1), 1, atol=1e-5)
    # training moved the weights away from the initial ones
    before = safe_load(init_checkpoint)["state_dict"]
    after = safe_load(out)["state_dict"]
    assert set(after) == {k.removeprefix("module.") for k in before}
    assert any(not torch.equal(after[k], before[f"module.{k}"]) for k in after if after[k].is_floating_point())


def test_train_command_errors(mapping, init_checkpoint, tmp_path, capsys):
    out = tmp_path / "x.pt"
    common = ["-i", str(mapping), "-c", str(init_checkpoint), "-o", str(out), "--steps", "1", "--device", "cpu"]
    capsys.readouterr()
    # default thresholds (45 degrees) give no positive on a 60-degree ring
    assert kapture_train_apgem.main(common) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no positive pair" in err and err.count("\n") == 1
    assert kapture_train_apgem.main(common + ["--mining", "observations"]) == 1
    assert "observations" in capsys.readouterr().err
    assert kapture_train_apgem.main(["-i", str(mapping), "-c", str(tmp_path / "none.pt"), "-o", str(out)]) == 1
    assert "none.pt" in capsys.readouterr().err
    assert kapture_train_apgem.main(common + ["--mining", "sift"]) == 2
    assert not out.exists()


def test_observation_mining_groups_points_per_image():
    names = ["a.png", "b.png", "c.png", "d.png"]
    kapture = Kapture(records={"camera": Records.camera(((i, "cam0"), n) for i, n in enumerate(names))})
    # a and b share 3 points, c shares 1 with each of them, d sees nothing; z.png is not in the records
    point_ids = [0, 1, 2, 0, 1, 2, 2, 5, 7]
    image_names = ["a.png", "a.png", "a.png", "b.png", "b.png", "b.png", "c.png", "c.png", "z.png"]
    kapture.observations = Observations(point_ids, ["sift"] * 9, image_names, np.arange(9))
    options = TrainGlobalOptions()
    options.mining.min_shared_points, options.mining.min_overlap = 2, 0.5
    got_names, positives, negatives = _observation_pairs(kapture, options, "map")
    assert got_names == names
    assert [p.tolist() for p in positives] == [[1], [0], [], []]
    assert [n.tolist() for n in negatives] == [[3], [3], [3], [0, 1, 2]]
    options.keypoints_type = "r2d2"
    with pytest.raises(FileNotFoundError, match="r2d2"):
        _observation_pairs(kapture, options, "map")
