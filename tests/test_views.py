"""The views of one convolution: patch matrix, convolution matrix, scatter-and-sum.

Checked against the naive loops of ``reference`` (unfold by sliding, matrices
column by column from unit inputs, dependency sets by scattering) over a
seeded sweep of specs with channels and groups, and against PyTorch
(``unfold``, the Jacobians of ``conv2d`` / ``conv_transpose2d``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import reference as ref
from click.testing import CliRunner

from convgif.api import RenderOptions, default_output
from convgif.cli import cli
from convgif.errors import ConvgifError, RenderError
from convgif.spec import ConvSpec, SpecError
from convgif.values import compute_values
from convgif.views import (
    MAX_DRAWN_CELLS,
    NO_TAP,
    PADDING_SOURCE,
    ZERO_SOURCE,
    Channels,
    check_legible,
    check_view,
    convolution_matrix,
    im2col,
    im2col_product,
    kernel_rows,
    scatter,
    symbol,
    symbol_table,
)


# -- the sweep ----------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """A spec, its channels, and random values for it."""

    spec: ConvSpec
    channels: Channels
    x: np.ndarray  # C×H×W
    w: np.ndarray | None  # PyTorch's weight shape; None for pooling
    padding_mode: str

    @property
    def kwargs(self) -> dict[str, int]:
        c = self.channels
        return {"in_channels": c.in_channels, "out_channels": c.out_channels, "groups": c.groups}

    def __repr__(self) -> str:
        c = self.channels
        return (
            f"{self.spec.slug()}-c{c.in_channels}-m{c.out_channels}-g{c.groups}-{self.padding_mode}"
        )


def _random_case(rng: np.random.Generator) -> Case | None:
    kind = str(rng.choice(["conv", "conv", "transposed", "transposed", "max", "avg"]))
    transposed = kind == "transposed"
    stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
    dilation = (1, 1) if kind == "avg" else tuple(int(d) for d in rng.integers(1, 3, size=2))
    output_padding = (0, 0)
    if transposed:
        output_padding = tuple(
            int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation, strict=True)
        )
    kernel_size = tuple(int(k) for k in rng.integers(1, 4, size=2))
    padding = [int(p) for p in rng.integers(0, 3, size=4)]
    if kind in ("max", "avg"):  # PyTorch pools with at most half the kernel as padding
        padding = [min(p, kernel_size[n // 2] // 2) for n, p in enumerate(padding)]
    try:
        spec = ConvSpec(
            input_size=tuple(int(n) for n in rng.integers(1, 6, size=2)),
            kernel_size=kernel_size,
            padding=tuple(padding),
            stride=stride,
            dilation=dilation,
            transposed=transposed,
            output_padding=output_padding,
            mode="conv" if transposed else kind,
        )
    except SpecError:
        return None
    groups = int(rng.integers(1, 3))
    in_channels = groups * int(rng.integers(1, 3))
    out_channels = groups * int(rng.integers(1, 3))
    if spec.mode != "conv":
        out_channels = groups = in_channels
    channels = Channels(in_channels, out_channels, groups)
    x = rng.integers(-3, 4, size=(in_channels, *spec.input_size)).astype(float)
    w = None
    if spec.mode == "conv":
        w = rng.integers(-2, 3, size=channels.weight_shape(spec)).astype(float)
    padding_mode = "zeros"
    if spec.mode == "conv" and not transposed and rng.integers(4) == 0:
        padding_mode = str(rng.choice(["reflect", "replicate", "circular"]))
        t, b, left, r = spec.padding
        h, wd = spec.input_size
        if max(t, b) >= h or max(left, r) >= wd:  # PyTorch's limits for reflect (the tightest)
            padding_mode = "zeros"
    return Case(spec, channels, x, w, padding_mode)


def _sweep(count: int, seed: int = 11) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    while len(cases) < count:
        case = _random_case(rng)
        if case is not None:
            cases.append(case)
    return cases


CASES = _sweep(120)
CONV = [c for c in CASES if c.spec.mode == "conv"]
DIRECT = [c for c in CONV if not c.spec.transposed]
TRANSPOSED = [c for c in CONV if c.spec.transposed]


def test_sweep_covers_every_kind() -> None:
    assert len(DIRECT) >= 25 and len(TRANSPOSED) >= 25
    assert sum(c.spec.mode == "max" for c in CASES) >= 10
    assert sum(c.spec.mode == "avg" for c in CASES) >= 10
    assert sum(c.channels.groups > 1 for c in CONV) >= 10
    assert sum(c.channels.in_channels != c.channels.out_channels for c in CONV) >= 10
    assert sum(any(c.spec.output_padding) for c in TRANSPOSED) >= 5
    assert sum(min(c.spec.display_padding) < 0 for c in TRANSPOSED) >= 3
    assert sum(c.spec.padding[0] != c.spec.padding[1] for c in CASES) >= 20
    assert sum(c.padding_mode != "zeros" for c in DIRECT) >= 3


def naive_output(case: Case, x: np.ndarray | None = None) -> np.ndarray:
    """The reference's output of a convolution, ``M×Ho×Wo``."""
    spec, groups = case.spec, case.channels.groups
    x = case.x if x is None else x
    args = (spec.padding, spec.stride, spec.dilation)
    if spec.transposed:
        return ref.conv_transpose2d_groups_naive(x, case.w, *args, spec.output_padding, groups)
    return ref.conv2d_groups_naive(x, case.w, *args, groups)


