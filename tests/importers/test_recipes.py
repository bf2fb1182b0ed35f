"""The dataset recipes (datasets/*/README.md): every kapture command they give exists here, and the
tools on the shared skeleton (build_parser) accept the exact command line."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ["aachen_v1", "aachen_v1_1", "cambridge_landmarks", "inloc"]


def recipe_commands() -> list[tuple[str, list[str]]]:
    commands = []
    for recipe in RECIPES:
        text = (ROOT / "datasets" / recipe / "README.md").read_text()
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
            for line in block.splitlines():
                if line.startswith("kapture"):
                    commands.append((recipe, shlex.split(line)))
    return commands


COMMANDS = recipe_commands()


def test_every_recipe_has_commands() -> None:
    assert {recipe for recipe, _ in COMMANDS} == set(RECIPES)


@pytest.mark.parametrize("recipe, argv", COMMANDS, ids=[f"{r}:{' '.join(a)[:60]}" for r, a in COMMANDS])
def test_recipe_command_parses(recipe: str, argv: list[str]) -> None:
    tool = argv[0].removesuffix(".py")
    module = importlib.import_module(f"kapturelike.tools.{tool}")  # the command exists
    if not hasattr(module, "build_parser"):
        pytest.skip(f"{tool} is not on the shared parser skeleton yet: its kapture flags are issue 9's")
    module.build_parser().parse_args(argv[1:])  # argparse exits (fails the test) on a flag it does not know


# command lines of kapture's own dataset documentation (doc/datasets.adoc) for the dedicated importers
KAPTURE_DOC_COMMANDS = [
    "kapture_import_Extended_CMU_Seasons.py -v info -i ./Extended-CMU-Seasons/ -o ./kapture/Extended-CMU-Seasons/ "
    "--image_transfer link_absolute --all-files",
    "kapture_import_Extended_CMU_Seasons.py -v info -i ./Extended-CMU-Seasons/ -o ./kapture/Extended-CMU-Seasons/ "
    "--image_transfer copy --all-files",
    "kapture_import_RobotCar_Seasons.py -v debug -i ./RobotCar-Seasons -o ./kapture/RobotCar-Seasons-v2 "
    "--skip_reconstruction",
    "kapture_import_silda.py -v info --image_transfer copy -i ./data/SILDa -o ./kapture/mapping --corpus mapping",
    "kapture_import_silda.py -v info --image_transfer copy -i ./data/SILDa -o ./kapture/mapping_query",
]


@pytest.mark.parametrize("line", KAPTURE_DOC_COMMANDS)
def test_kapture_documented_command_parses(line: str) -> None:
    argv = shlex.split(line)
    module = importlib.import_module(f"kapturelike.tools.{argv[0].removesuffix('.py')}")
    args = module.build_parser().parse_args(argv[1:])
    assert args.output.startswith("./kapture/")
