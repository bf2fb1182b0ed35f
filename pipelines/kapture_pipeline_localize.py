"""kapture_pipeline_localize: map + query kapture -> poses, post-processing, evaluation, benchmark file.

Our short interface (``-m MAP_DIR -q QUERY -o OUT_DIR [--config YAML]``) and kapture-localization's flags
(``-i MAP --query QUERY -kpt ... --colmap-map MAP_DIR -o OUT_DIR --topk 5 --config 2 ...``) go through one
code path: kapturelike.pipelines.command_line.
"""

from __future__ import annotations

import argparse

from kapturelike.evaluation.report import format_table
from kapturelike.pipelines.command_line import localize_parser, map_dir_of, request
from kapturelike.pipelines.localization import run_localization
from kapturelike.pipelines.steps import exit_code
from kapturelike.tools.cli import run


def build_parser() -> argparse.ArgumentParser:
    return localize_parser()


def print_run(run_result) -> None:
    for report in run_result.reports:
        print(report.summary())
    counts = run_result.counts()
    print("queries: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    if run_result.evaluation is not None:
        print(format_table(run_result.evaluation))


def action(args: argparse.Namespace) -> int:
    if not args.query:
        raise ValueError("the query dataset is missing: give -q QUERY or --query QUERY")
    map_dir = map_dir_of(args, build_parser(), mapping=False)
    config, control = request(args, mapping=False, out_dir=args.output)
    result = run_localization(map_dir, args.query, args.output, config, overwrite=args.force, control=control)
    print_run(result)
    print(f"poses -> {result.out_dir / 'localized'}")
    return exit_code(result.reports)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
