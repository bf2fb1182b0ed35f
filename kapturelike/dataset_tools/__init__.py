"""Library functions behind the dataset tools, one module per job: summary, check, image lists, merge, split.

Each tool in ``tools/`` parses its arguments and calls one function here. Outputs are kapture 1.1
folders written through ``kapturelike.io`` (every text file is written atomically); an output folder
that exists and is not empty is refused unless ``force`` is set (``output``).
"""

from __future__ import annotations

from kapturelike.dataset_tools.check import check_kapture
from kapturelike.dataset_tools.image_list import (
    IMAGE_EXTENSIONS,
    ImportOptions,
    export_image_list,
    guess_camera,
    import_image_folder,
    import_image_list,
    list_images,
    parse_image_list,
)
from kapturelike.dataset_tools.merge import MergeOptions, merge, merge_kaptures
from kapturelike.dataset_tools.output import DatasetToolError, place_file, prepare_output, refuse_overlap
from kapturelike.dataset_tools.split import SplitOptions, split, split_kapture
from kapturelike.dataset_tools.summary import format_summary, summary

__all__ = ["IMAGE_EXTENSIONS", "DatasetToolError", "ImportOptions", "MergeOptions", "SplitOptions", "check_kapture",
           "export_image_list", "format_summary", "guess_camera", "import_image_folder", "import_image_list",
           "list_images", "merge", "merge_kaptures", "parse_image_list", "place_file", "prepare_output",
           "refuse_overlap", "split", "split_kapture", "summary"]
