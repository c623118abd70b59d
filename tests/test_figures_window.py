"""The sliding-window builder: its marks checked against naive references, not convgif's maths.

The drawn grid and the windows come from tests/reference.py (brute force), the
expected numbers from tests/value_reference.py (loops from the definitions);
the input and kernel values are given explicitly, so nothing expected is
copied from the code under test. A few checks render the figure: labels are
written where their marks say, in the colours that read on their cells.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure as MplFigure
from matplotlib.path import Path as MplPath
from reference import PADDING, ZERO, layout_of
from value_reference import avg_pool2d, conv2d, conv_transpose2d, max_pool2d, padded_value

from convgif import render
from convgif.api import RenderOptions, _renderer
from convgif.figures.model import Figure, Link, Outline, Ring, Shade, Text
from convgif.figures.window import output_name, window_figure
from convgif.layout import Plane
from convgif.render import NUMBERS_CELL_INCH, Label, Renderer, Style
from convgif.spec import ConvSpec
from convgif.theme import load_theme
from convgif.values import compute_values, format_value


def grid_of(h: int, w: int, start: int = 1) -> np.ndarray:
    """Distinct, readable input values (so a misplaced label shows)."""
    return (np.arange(h * w, dtype=float).reshape(h, w) % 9) + start


@pytest.fixture(params=["boxes", "whole"])
def restore(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Frames restore the boxes the moving artists drew over, or the whole background."""
    limit = 0 if request.param == "boxes" else 10**12
    monkeypatch.setattr(render, "WHOLE_RESTORE_MAX_BYTES", limit)
    return str(request.param)


@dataclass(frozen=True)
class Case:
    spec: ConvSpec
    x: np.ndarray
    w: np.ndarray | None = None
    padding_mode: str = "zeros"
    flip: bool = False


CASES = {
    "padding_strides": Case(
        ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2),
        grid_of(5, 5),
        np.array([[1.0, -2, 0], [3, 1, -1], [0, 2, 1]]),
    ),
    "dilation_flip": Case(
        ConvSpec(input_size=(6, 5), kernel_size=(2, 2), dilation=2, padding=(1, 0, 0, 1)),
        grid_of(6, 5),
        np.array([[1.0, 2], [-1, 3]]),
        flip=True,
    ),
    "reflect": Case(
        ConvSpec(input_size=4, kernel_size=3, padding=2),
        grid_of(4, 4),
        np.array([[0.5, 0, 1], [1, -1, 0], [2, 0, 0.25]]),
        padding_mode="reflect",
    ),
    "circular": Case(
        ConvSpec(input_size=(3, 4), kernel_size=2, padding=(1, 0, 2, 1)),
        grid_of(3, 4),
        np.array([[1.0, 2], [3, 4]]),
        padding_mode="circular",
    ),
    "replicate": Case(
        ConvSpec(input_size=3, kernel_size=3, padding=1, stride=2),
        grid_of(3, 3),
        np.array([[1.0, 0, 0], [0, 2, 0], [0, 0, 3]]),
        padding_mode="replicate",
    ),
    "transposed": Case(
        ConvSpec(
            input_size=3, kernel_size=3, padding=1, stride=2, transposed=True, output_padding=1
        ),
        grid_of(3, 3),
        np.array([[1.0, 2, 0], [0, -1, 1], [2, 0, 1]]),
    ),
    "max": Case(
        ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2, mode="max"),
        np.array(
            [[3.0, 1, 4, 1, 5], [9, 2, 6, 5, 3], [5, 8, 9, 7, 9], [3, 2, 3, 8, 4], [6, 2, 6, 4, 3]]
        ),
    ),
    "avg": Case(
        ConvSpec(input_size=4, kernel_size=3, padding=1, stride=1, mode="avg"),
        grid_of(4, 4),
    ),
    "max_all_padding": Case(
        # A dilated window on a one-column input: its two taps are both padding
        # (the output is -inf, as PyTorch gives).
        ConvSpec(
            input_size=(2, 1), kernel_size=(1, 2), padding=(0, 0, 1, 1), dilation=(1, 2), mode="max"
        ),
        np.array([[4.0], [7.0]]),
    ),
}

