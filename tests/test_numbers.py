"""The numbers layer: artists checked against naive references, not against convgif's maths.

Expected numbers come from tests/value_reference.py (loops from the
definitions) and the drawn grid and windows from tests/reference.py; the
input and kernel values are given explicitly, so nothing expected is copied
from the code under test. Positions are checked by mapping each label's ink
back onto its plane with the plane's affine map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.path import Path as MplPath
from reference import layout_of
from value_reference import avg_pool2d, conv2d, conv_transpose2d, max_pool2d, padded_value

from convgif import render
from convgif.api import RenderOptions, _renderer
from convgif.layout import Plane
from convgif.numbers import Label, NumbersLayer
from convgif.render import NUMBERS_CELL_INCH, Renderer, Style, Surface
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
}


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


def make(case: Case, layout: str = "flat") -> tuple[Renderer, NumbersLayer]:
    values = compute_values(
        case.spec,
        input_values=case.x,
        kernel_values=case.w,
        padding_mode=case.padding_mode,
        flip=case.flip,
    )
    layer = NumbersLayer(values)
    style = Style(layout=layout, cell_inch=NUMBERS_CELL_INCH)  # type: ignore[arg-type]
    return Renderer(case.spec, style, layers=[layer]), layer


def pixel_path(label: Label) -> np.ndarray:
    """A label's outline in image pixels, after any offset transform it carries."""
    figure = label.figure
    assert figure is not None
    to_pixels = label.get_transform() - Surface(figure, *figure.canvas.get_width_height()).transform
    return to_pixels.transform(label.get_path().vertices)


def on_plane(plane: Plane, pixels: np.ndarray) -> np.ndarray:
    """Image pixels back to plane ``(row, col)``."""
    return np.linalg.solve(plane.matrix, (pixels - np.asarray(plane.origin)).T).T


def ink_box(plane: Plane, label: Label) -> tuple[float, float, float, float]:
    """The label's ink on its plane: ``(top, left, bottom, right)`` in cells.

    Glyphs are Bézier curves and an affine map keeps them so: the exact extents
    of the outline mapped back onto the plane (control points excluded).
    """
    rc = on_plane(plane, pixel_path(label))
    box = MplPath(rc, label.get_path().codes).get_extents()
    return (box.x0, box.y0, box.x1, box.y1)


@pytest.mark.parametrize("name", list(CASES))
def test_every_frame_shows_the_reference_numbers(name: str) -> None:
    case = CASES[name]
    renderer, layer = make(case)
    ref = layout_of(case.spec)
    out, winners = expected_output(case)
    out_texts = [format_value(v) for v in out.ravel()]
    grid_texts = expected_grid_texts(case)
    plane = renderer.layout.input
    top, _, left, _ = sides(case.spec)
    cols = out.shape[1]
    kernel = None
    if case.w is not None:
        flipped = case.spec.transposed or case.flip
        kernel = case.w[::-1, ::-1] if flipped else case.w
    frames = 0
    for k, _frame in enumerate(renderer.frames()):
        frames += 1
        # Outputs: computed ones show their value, the rest are empty.
        assert layer.visible_output_texts() == [
            t if i <= k else "" for i, t in enumerate(out_texts)
        ], k
        # Every drawn cell says its value.
        assert {c: lab.get_text() for c, lab in layer.input_labels.items()} == grid_texts
        # The window's cells are redrawn over the shade, and only those.
        window = ref.windows[divmod(k, cols)]
        shown = {c for c, lab in layer.window_labels.items() if lab.get_visible()}
        assert shown == {c for c in window if c in grid_texts}
        # The weights, tap by tap, in the lower-right corner of their cells.
        if kernel is None:
            assert layer.weight_labels == []
        else:
            texts = [lab.get_text() for lab in layer.weight_labels]
            assert texts == [format_value(v) for v in kernel.ravel()]
            for label, (r, c) in zip(layer.weight_labels, window, strict=True):
                r0, c0, r1, c1 = ink_box(plane, label)
                assert r + 0.5 < r0 and r1 < r + 1 and c + 0.3 < c0 and c1 < c + 1, (k, r, c)
        # Max pooling rings the first maximum in tap order.
        if winners is None:
            assert layer.ring is None
        else:
            assert layer.ring is not None and layer.ring.get_visible()
            centre = on_plane(plane, layer.ring.get_xy()[:-1]).mean(axis=0)
            row, col = winners[k]
            assert np.allclose(centre, (row + top + 0.5, col + left + 0.5)), k
    assert frames == out.size


