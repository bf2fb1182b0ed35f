"""End-to-end time of the mapping and localization commands, as a user runs them (process start
included), on Strecha scenes or the synthetic scene, optionally beside another commit in the same run.

    .venv/bin/python benchmarks/bench_pipeline.py [--scene fountain-P11 --scene Herz-Jesus-P25 | synthetic]
        [--baseline 067b167] [--config FILE] [--work DIR]

Each scene is imported and split once (2/3 of the images as map, every third image from the second
as queries, see kapturelike.pipelines.real_scenes). For each tree (``--baseline`` COMMIT checked out
with ``git worktree`` into a temporary folder, then the working tree) the commands
``kapture_pipeline_mapping`` and ``kapture_pipeline_localize`` run in fresh processes of this venv
with that tree first on the import path. Absolute seconds depend on the machine and its load; the
ratio baseline / working tree, measured in one run, is the number to compare.

Prints per scene: seconds per step (from MAP_DIR/mapping_report.txt and OUT_DIR/localization_report.txt),
per command and end to end for both trees, the ratio, the peak resident memory of each command
(getrusage of the child), the median position / rotation error and the recall at each threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Runs one front end of a source tree: the tree's kapturelike first on the path, and its tools/ and
# pipelines/ as kapturelike.tools / kapturelike.pipeline_tools (setup.cfg's package_dir), so the
# venv's editable install of the working tree does not leak into a baseline run.
LAUNCHER = """
import importlib.util, runpy, sys
tree, module = sys.argv[1], sys.argv[2]
del sys.argv[1:3]
sys.path.insert(0, tree)
import kapturelike
for sub, folder in (("tools", "tools"), ("pipeline_tools", "pipelines")):
    spec = importlib.util.spec_from_file_location(
        "kapturelike." + sub, f"{tree}/{folder}/__init__.py", submodule_search_locations=[f"{tree}/{folder}"])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["kapturelike." + sub] = mod
    spec.loader.exec_module(mod)
    setattr(kapturelike, sub, mod)
sys.argv[0] = module
runpy.run_module("kapturelike.pipeline_tools." + module, run_name="__main__", alter_sys=True)
"""
REPORT_LINE = re.compile(r"^(?P<step>.+?): \d+ done, .* in (?P<seconds>[\d.]+) s")


@dataclass
class CommandRun:
    seconds: float
    peak_mb: float
    steps: dict[str, float] = field(default_factory=dict)


@dataclass
class TreeRun:
    label: str
    mapping: CommandRun
    localization: CommandRun
    overall: dict

    @property
    def total(self) -> float:
        return self.mapping.seconds + self.localization.seconds


def run_command(tree: Path, module: str, args: list[str], log: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one front-end process; raises with the log on failure."""
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(tree), module, *args], stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(tree)})
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} in {tree} failed ({proc.returncode}); log: {log}\n"
                           + log.read_text()[-3000:])
    return seconds, usage.ru_maxrss / 1024


def read_steps(report: Path) -> dict[str, float]:
    steps: dict[str, float] = {}
    if report.is_file():
        for line in report.read_text().splitlines():
            m = REPORT_LINE.match(line)
            if m:
                steps[m["step"]] = steps.get(m["step"], 0.0) + float(m["seconds"])
    return steps


def run_tree(label: str, tree: Path, mapping: Path, query: Path, work: Path, config: str | None) -> TreeRun:
    work.mkdir(parents=True)
    extra = ["--config", config] if config else []
    map_dir, loc_dir = work / "map", work / "loc"
    map_s, map_mb = run_command(tree, "kapture_pipeline_mapping",
                                ["-i", str(mapping), "-o", str(map_dir), *extra], work / "mapping.log")
    loc_s, loc_mb = run_command(tree, "kapture_pipeline_localize",
                                ["-m", str(map_dir), "-q", str(query), "-o", str(loc_dir), *extra],
                                work / "localize.log")
    results = loc_dir / "eval" / "results.json"
    overall = json.loads(results.read_text())["overall"] if results.is_file() else {}
    return TreeRun(label, CommandRun(map_s, map_mb, read_steps(map_dir / "mapping_report.txt")),
                   CommandRun(loc_s, loc_mb, read_steps(loc_dir / "localization_report.txt")), overall)