# Specs for the geometry of the marks (no numbers), every kind of convolution.
GEOMETRY_SPECS = [
    ConvSpec(input_size=4, kernel_size=3),
    ConvSpec(input_size=5, kernel_size=3, padding=2),
    ConvSpec(input_size=(5, 7), kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
    ConvSpec(input_size=(6, 5), kernel_size=2, padding=(1, 0, 2, 1), stride=(2, 1)),
    ConvSpec(input_size=2, kernel_size=3, transposed=True),
    ConvSpec(input_size=(3, 2), kernel_size=(3, 2), padding=(1, 0), stride=(2, 3), dilation=(1, 2),
             transposed=True, output_padding=(1, 2)),
    ConvSpec(input_size=5, kernel_size=2, stride=2, mode="max"),
    ConvSpec(input_size=(4, 6), kernel_size=3, padding=1, stride=(1, 2), mode="avg"),
]  # fmt: skip


def sides(spec: ConvSpec) -> tuple[int, int, int, int]:
    (top, bottom), (left, right) = spec.padding_pairs
    return (top, bottom, left, right)


def expected_output(case: Case) -> tuple[np.ndarray, list | None]:
    """The output by the naive loops, and max pooling's winners in input cells."""
    spec = case.spec
    if spec.mode == "max":
        return max_pool2d(case.x, spec.kernel_size, sides(spec), spec.stride, spec.dilation)
    if spec.mode == "avg":
        return avg_pool2d(case.x, spec.kernel_size, sides(spec), spec.stride), None
    if spec.transposed:
        out = conv_transpose2d(
            case.x, case.w, sides(spec), spec.stride, spec.dilation, spec.output_padding
        )
        return out, None
    args = (sides(spec), spec.stride, spec.dilation, case.padding_mode, case.flip)
    return conv2d(case.x, case.w, *args), None


def expected_grid_texts(case: Case) -> dict[tuple[int, int], str]:
    """What each drawn cell should say: its value, as the padding mode gives it.

    Max pooling's padding cells say nothing; inserted zeros and zero padding say 0.
    """
    spec = case.spec
    texts = {}
    if spec.transposed:
        marks = layout_of(spec).grid
        for (r, c), mark in np.ndenumerate(marks):
            value = case.x.flat[mark] if mark >= 0 else 0.0
            texts[(r, c)] = format_value(value)
        return texts
    top, bottom, left, right = sides(spec)
    rows, cols = spec.input_size[0] + top + bottom, spec.input_size[1] + left + right
    for r in range(rows):
        for c in range(cols):
            value = padded_value(case.x, r - top, c - left, case.padding_mode)
            if value is None and spec.mode == "max":
                continue
            texts[(r, c)] = format_value(0.0 if value is None else value)
    return texts


def values_of(case: Case):  # type: ignore[no-untyped-def]
    return compute_values(
        case.spec,
        input_values=case.x,
        kernel_values=case.w,
        padding_mode=case.padding_mode,
        flip=case.flip,
    )


def figure_of(case: Case) -> Figure:
    return window_figure(case.spec, values_of(case))


def make(case: Case, layout: str = "flat") -> Renderer:
    style = Style(layout=layout, cell_inch=NUMBERS_CELL_INCH)  # type: ignore[arg-type]
    return Renderer(figure_of(case), style)


def box(cells) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    return (min(rows), min(cols), max(rows) + 1, max(cols) + 1)


def of_type(marks, kind: type, **fields) -> list:  # type: ignore[no-untyped-def]
    return [
        m for m in marks
        if isinstance(m, kind) and all(getattr(m, k) == v for k, v in fields.items())
    ]  # fmt: skip


# -- the marks -----------------------------------------------------------------------


@pytest.mark.parametrize("spec", GEOMETRY_SPECS, ids=lambda s: s.parameters_text())
def test_the_grids_and_every_steps_window_are_the_references(spec: ConvSpec) -> None:
    ref = layout_of(spec)
    figure = window_figure(spec)
    figure.check()
    inp, out = figure.grid("input"), figure.grid("output")
    assert [g.name for g in figure.grids] == ["input", "output"]
    assert (inp.rows, inp.cols) == ref.grid.shape and (inp.level, out.level) == (0, 1)
    for (r, c), mark in np.ndenumerate(ref.grid):
        assert inp.fill((r, c)) == ("input" if mark >= 0 else None), (r, c)
    assert (out.rows, out.cols) == ref.output_size
    assert set(out.fills) == {"output"}
    rows, cols = ref.output_size
    assert len(figure) == rows * cols
    assert figure.texts == () and figure.all_texts() == []
    for k, step in enumerate(figure.steps):
        out_cell = divmod(k, cols)  # row-major
        window = ref.windows[out_cell]
        win_box = box(window)
        out_box = (out_cell[0], out_cell[1], out_cell[0] + 1, out_cell[1] + 1)
        assert step.marks == (
            Shade("input", window),
            Outline("input", win_box),
            Link("input", win_box, "output", out_box),
            Shade("output", (out_cell,)),
        ), k
        assert step.reveals == () and step.equation is None


@pytest.mark.parametrize(
    ("spec", "labels", "caption_start"),
    [
        (ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2),
         ("input 5×5, padding 1, stride 2", "output 3×3"), "conv, input 5"),
        (ConvSpec(input_size=(4, 6), kernel_size=3), ("input 4×6", "output 2×4"), "conv"),
        (ConvSpec(input_size=3, kernel_size=3, padding=1, stride=2, transposed=True,
                  output_padding=1),
         ("input 3×3 of the transposed conv\n(drawn 8×8: zeros inserted, padded)",
          "output 6×6 of the transposed conv"), "transposed conv"),
    ],
)  # fmt: skip
def test_labels_caption_and_title_say_what_is_drawn(
    spec: ConvSpec, labels: tuple[str, str], caption_start: str
) -> None:
    figure = window_figure(spec)
    assert (figure.grid("input").label, figure.grid("output").label) == labels
    assert figure.caption is not None and figure.caption.startswith(caption_start)
    assert figure.caption.splitlines()[0] == figure.title == spec.parameters_text()
    assert figure.caption.rstrip().endswith(f"= {spec.output_size[1]}")
    assert figure.arrangement == "stack"


