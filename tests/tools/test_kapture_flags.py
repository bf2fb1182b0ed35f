"""Every kapture and kapture-localization tool name is installed (with kapture-localization's ``.py``
names too), and every flag of their parsers is accepted by ours with the same destination, default
and arity. kapture's parsers were dumped from kapture 1.1.12 and kapture-localization 1.1.10 into
kapture_parsers.json (options, dest, default, nargs, choices, required of each argument)."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
from pathlib import Path

import pytest

PARSERS: dict[str, dict] = json.loads((Path(__file__).parent / "kapture_parsers.json").read_text())
# kapture_download_dataset's --install_path defaults to the working directory: the dump holds the one it ran in
DUMP_CWD = "/tmp/kl/dump"
# The two pipeline commands serve our short interface and kapture-localization's on one parser: where the
# defaults differ by interface, the parser's default is None and kapturelike.pipelines.command_line applies
# kapture-localization's value when its interface is used (--colmap-map), e.g. --topk 20 and --config 1.
# -colmap's value is never used (pycolmap runs in process), and our -i keeps the dest our code reads.
PIPELINES = ("kapture_pipeline_mapping", "kapture_pipeline_localize")
INTERFACE_DEFAULTS = {"--topk", "--config", "--benchmark-style", "--bins", "-colmap", "--colmap_binary"}
INTERNAL_DEST = {("kapture_pipeline_mapping", "-i"), ("kapture_pipeline_mapping", "--kapture-map")}


def _entry_points() -> dict[str, str]:
    dist = importlib.metadata.distribution("kapturelike")
    return {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}


ENTRY_POINTS = _entry_points()


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_tool_name_installed(name: str) -> None:
    assert name in ENTRY_POINTS, f"{name} is not a console script of kapturelike"
    if PARSERS[name]["package"] == "kapture-localization":  # it installs its tools as scripts named *.py
        assert ENTRY_POINTS.get(f"{name}.py") == ENTRY_POINTS[name], f"{name}.py is not installed"


def _build_parser(name: str) -> argparse.ArgumentParser:
    module = importlib.import_module(ENTRY_POINTS[name].split(":")[0])
    return module.build_parser()


def _value(action: dict) -> list[str]:
    """A command-line value for one of kapture's arguments."""
    if action["action"] in ("_StoreTrueAction", "_StoreFalseAction", "_StoreConstAction", "_CountAction"):
        return []
    if action["action"] == "VerbosityParser":
        return ["debug"]
    if action["nargs"] == "?":
        return []
    if action["type"] == "TransferAction":
        return ["link_absolute"]
    value = str(action["choices"][0]) if action["choices"] else "1" if action["type"] in ("int", "float") else "x"
    return [value] * (action["nargs"] if isinstance(action["nargs"], int) else 1)


def _required(actions: list[dict]) -> list[str]:
    argv: list[str] = []
    for a in actions:
        if a["required"] and a["options"]:
            argv += [a["options"][0], *_value(a)]
    return argv


def _positional_subcommand(actions: list[dict]) -> dict | None:
    return next((a for a in actions if a["action"] == "_SubParsersAction"), None)


def _check_actions(name: str, parser: argparse.ArgumentParser, actions: list[dict], suffix: list[str]) -> int:
    """Every flag of ``actions`` exists in ``parser`` with kapture's dest, default, arity; parses; returns count."""
    ours = parser._option_string_actions
    required = _required(actions)
    checked = 0
    for a in actions:
        if not a["options"]:
            continue
        for option in a["options"]:
            assert option in ours, f"{name}: kapture's flag {option} is missing"
            mine = ours[option]
            assert mine.dest == a["dest"] or (name, option) in INTERNAL_DEST, \
                f"{name} {option}: dest {mine.dest}, kapture's {a['dest']}"
            if a["action"] != "_StoreConstAction" and not (name in PIPELINES and option in INTERFACE_DEFAULTS):
                default = mine.default.value if hasattr(mine.default, "value") else mine.default
                expected = os.getcwd() if a["default"] == DUMP_CWD else a["default"]
                assert default == expected, f"{name} {option}: default {default!r}, kapture's {expected!r}"
            assert not mine.required or a["required"], f"{name} {option}: required here, optional in kapture"
            # a list where kapture takes lists; where kapture takes one value, ours may take more (fusion)
            assert mine.nargs in ("+", "*") or a["nargs"] not in ("+", "*"), f"{name} {option}: nargs {mine.nargs}"
            if a["choices"] and mine.choices is not None:
                missing = {str(c) for c in a["choices"]} - {str(getattr(c, "value", c)) for c in mine.choices}
                assert not missing, f"{name} {option}: choices {missing} missing"
            argv = (required if a["required"] else required + [option, *_value(a)]) + suffix
            try:
                args = parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"{name}: kapture's command line {' '.join(argv)} is refused")
            assert hasattr(args, mine.dest)
            checked += 1
    return checked


@pytest.mark.parametrize("name", sorted(n for n, p in PARSERS.items() if p["actions"] is not None))
def test_every_kapture_flag_accepted(name: str) -> None:
    actions = PARSERS[name]["actions"]
    parser = _build_parser(name)
    sub = _positional_subcommand(actions)
    if sub is None:
        assert _check_actions(name, parser, actions, []) == sum(len(a["options"]) for a in actions)
        return
    first = sorted(sub["subparsers"])[0]
    _check_actions(name, parser, [a for a in actions if a is not sub], [first, *_required(sub["subparsers"][first])])
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command, sub_actions in sub["subparsers"].items():
        assert command in subparsers.choices, f"{name}: sub-command {command} is missing"
        _check_actions(f"{name} {command}", subparsers.choices[command], sub_actions, [])