def checkout(commit: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(where), commit], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return where


def prepare_scene(scene: str, out: Path) -> tuple[Path, Path]:
    if scene == "synthetic":
        from kapturelike.synthetic.export import write_synthetic_kapture
        from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset

        paths = write_synthetic_kapture(generate_dataset(SyntheticOptions()), out)
        return paths.mapping, paths.query
    from kapturelike.pipelines.real_scenes import prepare_strecha, shared_strecha_dir

    scene_dir = shared_strecha_dir(REPO) / scene
    if not scene_dir.is_dir():
        raise FileNotFoundError(f"{scene_dir} not found (../shared/data/strecha is needed)")
    split = prepare_strecha(scene_dir, out)
    return split.mapping, split.query


def _cell(value: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def format_runs(scene: str, runs: list[TreeRun]) -> str:
    """Markdown table: one column per tree, plus base / new ratio when there are two."""
    head = ["step"] + [r.label for r in runs] + (["ratio"] if len(runs) == 2 else [])
    rows: list[list[str]] = []

    def add(name: str, values: list[float | None], fmt: str = "{:.1f}", ratio: bool = True) -> None:
        row = [name] + [_cell(v, fmt) for v in values]
        if len(runs) == 2:
            a, b = values
            row.append(f"{a / b:.2f}x" if ratio and a is not None and b and a else "")
        rows.append(row)

    for phase, attr in (("map", "mapping"), ("loc", "localization")):
        names = list(dict.fromkeys(s for r in runs for s in getattr(r, attr).steps))
        for s in names:
            add(f"{phase}: {s}", [getattr(r, attr).steps.get(s) for r in runs])
        add(f"{phase}: command (process start included)", [getattr(r, attr).seconds for r in runs])
    add("end to end, s", [r.total for r in runs])
    add("peak RSS, MB (max of the two commands)",
        [max(r.mapping.peak_mb, r.localization.peak_mb) for r in runs], "{:.0f}", ratio=False)
    add("median position error, cm", [100 * r.overall["median_translation"] if r.overall else None for r in runs],
        "{:.2f}", ratio=False)
    add("median rotation error, deg", [r.overall.get("median_rotation") if r.overall else None for r in runs],
        "{:.3f}", ratio=False)
    for k, label in enumerate(("(0.25 m, 2 deg)", "(0.5 m, 5 deg)", "(5 m, 10 deg)")):
        add(f"recall {label}, %", [r.overall["percent_within"][k] if r.overall else None for r in runs],
            "{:.1f}", ratio=False)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = [f"### {scene}", "",
             "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", action="append", help="fountain-P11, Herz-Jesus-P25 or synthetic (repeatable; "
                        "default fountain-P11)")
    parser.add_argument("--baseline", help="commit to check out and run beside the working tree (e.g. 067b167)")
    parser.add_argument("--config", help="YAML configuration given to both trees")
    parser.add_argument("--work", help="work folder (default: a temporary one, removed at the end)")
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    work.mkdir(parents=True, exist_ok=True)
    trees: list[tuple[str, Path]] = []
    base_tree = None
    try:
        if args.baseline:
            base_tree = checkout(args.baseline, work / "baseline_tree")
            trees.append((args.baseline, base_tree))
        trees.append(("working tree", REPO))
        for scene in args.scene or ["fountain-P11"]:
            mapping, query = prepare_scene(scene, work / scene / "scene")
            runs = []
            for k, (label, tree) in enumerate(trees):
                print(f"{scene}: running {label} ...", file=sys.stderr, flush=True)
                runs.append(run_tree(label, tree, mapping, query, work / scene / f"tree{k}", args.config))
            print(format_runs(scene, runs) + "\n", flush=True)
    finally:
        if base_tree is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base_tree)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
