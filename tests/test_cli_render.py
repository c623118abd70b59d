"""``convgif render``: parse, call the API, print the path; one-line errors, exit 2."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from convgif.cli import cli
from convgif.spec import ConvSpec

SMALL = ["--input-size", "4", "--kernel-size", "3"]  # 4 steps


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["render", *args])


def one_error_line(result: Result, start: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"convgif: error: {start}"), lines[0]
    assert "Traceback" not in result.output


def durations(path: Path) -> list[int]:
    with Image.open(path) as image:
        found = []
        for index in range(image.n_frames):
            image.seek(index)
            found.append(image.info["duration"])
        return found


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_name_printed_and_written(in_tmp: Path) -> None:
    result = run("--padding", "1", "--stride", "2")
    assert result.exit_code == 0, result.output
    name = ConvSpec(input_size=5, padding=1, stride=2).slug() + ".gif"
    assert result.stdout.strip() == name
    with Image.open(in_tmp / name) as image:
        assert image.n_frames == 9 and image.info["loop"] == 0
    assert durations(in_tmp / name) == [1000] * 9


def test_output_layout_theme_and_determinism(in_tmp: Path) -> None:
    options = [*SMALL, "--layout", "flat", "--theme", "contrast", "--caption"]
    for name in ("a.gif", "b.gif"):
        result = run(*options, "-o", name)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == name
    digest = [hashlib.sha256((in_tmp / n).read_bytes()).hexdigest() for n in ("a.gif", "b.gif")]
    assert digest[0] == digest[1]


def test_theme_from_a_file(in_tmp: Path) -> None:
    (in_tmp / "mine.toml").write_text('[colors]\ninput = "#ff0000"\n', encoding="utf-8")
    result = run(*SMALL, "--theme", "mine.toml", "-o", "red.gif")
    assert result.exit_code == 0, result.output
    with Image.open(in_tmp / "red.gif") as image:
        colours = {c for _, c in image.convert("RGB").getcolors(1 << 16)}
    assert (255, 0, 0) in colours


def test_fps_sets_the_duration(in_tmp: Path) -> None:
    result = run(*SMALL, "--fps", "4", "-o", "fast.gif")
    assert result.exit_code == 0, result.output
    assert durations(in_tmp / "fast.gif") == [250] * 4
    result = run(*SMALL, "--duration-ms", "500", "-o", "slow.gif")
    assert durations(in_tmp / "slow.gif") == [500] * 4


def test_frames_directory(in_tmp: Path) -> None:
    result = run(*SMALL, "--frames", "steps")
    assert result.exit_code == 0, result.output
    assert len(list((in_tmp / "steps").glob("*.png"))) == 4
    assert result.stdout.strip() == "steps"


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_step_still(in_tmp: Path, suffix: str) -> None:
    result = run(*SMALL, "--step", "3", "-o", f"still{suffix}")
    assert result.exit_code == 0, result.output
    assert (in_tmp / f"still{suffix}").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["-o", "x.bmp"], "--output: unknown suffix"),
        (["-o", "x.svg"], "--output"),
        (["--step", "1", "-o", "x.gif"], "--step"),
        (["--step", "4", "-o", "x.png"], "--step"),
        (["--max-frames", "3"], "--max-frames"),
        (["--theme", "no-such-theme"], "--theme: unknown theme"),
        (["--fps", "2", "--duration-ms", "300"], "--fps and --duration-ms"),
        (["--frames", "d", "-o", "x.gif"], "--frames and --output"),
        (["--kernel-size", "9"], "--kernel-size"),
        (["--scale", "0"], "--scale"),
        (["-o", "missing-dir/x.gif"], "--output"),
        (["--fps", "0"], "--fps: "),
        (["--fps", "0.0001"], "--fps: "),
        (["--duration-ms", "0"], "--duration-ms: "),
        (["--seed", "-1"], "--seed: "),
        (["--layout", "sideways"], "--layout: "),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    in_tmp: Path, args: list[str], start: str
) -> None:
    one_error_line(run(*SMALL, *args), start)
    assert list(in_tmp.iterdir()) == []


def test_unknown_theme_lists_the_themes() -> None:
    result = run(*SMALL, "--theme", "nope")
    for name in ("default", "dark", "contrast"):
        assert name in result.stderr


def test_a_write_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import convgif.api

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "x.gif")

    monkeypatch.setattr(convgif.api, "render_to_file", denied)
    result = run(*SMALL, "-o", "x.gif")
    assert result.exit_code == 1
    assert result.stderr.strip() == "convgif: error: cannot write x.gif: Permission denied"


# -- numbers -----------------------------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_numbers_same_seed_same_bytes_other_seed_other_bytes(in_tmp: Path) -> None:
    for name, seed in (("a.gif", "3"), ("b.gif", "3"), ("c.gif", "4")):
        result = run(*SMALL, "--numbers", "--seed", seed, "-o", name)
        assert result.exit_code == 0, result.output
    assert digest(in_tmp / "a.gif") == digest(in_tmp / "b.gif")
    assert digest(in_tmp / "a.gif") != digest(in_tmp / "c.gif")
    # A value option alone asks for numbers: the same figure.
    result = run(*SMALL, "--seed", "3", "-o", "d.gif")
    assert result.exit_code == 0, result.output
    assert digest(in_tmp / "d.gif") == digest(in_tmp / "a.gif")


def test_numbers_are_drawn_flat_by_default(in_tmp: Path) -> None:
    from convgif.api import RenderOptions, _renderer

    values = "1,2,3,4;5,6,7,8;9,10,11,12;13,14,15,16"
    result = run(*SMALL, "--input-values", values, "-o", "flat.gif")
    assert result.exit_code == 0, result.output
    spec = ConvSpec(input_size=4, kernel_size=3)
    expected = _renderer(spec, RenderOptions(input_values=values, layout="flat")).size_px
    with Image.open(in_tmp / "flat.gif") as image:
        assert image.size == expected and image.n_frames == 4
    result = run(*SMALL, "--numbers", "--layout", "oblique", "-o", "oblique.gif")
    assert result.exit_code == 0, result.output
    oblique = _renderer(spec, RenderOptions(numbers=True, layout="oblique")).size_px
    with Image.open(in_tmp / "oblique.gif") as image:
        assert image.size == oblique != expected


def test_values_from_files(in_tmp: Path) -> None:
    import numpy as np

    np.save(in_tmp / "x.npy", np.arange(16.0).reshape(4, 4))
    (in_tmp / "k.csv").write_text("# weights\n1,0,0\n0,1,0\n0,0,-1\n", encoding="utf-8")
    result = run(*SMALL, "--input-values", "x.npy", "--kernel-values", "k.csv", "-o", "f.png")
    assert result.exit_code == 0, result.output
    with Image.open(in_tmp / "f.png") as image:
        assert image.n_frames == 4


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["--input-values", "1,2;3,4"], "--input-values: expected 4x4 values for --input-size"),
        (["--input-values", "1,2,3,4;5,6,7;1,2,3,4;1,2,3,4"], "--input-values: ragged rows"),
        (["--input-values", "nope.csv"], "--input-values: file not found"),
        (["--kernel-values", "cube.npy"], "--kernel-values: expected a 2-D array"),
        (["--kernel-values", "1,2,x;1,2,3;1,2,3"], "--kernel-values: not a number"),
        (["--padding", "4", "--padding-mode", "reflect"], "--padding-mode: reflect padding"),
        (["--mode", "max", "--kernel-values", "1,1,1;1,1,1;1,1,1"], "--kernel-values"),
        (["--transposed", "--flip"], "--flip"),
    ],
)
def test_bad_values_are_one_line_exit_2_and_nothing_written(
    in_tmp: Path, args: list[str], start: str
) -> None:
    import numpy as np

    np.save(in_tmp / "cube.npy", np.zeros((3, 3, 3)))
    before = sorted(p.name for p in in_tmp.iterdir())
    one_error_line(run(*SMALL, *args, "-o", "x.gif"), start)
    assert sorted(p.name for p in in_tmp.iterdir()) == before


def test_help_says_padding_counts_as_zeros_in_the_average() -> None:
    result = CliRunner().invoke(cli, ["render", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for option in ("--mode", "--padding-mode"):
        start = text.index(option + " ")
        assert "count_include_pad=True" in text[start : start + 400], option


def test_default_names_of_one_spec_with_different_numbers_differ(in_tmp: Path) -> None:
    variants = [[], ["--numbers"], ["--seed", "3"], ["--input-values", "1,2,3,4;" * 3 + "1,2,3,4"]]
    names = set()
    for extra in variants:
        result = run(*SMALL, *extra)
        assert result.exit_code == 0, result.output
        names.add(result.stdout.strip())
    assert len(names) == len(variants)
    assert sorted(p.name for p in in_tmp.iterdir()) == sorted(names)