def test_output_names_use_subscripts() -> None:
    assert output_name((0, 0)) == "y₀,₀"
    assert output_name((12, 3)) == "y₁₂,₃"


@pytest.mark.parametrize("name", list(CASES))
def test_every_step_shows_the_reference_numbers(name: str) -> None:
    case = CASES[name]
    figure = figure_of(case)
    figure.check()
    ref = layout_of(case.spec)
    out, winners = expected_output(case)
    out_texts = [format_value(v) for v in out.ravel()]
    grid_texts = expected_grid_texts(case)
    top, _, left, _ = sides(case.spec)
    cols = out.shape[1]
    kernel = None
    if case.w is not None:
        flipped = case.spec.transposed or case.flip
        kernel = case.w[::-1, ::-1] if flipped else case.w
    # Every drawn cell says its value, faint where it is padding or an inserted zero.
    assert {t.cell: t.text for t in figure.texts} == grid_texts
    for text in figure.texts:
        assert text.grid == "input" and not text.on_shade
        kind = ref.grid[text.cell]
        assert text.role == ("faint" if kind in (PADDING, ZERO) else "value"), text
    revealed: list[Text] = []
    for k, step in enumerate(figure.steps):
        window = ref.windows[divmod(k, cols)]
        marks = step.marks
        # The window's values are written again over the shade, and only those.
        values = of_type(marks, Text, grid="input", role="value")
        assert {t.cell: t.text for t in values} == {c: grid_texts[c] for c in window
                                                     if c in grid_texts}, k  # fmt: skip
        assert all(t.on_shade for t in values)
        # The weights, tap by tap.
        weights = of_type(marks, Text, role="weight")
        if kernel is None:
            assert weights == []
        else:
            assert [(t.grid, t.cell, t.text) for t in weights] == [
                ("input", cell, format_value(v))
                for cell, v in zip(window, kernel.ravel(), strict=True)
            ], k
            assert all(t.on_shade for t in weights)
        # The current output, on its shade; the earlier ones revealed for good.
        assert [(t.cell, t.text, t.on_shade) for t in of_type(marks, Text, grid="output")] == [
            (divmod(k, cols), out_texts[k], True)
        ]
        assert all(isinstance(m, Text) and m.grid == "output" for m in step.reveals)
        revealed += step.reveals
        shown = {t.cell: t.text for t in revealed}
        shown[divmod(k, cols)] = out_texts[k]
        assert shown == {divmod(i, cols): t for i, t in enumerate(out_texts) if i <= k}, k
        # Max pooling rings the first maximum in tap order (none over padding only).
        rings = of_type(marks, Ring)
        if winners is None or winners[k] is None:
            assert rings == [], k
        else:
            row, col = winners[k]
            assert rings == [Ring("input", (row + top, col + left))], k
        # The equation ends with the step's output.
        assert step.equation is not None
        assert step.equation.startswith(output_name(divmod(k, cols)) + " = ")
        # "=" when every shown number is exact, "≈" when the result is rounded.
        exact = float(out_texts[k].replace("−", "-").replace("∞", "inf")) == out.ravel()[k]
        assert step.equation.endswith(f" {'=' if exact else '≈'} {out_texts[k]}") or (
            exact and step.equation.endswith(f" ≈ {out_texts[k]}")  # rounded operands
        ), step.equation
    assert len(figure) == out.size


