"""The geometry engine against the brute-force reference (tests/reference.py).

Every spec is checked the same way (:func:`check_against_reference`): sizes,
cell kinds, step order, windows and sources; and the drawn convolution, run on
random values, must equal the reference convolution (for a transposed
convolution: the direct convolution over the drawn grid with the flipped
kernel equals ``conv_transpose2d``, the guide's equivalence).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference import (
    PADDING,
    ZERO,
    conv2d_naive,
    conv_transpose2d_naive,
    direct_layout,
    layout_of,
    slide,
    transposed_layout,
    transposed_sources,
)

from convgif.geometry import CellKind, Geometry
from convgif.spec import ConvSpec, SpecError

FAST = settings(max_examples=150, deadline=None)


# -- the check ---------------------------------------------------------------


def drawn_convolution(geometry: Geometry, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Run the drawing as a direct convolution: real values at input cells, 0 elsewhere.

    The engine's windows list the taps row-major; a transposed convolution is
    drawn with the kernel flipped, so tap ``k`` of the window meets the flipped
    kernel's ``k``-th weight.
    """
    kernel = w[::-1, ::-1] if geometry.spec.transposed else w
    grid_values = np.zeros(geometry.grid_size)
    rows, cols = geometry.grid_size
    for cell in itertools.product(range(rows), range(cols)):
        source = geometry.input_cell(cell)
        if source is not None:
            grid_values[cell] = x[source]
    out = np.zeros(geometry.output_size)
    for step in geometry.steps():
        out[step.output] = sum(
            grid_values[cell] * weight
            for cell, weight in zip(step.window, kernel.ravel(), strict=True)
        )
    return out


