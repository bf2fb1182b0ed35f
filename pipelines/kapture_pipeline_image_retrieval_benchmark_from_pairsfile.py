"""kapture_pipeline_image_retrieval_benchmark_from_pairsfile: accepts the flags of kapture's tool of this name;
not offered here: the image retrieval benchmark pipeline is not implemented here."""

from __future__ import annotations

import argparse

from kapturelike.pipeline_tools.kapture_pipeline_image_retrieval_benchmark import action, benchmark_parser
from kapturelike.tools.cli import run


def build_parser() -> argparse.ArgumentParser:
    return benchmark_parser("kapture_pipeline_image_retrieval_benchmark_from_pairsfile", __doc__, from_pairsfile=True)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
