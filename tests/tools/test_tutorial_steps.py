"""kapture-localization's localization, step by step as its kapture_pipeline_localize runs its tools (proxies, image
pairs, merge, matches, geometric verification into the shared verified-matches folder, kapture_colmap_localize
with COLMAP's config 2 options, import, recovery of the query ids, evaluation), on a fresh copy of its tutorial
sample (../shared/data/virtual_gallery_tutorial) after its documented mapping line. kapture-localization
publishes (0.0110 m, 0.1675 deg) median, 4 / 4 found, for COLMAP's image_registrator on this data."""

from __future__ import annotations

import importlib
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import kapture
import kapture.algo.compare as kcompare
import kapture.io.csv as kcsv
import numpy as np
import pytest

from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_pairs

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "virtual_gallery_tutorial"
pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason="../shared/data/virtual_gallery_tutorial is absent")
KAPTURE_TOOLS = Path(kapture.__file__).resolve().parents[1] / "tools"  # the scripts pip installs with kapture

FEATURES = ("-kpt ./local_features/r2d2_500/keypoints -desc ./local_features/r2d2_500/descriptors "
            "-gfeat ./global_features/AP-GeM-LM18/global_features")
MAP = "./colmap-sfm/r2d2_500/AP-GeM-LM18_top5"
CONFIG_2 = ("--Mapper.ba_refine_focal_length 0 --Mapper.ba_refine_principal_point 0 --Mapper.ba_refine_extra_params 0 "
            "--Mapper.min_num_matches 4 --Mapper.init_min_num_inliers 4 --Mapper.abs_pose_min_num_inliers 4 "
            "--Mapper.abs_pose_min_inlier_ratio 0.05 --Mapper.ba_local_max_num_iterations 50 "
            "--Mapper.abs_pose_max_error 20 --Mapper.filter_max_reproj_error 12")
IN = "./loc/kapture_inputs"
LINES = [
    f"kapture_pipeline_mapping.py -v info -i ./mapping {FEATURES} -matches ./local_features/r2d2_500/NN_no_gv/matches "
    f"-matches-gv ./local_features/r2d2_500/NN_colmap_gv/matches --colmap-map {MAP} --topk 5",
    f"kapture_create_kapture_proxy.py -i ./mapping -o {IN}/proxy_mapping {FEATURES} "
    "-matches ./local_features/r2d2_500/NN_no_gv/matches",
    f"kapture_create_kapture_proxy.py -i ./query -o {IN}/proxy_query {FEATURES} "
    "-matches ./local_features/r2d2_500/NN_no_gv/matches",
    f"kapture_compute_image_pairs.py -v info --mapping {IN}/proxy_mapping --query {IN}/proxy_query --topk 5 "
    "-o ./loc/pairs.txt",
    f"kapture_merge -v info -i {IN}/proxy_mapping {IN}/proxy_query -o {IN}/map_plus_query "
    "-s keypoints descriptors global_features matches --image_transfer link_absolute",
    f"kapture_create_kapture_proxy.py -i {IN}/map_plus_query -o {IN}/proxy_map_plus_query {FEATURES} "
    "-matches ./local_features/r2d2_500/NN_no_gv/matches",
    f"kapture_compute_matches.py -v info -i {IN}/proxy_map_plus_query --pairsfile-path ./loc/pairs.txt",
    f"kapture_create_kapture_proxy.py -i {IN}/map_plus_query -o {IN}/proxy_map_plus_query_gv {FEATURES} "
    "-matches ./local_features/r2d2_500/NN_colmap_gv/matches",
    f"kapture_run_colmap_gv.py -v info -i {IN}/proxy_map_plus_query -o {IN}/proxy_map_plus_query_gv "
    "--pairsfile-path ./loc/pairs.txt -colmap colmap",
    f"kapture_colmap_localize.py -v info -i {IN}/proxy_map_plus_query_gv -o ./loc/colmap_localized -colmap colmap "
    f"--pairs-file-path ./loc/pairs.txt -db {MAP}/colmap.db -txt {MAP}/reconstruction {CONFIG_2}",
    "kapture_import_colmap -v info -db ./loc/colmap_localized/colmap.db -txt ./loc/colmap_localized/reconstruction "
    "-o ./loc/kapture_localized --skip_reconstruction",
    "kapture_recover_timestamps_and_ids.py -v info -i ./loc/kapture_localized -ref ./query "
    "-o ./loc/kapture_localized_recover --image_transfer skip",
    "kapture_evaluate.py -v info -i ./loc/kapture_localized_recover --labels colmap_config_2 -gt ./query "
    "-o ./loc/eval --bins '0.25 2' '0.5 5' '5 10'",
]


def _main(command: str):
    """The entry point a command name is installed for (the console scripts' table)."""
    name = command.removesuffix(".py")
    package = "kapturelike.pipeline_tools" if name.startswith("kapture_pipeline") else "kapturelike.tools"
    return importlib.import_module(f"{package}.{name}").main


