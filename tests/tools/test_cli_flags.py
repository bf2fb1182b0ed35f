"""The tool skeleton and kapture's shared flags: verbosity, force, transfer, multi-letter short flags."""

from __future__ import annotations

import logging

import pytest

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def _parser():
    parser = make_parser("kapture_test_tool", "a tool for tests")
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_input(parser, required=False)
    flags.add_output(parser, flags=("-o", "--output"), required=False)
    parser.add_argument("-im", "--images", default=None)
    parser.add_argument("-ow", "--overwrite", action="store_true")
    flags.add_kapture(parser, required=False)
    flags.add_keypoints_type(parser)
    flags.add_descriptors_type(parser)
    flags.add_global_features_type(parser)
    parser.add_argument("-m", "--method", default=None)
    parser.add_argument("-matches", "--matches-path", dest="matches_path", default=None)
    flags.add_image_transfer(parser, default="skip")
    flags.add_colmap_binary(parser)
    return parser


@pytest.mark.parametrize("argv, level", [
    ([], logging.WARNING), (["-v"], logging.INFO), (["-v", "debug"], logging.DEBUG), (["-v", "INFO"], logging.INFO),
    (["-v", "15"], 15), (["-q"], logging.CRITICAL), (["--verbose", "error"], logging.ERROR),
    (["--silent"], logging.CRITICAL)])
def test_verbosity_reads_as_kapture(argv: list[str], level: int) -> None:
    assert _parser().parse_args(argv).verbose == level


def test_bare_verbose_before_another_flag() -> None:
    args = _parser().parse_args(["-v", "-i", "in"])
    assert args.verbose == logging.INFO and args.input == "in"


def test_unknown_level_and_verbose_with_quiet_are_one_line_errors(capsys) -> None:
    for argv in (["-v", "chatty"], ["-v", "-q"]):
        assert run(_parser(), lambda args: 0, argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "kapture_test_tool: error:" in err, err


@pytest.mark.parametrize("flag", ["-f", "-y", "--force"])
def test_force_spellings(flag: str) -> None:
    assert _parser().parse_args([flag]).force and not _parser().parse_args([]).force


@pytest.mark.parametrize("argv, dest, value", [
    (["-im", "pics"], "images", "pics"), (["-i", "in"], "input", "in"), (["-ow"], "overwrite", True),
    (["-o", "out"], "output", "out"), (["-kpt", "r2d2"], "keypoints_type", "r2d2"), (["-k", "kap"], "kapture", "kap"),
    (["-desc", "r2d2"], "descriptors_type", "r2d2"), (["-gfeat", "apgem"], "global_features_type", "apgem"),
    (["-matches", "m"], "matches_path", "m"), (["-m", "x"], "method", "x")])
def test_multi_letter_short_flags_are_never_split(argv: list[str], dest: str, value) -> None:
    args = _parser().parse_args(argv)
    assert getattr(args, dest) == value
    # -im must not also have been read as -i with the glued value 'm', nor -ow as -o 'w'
    assert args.input in (None, "in") and args.output in (None, "out") and args.method in (None, "x")


@pytest.mark.parametrize("abbreviation", [["-kp", "x"], ["--imag", "x"], ["--overw"], ["--keypoints", "x"]])
def test_no_prefix_matching(abbreviation: list[str], capsys) -> None:
    assert run(_parser(), lambda args: 0, abbreviation) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_image_transfer_choices_and_default(capsys) -> None:
    assert _parser().parse_args([]).image_transfer == "skip"
    for choice in flags.IMAGE_TRANSFERS:
        assert _parser().parse_args(["--image_transfer", choice]).image_transfer == choice
    assert run(_parser(), lambda args: 0, ["--image_transfer", "teleport"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_colmap_binary_is_accepted_and_noted(capsys) -> None:
    assert _parser().parse_args([]).colmap_binary == "colmap"
    assert _parser().parse_args(["-colmap", "/opt/colmap"]).colmap_binary == "/opt/colmap"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ignored" in err


def test_errors_and_unavailable_tools_are_one_line(capsys) -> None:
    def failing(args):
        raise ValueError("bad\nthing")

    def unavailable(args):
        raise ToolUnavailable("needs a proprietary SDK")

    assert run(_parser(), failing, []) == 1
    assert capsys.readouterr().err == "error: bad thing\n"
    assert run(_parser(), unavailable, []) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "kapture_test_tool" in err and "proprietary SDK" in err