def reference_values(spec: ConvSpec, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    if spec.transposed:
        return conv_transpose2d_naive(
            x, w, spec.padding, spec.stride, spec.dilation, spec.output_padding
        )
    return conv2d_naive(x, w, spec.padding, spec.stride, spec.dilation)


def check_against_reference(spec: ConvSpec) -> None:
    """Assert that the engine agrees with the reference on everything it yields."""
    geometry = Geometry(spec)
    ref = layout_of(spec)
    out_h, out_w = ref.output_size
    assert out_h >= 1 and out_w >= 1, "the spec accepted an empty convolution"
    assert spec.output_size == geometry.output_size == ref.output_size
    assert spec.grid_size == geometry.grid_size == ref.grid.shape

    # The drawn grid: kinds and the input cell shown at each cell.
    width = spec.input_size[1]
    expected_kind = {PADDING: CellKind.PADDING, ZERO: CellKind.ZERO}
    kinds = geometry.cell_kinds()
    assert len(kinds) == ref.grid.shape[0]
    for (r, c), mark in np.ndenumerate(ref.grid):
        kind = expected_kind.get(int(mark), CellKind.INPUT)
        assert kinds[r][c] == geometry.cell_kind((r, c)) == kind, (r, c)
        shown = geometry.input_cell((r, c))
        assert shown == (divmod(int(mark), width) if mark >= 0 else None), (r, c)
        if shown is not None:
            assert geometry.grid_cell(shown) == (r, c)
    if not spec.transposed:
        assert all(k != CellKind.ZERO for row in kinds for k in row)

    # The steps: one per output cell, row-major.
    steps = list(geometry.steps())
    assert len(steps) == len(geometry) == spec.step_count == out_h * out_w
    assert [s.index for s in steps] == list(range(out_h * out_w))
    assert [s.output for s in steps] == list(itertools.product(range(out_h), range(out_w)))
    (dh, dw), (kh, kw) = spec.dilation, spec.kernel_size
    for step in steps:
        assert geometry.step(step.index) == step
        assert len(step.window) == kh * kw
        top, left = step.window[0]
        assert list(step.window) == [
            (top + a * dh, left + b * dw) for a in range(kh) for b in range(kw)
        ]
        assert all(
            0 <= r < ref.grid.shape[0] and 0 <= c < ref.grid.shape[1] for r, c in step.window
        )
        assert step.window == ref.windows[step.output]
        assert step.window == geometry.kernel_window(step.output)
        # A window cell gives a source exactly when it is a real input cell.
        from_kinds = [
            geometry.input_cell(cell)
            for cell in step.window
            if geometry.cell_kind(cell) == CellKind.INPUT
        ]
        assert list(step.sources) == from_kinds
        assert None not in from_kinds
        assert len(set(step.sources)) == len(step.sources)
        assert frozenset(step.sources) == ref.sources[step.output], step.output

    # The drawing, run on values, is the convolution it shows.
    rng = np.random.default_rng(sum(spec.input_size + spec.kernel_size))
    x = rng.integers(-4, 5, size=spec.input_size).astype(float)
    w = rng.integers(-4, 5, size=spec.kernel_size).astype(float)
    np.testing.assert_array_equal(drawn_convolution(geometry, x, w), reference_values(spec, x, w))


# -- strategies --------------------------------------------------------------


@st.composite
def direct_axis(draw: st.DrawFn) -> dict[str, int]:
    """One axis of a direct convolution that fits (input + padding >= dilated kernel)."""
    k = draw(st.integers(1, 4))
    d = draw(st.integers(1, 3))
    before, after = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    smallest = max(1, d * (k - 1) + 1 - before - after)
    i = draw(st.integers(smallest, smallest + 5))
    return {"i": i, "k": k, "s": draw(st.integers(1, 3)), "d": d, "before": before, "after": after}


@st.composite
def transposed_axis(draw: st.DrawFn) -> dict[str, int]:
    """One axis of a transposed convolution with a non-empty output.

    The padding goes past ``d·(k−1)`` (cropping the drawn grid) when the
    output allows it.
    """
    i, k = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    op = draw(st.integers(0, max(s, d) - 1))
    croppable = (i - 1) * s + d * (k - 1) + op  # the output keeps at least one cell
    before = draw(st.integers(0, min(croppable, d * (k - 1) + 2)))
    after = draw(st.integers(0, min(croppable - before, d * (k - 1) + 2)))
    return {"i": i, "k": k, "s": s, "d": d, "op": op, "before": before, "after": after}


def spec_from_axes(rows: dict[str, int], cols: dict[str, int], transposed: bool) -> ConvSpec:
    return ConvSpec(
        input_size=(rows["i"], cols["i"]),
        kernel_size=(rows["k"], cols["k"]),
        padding=(rows["before"], rows["after"], cols["before"], cols["after"]),
        stride=(rows["s"], cols["s"]),
        dilation=(rows["d"], cols["d"]),
        transposed=transposed,
        output_padding=(rows.get("op", 0), cols.get("op", 0)),
    )


# -- the sweeps --------------------------------------------------------------


@FAST
@given(direct_axis(), direct_axis())
def test_direct_convolutions_match_the_reference(rows, cols):
    check_against_reference(spec_from_axes(rows, cols, transposed=False))


@FAST
@given(transposed_axis(), transposed_axis())
def test_transposed_convolutions_match_the_reference(rows, cols):
    check_against_reference(spec_from_axes(rows, cols, transposed=True))


@settings(max_examples=100, deadline=None)
@given(
    i=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    name=st.sampled_from(["valid", "same", "full"]),
)
@example(i=(5, 6), k=(3, 2), s=(2, 2), d=(1, 1), name="same")  # asymmetric, TensorFlow-style
@example(i=(1, 1), k=(1, 1), s=(1, 1), d=(1, 1), name="same")
def test_named_padding_matches_the_reference(i, k, s, d, name):
    try:
        spec = ConvSpec(input_size=i, kernel_size=k, padding=name, stride=s, dilation=d)
    except SpecError:
        # Only "valid" can leave the kernel larger than the input.
        assert name == "valid"
        assert reference_layout_size(i, k, (0, 0, 0, 0), s, d) == 0
        return
    check_against_reference(spec)


def reference_layout_size(i, k, padding, s, d) -> int:
    h, w = direct_layout(i, k, padding, s, d).output_size
    return h * w


EDGE_SPECS = [
    # 1x1 kernels
    ConvSpec(input_size=4, kernel_size=1),
    ConvSpec(input_size=(3, 5), kernel_size=1, stride=2, padding=(1, 0, 0, 2)),
    ConvSpec(input_size=3, kernel_size=1, stride=2, transposed=True, output_padding=1),
    ConvSpec(input_size=3, kernel_size=1, dilation=3, transposed=True, output_padding=2),
    # 1-pixel inputs
    ConvSpec(input_size=1, kernel_size=1),
    ConvSpec(input_size=1, kernel_size=3, padding=1),
    ConvSpec(input_size=1, kernel_size=3, padding="full", dilation=2),
    ConvSpec(input_size=1, kernel_size=3, transposed=True),
    ConvSpec(input_size=1, kernel_size=(3, 2), stride=3, transposed=True, output_padding=(2, 1)),
    ConvSpec(input_size=1, kernel_size=3, padding=(2, 0, 0, 2), transposed=True),
    # non-square everything
    ConvSpec(input_size=(4, 7), kernel_size=(2, 3), padding=(0, 1, 2, 0), stride=(1, 2)),
    ConvSpec(input_size=(6, 4), kernel_size=(3, 2), stride=(2, 3), dilation=(2, 1)),
    # transposed padding larger than d(k-1): the drawn grid is cropped into the input
    ConvSpec(input_size=4, kernel_size=2, padding=3, stride=2, transposed=True),
    ConvSpec(input_size=(5, 3), kernel_size=3, padding=(4, 1, 0, 3), stride=3, transposed=True),
    # asymmetric transposed padding crops those sides of the full output
    ConvSpec(input_size=3, kernel_size=3, padding=(0, 2, 1, 0), stride=2, transposed=True),
    ConvSpec(input_size=3, kernel_size=4, padding="same", stride=2, transposed=True),
    ConvSpec(input_size=(3, 2), kernel_size=3, padding="same", stride=(1, 3), transposed=True),
    # output padding reaching past the scattered canvas (output_padding > padding)
    ConvSpec(input_size=2, kernel_size=2, stride=3, transposed=True, output_padding=2),
    ConvSpec(input_size=2, kernel_size=2, dilation=3, transposed=True, output_padding=(2, 1)),
]


@pytest.mark.parametrize("spec", EDGE_SPECS, ids=[s.slug() for s in EDGE_SPECS])
def test_edge_cases_match_the_reference(spec):
    check_against_reference(spec)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_steps_are_those_of_the_convolution(mode):
    spec = ConvSpec(input_size=(5, 6), kernel_size=(3, 2), padding=(1, 0, 1, 1), stride=(2, 1))
    pool = ConvSpec(
        input_size=spec.input_size,
        kernel_size=spec.kernel_size,
        padding=spec.padding,
        stride=spec.stride,
        mode=mode,
    )
    check_against_reference(pool)
    assert list(Geometry(pool).steps()) == list(Geometry(spec).steps())


def test_step_out_of_range_is_an_index_error():
    geometry = Geometry(ConvSpec(input_size=4, kernel_size=3))
    with pytest.raises(IndexError):
        geometry.step(len(geometry))
    with pytest.raises(IndexError):
        geometry.step(-1)


def test_cropped_input_cells_have_no_grid_cell():
    # Padding 3 > d(k-1) = 1 crops the first input row/column out of the drawing.
    geometry = Geometry(ConvSpec(input_size=4, kernel_size=2, padding=3, stride=2, transposed=True))
    with pytest.raises(IndexError):
        geometry.grid_cell((0, 0))
    with pytest.raises(IndexError):
        geometry.grid_cell((4, 1))  # out of range


# -- validity: the spec accepts exactly the non-empty convolutions ------------


@settings(max_examples=200, deadline=None)
@given(
    i=st.integers(1, 5),
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    d=st.integers(1, 3),
    before=st.integers(0, 6),
    after=st.integers(0, 6),
    transposed=st.booleans(),
    op_seed=st.integers(0, 10),
)
def test_spec_accepts_exactly_the_nonempty_convolutions(
    i, k, s, d, before, after, transposed, op_seed
):
    op = op_seed % max(s, d) if transposed else 0  # a legal output padding
    padding = (before, after, 0, 0)
    if transposed:
        (out_h, _), _ = transposed_sources((i, 1), (k, 1), padding, (s, 1), (d, 1), (op, 0))
    else:
        out_h = direct_layout((i, 1), (k, 1), padding, (s, 1), (d, 1)).output_size[0]
    make = lambda: ConvSpec(  # noqa: E731
        input_size=(i, 1),
        kernel_size=(k, 1),
        padding=padding,
        stride=(s, 1),
        dilation=(d, 1),
        transposed=transposed,
        output_padding=(op, 0),
    )
    if out_h >= 1:
        assert make().output_size[0] == out_h
    else:
        with pytest.raises(SpecError, match=r"^--(padding|kernel-size): "):
            make()


# -- the 15 figures of conv_arithmetic ----------------------------------------

# (name, i, k, p, s, d, transposed, output_padding, output, frames): the table
# in shared/anchor-gallery/README.md.
FIGURES = [
    ("no_padding_no_strides", 4, 3, 0, 1, 1, False, 0, 2, 4),
    ("arbitrary_padding_no_strides", 5, 4, 2, 1, 1, False, 0, 6, 36),
    ("same_padding_no_strides", 5, 3, 1, 1, 1, False, 0, 5, 25),
    ("full_padding_no_strides", 5, 3, 2, 1, 1, False, 0, 7, 49),
    ("no_padding_strides", 5, 3, 0, 2, 1, False, 0, 2, 4),
    ("padding_strides", 5, 3, 1, 2, 1, False, 0, 3, 9),
    ("padding_strides_odd", 6, 3, 1, 2, 1, False, 0, 3, 9),
    ("dilation", 7, 3, 0, 1, 2, False, 0, 3, 9),
    ("no_padding_no_strides_transposed", 2, 3, 0, 1, 1, True, 0, 4, 16),
    ("arbitrary_padding_no_strides_transposed", 6, 4, 2, 1, 1, True, 0, 5, 25),
    ("same_padding_no_strides_transposed", 5, 3, 1, 1, 1, True, 0, 5, 25),
    ("full_padding_no_strides_transposed", 7, 3, 2, 1, 1, True, 0, 5, 25),
    ("no_padding_strides_transposed", 2, 3, 0, 2, 1, True, 0, 5, 25),
    ("padding_strides_transposed", 3, 3, 1, 2, 1, True, 0, 5, 25),
    ("padding_strides_odd_transposed", 3, 3, 1, 2, 1, True, 1, 6, 36),
]


@pytest.mark.parametrize(
    ("name", "i", "k", "p", "s", "d", "transposed", "op", "output", "frames"),
    FIGURES,
    ids=[f[0] for f in FIGURES],
)
def test_conv_arithmetic_figures(name, i, k, p, s, d, transposed, op, output, frames):
    spec = ConvSpec(
        input_size=i,
        kernel_size=k,
        padding=p,
        stride=s,
        dilation=d,
        transposed=transposed,
        output_padding=op,
    )
    assert spec.output_size == (output, output)
    assert spec.step_count == len(Geometry(spec)) == len(list(Geometry(spec).steps())) == frames
    check_against_reference(spec)


def test_figure_table_pairs_each_transposed_figure_with_its_forward_convolution():
    # A transposed figure maps the forward figure's output back to its input size.
    direct = {f[0]: f for f in FIGURES if not f[6]}
    for name, i, k, p, s, _d, transposed, _op, output, _frames in FIGURES:
        if transposed:
            forward = direct[name.removesuffix("_transposed")]
            assert (forward[1], forward[2], forward[3], forward[4]) == (output, k, p, s)
            assert forward[8] == i


# -- the reference itself ------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(transposed_axis(), transposed_axis())
def test_reference_drawing_is_the_scattering(rows, cols):
    """Inside the reference: the guide's drawing reads what scattering writes."""
    args = (
        (rows["i"], cols["i"]),
        (rows["k"], cols["k"]),
        (rows["before"], rows["after"], cols["before"], cols["after"]),
        (rows["s"], cols["s"]),
        (rows["d"], cols["d"]),
        (rows["op"], cols["op"]),
    )
    ref = transposed_layout(*args)
    size, _windows, drawn_sources = slide(ref.grid, args[0][1], args[1], 1, args[4])
    assert size == ref.output_size
    assert drawn_sources == ref.sources


# -- PyTorch cross-checks (skipped without torch) ------------------------------


def _torch_dependencies(spec: ConvSpec):
    """Output size and dependency sets from PyTorch, one one-hot input per batch item."""
    torch = pytest.importorskip("torch")
    functional = pytest.importorskip("torch.nn.functional")
    h, w = spec.input_size
    one_hots = torch.eye(h * w, dtype=torch.float64).reshape(h * w, 1, h, w)
    ones = torch.ones((1, 1, *spec.kernel_size), dtype=torch.float64)
    t, _, left, _ = spec.padding
    if spec.transposed:
        out = functional.conv_transpose2d(
            one_hots,
            ones,
            stride=spec.stride,
            padding=(t, left),
            output_padding=spec.output_padding,
            dilation=spec.dilation,
        )
    else:
        out = functional.conv2d(
            one_hots, ones, stride=spec.stride, padding=(t, left), dilation=spec.dilation
        )
    reached = (out[:, 0] > 0).numpy()  # (input cell, out_h, out_w)
    size = reached.shape[1:]
    sources = {
        cell: frozenset(divmod(int(n), w) for n in np.flatnonzero(reached[:, cell[0], cell[1]]))
        for cell in itertools.product(range(size[0]), range(size[1]))
    }
    return tuple(size), sources


@st.composite
def symmetric_axis(draw: st.DrawFn, transposed: bool) -> dict[str, int]:
    """One axis with equal padding on both sides (what PyTorch's padding argument takes).

    More padding keeps a direct convolution non-empty; less keeps a transposed one.
    """
    values = draw(transposed_axis() if transposed else direct_axis())
    pad = (min if transposed else max)(values["before"], values["after"])
    return {**values, "before": pad, "after": pad}


@settings(max_examples=40, deadline=None)
@given(st.booleans(), st.data())
def test_dependencies_match_pytorch(transposed, data):
    pytest.importorskip("torch")
    rows, cols = data.draw(symmetric_axis(transposed)), data.draw(symmetric_axis(transposed))
    spec = spec_from_axes(rows, cols, transposed)
    size, sources = _torch_dependencies(spec)
    geometry = Geometry(spec)
    assert geometry.output_size == size
    for step in geometry.steps():
        assert frozenset(step.sources) == sources[step.output]


@settings(max_examples=40, deadline=None)
@given(st.booleans(), st.data())
def test_reference_values_match_pytorch(transposed, data):
    torch = pytest.importorskip("torch")
    functional = pytest.importorskip("torch.nn.functional")
    rows, cols = data.draw(symmetric_axis(transposed)), data.draw(symmetric_axis(transposed))
    i, k = (rows["i"], cols["i"]), (rows["k"], cols["k"])
    s, d, p = (rows["s"], cols["s"]), (rows["d"], cols["d"]), (rows["before"], cols["before"])
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal(i), rng.standard_normal(k)
    tx, tw = (torch.from_numpy(a)[None, None] for a in (x, w))
    if transposed:
        op = (rows["op"], cols["op"])
        ours = conv_transpose2d_naive(x, w, p, s, d, op)
        theirs = functional.conv_transpose2d(
            tx, tw, stride=s, padding=p, output_padding=op, dilation=d
        )
    else:
        ours = conv2d_naive(x, w, p, s, d)
        theirs = functional.conv2d(tx, tw, stride=s, padding=p, dilation=d)
    np.testing.assert_allclose(ours, theirs[0, 0].numpy(), atol=1e-12)


def test_same_padding_matches_pytorch_at_stride_1():
    torch = pytest.importorskip("torch")
    functional = pytest.importorskip("torch.nn.functional")
    rng = np.random.default_rng(3)
    for i, k, d in itertools.product((1, 4, 5), (1, 2, 3, 4), (1, 2)):
        spec = ConvSpec(input_size=(i, i + 1), kernel_size=(k, 5 - k), padding="same", dilation=d)
        x, w = rng.standard_normal(spec.input_size), rng.standard_normal(spec.kernel_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # even kernels warn about an extra copy
            theirs = functional.conv2d(
                torch.from_numpy(x)[None, None],
                torch.from_numpy(w)[None, None],
                padding="same",
                dilation=d,
            )
        ours = conv2d_naive(x, w, spec.padding, 1, d)
        np.testing.assert_allclose(ours, theirs[0, 0].numpy(), atol=1e-12)
