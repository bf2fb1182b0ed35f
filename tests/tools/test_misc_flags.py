"""kapture flags that act: kapture_evaluate's image choice and plot options, kapture_import_opensfm's
--transfer / --keypoints-type / --descriptors-type, kapture_export_ply's lidar point clouds."""

from __future__ import annotations

import gzip
import json
import math
import os
import pickle
from pathlib import Path

import cv2
import kapture.io.csv as kcsv
import numpy as np
import pytest

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.evaluation.threshold_plot import _CAP_EM, PIXELS_PER_POINT, PlotOptions, render_plot
from kapturelike.io.dataset import save_kapture
from kapturelike.tools import kapture_evaluate, kapture_import_opensfm


# ------------------------------------------------------------------------------------------ kapture_evaluate
def _posed(root: Path, names: list[str], offsets: dict[str, float]) -> Path:
    """One camera; image i at x = i + offsets[name] metres; an image without an offset has no pose."""
    records = Records.camera([((i, "cam"), n) for i, n in enumerate(names)])
    traj = Trajectories.from_items(((i, "cam"), Pose([1, 0, 0, 0], [-(i + offsets[n]), 0, 0]))
                                   for i, n in enumerate(names) if n in offsets)
    save_kapture(Kapture(sensors={"cam": Camera("SIMPLE_PINHOLE", 8, 6, (5.0, 4.0, 3.0))}, trajectories=traj,
                         records={"camera": records}), root)
    return root


def _scores(path: Path) -> dict[str, tuple[float, float]]:
    return {name: (float(p), float(r)) for name, p, r in (line.split() for line in path.read_text().splitlines())}


def test_evaluate_without_image_list_takes_every_ground_truth_image(tmp_path: Path) -> None:
    """Without -l, kapture-localization's kapture_evaluate (tools/kapture_evaluate.py, evaluate_command_line:
    ``image_set = set(image_name for _, _, image_name in kapture.flatten(gt_kapture.records_camera))``) takes
    every image of the ground truth's camera records, posed or not; its ``evaluate``
    (kapture_localization/evaluation.py) scores the images posed in both, appends (name, nan, nan) for every
    other image of the set and sorts; stats.txt divides by the size of the set. Worked here: the ground truth
    records a, b, c, d and poses a, b, c; the input poses a (0.1 m off) and b (1 m off): 2 of 4 images found,
    25 % within 0.25 m / 0.5 m, 50 % within 5 m (the rule 'posed ground-truth images only' gives 3 images).
    An input posing d, which has no ground-truth pose, makes kapture-localization fail on a missing key:
    here a one-line error that points to -l."""
    names = ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    gt = _posed(tmp_path / "gt", names, {"a.jpg": 0.0, "b.jpg": 0.0, "c.jpg": 0.0})
    estimate = _posed(tmp_path / "est", names, {"a.jpg": 0.1, "b.jpg": 1.0})
    out = tmp_path / "eval"
    assert kapture_evaluate.main(["-i", str(estimate), "--labels", "run", "-gt", str(gt), "-o", str(out)]) == 0
    scores = _scores(out / "scores_run.txt")
    assert list(scores) == names
    assert scores["a.jpg"][0] == pytest.approx(0.1) and scores["b.jpg"][0] == pytest.approx(1.0)
    assert all(math.isnan(v) for n in ("c.jpg", "d.jpg") for v in scores[n])
    stats = (out / "stats.txt").read_text()
    assert "Found 2 / 4 image positions (50.00 %)." in stats
    assert "(0.25m, 2.0 deg): 25.00%\n(0.5m, 5.0 deg): 25.00%\n(5.0m, 10.0 deg): 50.00%\n" in stats
    # -l keeps its meaning: only the listed images
    (tmp_path / "list.txt").write_text("a.jpg\nc.jpg\n")
    assert kapture_evaluate.main(["-i", str(estimate), "--labels", "run", "-gt", str(gt), "-o", str(out), "-f",
                                  "-l", str(tmp_path / "list.txt")]) == 0
    assert "Found 1 / 2 image positions (50.00 %)." in (out / "stats.txt").read_text()
    # an estimate for an image the ground truth does not pose cannot be scored
    unscorable = _posed(tmp_path / "est_d", names, {"a.jpg": 0.1, "d.jpg": 0.0})
    assert kapture_evaluate.main(["-i", str(unscorable), "-gt", str(gt), "-o", str(tmp_path / "e2")]) == 1


def _results(errors: list[float]) -> list[tuple[str, float, float]]:
    return [(f"{i}.jpg", e, 0.0) for i, e in enumerate(errors)]


def _legend_box(labels: list[str], results: list, options: PlotOptions) -> tuple[int, int, int, int]:
    """Bounding box (left, top, right, bottom) of what the legend adds to the plot."""
    with_legend, without = render_plot(labels, results, options), render_plot([], results, options)
    rows, cols = np.nonzero((with_legend != without).any(axis=2))
    return cols.min(), rows.min(), cols.max(), rows.max()