def test_equations_write_out_the_arithmetic() -> None:
    conv = figure_of(CASES["padding_strides"]).steps[0].equation
    # Window (0, 0) on the padded grid: zeros, then 1 2 / 6 7 of the input; weights row-major.
    assert conv == "y₀,₀ = 1·0 + (−2)·0 + 0·0 + 3·0 + 1·1 + (−1)·2 + 0·0 + 2·6 + 1·7 = 18"
    pool = figure_of(CASES["max"]).steps[0].equation
    assert pool == "y₀,₀ = max(3, 1, 9, 2) = 9"
    avg = figure_of(CASES["avg"]).steps[0].equation
    # 14 / 9 = 1.555…: the shown result is rounded, and the equation says so.
    assert avg == "y₀,₀ = (0 + 0 + 0 + 0 + 1 + 2 + 0 + 5 + 6) / 9 ≈ 1.56"


def test_values_for_another_spec_are_refused() -> None:
    values = compute_values(ConvSpec(input_size=4), seed=0)
    with pytest.raises(ValueError, match="another spec"):
        window_figure(ConvSpec(input_size=5), values)


# -- rendered --------------------------------------------------------------------------


def labels_of(figure: MplFigure) -> list[Label]:
    """The visible text labels of a full draw."""
    return [a for a in figure.artists if isinstance(a, Label) and a.get_visible()]


def on_plane(plane: Plane, pixels: np.ndarray) -> np.ndarray:
    """Image pixels back to plane ``(row, col)``."""
    return np.linalg.solve(plane.matrix, (pixels - np.asarray(plane.origin)).T).T


def ink_box(plane: Plane, label: Label) -> tuple[float, float, float, float]:
    """The label's ink on its plane: ``(top, left, bottom, right)`` in cells.

    Glyphs are Bézier curves and an affine map keeps them so: the exact extents
    of the outline (in image pixels) mapped back onto the plane.
    """
    path = label.get_path()
    rc = on_plane(plane, path.vertices)
    extents = MplPath(rc, path.codes).get_extents()
    return (extents.x0, extents.y0, extents.x1, extents.y1)


