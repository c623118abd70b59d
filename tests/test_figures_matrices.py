"""The matrix figures (convgif.figures.matrices) against brute-force references.

What each step highlights is checked against tests/reference.py (windows and
dependency sets found by sliding and scattering) and the numbers it writes
against tests/value_reference.py and reference.matrix_of (the matrix of the
naive convolution, column by column); a render test probes the pixels of the
highlighted row and column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from reference import layout_of, matrix_of, unfold_naive
from value_reference import conv2d, conv_transpose2d

from convgif.api import RenderOptions, build_figure, render_to_file
from convgif.cli import cli
from convgif.errors import RenderError
from convgif.figures.matrices import im2col_figure, matrix_figure, scatter_figure
from convgif.figures.model import Figure, Link, Shade, Text
from convgif.spec import ConvSpec
from convgif.values import compute_values, format_value

DIRECT = [
    ConvSpec(input_size=4, kernel_size=2),
    ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2),
    ConvSpec(input_size=(4, 6), kernel_size=(2, 3), padding=(1, 0, 2, 1), stride=(1, 2)),
    ConvSpec(input_size=6, kernel_size=2, dilation=2, stride=(2, 1)),
]
TRANSPOSED = [
    ConvSpec(input_size=2, kernel_size=3, transposed=True),
    ConvSpec(input_size=2, kernel_size=3, stride=2, transposed=True),
    ConvSpec(input_size=3, kernel_size=3, padding=1, stride=2, output_padding=1, transposed=True),
    ConvSpec(
        input_size=(2, 3), kernel_size=(3, 2), dilation=(1, 2), padding=(1, 0), transposed=True
    ),
]
POOLING = [ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2, mode="max")]


def shaded(step: Any, grid: str) -> set[tuple[int, int]]:
    return {cell for m in step.marks if isinstance(m, Shade) and m.grid == grid for cell in m.cells}


def texts(marks: Any, grid: str) -> dict[tuple[int, int], str]:
    return {m.cell: m.text for m in marks if isinstance(m, Text) and m.grid == grid}


def flat(cell: tuple[int, int], width: int) -> int:
    return cell[0] * width + cell[1]


def reference_output(spec: ConvSpec, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    args = (spec.padding, spec.stride, spec.dilation)
    if spec.transposed:
        return conv_transpose2d(x, w, *args, spec.output_padding)
    return conv2d(x, w, *args)


def value_grid(spec: ConvSpec, x: np.ndarray) -> np.ndarray:
    """The drawn grid's numbers from the reference's index grid (zero padding)."""
    grid = layout_of(spec).grid
    return np.where(grid >= 0, x.ravel()[np.maximum(grid, 0)], 0.0)


def expected_entries(spec: ConvSpec, kernel: np.ndarray) -> dict[tuple[int, int], str]:
    """The written entries of C: where a weight lies (nonzero with a kernel of ones), its value.

    Both matrices come from the naive convolution, column by column.
    """
    matrix = matrix_of(lambda x: reference_output(spec, x, kernel), spec.input_size)
    ones = matrix_of(lambda x: reference_output(spec, x, np.ones_like(kernel)), spec.input_size)
    return {(r, c): format_value(matrix[r, c]) for r, c in zip(*np.nonzero(ones), strict=True)}


# -- im2col -----------------------------------------------------------------------------
@pytest.mark.parametrize("spec", DIRECT + TRANSPOSED + POOLING, ids=repr)
def test_im2col_steps_highlight_the_window_its_column_and_its_output(spec: ConvSpec) -> None:
    ref = layout_of(spec)
    oh, ow = ref.output_size
    values = compute_values(spec, seed=3)
    figure = im2col_figure(spec, values)
    figure.check()
    taps = spec.kernel_size[0] * spec.kernel_size[1]
    stride = (1, 1) if spec.transposed else spec.stride
    unfolded = unfold_naive(value_grid(spec, values.input)[None], spec.kernel_size, stride,
                            spec.dilation)  # fmt: skip
    assert figure.grid("patches").rows == taps and figure.grid("patches").cols == oh * ow
    assert len(figure) == oh * ow
    for k, step in enumerate(figure.steps):
        cell = divmod(k, ow)
        assert shaded(step, "input") == set(ref.windows[cell])
        assert shaded(step, "patches") == {(t, k) for t in range(taps)}
        assert shaded(step, "product") == {(0, k)}
        assert shaded(step, "output") == {cell}
        links = [m for m in step.marks if isinstance(m, Link) and m.target == "patches"]
        assert [m.target_box for m in links] == [(0, k, taps, k + 1)]
        written = texts(step.marks, "patches")
        assert set(written) == {(t, k) for t in range(taps)} - {
            (t, k) for t in range(taps) if spec.mode == "max" and ref.grid[ref.windows[cell][t]] < 0
        }
        for (t, _), text in written.items():
            assert text == format_value(unfolded[t, k])
    if spec.mode == "conv":
        expected = reference_output(spec, values.input, values.kernel)
        last = figure.steps[-1]
        assert texts(last.marks, "output")[(oh - 1, ow - 1)] == format_value(expected[-1, -1])
        shown = {c: t for s in figure.steps for c, t in texts(s.reveals, "output").items()}
        shown.update(texts(last.marks, "output"))
        assert shown == {c: format_value(v) for c, v in np.ndenumerate(expected)}


def test_im2col_fills_in_column_by_column() -> None:
    spec = ConvSpec(input_size=4, kernel_size=2)
    figure = im2col_figure(spec, symbols=True)
    for k, step in enumerate(figure.steps[1:], start=1):
        assert {c for c in texts(step.reveals, "patches")} == {(t, k - 1) for t in range(4)}
    # Step 5 is output cell (1, 2): its last tap (1, 1) reads input cell (2, 3).
    assert texts(figure.steps[5].marks, "patches")[(3, 5)] == "x₂₃"


def test_im2col_without_values_or_symbols_writes_input_indices() -> None:
    spec = ConvSpec(input_size=3, kernel_size=2, padding=1)
    ref = layout_of(spec)
    figure = im2col_figure(spec)
    for k, step in enumerate(figure.steps):
        window = ref.windows[divmod(k, spec.output_size[1])]
        written = texts(step.marks, "patches")
        expected = {(t, k): str(ref.grid[c]) for t, c in enumerate(window) if ref.grid[c] >= 0}
        assert written == expected


# -- the convolution matrix ---------------------------------------------------------------
@pytest.mark.parametrize("spec", DIRECT, ids=repr)
def test_matrix_rows_multiply_the_windows_input_cells(spec: ConvSpec) -> None:
    ref = layout_of(spec)
    (h, w), (oh, ow) = spec.input_size, ref.output_size
    values = compute_values(spec, seed=4)
    figure = matrix_figure(spec, values)
    figure.check()
    assert texts(figure.texts, "C") == expected_entries(spec, values.kernel)
    assert len(figure) == oh * ow
    for k, step in enumerate(figure.steps):
        cell = divmod(k, ow)
        sources = {flat(s, w) for s in ref.sources[cell]}
        assert shaded(step, "C") == {(k, c) for c in range(h * w)}
        assert shaded(step, "x") == {(0, j) for j in sources}
        assert shaded(step, "input") == set(ref.sources[cell])
        assert shaded(step, "y") == {(k, 0)} and shaded(step, "output") == {cell}
        expected = reference_output(spec, values.input, values.kernel)
        assert texts(step.marks, "y")[(k, 0)] == format_value(expected[cell])


@pytest.mark.parametrize("spec", TRANSPOSED, ids=repr)
def test_transposed_matrix_columns_scatter_into_their_dependants(spec: ConvSpec) -> None:
    ref = layout_of(spec)
    (h, w), (oh, ow) = spec.input_size, ref.output_size
    values = compute_values(spec, seed=6)
    figure = matrix_figure(spec, values)
    figure.check()
    assert figure.grid("C").rows == oh * ow and figure.grid("C").cols == h * w
    assert texts(figure.texts, "C") == expected_entries(spec, values.kernel)
    assert len(figure) == h * w
    for j, step in enumerate(figure.steps):
        source = divmod(j, w)
        dependants = {cell for cell, sources in ref.sources.items() if source in sources}
        assert shaded(step, "C") == {(i, j) for i in range(oh * ow)}
        assert shaded(step, "x") == {(0, j)} and shaded(step, "input") == {source}
        assert shaded(step, "output") == dependants
        assert shaded(step, "y") == {(flat(c, ow), 0) for c in dependants}
    expected = reference_output(spec, values.input, values.kernel)
    last = texts(figure.steps[-1].marks, "output")
    assert last == {c: format_value(v) for c, v in np.ndenumerate(expected)}


def test_matrix_symbols_and_block_outlines() -> None:
    spec = ConvSpec(input_size=4, kernel_size=3)
    figure = matrix_figure(spec, symbols=True)
    written = texts(figure.texts, "C")
    assert written[(0, 0)] == "w₀₀" and written[(3, 15)] == "w₂₂" and written[(0, 3)] == "0"
    assert texts(figure.texts, "x")[(0, 5)] == "x₁₁"
    outlines = {m.box for m in figure.steps[0].marks if type(m).__name__ == "Outline"}
    # C's nonzero blocks: output row i meets input rows i..i+2, each a 2x4 block.
    for i in range(2):
        for a in range(3):
            assert (2 * i, 4 * (i + a), 2 * i + 2, 4 * (i + a) + 4) in outlines


# -- scatter ------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", TRANSPOSED, ids=repr)
def test_scatter_targets_are_the_dependency_sets_and_sums_end_at_the_output(
    spec: ConvSpec,
) -> None:
    ref = layout_of(spec)
    h, w = spec.input_size
    values = compute_values(spec, seed=2)
    figure = scatter_figure(spec, values)
    figure.check()
    assert len(figure) == h * w
    for k, step in enumerate(figure.steps):
        source = divmod(k, w)
        dependants = {cell for cell, sources in ref.sources.items() if source in sources}
        assert shaded(step, "input") == {source}
        assert shaded(step, "output") == dependants
    expected = reference_output(spec, values.input, values.kernel)
    last = texts(figure.steps[-1].marks, "output")
    assert last == {c: format_value(v) for c, v in np.ndenumerate(expected)}


def test_scatter_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    spec = ConvSpec(input_size=2, kernel_size=3, stride=2, transposed=True)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    k = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
    values = compute_values(spec, input_values=x, kernel_values=k)
    figure = scatter_figure(spec, values)
    out = torch.nn.functional.conv_transpose2d(
        torch.tensor(x)[None, None], torch.tensor(k)[None, None], stride=2
    )[0, 0].numpy()
    last = texts(figure.steps[-1].marks, "output")
    assert last == {c: format_value(v) for c, v in np.ndenumerate(out)}


# -- the API, rendering and the command line ------------------------------------------------
def test_build_figure_dispatches_on_the_view_and_round_trips_json() -> None:
    spec = ConvSpec(input_size=4, kernel_size=3)
    for view, grid in (("window", "input"), ("im2col", "patches"), ("matrix", "C")):
        figure = build_figure(spec, RenderOptions(view=view))
        figure.grid(grid)
        assert Figure.from_json(figure.to_json()) == figure
    figure = build_figure(ConvSpec(input_size=2, transposed=True), RenderOptions(view="scatter"))
    assert figure.grid("kernel").rows == 3


def rgb(frame: np.ndarray, xy: tuple[float, float]) -> tuple[int, ...]:
    x, y = int(xy[0]), int(xy[1])
    patch = frame[y - 3 : y + 4, x - 3 : x + 4, :3].reshape(-1, 3)
    colours, counts = np.unique(patch, axis=0, return_counts=True)
    return tuple(int(v) for v in colours[counts.argmax()])


@pytest.mark.parametrize("transposed", [False, True])
def test_rendered_frames_shade_the_highlighted_row_or_column(transposed: bool) -> None:
    from convgif.render import CHANNEL_FILLS, Renderer, Style
    from convgif.theme import load_theme

    theme = load_theme("default")
    spec = ConvSpec(input_size=2 if transposed else 4, kernel_size=3, transposed=transposed)
    figure = matrix_figure(spec)  # no texts: the cell centres show their fills
    renderer = Renderer(figure, Style(theme=theme, layout="flat"))
    grid = figure.grid("C")
    for k in (0, len(figure) - 1):
        frame = renderer.frame(k)
        for cell in np.ndindex(grid.rows, grid.cols):
            fill = grid.fill(cell)
            colour = theme.background if fill is None else CHANNEL_FILLS[fill]
            lit = cell[1] == k if transposed else cell[0] == k
            expected = theme.shaded(colour) if lit else colour
            actual = rgb(frame, renderer.cell_center_px("C", cell))
            assert np.abs(np.subtract(actual, expected)).max() <= 3, (k, cell, actual)


@pytest.mark.parametrize(
    ("args", "frames"),
    [
        (["--view", "im2col", "--input-size", "4", "--kernel-size", "2", "--numbers"], 9),
        (["--view", "matrix", "--input-size", "4", "--symbols"], 4),
        (["--view", "matrix", "--input-size", "2", "--transposed"], 4),
        (
            [
                "--view",
                "scatter",
                "--input-size",
                "2",
                "--stride",
                "2",
                "--transposed",
                "--numbers",
            ],
            4,
        ),
    ],
)
def test_cli_renders_every_view(tmp_path: Any, args: list[str], frames: int) -> None:
    output = tmp_path / "figure.gif"
    result = CliRunner().invoke(cli, ["render", *args, "-o", str(output)])
    assert result.exit_code == 0, result.output + result.stderr
    with Image.open(output) as image:
        assert image.n_frames == frames


def test_an_illegible_matrix_is_refused_before_writing(tmp_path: Any) -> None:
    output = tmp_path / "figure.gif"
    with pytest.raises(RenderError, match=r"^--view: the patch matrix of this spec is 9x196"):
        render_to_file(ConvSpec(input_size=16), output, RenderOptions(view="im2col"))
    assert not output.exists()
    still = tmp_path / "c.png"  # C of a 7x7 input, 25x49, is drawn
    render_to_file(ConvSpec(input_size=7), still, RenderOptions(view="matrix", step=0))
    assert still.exists()
