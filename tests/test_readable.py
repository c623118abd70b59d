"""Issue 13's figures a teacher can read: sizes from values, rounding, equations, captions."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image
from value_reference import conv2d

from convgif.api import RenderOptions, build_figure
from convgif.cli import cli
from convgif.figures.model import Text
from convgif.figures.window import caption, window_figure
from convgif.spec import ConvSpec
from convgif.values import compute_values, format_value, shown_exactly


def run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["render", *args], catch_exceptions=False)


def test_values_set_the_sizes_when_the_sizes_are_not_given(tmp_path: Path) -> None:
    out = tmp_path / "v.gif"
    result = run(tmp_path, "--input-values", "1,2,0;0,1,3;2,2,1", "--kernel-values",
                 "1,0;0,-1", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.n_frames == 4  # a 3x3 input and a 2x2 kernel: 2x2 outputs


def test_values_that_contradict_a_given_size_are_one_line(tmp_path: Path) -> None:
    out = tmp_path / "v.gif"
    result = run(tmp_path, "--input-values", "1,2;3,4", "--input-size", "3", "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("convgif: error: --input-values:")
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_a_still_with_an_animation_suffix_says_which_suffixes_a_still_takes(
    tmp_path: Path,
) -> None:
    result = run(tmp_path, "--step", "1", "-o", str(tmp_path / "x.gif"))
    assert result.exit_code == 2
    assert "--step:" in result.stderr and ".png, .svg or .pdf" in result.stderr


@pytest.mark.parametrize(("x", "decimals", "text"), [
    (0.135, 2, "0.14"), (0.135, 3, "0.135"), (-1.5, 0, "−2"), (2.0, 4, "2"), (1 / 3, 1, "0.3"),
])  # fmt: skip
def test_decimals(x: float, decimals: int, text: str) -> None:
    assert format_value(x, decimals) == text
    assert shown_exactly(x, text) == (abs(float(text.replace("−", "-")) - x) < 1e-12)


def _equations(spec: ConvSpec, **values: object) -> list[str]:
    figure = window_figure(spec, compute_values(spec, **values))  # type: ignore[arg-type]
    return [step.equation or "" for step in figure.steps]


def test_equations_add_up_with_the_shown_numbers() -> None:
    spec = ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2)
    values = compute_values(spec, seed=3)
    expected = conv2d(values.input, values.kernel, (1, 1, 1, 1), (2, 2), (1, 1))
    for k, equation in enumerate(_equations(spec, seed=3)):
        left, result = equation.split(" = ", 1)[1].rsplit(" = ", 1)
        products = [term.split("·") for term in left.split(" + ")]
        total = sum(float(a) * float(b) for a, b in products)
        assert total == float(result) == expected.ravel()[k]


def test_an_equation_with_rounded_numbers_says_so() -> None:
    spec = ConvSpec(input_size=2, kernel_size=2)
    rounded = _equations(spec, input_values=[[0.123, 1], [1, 1]], kernel_values=[[1, 1], [1, 1]])
    assert "≈" in rounded[0] and " = 3.12" not in rounded[0]
    exact = _equations(spec, input_values=[[0.12, 1], [1, 1]], kernel_values=[[1, 1], [1, 1]])
    assert exact[0].endswith("= 3.12") and "≈" not in exact[0]


def test_pooling_equations_and_distinct_default_values() -> None:
    spec = ConvSpec(input_size=5, kernel_size=3, mode="max")
    values = compute_values(spec, seed=0)
    assert len(np.unique(values.input)) == values.input.size
    assert len(np.unique(values.output)) > 1
    for equation, out in zip(_equations(spec, seed=0), values.output.ravel(), strict=True):
        taps = re.search(r"max\((.*)\)", equation).group(1).split(", ")  # type: ignore[union-attr]
        assert max(float(t) for t in taps) == out


def test_one_font_size_per_role_and_weights_readable() -> None:
    spec = ConvSpec(input_size=4, kernel_size=3)
    options = RenderOptions(input_values=[[0.13, -0.13, 5, 1]] * 4, kernel_values=[[-0.25] * 3] * 3)
    from convgif.api import _renderer

    renderer = _renderer(spec, options)
    figure = renderer.figure
    heights: dict[str, set[float]] = {}
    for mark in figure.all_texts():
        if mark.text.replace("−", "").replace(".", "").isdigit():
            path = renderer.label_path(Text(mark.grid, mark.cell, "0", mark.role))
            box = path.get_extents()
            heights.setdefault(mark.role, set()).add(round(box.height, 6))
    assert all(len(h) == 1 for h in heights.values())  # one size per role
    assert min(heights["weight"]) >= 9.0  # digits at least 9 px tall at the default scale


def test_caption_is_mathematics_and_labels_name_the_transposed_planes() -> None:
    spec = ConvSpec(input_size=3, kernel_size=3, stride=2, padding=1, transposed=True)
    text = caption(spec)
    assert "$" in text and "p_{" not in text.split("$")[0]
    assert text.rstrip().endswith(f"= {spec.output_size[0]}")
    figure = build_figure(spec, RenderOptions())
    assert "transposed" in figure.grid("input").label  # type: ignore[operator]
    assert "transposed" in figure.grid("output").label  # type: ignore[operator]


def test_the_readmes_beamer_recipe_matches_the_frames_written(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    command = re.search(r"convgif render (--padding 1 --stride 2) --frames frames/", readme)
    recipe = re.search(
        r"\\animategraphics\[[^\]]*width=[^\]]*\]\{1\}\{frames/(\w+)\}\{(\d+)\}\{(\d+)\}", readme
    )
    assert command is not None and recipe is not None
    stem, first, last = recipe.groups()
    out = tmp_path / "frames"
    result = run(tmp_path, *command.group(1).split(), "--frames", str(out))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    # animate numbers the files with as many digits as the first number has.
    expected = [f"{stem}{k:0{len(first)}d}.png" for k in range(int(first), int(last) + 1)]
    assert names == expected
    for name in names:
        with Image.open(out / name) as image:
            assert image.info["dpi"] == pytest.approx((100, 100), abs=0.01)