@pytest.mark.parametrize("loc, horizontal, vertical", [("upper left", "left", "top"), ("upper right", "right", "top"),
                                                       ("lower left", "left", "bottom"),
                                                       ("lower right", "right", "bottom"),
                                                       ("center", "middle", "middle"),
                                                       ("right", "right", "middle")])
def test_plot_legend_goes_where_asked(loc: str, horizontal: str, vertical: str) -> None:
    results = [_results([0.5] * 4), _results([0.2, 0.9, math.nan, 0.3])]
    left, top, right, bottom = _legend_box(["first", "second"], results, PlotOptions(legend_loc=loc))
    h, w = 600, 800
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    assert {"left": centre_x < w / 3, "right": centre_x > 2 * w / 3, "middle": w / 3 < centre_x < 2 * w / 3}[horizontal]
    assert {"top": centre_y < h / 3, "bottom": centre_y > 2 * h / 3, "middle": h / 3 < centre_y < 2 * h / 3}[vertical]


def test_plot_best_legend_avoids_the_curves() -> None:
    """A curve rising along the diagonal crosses the upper right corner (matplotlib's first choice): 'best'
    takes the next free place in matplotlib's order, upper left; a curve flat at 0 % leaves upper right free."""
    diagonal = [_results(list(np.linspace(0.0, 1.0, 50)))]
    left, top, right, bottom = _legend_box(["run"], diagonal, PlotOptions())
    assert right < 400 and bottom < 300
    nothing_found = [_results([math.nan] * 5)]
    left, top, right, bottom = _legend_box(["run"], nothing_found, PlotOptions())
    assert left > 400 and bottom < 300


def _title_ink_height(img: np.ndarray) -> int:
    """Rows of ink above the axes' frame (the first row with a long black line), in the middle columns."""
    frame_top = int(np.flatnonzero(((img == 0).all(axis=2)).sum(axis=1) > 300)[0])
    rows = np.flatnonzero((img[:frame_top - 1, 300:500] < 128).any(axis=(1, 2)))
    return int(rows.max() - rows.min() + 1)


def test_plot_font_sizes_size_the_text() -> None:
    """--plot-font-size (points; the title is 1.2 times it, as matplotlib's 'large') and
    --plot-legend-font-size scale the drawn text."""
    results = [_results([0.1, 0.4, 0.7])]
    heights = {size: _title_ink_height(render_plot(["run"], results, PlotOptions(title="HH", font_size=size)))
               for size in (10, 15, 25)}
    for size, height in heights.items():  # a capital of 1.2 * size points, at the canvas' pixels per point
        assert abs(height - 1.2 * size * PIXELS_PER_POINT * _CAP_EM) <= 3
    legend = {size: _legend_box(["run"], results, PlotOptions(legend_loc="upper left", legend_font_size=size))
              for size in (8, 16)}
    small, large = ((b[2] - b[0], b[3] - b[1]) for b in (legend[8], legend[16]))
    assert 1.6 < large[0] / small[0] < 2.4 and 1.6 < large[1] / small[1] < 2.4


def test_evaluate_tool_applies_plot_flags(tmp_path: Path) -> None:
    names = ["a.jpg", "b.jpg", "c.jpg"]
    gt = _posed(tmp_path / "gt", names, {n: 0.0 for n in names})
    estimate = _posed(tmp_path / "est", names, {"a.jpg": 0.1, "b.jpg": 0.3, "c.jpg": 0.6})
    plots = {}
    for loc in ("upper left", "lower right"):
        out = tmp_path / loc.replace(" ", "_")
        assert kapture_evaluate.main(["-i", str(estimate), "-gt", str(gt), "-o", str(out), "--plot-loc", loc,
                                      "--plot-font-size", "12", "--plot-legend-font-size", "14"]) == 0
        plots[loc] = cv2.imread(str(out / "plot.png"))
    changed = np.nonzero((plots["upper left"] != plots["lower right"]).any(axis=2))
    assert changed[0].min() < 300 < changed[0].max() and changed[1].min() < 400 < changed[1].max()


