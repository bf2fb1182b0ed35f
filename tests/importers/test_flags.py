"""Every flag of kapture's importers (parsers dumped in tests/tools/kapture_parsers.json) is accepted by
ours, with the same destination and default; the commands exist with and without '.py'."""

from __future__ import annotations

import configparser
import importlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMPORTERS = ["kapture_import_7scenes", "kapture_import_12scenes", "kapture_import_image_list_with_poses",
             "kapture_import_virtual_gallery", "kapture_import_RobotCar_Seasons",
             "kapture_import_Extended_CMU_Seasons", "kapture_import_4seasons", "kapture_import_silda",
             "kapture_import_IDL_dataset_cvpr17", "kapture_import_RIO10",
             "kapture_import_symphony_seasons"]


def _kapture_parsers() -> dict:
    return json.loads((ROOT / "tests" / "tools" / "kapture_parsers.json").read_text())


@pytest.mark.parametrize("tool", IMPORTERS)
def test_every_kapture_flag_is_accepted(tool: str) -> None:
    theirs = _kapture_parsers()[tool]["actions"]
    parser = importlib.import_module(f"kapturelike.tools.{tool}").build_parser()
    ours = {option: action for action in parser._actions for option in action.option_strings}
    for action in theirs:
        for option in action["options"]:
            assert option in ours, f"{tool}: kapture's {option} is missing"
            mine = ours[option]
            assert mine.dest == action["dest"], (tool, option)
            if action["action"] not in ("_StoreConstAction",) and action["default"] is not None:
                default = mine.default.value if hasattr(mine.default, "value") else mine.default
                assert default == action["default"], (tool, option, default, action["default"])
            assert mine.required == action["required"], (tool, option)


@pytest.mark.parametrize("tool", IMPORTERS)
def test_installed_with_and_without_py(tool: str) -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    scripts = {line.split("=")[0].strip(): line.split("=")[1].strip()
               for line in config["options.entry_points"]["console_scripts"].splitlines() if line.strip()}
    assert scripts[tool] == scripts[f"{tool}.py"] == f"kapturelike.tools.{tool}:main"


def test_multi_letter_flags_are_not_abbreviations(tmp_path: Path) -> None:
    from kapturelike.tools import kapture_import_virtual_gallery

    parser = kapture_import_virtual_gallery.build_parser()
    with pytest.raises(SystemExit):  # no prefix matching: --light is not --light-range
        parser.parse_args(["-i", "a", "-o", "b", "--light", "1"])


def test_download_dataset_accepts_kapture_flags() -> None:
    import argparse

    from kapturelike.tools import kapture_download_dataset

    theirs = _kapture_parsers()["kapture_download_dataset"]["actions"]
    parser = kapture_download_dataset.build_parser()
    ours = {o: a for a in parser._actions for o in a.option_strings}
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for action in theirs:
        for option in action["options"]:
            assert option in ours and ours[option].dest == action["dest"], option
        for command, sub_actions in action.get("subparsers", {}).items():
            sub = subparsers.choices[command]
            sub_ours = {o: a for a in sub._actions for o in a.option_strings}
            dests = {a.dest for a in sub._actions}
            for sub_action in sub_actions:
                assert sub_action["dest"] in dests, (command, sub_action["dest"])
                for option in sub_action["options"]:
                    assert option in sub_ours and sub_ours[option].default == sub_action["default"], (command, option)