@pytest.mark.parametrize("layout", ["flat", "oblique"])
def test_labels_sit_inside_their_cells_in_both_layouts(layout: str) -> None:
    renderer, layer = make(CASES["padding_strides"], layout)
    renderer.figure_for_step(4)
    for (r, c), label in layer.input_labels.items():
        r0, c0, r1, c1 = ink_box(renderer.layout.input, label)
        assert r < r0 < r1 < r + 1 and c < c0 < c1 < c + 1
        centre = ((r0 + r1) / 2, (c0 + c1) / 2)
        assert np.allclose(centre, (r + 0.5, c + 0.5), atol=0.02)
    for index, label in enumerate(layer.output_labels):
        r, c = divmod(index, renderer.layout.output.cols)
        r0, c0, r1, c1 = ink_box(renderer.layout.output, label)
        assert r < r0 < r1 < r + 1 and c < c0 < c1 < c + 1


def test_weights_do_not_touch_the_values_they_share_a_cell_with() -> None:
    case = Case(
        ConvSpec(input_size=3, kernel_size=2),
        np.array([[10.0, -12, 3.5], [4.25, 99, -7], [1, 2, 3]]),
        np.array([[-12.0, 0.25], [1, 2]]),
    )
    renderer, layer = make(case)
    renderer.figure_for_step(0)
    plane = renderer.layout.input
    for label, cell in zip(layer.weight_labels, ((0, 0), (0, 1), (1, 0), (1, 1)), strict=True):
        w = ink_box(plane, label)
        v = ink_box(plane, layer.window_labels[cell])
        disjoint = w[0] > v[2] or w[1] > v[3] or v[0] > w[2] or v[1] > w[3]
        assert disjoint, (cell, label.get_text())


def test_numbers_are_legible_at_the_default_size() -> None:
    # Four-character means ("4.33") are the widest ordinary labels.
    spec = ConvSpec(input_size=5, kernel_size=3, mode="avg")
    renderer = _renderer(spec, RenderOptions(numbers=True, seed=5))
    (layer,) = renderer.layers
    assert isinstance(layer, NumbersLayer)
    renderer.figure_for_step(0)
    assert any(len(label.text) == 4 for label in layer.output_labels)
    for label in [*layer.input_labels.values(), *layer.output_labels]:
        pixels = pixel_path(label)
        height = pixels[:, 1].max() - pixels[:, 1].min()
        assert height >= 9.0, (label.get_text(), height)
    conv = _renderer(ConvSpec(input_size=5), RenderOptions(numbers=True))
    (conv_layer,) = conv.layers
    conv.figure_for_step(0)
    for label in conv_layer.weight_labels:  # type: ignore[attr-defined]
        pixels = pixel_path(label)
        assert pixels[:, 1].max() - pixels[:, 1].min() >= 7.0


def test_padding_and_inserted_zeros_are_faint_and_the_window_full_strength() -> None:
    theme = load_theme()
    faint = np.array(theme.faint_text()) / 255.0
    full = np.array(theme.text_on(theme.input)) / 255.0
    renderer, layer = make(CASES["transposed"])
    renderer.figure_for_step(0)
    marks = layout_of(CASES["transposed"].spec).grid
    for cell, label in layer.input_labels.items():
        expected = full if marks[cell] >= 0 else faint
        assert np.allclose(label.get_facecolor()[:3], expected), cell
    # Under the window, every value reads on the shade.
    on_shade = {
        theme.text_on(theme.shaded(theme.input)),
        theme.text_on(theme.shaded(theme.background)),
    }
    for label in layer.window_labels.values():
        rgb = tuple(round(v * 255) for v in label.get_facecolor()[:3])
        assert rgb in on_shade