def test_tutorial_localization_steps_with_colmap_localize(tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "virtual_gallery_tutorial"
    shutil.copytree(SAMPLE, work, symlinks=True)
    monkeypatch.chdir(work)
    for line in LINES:  # in this process (as the console scripts would run them, minus the interpreter start)
        command, *argv = shlex.split(line)
        assert _main(command)(argv) == 0, line
    verified = work / "local_features/r2d2_500/NN_colmap_gv/matches/testing"
    assert verified.is_dir()  # the query pairs were verified into the shared folder, as kapture-localization does
    stats = (work / "loc/eval/stats.txt").read_text()
    assert "Found 4 / 4 image positions (100.00 %)." in stats
    median = re.search(r"Localized images: mean=\([^)]*\) / median=\(([\d.]+)m, ([\d.]+) deg\)", stats)
    assert float(median[1]) < 0.03 and float(median[2]) < 0.5
    assert "(0.25m, 2.0 deg): 100.00%" in stats
    # kapture_compute_image_pairs: each query with its 5 map images of largest global-feature dot product
    names = {side: load_kapture(work / IN / f"proxy_{side}").image_names() for side in ("query", "mapping")}
    gfeat = {side: np.stack([KaptureFeatureStore(work / IN / f"proxy_{side}").read(
        "global_features", "AP-GeM-LM18", n) for n in names[side]]) for side in names}
    scores = gfeat["query"] @ gfeat["mapping"].T
    expected_pairs = sorted((names["query"][i], names["mapping"][j], scores[i, j]) for i in range(len(scores))
                            for j in np.argsort(-scores[i])[:5])
    found_pairs = sorted(read_pairs(work / "loc/pairs.txt"))
    assert [p[:2] for p in found_pairs] == [p[:2] for p in expected_pairs]
    np.testing.assert_allclose([p[2] for p in found_pairs], [p[2] for p in expected_pairs], atol=1e-6)
    # kapture_compute_matches matched as kapture-localization's MatchPairNnTorch: cross-checked nearest neighbours of
    # the descriptors' dot products, scored by them
    store = KaptureFeatureStore(work / IN / "proxy_map_plus_query")
    query, image, _ = read_pairs(work / "loc/pairs.txt")[0]
    first, second = sorted((query, image))
    a, b = (store.read("descriptors", "r2d2_500", n).astype(np.float32) for n in (first, second))
    similarity = a @ b.T
    best = similarity.argmax(axis=1)
    kept = np.flatnonzero(similarity.argmax(axis=0)[best] == np.arange(len(a)))
    expected = np.column_stack([kept, best[kept], similarity[kept, best[kept]]])
    found = store.read_matches("r2d2_500", first, second)
    found = found[np.argsort(found[:, 0])]
    np.testing.assert_array_equal(found[:, :2], expected[:, :2])
    np.testing.assert_allclose(found[:, 2], expected[:, 2], rtol=1e-5)
    # kapture's own kapture_import_colmap reads the localized COLMAP database and model as ours did
    done = subprocess.run([sys.executable, str(KAPTURE_TOOLS / "kapture_import_colmap.py"), "-db",
                           "./loc/colmap_localized/colmap.db", "-txt", "./loc/colmap_localized/reconstruction", "-o",
                           "./loc/kapture_localized_theirs", "--skip_reconstruction"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert kcompare.equal_kapture(kcsv.kapture_from_dir(str(work / "loc/kapture_localized")),
                                  kcsv.kapture_from_dir(str(work / "loc/kapture_localized_theirs")))


def test_tutorial_sift_vocab_tree_line(tmp_path: Path, monkeypatch) -> None:
    """tutorial.adoc's "Standard COLMAP pipeline" line, word for word (its --config 2, and a vocabulary tree file
    that is not there: pairs without it, with a warning). kapture-localization publishes 4 / 4, median
    (0.0023m, 0.0407 deg) for COLMAP on this data."""
    work = tmp_path / "virtual_gallery_tutorial"
    shutil.copytree(SAMPLE, work, symlinks=True)
    monkeypatch.chdir(work)
    line = ("kapture_pipeline_colmap_vocab_tree.py -v info -i ./mapping --query ./query "
            "-o ./tutorial/sift_colmap_vocab_tree/ -voc ./vocab_tree_flickr100K_words32K.bin --config 2")
    command, *argv = shlex.split(line)
    assert _main(command)(argv) == 0
    stats = (work / "tutorial/sift_colmap_vocab_tree/eval/stats.txt").read_text()
    assert stats.startswith("Model: sift_colmap_vocab_tree_config_2\n\nFound 4 / 4 image positions (100.00 %).")
    median = re.search(r"Localized images: mean=\([^)]*\) / median=\(([\d.]+)m, ([\d.]+) deg\)", stats)
    assert float(median[1]) < 0.005 and float(median[2]) < 0.1
