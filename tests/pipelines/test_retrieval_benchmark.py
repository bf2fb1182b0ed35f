"""kapture-localization's image retrieval benchmark pipelines on a copy of its tutorial sample
(../shared/data/virtual_gallery_tutorial): a map built as the tutorial builds it, then both benchmark
command lines; kapture reads every strategy's poses, tabulate (kapture's dependency) is the table's oracle."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import kapture.io.csv as kcsv
import pytest

from kapturelike.pipeline_tools import (
    kapture_pipeline_image_retrieval_benchmark,
    kapture_pipeline_image_retrieval_benchmark_from_pairsfile,
    kapture_pipeline_mapping,
)

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "virtual_gallery_tutorial"
FEATURES = ("-kpt ./local_features/r2d2_500/keypoints -desc ./local_features/r2d2_500/descriptors "
            "-matches ./local_features/r2d2_500/NN_no_gv/matches "
            "-matches-gv ./local_features/r2d2_500/NN_colmap_gv/matches")
GFEAT = "-gfeat ./global_features/AP-GeM-LM18/global_features"
MAP = "--colmap-map ./colmap-sfm/r2d2_500/AP-GeM-LM18_top5"

pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason="../shared/data/virtual_gallery_tutorial is absent")


@pytest.fixture(scope="module")
def tutorial_map(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("benchmark") / "virtual_gallery_tutorial"
    shutil.copytree(SAMPLE, work, symlinks=True)
    for folder in work.rglob("*"):  # the shared copy is read-only; matches are written beside the features
        if folder.is_dir():
            folder.chmod(0o755)
    with contextlib.chdir(work):
        assert kapture_pipeline_mapping.main(f"-i ./mapping {FEATURES} {GFEAT} {MAP} --topk 5".split()) == 0
    return work


def _table_rows(stats: str) -> dict[str, list[str]]:
    plain = stats.split("\n\n")[-1].splitlines()
    return {row.split()[0]: row.split()[1:] for row in plain[2:]}


def test_benchmark_from_global_features(tutorial_map: Path, monkeypatch) -> None:
    monkeypatch.chdir(tutorial_map)
    command = f"-v info -i ./mapping --query ./query {FEATURES} {GFEAT} {MAP} -o ./benchmark --topk 5 --config 2"
    assert kapture_pipeline_image_retrieval_benchmark.main(command.split()) == 0
    out = tutorial_map / "benchmark"
    for label in ("global_sfm", "local_sfm", "EWB", "BDI", "CSI"):
        lines = (out / f"{label}_LTVL2020_style_result.txt").read_text().splitlines()
        assert len(lines) == 4 and all(len(line.split()) == 8 for line in lines), label
    assert (out / "pairs_localization_5.txt").is_file() and (out / "eval/plot.png").stat().st_size > 1000
    for folder in ("global_sfm/localized", "local_sfm/localized", "pose_approx/EWB", "pose_approx/BDI",
                   "pose_approx/CSI"):
        assert len(kcsv.kapture_from_dir(str(out / folder)).trajectories) == 4, folder
    # the proxies key the matches folders by keypoints type, as kapture-localization's
    assert (out / "kapture_inputs/proxy_map_plus_query_gv/reconstruction/matches/r2d2_500").is_symlink()
    stats = (out / "eval/stats.txt").read_text()
    rows = _table_rows(stats)
    assert list(rows) == ["global_sfm_config_2", "local_sfm", "EWB", "BDI", "CSI"]
    assert rows["global_sfm_config_2"] == rows["local_sfm"] == ["100.00%", "100.00%", "100.00%"]
    tabulate = pytest.importorskip("tabulate").tabulate
    headers = ("", (0.25, 2.0), (0.5, 5.0), (5.0, 10.0))
    table = [[label, *cells] for label, cells in rows.items()]
    assert stats.endswith("\n" + tabulate(table, headers=headers, tablefmt="latex") + "\n\n" + tabulate(table, headers))
    # skipped steps leave their outputs out
    skipping = (command.replace("./benchmark", "./only_approx")
                + " -s global_sfm local_sfm evaluate --remove-intermediate")
    assert kapture_pipeline_image_retrieval_benchmark.main(skipping.split()) == 0
    assert not (tutorial_map / "only_approx/global_sfm").exists()
    assert not (tutorial_map / "only_approx/eval").exists()
    assert not (tutorial_map / "only_approx/kapture_inputs").exists()
    assert (tutorial_map / "only_approx/BDI_LTVL2020_style_result.txt").is_file()


def test_benchmark_from_pairsfile(tutorial_map: Path, monkeypatch) -> None:
    monkeypatch.chdir(tutorial_map)
    pairs = tutorial_map / "pairs.txt"
    names = sorted(kcsv.kapture_from_dir(str(tutorial_map / "mapping")).records_camera.data_list())
    queries = sorted(kcsv.kapture_from_dir(str(tutorial_map / "query")).records_camera.data_list())
    pairs.write_text("".join(f"{q}, {m}, {1.0 - i / 100}\n" for q in queries for i, m in enumerate(names[:6])))
    command = f"-i ./mapping --query ./query --pairsfile-path ./pairs.txt {FEATURES} {MAP} -o ./bench_pairs --config 1"
    assert kapture_pipeline_image_retrieval_benchmark_from_pairsfile.main(command.split()) == 0
    out = tutorial_map / "bench_pairs"
    assert not (out / "BDI_LTVL2020_style_result.txt").exists()  # BDI needs global features
    assert list(_table_rows((out / "eval/stats.txt").read_text())) == ["global_sfm_config_1", "local_sfm", "EWB",
                                                                       "CSI"]
    assert len(kcsv.kapture_from_dir(str(out / "global_sfm/localized")).trajectories) >= 3