# ------------------------------------------------------------------------------------------ kapture_import_opensfm
def _opensfm_folder(root: Path) -> Path:
    """A tiny OpenSfM project: three shots of one perspective camera, images, EXIF GPS for two images, HAHOG-like
    features for all three, matches a-b (in a.jpg's file) and c-a (in c.jpg's file: reversed order)."""
    names = ["a.jpg", "b.jpg", "c.jpg"]
    shots = {n: {"camera": "cam", "rotation": [0.1 * i, 0.0, 0.2], "translation": [float(i), 0.5, -1.0]}
             for i, n in enumerate(names)}
    points = {"0": {"coordinates": [1.0, 2.0, 3.0], "color": [255, 0, 10]},
              "1": {"coordinates": [-1.0, 0.5, 4.0], "color": [0, 128, 0]}}
    cameras = {"cam": {"projection_type": "perspective", "width": 64, "height": 48, "focal": 0.9, "k1": 0.01,
                       "k2": -0.002}}
    root.mkdir(parents=True)
    (root / "reconstruction.json").write_text(json.dumps([{"cameras": cameras, "shots": shots, "points": points}]))
    rng = np.random.default_rng(0)
    for sub in ("images", "exif", "features", "matches"):
        (root / sub).mkdir()
    for i, n in enumerate(names):
        cv2.imwrite(str(root / "images" / n), np.full((48, 64, 3), 40 * i, np.uint8))
        np.savez(root / "features" / f"{n}.features.npz", points=rng.random((5 + i, 4)).astype(np.float32),
                 descriptors=rng.integers(0, 255, (5 + i, 128)).astype(np.uint8))
    for i, n in enumerate(names[:2]):
        (root / "exif" / f"{n}.exif").write_text(json.dumps({"gps": {"latitude": 48.0 + i, "longitude": 2.5,
                                                                     "altitude": 30.0 * i, "dop": 5.0}}))
    for first, second, m in (("a.jpg", "b.jpg", [[0, 1], [2, 3]]), ("c.jpg", "a.jpg", [[4, 0]])):
        with gzip.open(root / "matches" / f"{first}_matches.pkl.gz", "wb") as f:
            pickle.dump({second: np.array(m, np.int32)}, f)
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_import_opensfm_folder_as_kapture(tmp_path: Path) -> None:
    """kapture's import_opensfm (kapture/converter/opensfm/import_opensfm.py, called as a function) and ours on
    the same OpenSfM folder, with --transfer copy and given feature types: the same files, byte for byte
    (sensors with GPS_cam, records, records_gnss, trajectories, points, copied images, keypoints, descriptors,
    matches with c-a kept in its reversed order)."""
    from kapture.converter.opensfm.import_opensfm import import_opensfm
    from kapture.io.records import TransferAction

    folder = _opensfm_folder(tmp_path / "opensfm")
    import_opensfm(str(folder), str(tmp_path / "theirs"), True, TransferAction.copy, "HAHOG_kpt", "HAHOG_desc")
    assert kapture_import_opensfm.main(["-i", str(folder), "-o", str(tmp_path / "ours"), "--transfer", "copy",
                                        "--keypoints-type", "HAHOG_kpt", "--descriptors-type", "HAHOG_desc"]) == 0
    theirs, ours = _tree(tmp_path / "theirs"), _tree(tmp_path / "ours")
    assert sorted(theirs) == sorted(ours)
    assert "reconstruction/keypoints/HAHOG_kpt/a.jpg.kpt" in ours
    assert "reconstruction/matches/HAHOG_kpt/c.jpg.overlapping/a.jpg.matches" in ours
    assert "sensors/records_gnss.txt" in ours and "sensors/records_data/b.jpg" in ours
    for name in theirs:
        assert ours[name] == theirs[name], name
    assert not (tmp_path / "ours/sensors/records_data/a.jpg").is_symlink()


def test_import_opensfm_transfer_and_default_types(tmp_path: Path) -> None:
    """kapture's tool defaults: images linked (link_absolute), features as HessianAffine / HOG; skip leaves
    the images out; a matches pickle holding anything but arrays is refused, not run."""
    folder = _opensfm_folder(tmp_path / "opensfm")
    assert kapture_import_opensfm.main(["-i", str(folder), "-o", str(tmp_path / "linked")]) == 0
    image = tmp_path / "linked/sensors/records_data/a.jpg"
    assert image.is_symlink() and Path(os.readlink(image)) == (folder / "images/a.jpg").resolve()
    reference = kcsv.kapture_from_dir(str(tmp_path / "linked"))
    assert set(reference.keypoints) == {"HessianAffine"} and set(reference.descriptors) == {"HOG"}
    assert reference.descriptors["HOG"].keypoints_type == "HessianAffine"
    assert set(reference.matches["HessianAffine"]) == {("a.jpg", "b.jpg"), ("c.jpg", "a.jpg")}  # as stored
    assert kapture_import_opensfm.main(["-i", str(folder), "-o", str(tmp_path / "skipped"), "--transfer",
                                        "skip"]) == 0
    assert not (tmp_path / "skipped/sensors/records_data").exists()
    with gzip.open(folder / "matches" / "b.jpg_matches.pkl.gz", "wb") as f:
        pickle.dump({"c.jpg": Path("x")}, f)
    assert kapture_import_opensfm.main(["-i", str(folder), "-o", str(tmp_path / "bad")]) == 1
