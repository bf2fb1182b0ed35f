"""setup.cfg lists every package, and every console script resolves to a callable."""

from __future__ import annotations

import configparser
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _setup() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def _listed(config: configparser.ConfigParser, key: str) -> list[str]:
    return [line.strip() for line in config["options"].get(key, "").splitlines() if line.strip()]


def _package_dirs(config: configparser.ConfigParser) -> dict[str, Path]:
    """Package name -> folder, following package_dir (tools/ is installed as kapturelike.tools)."""
    mapping = {}
    for line in _listed(config, "package_dir"):
        name, folder = (part.strip() for part in line.split("=", 1))
        mapping[name] = ROOT / folder
    return mapping


def test_every_package_folder_is_listed() -> None:
    config = _setup()
    listed = set(_listed(config, "packages"))
    found = {".".join(p.relative_to(ROOT).parts) for p in (ROOT / "kapturelike").rglob("*")
             if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))}
    found.add("kapturelike")
    assert found - listed == set(), f"add to setup.cfg [options] packages: {sorted(found - listed)}"
    for name, folder in _package_dirs(config).items():
        assert name in listed and (folder / "__init__.py").is_file(), name
    for name in listed:  # every listed package exists
        folder = _package_dirs(config).get(name, ROOT.joinpath(*name.split(".")))
        assert (folder / "__init__.py").is_file(), f"{name}: no {folder}/__init__.py"


def _console_scripts() -> list[tuple[str, str, str]]:
    config = _setup()
    entry_points = config["options.entry_points"] if "options.entry_points" in config else {}
    text = entry_points.get("console_scripts", "")
    scripts = []
    for line in text.splitlines():
        if line.strip():
            name, target = (part.strip() for part in line.split("=", 1))
            module, function = target.split(":")
            scripts.append((name, module, function))
    return scripts


@pytest.mark.parametrize("name, module, function", _console_scripts())
def test_console_script_imports(name: str, module: str, function: str) -> None:
    assert callable(getattr(importlib.import_module(module), function)), name


# the dataset tools (other tools load models and are checked by their own tests)
TOOLS = ["kapture_check", "kapture_export_image_list", "kapture_import_image_folder",
         "kapture_import_image_list", "kapture_merge", "kapture_print", "kapture_split"]


@pytest.mark.parametrize("tool", TOOLS)
def test_tool_modules_have_main(tool: str, capsys) -> None:
    module = importlib.import_module(f"kapturelike.tools.{tool}")
    assert module.main(["--help"]) == 0
    assert "usage:" in capsys.readouterr().out
    assert module.main(["--no-such-option"]) == 2