@pytest.mark.parametrize("layout", ["flat", "oblique"])
def test_labels_sit_inside_their_cells_in_both_layouts(layout: str) -> None:
    case = CASES["padding_strides"]
    renderer = make(case, layout)
    k = 4
    labels = labels_of(renderer.figure_for_step(k))
    step = renderer.figure.steps[k]
    expected = [*renderer.figure.texts, *of_type(step.marks, Text)]
    for earlier in renderer.figure.steps[: k + 1]:
        expected += earlier.reveals
    assert Counter(label.mark for label in labels) == Counter(expected)
    for label in labels:
        assert label.text == label.get_text() == label.mark.text
        r, c = label.mark.cell
        r0, c0, r1, c1 = ink_box(renderer.layout.plane(label.mark.grid), label)
        assert r < r0 < r1 < r + 1 and c < c0 < c1 < c + 1, label.mark
        if label.mark.role == "weight":  # in the lower-right corner
            assert r + 0.5 < r0 and c + 0.3 < c0, label.mark
        else:
            centre = ((r0 + r1) / 2, (c0 + c1) / 2)
            assert np.allclose(centre, (r + 0.5, c + 0.5), atol=0.02), label.mark


@pytest.mark.parametrize("layout", ["flat", "oblique"])
def test_the_ring_is_centred_on_the_winner(layout: str) -> None:
    case = CASES["max"]
    renderer = make(case, layout)
    _, winners = expected_output(case)
    top, _, left, _ = sides(case.spec)
    plane = renderer.layout.plane("input")
    theme = renderer.style.theme
    for k in (0, 4, 8):
        figure = renderer.figure_for_step(k)
        # The ring: the one round outline (a window outline has four corners).
        rings = [
            (a, path) for a in figure.artists if isinstance(a, PolyCollection) and a.get_visible()
            for path in a.get_paths() if len(path.vertices) > 8
        ]  # fmt: skip
        ((ring, path),) = rings
        centre = on_plane(plane, path.vertices[:-1]).mean(axis=0)
        row, col = winners[k]
        assert np.allclose(centre, (row + top + 0.5, col + left + 0.5)), k
        rgb = tuple(round(v * 255) for v in ring.get_edgecolor()[0][:3])
        assert rgb == theme.text_on(theme.shaded(theme.input))


def test_weights_do_not_touch_the_values_they_share_a_cell_with() -> None:
    case = Case(
        ConvSpec(input_size=3, kernel_size=2),
        np.array([[10.0, -12, 3.5], [4.25, 99, -7], [1, 2, 3]]),
        np.array([[-12.0, 0.25], [1, 2]]),
    )
    renderer = make(case)
    plane = renderer.layout.plane("input")
    labels = labels_of(renderer.figure_for_step(0))
    weights = [lab for lab in labels if lab.mark.role == "weight"]
    values = {
        lab.mark.cell: lab for lab in labels if lab.mark.role == "value" and lab.mark.on_shade
    }
    assert [w.mark.cell for w in weights] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for label in weights:
        w = ink_box(plane, label)
        v = ink_box(plane, values[label.mark.cell])
        disjoint = w[0] > v[2] or w[1] > v[3] or v[0] > w[2] or v[1] > w[3]
        assert disjoint, (label.mark.cell, label.text)


def test_numbers_are_legible_at_the_default_size() -> None:
    # Four-character means ("4.33") are the widest ordinary labels.
    spec = ConvSpec(input_size=5, kernel_size=3, mode="avg")
    renderer = _renderer(spec, RenderOptions(numbers=True, seed=5))
    labels = labels_of(renderer.figure_for_step(len(renderer) - 1))
    assert any(len(label.text) >= 4 for label in labels if label.mark.grid == "output")
    for label in labels:
        vertices = label.get_path().vertices
        height = vertices[:, 1].max() - vertices[:, 1].min()
        assert height >= 9.0, (label.text, height)
    conv = _renderer(ConvSpec(input_size=5), RenderOptions(numbers=True))
    weights = [lab for lab in labels_of(conv.figure_for_step(0)) if lab.mark.role == "weight"]
    assert len(weights) == 9
    for label in weights:
        vertices = label.get_path().vertices
        assert vertices[:, 1].max() - vertices[:, 1].min() >= 7.0