@pytest.mark.parametrize("layout", ["flat", "oblique"])
def test_frames_equal_full_draws_in_any_order(layout: str, restore: str) -> None:
    renderer, _ = make(CASES["max"], layout)
    frames = [frame.copy() for frame in renderer.frames()]
    for k in (0, 4, len(frames) - 1):
        canvas = FigureCanvasAgg(renderer.figure_for_step(k))
        canvas.draw()
        assert np.array_equal(np.asarray(canvas.buffer_rgba()), frames[k]), k
        assert np.array_equal(renderer.frame(k), frames[k])
    # Going back redraws the background without the later outputs.
    from convgif.render import _Scene

    scene = _Scene(renderer, animated=True)
    steps = list(renderer.geometry.steps())
    for k in (6, 2, 7, 1):
        assert np.array_equal(scene.blit(steps[k]), frames[k]), k


def test_numbers_change_only_what_they_should() -> None:
    # The same figure with and without numbers differs where labels are drawn:
    # inside the planes, never in the margin.
    spec = CASES["padding_strides"].spec
    renderer, _ = make(CASES["padding_strides"])
    plain = Renderer(spec, Style(layout="flat", cell_inch=NUMBERS_CELL_INCH))
    a, b = renderer.frame(3), plain.frame(3)
    differs = (a != b).any(axis=2)
    ys, xs = np.nonzero(differs)
    margin = round(0.66 * renderer.layout.cell_px) - 2
    assert len(ys) > 100
    assert ys.min() >= margin and xs.min() >= margin
    assert ys.max() < a.shape[0] - margin and xs.max() < a.shape[1] - margin


def test_a_max_pooling_window_over_padding_only_rings_nothing() -> None:
    # A dilated window on a one-column input: its two taps are both padding
    # (the output is -inf, as PyTorch gives).
    spec = ConvSpec(input_size=(2, 1), kernel_size=(1, 2), padding=(0, 0, 1, 1),
                    dilation=(1, 2), mode="max")  # fmt: skip
    case = Case(spec, np.array([[4.0], [7.0]]))
    renderer, layer = make(case)
    out, winners = expected_output(case)
    for k, _ in enumerate(renderer.frames()):
        assert layer.ring is not None
        assert layer.ring.get_visible() == (winners[k] is not None)
    assert layer.visible_output_texts() == [format_value(v) for v in out.ravel()]


def test_the_palette_holds_the_faint_text() -> None:
    renderer, _ = make(CASES["padding_strides"])
    faint = renderer.style.theme.faint_text()
    assert faint in {tuple(int(v) for v in colour) for colour in renderer.palette()}


def test_values_for_another_spec_are_refused() -> None:
    values = compute_values(ConvSpec(input_size=4), seed=0)
    with pytest.raises(ValueError, match="another spec"):
        Renderer(ConvSpec(input_size=5), layers=[NumbersLayer(values)]).frame(0)


@pytest.mark.parametrize("layout", ["flat", "oblique"])
@pytest.mark.parametrize("name", ["padding_strides", "max"])
def test_every_streamed_frame_equals_a_full_draw(name: str, layout: str, restore: str) -> None:
    # A frame restores only what the previous one drew over (the weights move
    # by an offset transform, the ring and the labels come and go).
    renderer, _ = make(CASES[name], layout)
    frames = [frame.copy() for frame in renderer.frames()]
    for k, frame in enumerate(frames):
        canvas = FigureCanvasAgg(renderer.figure_for_step(k))
        canvas.draw()
        assert np.array_equal(np.asarray(canvas.buffer_rgba()), frame), k