def _numpy_pad_mode(padding_mode: str) -> str:
    return {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[padding_mode]


def reference_grid(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """The drawn grid of values (``C×Gh×Gw``) and of input indices (marks), from ``reference``."""
    spec = case.spec
    args = (spec.input_size, spec.kernel_size, spec.padding, spec.stride, spec.dilation)
    t, b, left, r = spec.padding
    if spec.transposed:
        marks = ref.transposed_drawn_grid(*args, spec.output_padding)
    else:
        marks = ref.padded_grid(spec.input_size, spec.padding)
    planes = []
    for plane in case.x:
        flat = plane.ravel()
        if case.padding_mode != "zeros":
            mode = _numpy_pad_mode(case.padding_mode)
            planes.append(np.pad(plane, ((t, b), (left, r)), mode=mode))
        else:
            fill = np.nan if spec.mode == "max" else 0.0
            planes.append(np.where(marks >= 0, flat[np.maximum(marks, 0)], fill))
    return np.stack(planes), marks


# -- im2col --------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_im2col_matches_naive_unfold(case: Case) -> None:
    spec = case.spec
    patches = im2col(spec, case.x, padding_mode=case.padding_mode, **_in(case))
    grid, marks = reference_grid(case)
    stride = spec.display_stride
    expected = ref.unfold_naive(grid, spec.kernel_size, stride, spec.dilation)
    np.testing.assert_array_equal(patches.values, expected)
    # The structure: which input cell (flat, over channels) or mark each entry holds.
    h, w = spec.input_size
    channel_marks = np.stack(
        [np.where(marks >= 0, marks + c * h * w, marks) for c in range(case.channels.in_channels)]
    )
    sources = ref.unfold_naive(channel_marks, spec.kernel_size, stride, spec.dilation)
    kind = {ref.PADDING: PADDING_SOURCE, ref.ZERO: ZERO_SOURCE}
    expected_sources = np.vectorize(lambda m: kind.get(int(m), int(m)))(sources)
    np.testing.assert_array_equal(patches.sources, expected_sources)
    assert patches.shape == expected.shape
    assert not patches.sources.flags.writeable and not patches.values.flags.writeable


def _in(case: Case) -> dict[str, int]:
    return {"in_channels": case.channels.in_channels}


@pytest.mark.parametrize("case", CONV, ids=repr)
def test_kernel_rows_times_patches_is_the_convolution(case: Case) -> None:
    patches = im2col(case.spec, case.x, padding_mode=case.padding_mode, **_in(case))
    rows = kernel_rows(case.spec, case.w, **case.kwargs)
    if case.padding_mode != "zeros":
        return  # the reference convolves with zero padding; the padded grid was checked above
    product = im2col_product(patches, rows)
    np.testing.assert_allclose(product, naive_output(case).reshape(product.shape), atol=1e-9)


def test_im2col_source_and_tap_read_back() -> None:
    spec = ConvSpec(input_size=(3, 4), kernel_size=2, padding=1, stride=2)
    patches = im2col(spec, in_channels=2)
    assert patches.shape == (8, 6)
    assert patches.tap(5) == (1, 0, 1)
    # Step 0's window starts at the padded corner: tap (0, 0) is padding, tap (1, 1) is x[0, 0].
    assert patches.source(0, 0) is None
    assert patches.source(3, 0) == (0, 0, 0)
    assert patches.source(7, 0) == (1, 0, 0)
    assert patches.values is None


def test_seed_003_patch_matrix() -> None:
    """The 4×4 input 1..16 and the kernel [[1, 2], [3, 4]]: a 4×9 patch matrix."""
    spec = ConvSpec(input_size=4, kernel_size=2)
    x = np.arange(1, 17, dtype=float).reshape(4, 4)
    patches = im2col(spec, x)
    assert patches.shape == (4, 9)
    # Column 0 is the top-left window read row-major; column 8 the bottom-right one.
    assert patches.values[:, 0].tolist() == [1, 2, 5, 6]
    assert patches.values[:, 8].tolist() == [11, 12, 15, 16]
    rows = kernel_rows(spec, [[1, 2], [3, 4]])
    assert rows.tolist() == [[1, 2, 3, 4]]
    product = im2col_product(patches, rows).reshape(3, 3)
    assert product[0, 0] == 1 * 1 + 2 * 2 + 5 * 3 + 6 * 4


# -- the convolution matrix -------------------------------------------------------------
def _operation(case: Case) -> Any:
    return lambda unit: naive_output(case, unit)


@pytest.mark.parametrize("case", CONV, ids=repr)
def test_matrix_matches_unit_responses(case: Case) -> None:
    spec = case.spec
    matrix = convolution_matrix(spec, case.w, **case.kwargs)
    expected = ref.matrix_of(_operation(case), case.x.shape)
    np.testing.assert_array_equal(matrix.values, expected)
    assert matrix.shape == (
        case.channels.out_channels * spec.output_size[0] * spec.output_size[1],
        case.x.size,
    )
    np.testing.assert_allclose(matrix.values @ case.x.ravel(), naive_output(case).ravel())


@pytest.mark.parametrize("case", CONV, ids=repr)
def test_matrix_taps_name_the_weight_each_entry_holds(case: Case) -> None:
    """With distinct weights 1, 2, 3, ... the reference's matrix spells out each entry's tap."""
    numbered = Case(
        case.spec,
        case.channels,
        case.x,
        np.arange(1, case.w.size + 1, dtype=float).reshape(case.w.shape),
        case.padding_mode,
    )
    expected = ref.matrix_of(_operation(numbered), case.x.shape).astype(int) - 1
    matrix = convolution_matrix(case.spec, **case.kwargs)
    np.testing.assert_array_equal(matrix.taps, np.where(expected >= 0, expected, NO_TAP))
    assert matrix.values is None
    # Every entry's tap reads back as PyTorch's 4-D weight index.
    for row, col in zip(*np.nonzero(matrix.taps >= 0), strict=True):
        index = matrix.tap(int(row), int(col))
        assert numbered.w[index] == expected[row, col] + 1


@pytest.mark.parametrize("case", CONV, ids=repr)
def test_blocks_cover_every_entry_with_its_kernel_row(case: Case) -> None:
    matrix = convolution_matrix(case.spec, **case.kwargs)
    covered = np.zeros(matrix.shape, dtype=int)
    (h, w), (oh, ow) = case.spec.input_size, case.spec.output_size
    for block in matrix.blocks:
        assert len(block.rows) == ow and len(block.columns) == w
        assert block.rows.start // (oh * ow) == block.out_channel
        assert block.columns.start // (h * w) == block.in_channel
        taps = matrix.taps[
            block.rows.start : block.rows.stop, block.columns.start : block.columns.stop
        ]
        covered[block.rows.start : block.rows.stop, block.columns.start : block.columns.stop] += 1
        for row, col in zip(*np.nonzero(taps >= 0), strict=True):
            tap = matrix.tap(block.rows.start + int(row), block.columns.start + int(col))
            assert tap[2] == block.kernel_row
    # Every weight lies in exactly one block; blocks do not overlap.
    assert covered.max(initial=0) <= 1
    assert np.all(covered[matrix.taps >= 0] == 1)


@pytest.mark.parametrize("case", TRANSPOSED, ids=repr)
def test_transposed_matrix_is_the_direct_matrix_transposed(case: Case) -> None:
    """``conv_transpose2d``'s matrix is ``Cᵀ``, C the direct convolution from its output size.

    The direct convolution over the transposed output size has at least as many
    outputs per axis as the transposed input (more when the output padding is
    at least the stride); ``Cᵀ`` keeps the rows of those cells.
    """
    spec, channels = case.spec, case.channels
    direct = ConvSpec(
        input_size=spec.output_size,
        kernel_size=spec.kernel_size,
        padding=spec.padding,
        stride=spec.stride,
        dilation=spec.dilation,
    )
    # conv2d's weight for this direct convolution is the transposed one, read (in, out/g).
    swapped = Channels(channels.out_channels, channels.in_channels, channels.groups)
    direct_matrix = convolution_matrix(
        direct,
        in_channels=swapped.in_channels,
        out_channels=swapped.out_channels,
        groups=swapped.groups,
    )
    (h, w), (dh, dw) = spec.input_size, direct.output_size
    keep = [
        c * dh * dw + r * dw + q
        for c in range(channels.in_channels)
        for r in range(h)
        for q in range(w)
    ]
    transposed = convolution_matrix(spec, case.w, **case.kwargs)
    direct_taps = direct_matrix.taps[keep]
    # Same weight element: the direct weight (M', C'/g, ...) is the transposed (C, M/g, ...).
    np.testing.assert_array_equal(transposed.taps, direct_taps.T)


def test_guide_convolution_matrix() -> None:
    """The guide's example: 4×4 input, 3×3 kernel, 2×2 output: C is 4×16."""
    spec = ConvSpec(input_size=4, kernel_size=3)
    matrix = convolution_matrix(spec, np.arange(1, 10, dtype=float).reshape(3, 3))
    assert matrix.shape == (4, 16)
    # Row 0: kernel row a at columns 4a..4a+2; row 3 shifted by one row and one column.
    expected_row0 = [1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0]
    assert matrix.values[0].tolist() == expected_row0
    assert matrix.values[3].tolist() == [0] * 5 + [1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9]
    table = symbol_table(matrix)
    assert table[0][:3] == ["w₀₀", "w₀₁", "w₀₂"] and table[0][3] == "0"
    assert matrix.row_of((1, 1)) == 3 and matrix.column_of((2, 3)) == 11
    assert [b.kernel_row for b in matrix.blocks[:3]] == [0, 1, 2]


def test_flip_puts_the_flipped_kernel_in_the_matrix() -> None:
    spec = ConvSpec(input_size=4, kernel_size=(2, 3), padding=1, stride=(1, 2))
    kernel = np.arange(1.0, 7.0).reshape(2, 3)
    flipped = convolution_matrix(spec, kernel, flip=True)
    plain = convolution_matrix(spec, kernel[::-1, ::-1])
    np.testing.assert_array_equal(flipped.values, plain.values)


# -- scatter -----------------------------------------------------------------------------
@pytest.mark.parametrize("case", TRANSPOSED, ids=repr)
def test_scatter_targets_are_the_dependency_sets(case: Case) -> None:
    spec = case.spec
    result = scatter(spec, case.x, case.w, **case.kwargs)
    _, sources = ref.transposed_sources(
        spec.input_size,
        spec.kernel_size,
        spec.padding,
        spec.stride,
        spec.dilation,
        spec.output_padding,
    )
    h, w = spec.input_size
    assert [s.index for s in result.steps] == list(range(case.channels.in_channels * h * w))
    for step in result.steps:
        assert step.channel == step.index // (h * w)
        assert step.input == divmod(step.index % (h * w), w)
        reached = {y for y, deps in sources.items() if step.input in deps}
        assert set(step.targets) == reached
        # Tap order (row-major), and each target where that tap lands.
        assert list(step.taps) == sorted(step.taps)
        for (a, b), (i, j) in zip(step.taps, step.targets, strict=True):
            assert i == step.input[0] * spec.stride[0] + a * spec.dilation[0] - spec.padding[0]
            assert j == step.input[1] * spec.stride[1] + b * spec.dilation[1] - spec.padding[2]


@pytest.mark.parametrize("case", TRANSPOSED, ids=repr)
def test_scatter_accumulates_to_the_output(case: Case) -> None:
    result = scatter(case.spec, case.x, case.w, **case.kwargs)
    partial = list(result.partial_outputs())
    assert len(partial) == len(result.steps)
    np.testing.assert_allclose(partial[-1], naive_output(case), atol=1e-9)
    # Each step adds exactly its amounts at its targets, in its group's output channels.
    previous = np.zeros_like(partial[0])
    for step, added, now in zip(result.steps, result.added, partial, strict=True):
        change = now - previous
        expected = np.zeros_like(change)
        for o, m in enumerate(result.out_channels_of(step)):
            for (a, b), (i, j) in zip(step.taps, step.targets, strict=True):
                amount = case.x[step.channel][step.input] * case.w[step.channel, o, a, b]
                assert added[o, step.taps.index((a, b))] == amount
                expected[m, i, j] += amount
        np.testing.assert_allclose(change, expected, atol=1e-9)
        previous = now
    np.testing.assert_array_equal(result.output_after(len(partial) - 1), partial[-1])


def test_scatter_example_stride_2() -> None:
    """2×2 input, 3×3 kernel, stride 2: a 5×5 output; windows overlap on the middle row, column."""
    spec = ConvSpec(input_size=2, kernel_size=3, stride=2, transposed=True)
    result = scatter(spec, np.ones((2, 2)), np.ones((3, 3)))
    assert result.steps[3].input == (1, 1)
    assert result.steps[3].targets[0] == (2, 2) and result.steps[3].targets[-1] == (4, 4)
    assert result.output_after(0)[0, 2, 2] == 1
    assert result.output_after(3)[0, 2, 2] == 4
    with pytest.raises(ConvgifError, match=r"^--view: scatter"):
        scatter(ConvSpec(), np.ones((5, 5)), np.ones((3, 3)))


# -- PyTorch ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch() -> Iterator[Any]:
    """PyTorch on one thread: its thread pool costs far more than these tiny convolutions."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def torch_operation(torch: Any, case: Case) -> Any:
    """The convolution as PyTorch computes it, on a flat input, giving a flat output."""
    functional = torch.nn.functional
    spec, groups = case.spec, case.channels.groups
    t, b, left, r = spec.padding
    weight = torch.tensor(case.w)
    shape = (1, *case.x.shape)

    def operation(flat: Any) -> Any:
        x = flat.reshape(shape)
        if spec.transposed:
            full = functional.conv_transpose2d(
                x,
                weight,
                stride=spec.stride,
                output_padding=spec.output_padding,
                dilation=spec.dilation,
                groups=groups,
            )
            # PyTorch pads symmetrically; any padding crops its full output.
            return full[0, :, t : full.shape[2] - b, left : full.shape[3] - r].flatten()
        padded = functional.pad(x, (left, r, t, b))
        return functional.conv2d(
            padded, weight, stride=spec.stride, dilation=spec.dilation, groups=groups
        ).flatten()

    return operation


def test_matrix_is_torch_jacobian(torch: Any) -> None:
    for case in CONV:
        operation = torch_operation(torch, case)
        jacobian = torch.autograd.functional.jacobian(operation, torch.tensor(case.x.ravel()))
        matrix = convolution_matrix(case.spec, case.w, **case.kwargs)
        np.testing.assert_array_equal(matrix.values, jacobian.numpy(), err_msg=repr(case))
        output = operation(torch.tensor(case.x.ravel())).numpy()
        np.testing.assert_allclose(matrix.values @ case.x.ravel(), output, atol=1e-9)


def test_im2col_is_torch_unfold(torch: Any) -> None:
    functional = torch.nn.functional
    compared = 0
    for case in CASES:
        spec = case.spec
        if spec.transposed or spec.mode == "max":
            continue  # unfold of the input: direct convolutions and average pooling
        t, b, left, r = spec.padding
        x = torch.tensor(case.x)[None]
        mode = "constant" if case.padding_mode == "zeros" else case.padding_mode
        padded = functional.pad(x, (left, r, t, b), mode=mode)
        expected = functional.unfold(
            padded, spec.kernel_size, dilation=spec.dilation, stride=spec.stride
        )[0].numpy()
        patches = im2col(spec, case.x, padding_mode=case.padding_mode, **_in(case))
        np.testing.assert_array_equal(patches.values, expected, err_msg=repr(case))
        compared += 1
    assert compared >= 30


def test_transposed_im2col_gives_torch_conv_transpose(torch: Any) -> None:
    for case in TRANSPOSED:
        patches = im2col(case.spec, case.x, **_in(case))
        product = im2col_product(patches, kernel_rows(case.spec, case.w, **case.kwargs))
        expected = torch_operation(torch, case)(torch.tensor(case.x.ravel())).numpy()
        np.testing.assert_allclose(product.ravel(), expected, atol=1e-9, err_msg=repr(case))


# -- checks ------------------------------------------------------------------------------
def test_views_that_do_not_apply_are_refused() -> None:
    with pytest.raises(RenderError, match=r"^--view: scatter .*--transposed$"):
        check_view(ConvSpec(), "scatter")
    with pytest.raises(RenderError, match=r"^--view: pooling \(--mode max\) has no convolution"):
        check_view(ConvSpec(mode="max"), "matrix")
    with pytest.raises(RenderError, match=r"^--view: the convolution matrix needs zero padding"):
        check_view(ConvSpec(padding=1), "matrix", padding_mode="reflect")
    with pytest.raises(RenderError, match=r"^--view: must be one of"):
        check_view(ConvSpec(), "diagonal")
    check_view(ConvSpec(mode="max", padding=1), "im2col")  # pooling has a patch matrix
    check_view(ConvSpec(transposed=True), "scatter")


def test_legibility_limit() -> None:
    check_legible(ConvSpec(input_size=7, kernel_size=3), "matrix")  # 25x49
    check_legible(ConvSpec(input_size=7, kernel_size=3, padding=1), "im2col")  # 9x49
    with pytest.raises(RenderError) as error:
        check_legible(ConvSpec(input_size=16, kernel_size=3), "matrix")
    message = str(error.value)
    assert message.startswith("--view: the convolution matrix of this spec is 196x256")
    assert str(MAX_DRAWN_CELLS) in message and "\n" not in message
    with pytest.raises(RenderError, match=r"^--view: the patch matrix"):
        check_legible(ConvSpec(input_size=12, kernel_size=3), "im2col", Channels(3, 1, 1))
    check_legible(ConvSpec(input_size=40), "scatter")  # no matrix to draw


def test_channels_are_checked() -> None:
    with pytest.raises(ConvgifError, match=r"^--groups: must divide --in-channels \(3\)"):
        Channels(3, 4, 2)
    with pytest.raises(ConvgifError, match=r"^--out-channels: must be at least 1"):
        Channels(1, 0, 1)
    with pytest.raises(ConvgifError, match=r"^--kernel-values: expected shape 2x1x3x3"):
        convolution_matrix(ConvSpec(), np.ones((3, 3)), out_channels=2)
    with pytest.raises(ConvgifError, match=r"^--input-values: expected shape 2x5x5"):
        im2col(ConvSpec(), np.ones((5, 5)), in_channels=2)


def test_symbols() -> None:
    assert symbol("x", (0, 1)) == "x₀₁"
    assert symbol("x", (1, 10)) == "x₁,₁₀"
    spec = ConvSpec(input_size=3, kernel_size=2, padding=1, mode="max")
    table = symbol_table(im2col(spec))
    assert table[0][0] == "−∞" and table[3][0] == "x₀₀"
    assert (
        symbol_table(im2col(ConvSpec(input_size=3, kernel_size=2), in_channels=2))[4][0] == "x₁₀₀"
    )


def test_views_module_is_pure() -> None:
    code = "import convgif.views, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the command line --------------------------------------------------------------------
def geometry(*args: str) -> Any:
    return CliRunner().invoke(cli, ["geometry", *args])


def geometry_json(*args: str) -> dict:
    result = geometry(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


SEED_003 = ["--input-size", "4", "--kernel-size", "2", "--kernel-values", "1,2;3,4"]


def test_cli_im2col_json_is_unfold() -> None:
    data = geometry_json(
        *SEED_003, "--input-values", "1,2,3,4;5,6,7,8;9,10,11,12;13,14,15,16", "--view", "im2col"
    )
    assert data["view"] == "im2col"
    x = np.arange(1, 17).reshape(1, 4, 4)
    assert data["im2col"] == ref.unfold_naive(x, 2, 1, 1).tolist()
    assert np.array(data["im2col_sources"]).shape == (4, 9)
    assert data["im2col_sources"][3][8] == 15  # x[3, 3]


def test_cli_im2col_json_with_padding_and_without_values() -> None:
    data = geometry_json("--input-size", "3", "--padding", "1", "--stride", "2", "--view", "im2col")
    assert "im2col" not in data
    marks = ref.unfold_naive(ref.padded_grid(3, 1)[None], 3, 2, 1)
    assert data["im2col_sources"] == [[int(m) if m >= 0 else None for m in row] for row in marks]


@pytest.mark.parametrize(
    "args",
    [
        ["--input-size", "4", "--kernel-size", "3"],
        [
            "--input-size",
            "5x4",
            "--kernel-size",
            "2x3",
            "--padding",
            "1,0,2,1",
            "--stride",
            "2x1",
            "--dilation",
            "1x2",
        ],
        ["--input-size", "2", "--kernel-size", "3", "--transposed"],
        [
            "--input-size",
            "3x2",
            "--kernel-size",
            "3x2",
            "--transposed",
            "--stride",
            "2",
            "--padding",
            "1",
            "--output-padding",
            "1",
        ],
    ],
)
def test_cli_matrix_json_multiplies_to_the_output(args: list[str]) -> None:
    data = geometry_json(*args, "--seed", "4", "--view", "matrix")
    matrix = np.array(data["matrix"], dtype=float)
    x = np.array(data["input_values"], dtype=float)
    output = np.array(data["output_values"], dtype=float)
    assert matrix.shape == (output.size, x.size)
    np.testing.assert_allclose(matrix @ x.ravel(), output.ravel())
    kernel = np.array(data["kernel_values"], dtype=float).ravel()
    taps = data["matrix_taps"]
    rebuilt = [[kernel[t] if t is not None else 0 for t in row] for row in taps]
    np.testing.assert_array_equal(rebuilt, matrix)


def test_cli_guide_matrix_without_values() -> None:
    data = geometry_json("--input-size", "4", "--view", "matrix")
    assert "matrix" not in data
    assert data["matrix_taps"][0] == [0, 1, 2, None, 3, 4, 5, None, 6, 7, 8] + [None] * 5


def test_cli_scatter_json() -> None:
    data = geometry_json(
        "--input-size",
        "2",
        "--stride",
        "2",
        "--transposed",
        "--view",
        "scatter",
        "--input-values",
        "1,2;3,4",
        "--kernel-values",
        "1,1,1;1,1,1;1,1,1",
    )
    assert [s["input"] for s in data["steps"]] == [[0, 0], [0, 1], [1, 0], [1, 1]]
    _, sources = ref.transposed_sources(2, 3, 0, 2, 1, 0)
    for step in data["steps"]:
        reached = {y for y, deps in sources.items() if tuple(step["input"]) in deps}
        assert {tuple(t) for t in step["targets"]} == reached
        value = [[1, 2], [3, 4]][step["input"][0]][step["input"][1]]
        assert step["added"] == [value] * len(step["targets"])
    # Without values: the same steps, no amounts.
    plain = geometry_json("--input-size", "2", "--stride", "2", "--transposed", "--view", "scatter")
    assert [s["targets"] for s in plain["steps"]] == [s["targets"] for s in data["steps"]]
    assert "added" not in plain["steps"][0]


def test_cli_default_json_has_no_view_keys() -> None:
    data = geometry_json()
    assert "view" not in data and "im2col" not in data and "matrix" not in data


def test_cli_geometry_text_views() -> None:
    result = geometry("--input-size", "4", "--view", "matrix")
    assert result.exit_code == 0
    assert "convolution matrix (C) (4x16):" in result.stdout
    assert "w₀₀ w₀₁ w₀₂" in result.stdout
    result = geometry(*SEED_003, "--seed", "1", "--view", "im2col")
    assert "patch matrix (im2col) (4x9):" in result.stdout
    result = geometry("--input-size", "2", "--transposed", "--view", "scatter")
    assert "0: (0,0) -> (0,0) (0,1) (0,2)" in result.stdout


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["geometry", "--view", "scatter"], "--view: scatter shows a transposed convolution"),
        (["geometry", "--mode", "max", "--view", "matrix"], "--view: pooling (--mode max)"),
        (
            ["geometry", "--padding", "1", "--padding-mode", "reflect", "--view", "matrix"],
            "--view: the convolution matrix needs zero padding",
        ),
        (["geometry", "--view", "diagonal"], "--view: "),
        (["render", "--view", "scatter"], "--view: scatter shows a transposed convolution"),
        (
            ["render", "--input-size", "16", "--view", "matrix"],
            "--view: the convolution matrix of this spec is 196x256",
        ),
        (["render", "--symbols"], "--symbols: writes x₀₀, w₀₀ in a matrix's cells"),
        (
            ["render", "--symbols", "--view", "matrix", "--numbers"],
            "--symbols: writes symbols instead of numbers",
        ),
        (
            ["geometry", "--input-size", "40", "--transposed", "--view", "scatter"],
            "--max-frames: this spec has 1600 steps",
        ),
    ],
)
def test_cli_bad_views(tmp_path: Any, args: list[str], start: str) -> None:
    output = tmp_path / "figure.gif"
    extra = ["-o", str(output)] if args[0] == "render" else []
    if args[0] == "geometry" and "40" in args:
        extra = ["--max-frames", "1000"]
    result = CliRunner().invoke(cli, [*args, *extra])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"convgif: error: {start}"), result.stderr
    assert not output.exists()


def test_render_options_view() -> None:
    with pytest.raises(
        RenderError, match=r"^--view: must be one of window, im2col, matrix, scatter"
    ):
        RenderOptions(view="diagonal")
    with pytest.raises(RenderError, match=r"^--symbols: must be true or false"):
        RenderOptions(view="matrix", symbols="yes")  # type: ignore[arg-type]
    assert RenderOptions(view="matrix", symbols=True).symbols


def test_default_file_names_the_view() -> None:
    spec = ConvSpec(input_size=4)
    assert default_output(spec, RenderOptions()).name == "conv_i4_k3_p0_s1.gif"
    assert default_output(spec, RenderOptions(view="matrix")).name == "conv_i4_k3_p0_s1_matrix.gif"
    named = default_output(spec, RenderOptions(view="im2col", symbols=True)).name
    assert named == "conv_i4_k3_p0_s1_im2col_symbols.gif"


def test_values_and_views_agree() -> None:
    """The geometry command's values (convgif.values) feed the views unchanged."""
    spec = ConvSpec(input_size=(4, 5), kernel_size=3, padding=(1, 0, 2, 1), stride=2)
    values = compute_values(spec, seed=5, padding_mode="replicate")
    patches = im2col(spec, values.input, padding_mode="replicate")
    rows = kernel_rows(spec, values.kernel)
    np.testing.assert_allclose(
        im2col_product(patches, rows).reshape(spec.output_size), values.output
    )
