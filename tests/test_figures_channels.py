"""The channels figures: decks of planes, partial sums, groups, separable stages.

Marks are checked against the brute-force reference (tests/reference.py
``channel_sources``: which input cells of which channels each output element
reads), values against the naive loops of tests/value_reference.py and
PyTorch where installed; the renderer by probing pixels at cell centres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import value_reference as vref
from click.testing import CliRunner
from PIL import Image
from reference import PADDING, ZERO, channel_sources, layout_of

from convgif.api import RenderOptions, build_figure, render_to_file, separable_values
from convgif.cli import cli
from convgif.errors import RenderError
from convgif.figures.channels import (
    channels_figure,
    input_name,
    output_name_of,
    partial_name,
    separable_figure,
    separable_specs,
)
from convgif.figures.model import Figure, Link, Shade, Text
from convgif.spec import ConvSpec, SpecError
from convgif.values import compute_values, format_value


def _random_specs(kind: str, count: int, seed: int) -> list[ConvSpec]:
    """Random valid specs with channels: sizes, padding, stride, dilation, groups."""
    rng = np.random.default_rng(seed)
    specs: list[ConvSpec] = []
    while len(specs) < count:
        c = int(rng.integers(1, 5))
        fields: dict = {
            "input_size": tuple(int(n) for n in rng.integers(2, 6, size=2)),
            "kernel_size": tuple(int(n) for n in rng.integers(1, 4, size=2)),
            "padding": int(rng.integers(0, 2)),
            "stride": tuple(int(n) for n in rng.integers(1, 3, size=2)),
        }
        if kind in ("max", "avg"):
            fields.update(mode=kind, in_channels=c, out_channels=c, padding=0)
        else:
            groups = int(rng.choice([g for g in (1, 2, c) if c % g == 0]))
            fields.update(
                in_channels=c, out_channels=groups * int(rng.integers(1, 3)), groups=groups,
                dilation=int(rng.integers(1, 3)), transposed=kind == "transposed",
            )  # fmt: skip
        try:
            spec = ConvSpec(**fields)
        except SpecError:
            continue
        if spec.step_count <= 80:
            specs.append(spec)
    return specs


def _expected_channels(spec: ConvSpec, m: int) -> set[int]:
    """The input channels output channel ``m`` reads, from the group rule itself."""
    if spec.mode != "conv":
        return {m}
    c_size, m_size = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    return {c for c in range(spec.in_channels) if c // c_size == m // m_size}


def _position(spec: ConvSpec, k: int) -> tuple[int, tuple[int, int]]:
    rows, cols = spec.output_size
    m, rest = divmod(k, rows * cols)
    return m, divmod(rest, cols)


@pytest.mark.parametrize("kind", ["conv", "transposed", "max", "avg"])
@pytest.mark.parametrize("layout", ["oblique", "flat"])
def test_shades_are_the_sources_on_exactly_the_channels_read(kind: str, layout: str) -> None:
    for spec in _random_specs(kind, 12, seed=len(kind) + len(layout)):
        figure = channels_figure(spec, layout=layout)
        figure.check()
        assert len(figure) == spec.step_count
        reference = channel_sources(spec)
        grid = layout_of(spec).grid
        width = spec.input_size[1]
        for k, step in enumerate(figure.steps):
            m, cell = _position(spec, k)
            shaded_planes = set()
            sources = set()
            for mark in step.marks:
                if isinstance(mark, Shade) and mark.grid.startswith("input"):
                    c = int(mark.grid.removeprefix("input"))
                    shaded_planes.add(c)
                    for r, q in mark.cells:
                        index = int(grid[r, q])
                        if index not in (PADDING, ZERO):
                            sources.add((c, *divmod(index, width)))
            assert shaded_planes == _expected_channels(spec, m), (spec, k)
            assert sources == reference[(m, cell)], (spec, k)
            outputs = [s for s in step.marks if isinstance(s, Shade) and s.grid.startswith("out")]
            assert outputs == [Shade(output_name_of(m), (cell,))]


def _torch_conv(spec: ConvSpec, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None):
    """The output by PyTorch where installed, else by the naive loops."""
    t, _, left, _ = spec.padding
    try:
        import torch
        import torch.nn.functional as functional
    except ImportError:
        call = vref.conv_transpose2d_channels if spec.transposed else vref.conv2d_channels
        extra = (spec.output_padding,) if spec.transposed else ()
        args = (spec.padding, spec.stride, spec.dilation, *extra)
        return call(x, weight, bias, spec.groups, *args)[0]
    if spec.transposed:
        out = functional.conv_transpose2d(
            torch.tensor(x[None]), torch.tensor(weight),
            None if bias is None else torch.tensor(bias), spec.stride, (t, left),
            spec.output_padding, spec.groups, spec.dilation,
        )  # fmt: skip
    else:
        out = functional.conv2d(
            torch.tensor(x[None]), torch.tensor(weight),
            None if bias is None else torch.tensor(bias), spec.stride, (t, left),
            spec.dilation, spec.groups,
        )  # fmt: skip
    return out[0].numpy()


def _texts_on(step_marks, grid: str) -> dict[tuple[int, int], str]:
    return {m.cell: m.text for m in step_marks if isinstance(m, Text) and m.grid == grid
            and m.role == "value"}  # fmt: skip


@pytest.mark.parametrize("transposed", [False, True])
def test_shown_outputs_and_partial_sums_are_pytorchs(transposed: bool) -> None:
    kind = "transposed" if transposed else "conv"
    for n, spec in enumerate(_random_specs(kind, 10, seed=5)):
        values = compute_values(spec, seed=n, bias="random")
        x = np.asarray(values.input_planes)
        weight = np.asarray(values.kernel).reshape(spec.weight_shape)
        expected = _torch_conv(spec, x, weight, np.asarray(values.bias))
        call = vref.conv_transpose2d_channels if transposed else vref.conv2d_channels
        extra = (spec.output_padding,) if transposed else ()
        _, partial = call(x, weight, None, spec.groups, spec.padding, spec.stride,
                          spec.dilation, *extra)  # fmt: skip
        figure = channels_figure(spec, values, layout="flat")
        for k, step in enumerate(figure.steps):
            m, cell = _position(spec, k)
            shown = _texts_on(step.marks, output_name_of(m))
            assert shown[cell] == format_value(expected[m][cell]), (spec, k)
            assert step.equation is not None
            assert step.equation.endswith(format_value(expected[m][cell]))
            if spec.in_channels_per_group > 1:
                for j, c in enumerate(sorted(_expected_channels(spec, m))):
                    texts = _texts_on(step.marks, partial_name(c))
                    assert texts[cell] == format_value(partial[m, j][cell]), (spec, k, c)


def test_the_seed_figure_writes_the_sum_of_the_channels_plus_the_bias() -> None:
    spec = ConvSpec(input_size=5, kernel_size=3, in_channels=3)
    x = np.arange(75.0).reshape(3, 5, 5) % 4
    weight = np.arange(27.0).reshape(1, 3, 3, 3) % 3 - 1
    values = compute_values(spec, input_values=x, kernel_values=weight, bias=[-1])
    figure = channels_figure(spec, values, layout="flat", rgb=True)
    step = figure.steps[4]  # output (1, 1)
    parts = [float((x[c, 1:4, 1:4] * weight[0, c]).sum()) for c in range(3)]
    total = sum(parts) - 1
    terms = " + ".join(format_value(p) if p >= 0 else f"({format_value(p)})" for p in parts)
    assert step.equation == f"y₀,₁,₁ = p₀ + p₁ + p₂ + b₀ = {terms} + (−1) = {format_value(total)}"
    assert [g.fills[0] for g in figure.grids[:3]] == ["red", "green", "blue"]
    weights = [m for m in step.marks if isinstance(m, Text) and m.role == "weight"]
    assert {m.grid for m in weights} == {input_name(c) for c in range(3)}
    for mark in weights:
        c = int(mark.grid.removeprefix("input"))
        r, q = mark.cell
        assert mark.text == format_value(weight[0, c, r - 1, q - 1])


def test_separable_stages_equal_two_convolutions() -> None:
    spec = ConvSpec(input_size=(5, 4), kernel_size=3, padding=1, in_channels=3, out_channels=2)
    depthwise, pointwise = separable_specs(spec)
    assert (depthwise.groups, depthwise.out_channels, pointwise.kernel_size) == (3, 3, (1, 1))
    options = RenderOptions(seed=4, bias="random", layout="flat", separable=True)
    first, second = separable_values(spec, options)
    x = np.asarray(first.input_planes)
    mid = _torch_conv(depthwise, x, np.asarray(first.kernel).reshape(3, 1, 3, 3), None)
    out = _torch_conv(pointwise, mid, np.asarray(second.kernel).reshape(2, 3, 1, 1),
                      np.asarray(second.bias))  # fmt: skip
    np.testing.assert_allclose(second.input_planes, mid)
    figure = build_figure(spec, options)
    assert len(figure) == depthwise.step_count + pointwise.step_count
    assert figure == separable_figure(spec, (first, second), layout="flat")
    rows, cols = spec.output_size
    for k, step in enumerate(figure.steps):
        stage, planes, letter = (0, mid, "depthwise") if k < 3 * rows * cols else (1, out, "output")
        m, cell = _position(depthwise, k - stage * 3 * rows * cols)
        assert _texts_on(step.marks, f"{letter}{m}")[cell] == format_value(planes[m][cell])
    with pytest.raises(RenderError, match=r"^--kernel-values: "):
        separable_values(spec, RenderOptions(kernel_values="1", separable=True))
    with pytest.raises(SpecError, match=r"^--separable: "):
        separable_specs(ConvSpec(in_channels=2, out_channels=2, groups=2))


def test_oblique_links_from_the_groups_front_plane_and_flat_from_every_channel() -> None:
    spec = ConvSpec(input_size=4, kernel_size=3, in_channels=4, out_channels=2, groups=2)
    oblique = channels_figure(spec)
    for k, step in enumerate(oblique.steps):
        links = [m for m in step.marks if isinstance(m, Link)]
        assert [(m.source, m.target) for m in links] == [
            (input_name(1 if k < 4 else 3), output_name_of(k // 4))
        ]
    flat = channels_figure(spec, layout="flat")
    links = [(m.source, m.target) for m in flat.steps[5].marks if isinstance(m, Link)]
    assert links == [("input2", "partial2"), ("partial2", "output1"),
                     ("input3", "partial3"), ("partial3", "output1")]  # fmt: skip
    # Two groups colour their planes; a single-channel figure is not re-coloured.
    assert [g.fills[0] for g in oblique.grids] == ["red", "red", "green", "green", "red", "green"]


def test_figure_round_trips_through_json_and_is_pure() -> None:
    spec = ConvSpec(in_channels=3, out_channels=2)
    figure = channels_figure(spec, compute_values(spec, seed=1), layout="flat")
    assert Figure.from_json(figure.to_json()) == figure
    import convgif.figures.channels as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    assert "import matplotlib" not in source and "import numpy" not in source


def test_rgb_needs_three_channels() -> None:
    with pytest.raises(RenderError, match=r"^--rgb: "):
        channels_figure(ConvSpec(in_channels=2), rgb=True)


# -- rendering ----------------------------------------------------------------------
def _blend(fill, shade, alpha):  # type: ignore[no-untyped-def]
    return tuple(round(f * (1 - alpha) + s * alpha) for f, s in zip(fill, shade, strict=True))


def _distance(point, segment) -> float:  # type: ignore[no-untyped-def]
    p, a, b = (np.asarray(v, dtype=float) for v in (point, *segment))
    t = np.clip(np.dot(p - a, b - a) / max(np.dot(b - a, b - a), 1e-12), 0.0, 1.0)
    return float(np.linalg.norm(p - (a + t * (b - a))))


@pytest.mark.parametrize("layout", ["oblique", "flat"])
def test_rendered_deck_shades_the_window_on_every_channel_read(layout: str) -> None:
    from convgif.render import Renderer, Style
    from convgif.theme import load_theme

    theme = load_theme("default")
    spec = ConvSpec(input_size=5, kernel_size=3, in_channels=3, out_channels=2)
    figure = channels_figure(spec, layout=layout)
    renderer = Renderer(figure, Style(theme=theme, layout=layout))
    frames = [f.copy() for f in renderer.frames()]
    for k in (0, 4, 8, 9, 17):
        m, (i, j) = _position(spec, k)
        window = {(i + a, j + b) for a in range(3) for b in range(3)}
        lines = [
            part
            for mark in figure.steps[k].marks
            if isinstance(mark, Link)
            for part in renderer.layout.connectors(
                mark.source, mark.source_box, mark.target, mark.target_box
            )
        ]
        for c in range(3):
            for cell in [(r, q) for r in range(5) for q in range(5)]:
                x, y = renderer.cell_center_px(input_name(c), cell)
                if any(_distance((x, y), line) < 4 for line in lines):
                    continue  # a connector crosses the centre
                got = frames[k][int(y), int(x), :3]
                want = theme.input
                if cell in window:
                    want = _blend(theme.input, theme.shade, theme.shade_alpha)
                assert np.abs(got.astype(int) - want).max() <= 3, (layout, k, c, cell)
        x, y = renderer.cell_center_px(output_name_of(m), (i, j))
        got = frames[k][int(y), int(x), :3]
        want = _blend(theme.output, theme.shade, theme.shade_alpha)
        assert np.abs(got.astype(int) - want).max() <= 3, (layout, k)
    # Blitted frames equal full draws.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for k in (0, 9, 17):
        canvas = FigureCanvasAgg(renderer.figure_for_step(k))
        canvas.draw()
        assert np.array_equal(np.asarray(canvas.buffer_rgba()), frames[k]), k


def test_rgb_planes_are_red_green_blue_and_blits_equal_full_draws() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from convgif.render import CHANNEL_FILLS, Renderer, Style

    spec = ConvSpec(input_size=4, kernel_size=2, in_channels=3, out_channels=1)
    figure = channels_figure(spec, compute_values(spec, seed=2, bias="1"), rgb=True)
    renderer = Renderer(figure, Style(layout="oblique"))
    frames = [f.copy() for f in renderer.frames()]
    for c, colour in enumerate(("red", "green", "blue")):
        # Cell (3, 3) is under no window at step 0; probed near its corner, clear of its value.
        plane = renderer.layout.plane(input_name(c))
        x, y = plane.point(3.1, 3.1)
        got = frames[0][int(y), int(x), :3]
        assert np.abs(got.astype(int) - CHANNEL_FILLS[colour]).max() <= 3, colour
    for k in (0, 4, 8):
        canvas = FigureCanvasAgg(renderer.figure_for_step(k))
        canvas.draw()
        assert np.array_equal(np.asarray(canvas.buffer_rgba()), frames[k]), k


# -- API and CLI ----------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".gif", ".png", ".webp"])
def test_cli_renders_channels_with_one_frame_per_output_element(tmp_path: Path, suffix: str):
    target = tmp_path / f"x{suffix}"
    args = ["render", "--input-size", "3", "--kernel-size", "2", "--in-channels", "3",
            "--out-channels", "2", "--seed", "1", "-o", str(target)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    with Image.open(target) as image:
        assert image.n_frames == 2 * 2 * 2


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_cli_renders_a_separable_still(tmp_path: Path, suffix: str):
    target = tmp_path / f"x{suffix}"
    args = [
        "render",
        "--input-size",
        "3",
        "--kernel-size",
        "2",
        "--in-channels",
        "2",
        "--out-channels",
        "3",
        "--separable",
        "--rgb",
        "--step",
        "19",
        "-o",
        str(target),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "--rgb: " in result.output  # two channels are not RGB
    result = CliRunner().invoke(cli, [a for a in args if a != "--rgb"])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0


def test_separable_frame_count_covers_both_stages(tmp_path: Path):
    spec = ConvSpec(input_size=3, kernel_size=2, in_channels=2, out_channels=3)
    written = render_to_file(spec, tmp_path / "s.gif", RenderOptions(separable=True))
    assert written.frame_count == 2 * 4 + 3 * 4
    with pytest.raises(RenderError, match=r"^--step: must be from 0 to 19"):
        render_to_file(spec, tmp_path / "s.png", RenderOptions(separable=True, step=20))