def test_padding_and_inserted_zeros_are_faint_and_the_window_full_strength() -> None:
    theme = load_theme()
    faint = np.array(theme.faint_text()) / 255.0
    full = np.array(theme.text_on(theme.input)) / 255.0
    renderer = make(CASES["transposed"])
    labels = labels_of(renderer.figure_for_step(0))
    marks = layout_of(CASES["transposed"].spec).grid
    static = [lab for lab in labels if lab.mark in renderer.figure.texts]
    assert len(static) == marks.size
    for label in static:
        expected = full if marks[label.mark.cell] >= 0 else faint
        assert np.allclose(label.get_facecolor()[:3], expected), label.mark
    # Under the window, every value reads on the shade.
    on_shade = {
        theme.text_on(theme.shaded(theme.input)),
        theme.text_on(theme.shaded(theme.background)),
    }
    window = [lab for lab in labels if lab.mark.on_shade and lab.mark.grid == "input"]
    assert len(window) == 2 * 9  # values and weights
    for label in window:
        rgb = tuple(round(v * 255) for v in label.get_facecolor()[:3])
        assert rgb in on_shade
    (current,) = [lab for lab in labels if lab.mark.grid == "output"]
    rgb = tuple(round(v * 255) for v in current.get_facecolor()[:3])
    assert rgb == theme.text_on(theme.shaded(theme.output))


@pytest.mark.parametrize("layout", ["flat", "oblique"])
@pytest.mark.parametrize("name", ["padding_strides", "max"])
def test_every_streamed_frame_equals_a_full_draw(name: str, layout: str, restore: str) -> None:
    # A frame restores only what the previous one drew over (the labels come
    # and go, the ring moves, the outputs are revealed into the background).
    renderer = make(CASES[name], layout)
    frames = [frame.copy() for frame in renderer.frames()]
    for k, frame in enumerate(frames):
        canvas = FigureCanvasAgg(renderer.figure_for_step(k))
        canvas.draw()
        assert np.array_equal(np.asarray(canvas.buffer_rgba()), frame), k
    # Going back redraws the background without the later outputs.
    scene = render._Scene(renderer, animated=True)
    for k in (6, 2, 7, 1):
        assert np.array_equal(scene.blit(k), frames[k]), k
    assert np.array_equal(renderer.frame(4), frames[4])


def test_numbers_change_only_what_they_should() -> None:
    # The same figure with and without numbers differs where labels are drawn:
    # inside the planes, never in the margin.
    case = CASES["padding_strides"]
    renderer = make(case)
    # Cells grow to fit the weights; the plain figure gets the same cells.
    cell_inch = renderer.cell_px / renderer.style.dpi
    assert cell_inch >= NUMBERS_CELL_INCH
    plain = Renderer(
        window_figure(case.spec), Style(layout="flat", cell_inch=cell_inch, equation=False)
    )
    no_equation = Renderer(renderer.figure, Style(layout="flat", cell_inch=NUMBERS_CELL_INCH,
                                                  equation=False))  # fmt: skip
    assert no_equation.size_px == plain.size_px
    assert renderer.size_px[1] > plain.size_px[1]  # the equation's band
    a, b = no_equation.frame(3), plain.frame(3)
    differs = (a != b).any(axis=2)
    ys, xs = np.nonzero(differs)
    margin = round(0.66 * renderer.layout.cell_px) - 2
    assert len(ys) > 100
    assert ys.min() >= margin and xs.min() >= margin
    assert ys.max() < a.shape[0] - margin and xs.max() < a.shape[1] - margin


def test_the_palette_holds_the_faint_text() -> None:
    renderer = make(CASES["padding_strides"])
    faint = renderer.style.theme.faint_text()
    assert faint in {tuple(int(v) for v in colour) for colour in renderer.palette()}


def test_a_figure_without_numbers_has_smaller_cells_through_the_api() -> None:
    spec = CASES["padding_strides"].spec
    plain = _renderer(spec, RenderOptions())
    numbers = _renderer(spec, RenderOptions(numbers=True))
    assert plain.layout.cell_px < numbers.layout.cell_px
    assert plain.equations is None and numbers.equations is not None
    for a, b in itertools.pairwise(numbers.equations):
        assert a != b
