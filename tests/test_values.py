"""The values of numerical figures: parsing, checks, and outputs against references.

Outputs are compared with the naive loops of ``value_reference`` (written from
the definitions) over a seeded sweep of specs, and with PyTorch when it is
installed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import value_reference as ref
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convgif.geometry import CellKind, Geometry
from convgif.spec import ConvSpec, SpecError
from convgif.values import (
    PADDING_MODES,
    RANDOM_INPUT_RANGE,
    RANDOM_KERNEL_RANGE,
    RANDOM_POOLING_INPUT_RANGE,
    Values,
    ValuesError,
    compute_values,
    format_value,
    parse_values,
    values_to_json,
)

Case = tuple[ConvSpec, str, bool]


# -- the sweep ----------------------------------------------------------------
def _padding_mode_allowed(spec: ConvSpec, mode: str) -> bool:
    """PyTorch's rules, stated here independently of convgif.values."""
    if mode == "zeros":
        return True
    if spec.mode != "conv" or spec.transposed:
        return False
    t, b, left, r = spec.padding
    h, w = spec.input_size
    if mode == "reflect":
        return max(t, b) < h and max(left, r) < w
    if mode == "circular":
        return max(t, b) <= h and max(left, r) <= w
    return True


def _random_padding(rng: np.random.Generator) -> object:
    kind = rng.integers(5)
    if kind == 0:
        return int(rng.integers(0, 4))
    if kind == 1:
        return f"{rng.integers(0, 4)}x{rng.integers(0, 4)}"
    if kind == 2:
        return tuple(int(p) for p in rng.integers(0, 4, size=4))
    return str(rng.choice(["valid", "same", "full"]))


def _random_case(rng: np.random.Generator) -> Case | None:
    op = str(rng.choice(["conv", "conv", "transposed", "max", "avg"]))
    mode = "conv" if op == "transposed" else op
    transposed = op == "transposed"
    stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
    dilation = (1, 1) if op == "avg" else tuple(int(d) for d in rng.integers(1, 3, size=2))
    output_padding = (0, 0)
    if transposed:
        output_padding = tuple(
            int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation, strict=True)
        )
    try:
        spec = ConvSpec(
            input_size=tuple(int(n) for n in rng.integers(1, 8, size=2)),
            kernel_size=tuple(int(k) for k in rng.integers(1, 5, size=2)),
            padding=_random_padding(rng),
            stride=stride,
            dilation=dilation,
            transposed=transposed,
            output_padding=output_padding,
            mode=mode,
        )
    except SpecError:
        return None
    padding_mode = str(rng.choice(PADDING_MODES)) if op == "conv" else "zeros"
    if not _padding_mode_allowed(spec, padding_mode):
        return None
    flip = op == "conv" and bool(rng.integers(2))
    return spec, padding_mode, flip


def _sweep(count: int, seed: int = 20240605) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    while len(cases) < count:
        case = _random_case(rng)
        if case is not None:
            cases.append(case)
    return cases


CASES = _sweep(400)
CASE_IDS = [f"{spec.slug()}-{mode}{'-flip' if flip else ''}" for spec, mode, flip in CASES]


def test_sweep_covers_every_kind() -> None:
    def count(predicate: Callable[..., bool]) -> int:
        return sum(1 for case in CASES if predicate(*case))

    assert count(lambda s, m, f: s.transposed and any(s.output_padding)) >= 10
    assert count(lambda s, m, f: s.transposed and min(s.display_padding) < 0) >= 5
    assert count(lambda s, m, f: s.mode == "max" and s.dilation != (1, 1)) >= 10
    assert count(lambda s, m, f: s.mode == "avg" and any(s.padding)) >= 10
    assert count(lambda s, m, f: s.padding[0] != s.padding[1]) >= 20
    assert count(lambda s, m, f: max(s.stride) > 1) >= 50
    assert count(lambda s, m, f: f) >= 20
    for mode in PADDING_MODES[1:]:
        assert count(lambda s, m, f, mode=mode: m == mode and any(s.padding)) >= 10


def reference_output(spec: ConvSpec, values: Values, flip: bool) -> np.ndarray:
    x = np.asarray(values.input)
    if spec.mode == "max":
        return ref.max_pool2d(x, spec.kernel_size, spec.padding, spec.stride, spec.dilation)[0]
    if spec.mode == "avg":
        return ref.avg_pool2d(x, spec.kernel_size, spec.padding, spec.stride)
    w = np.asarray(values.kernel)
    if spec.transposed:
        return ref.conv_transpose2d(
            x, w, spec.padding, spec.stride, spec.dilation, spec.output_padding
        )
    return ref.conv2d(x, w, spec.padding, spec.stride, spec.dilation, values.padding_mode, flip)


@pytest.mark.parametrize(("spec", "padding_mode", "flip"), CASES, ids=CASE_IDS)
def test_output_matches_naive_reference(spec: ConvSpec, padding_mode: str, flip: bool) -> None:
    values = compute_values(spec, seed=7, padding_mode=padding_mode, flip=flip)
    expected = reference_output(spec, values, flip)
    assert values.output.shape == spec.output_size
    np.testing.assert_array_equal(values.output, expected)


@pytest.mark.parametrize(("spec", "padding_mode", "flip"), CASES[:80], ids=CASE_IDS[:80])
def test_float_values_match_naive_reference(spec: ConvSpec, padding_mode: str, flip: bool) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=spec.input_size)
    w = rng.normal(size=spec.kernel_size) if spec.mode == "conv" else None
    values = compute_values(
        spec, input_values=x, kernel_values=w, padding_mode=padding_mode, flip=flip
    )
    np.testing.assert_array_equal(values.input, x)
    np.testing.assert_allclose(values.output, reference_output(spec, values, flip), atol=1e-12)


@pytest.mark.parametrize(("spec", "padding_mode", "flip"), CASES, ids=CASE_IDS)
def test_drawn_grid_and_window_give_the_output(
    spec: ConvSpec, padding_mode: str, flip: bool
) -> None:
    """What the figure draws adds up: each cell's value, and the window over it."""
    values = compute_values(spec, seed=11, padding_mode=padding_mode, flip=flip)
    geometry = Geometry(spec)
    assert values.grid.shape == geometry.grid_size
    top, left = spec.padding[0], spec.padding[2]
    for (row, col), kind in np.ndenumerate(np.array(geometry.cell_kinds())):
        shown = values.grid[row, col]
        source = geometry.input_cell((row, col))
        if kind == CellKind.INPUT:
            assert shown == values.input[source]
        elif kind == CellKind.ZERO or spec.transposed:
            assert shown == 0
        elif spec.mode == "max":
            assert math.isnan(shown)
        else:
            padded = ref.padded_value(values.input, row - top, col - left, padding_mode)
            assert shown == (0.0 if padded is None else padded)
    if spec.mode == "conv":
        kernel = values.kernel
        flipped = spec.transposed or flip
        expected_window = kernel[::-1, ::-1] if flipped else kernel
        np.testing.assert_array_equal(values.window_kernel, expected_window)
        taps = values.window_kernel.ravel()
        for step in geometry.steps():
            drawn = sum(
                values.grid[cell] * tap for cell, tap in zip(step.window, taps, strict=True)
            )
            assert values.output[step.output] == drawn


@pytest.mark.parametrize(
    ("spec", "padding_mode", "flip"),
    [case for case in CASES if case[0].mode == "max"],
)
def test_max_pool_winners(spec: ConvSpec, padding_mode: str, flip: bool) -> None:
    values = compute_values(spec, seed=5)
    _, winners = ref.max_pool2d(
        values.input, spec.kernel_size, spec.padding, spec.stride, spec.dilation
    )
    geometry = Geometry(spec)
    expected = [None if w is None else geometry.grid_cell(w) for w in winners]
    assert list(values.winners) == expected
    for step, winner in zip(geometry.steps(), values.winners, strict=True):
        if winner is not None:
            assert winner in step.window
            assert values.grid[winner] == values.output[step.output]


def test_max_pool_ties_pick_the_first_tap() -> None:
    spec = ConvSpec(input_size=(2, 3), kernel_size=2, mode="max")
    values = compute_values(spec, input_values="1,5,5;5,5,5")
    assert values.winners == ((0, 1), (0, 1))


def test_max_pool_over_padding_only_gives_minus_infinity() -> None:
    # PyTorch allows it (kernel 2, padding 1, dilation 2 on a 1x1 input): -inf.
    spec = ConvSpec(input_size=1, kernel_size=2, padding=1, dilation=2, mode="max")
    values = compute_values(spec, input_values="4")
    assert values.output.tolist() == [[-math.inf]]
    assert values.winners == (None,)
    assert values_to_json(values)["output_values"] == [[None]]
    json.dumps(values_to_json(values), allow_nan=False)


def test_avg_pool_counts_padding_as_zeros() -> None:
    spec = ConvSpec(input_size=2, kernel_size=2, padding=1, stride=2, mode="avg")
    values = compute_values(spec, input_values="4,8;12,16")
    # Each corner window holds one input cell and three padding zeros: divisor 4.
    np.testing.assert_array_equal(values.output, [[1, 2], [3, 4]])


# -- numerical_padding_strides: the figure the guide got wrong --------------
def test_numerical_padding_strides_by_hand() -> None:
    """Input 5, kernel 3, padding 1, stride 2: each window starts 2 cells on."""
    spec = ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2)
    values = compute_values(spec, seed=0)
    x, w = values.input, values.kernel
    assert values.output.shape == (3, 3)
    # Output (0, 0) covers input rows/cols -1..1: only the bottom-right 2x2 taps
    # meet the input. Output (1, 1) covers rows/cols 1..3, (2, 2) rows/cols 3..5.
    assert values.output[0, 0] == (x[0:2, 0:2] * w[1:3, 1:3]).sum()
    assert values.output[1, 1] == (x[1:4, 1:4] * w).sum()
    assert values.output[2, 2] == (x[3:5, 3:5] * w[0:2, 0:2]).sum()
    assert values.output[0, 2] == (x[0:2, 3:5] * w[1:3, 0:2]).sum()
    np.testing.assert_array_equal(
        values.output, ref.conv2d(x, w, spec.padding, spec.stride, spec.dilation)
    )


def test_numerical_padding_strides_against_torch(torch_single_thread: Any) -> None:
    torch = torch_single_thread
    spec = ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2)
    for seed in range(5):
        values = compute_values(spec, seed=seed)
        expected = torch.nn.functional.conv2d(
            torch.tensor(values.input)[None, None],
            torch.tensor(values.kernel)[None, None],
            stride=2,
            padding=1,
        )[0, 0].numpy()
        np.testing.assert_array_equal(values.output, expected)
        np.testing.assert_array_equal(
            values.output, ref.conv2d(values.input, values.kernel, spec.padding, (2, 2), (1, 1))
        )


# -- PyTorch ------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch_single_thread() -> Iterator[Any]:
    """PyTorch on one thread: its thread pool costs far more than these tiny convolutions."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def torch_output(spec: ConvSpec, values: Values, flip: bool) -> np.ndarray | None:
    """PyTorch's result, or None where PyTorch has no such call."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    x = torch.tensor(np.asarray(values.input))[None, None]
    t, b, left, r = spec.padding
    symmetric = t == b and left == r
    if spec.mode == "conv":
        w = torch.tensor(np.asarray(values.kernel))[None, None]
        if spec.transposed:
            # PyTorch pads symmetrically; an asymmetric padding crops its full output.
            out = functional.conv_transpose2d(
                x,
                w,
                stride=spec.stride,
                padding=(t, left) if symmetric else 0,
                output_padding=spec.output_padding,
                dilation=spec.dilation,
            )[0, 0].numpy()
            if symmetric:
                return out
            return out[t : out.shape[0] - b, left : out.shape[1] - r]
        mode = "constant" if values.padding_mode == "zeros" else values.padding_mode
        padded = functional.pad(x, (left, r, t, b), mode=mode)
        weight = torch.flip(w, dims=(2, 3)) if flip else w
        out = functional.conv2d(padded, weight, stride=spec.stride, dilation=spec.dilation)
        return out[0, 0].numpy()
    kh, kw = spec.kernel_size
    if not symmetric or t > kh // 2 or left > kw // 2:
        return None  # PyTorch pools with symmetric padding of at most half the kernel
    if spec.mode == "max":
        out, indices = functional.max_pool2d(
            x, spec.kernel_size, spec.stride, (t, left), spec.dilation, return_indices=True
        )
        width = spec.input_size[1]
        geometry = Geometry(spec)
        for winner, index, value in zip(
            values.winners, indices.flatten().tolist(), out.flatten().tolist(), strict=True
        ):
            if value != -math.inf:
                assert geometry.input_cell(winner) == divmod(index, width)
        return out[0, 0].numpy()
    return functional.avg_pool2d(
        x, spec.kernel_size, spec.stride, (t, left), count_include_pad=True
    )[0, 0].numpy()


@pytest.mark.usefixtures("torch_single_thread")
def test_outputs_match_torch() -> None:
    compared = {"conv": 0, "transposed": 0, "max": 0, "avg": 0, "padding_mode": 0}
    for spec, padding_mode, flip in CASES:
        values = compute_values(spec, seed=13, padding_mode=padding_mode, flip=flip)
        expected = torch_output(spec, values, flip)
        if expected is None:
            continue
        np.testing.assert_allclose(values.output, expected, rtol=1e-12, err_msg=spec.describe())
        kind = "transposed" if spec.transposed else spec.mode
        compared[kind] += 1
        compared["padding_mode"] += padding_mode != "zeros"
    assert min(compared.values()) >= 10, compared


def _torch_pooling_specs(count: int) -> list[ConvSpec]:
    """Pooling specs PyTorch accepts: symmetric padding of at most half the kernel."""
    rng = np.random.default_rng(99)
    specs: list[ConvSpec] = []
    while len(specs) < count:
        mode = str(rng.choice(["max", "avg"]))
        kernel = tuple(int(k) for k in rng.integers(1, 5, size=2))
        try:
            specs.append(
                ConvSpec(
                    input_size=tuple(int(n) for n in rng.integers(1, 9, size=2)),
                    kernel_size=kernel,
                    padding=tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel),
                    stride=tuple(int(s) for s in rng.integers(1, 4, size=2)),
                    dilation=(1, 1)
                    if mode == "avg"
                    else tuple(rng.integers(1, 3, size=2).tolist()),
                    mode=mode,
                )
            )
        except SpecError:
            continue
    return specs


@pytest.mark.usefixtures("torch_single_thread")
def test_pooling_matches_torch() -> None:
    for spec in _torch_pooling_specs(100):
        values = compute_values(spec, seed=21)
        expected = torch_output(spec, values, flip=False)
        assert expected is not None
        np.testing.assert_allclose(values.output, expected, rtol=1e-12, err_msg=spec.describe())


# -- parsing ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,2;3,4", [[1, 2], [3, 4]]),
        (" 1 , 2 ; 3 , 4 ; ", [[1, 2], [3, 4]]),
        ("1.5,-2\n3e1,0", [[1.5, -2], [30, 0]]),
        ("7", [[7]]),
        ("1,2,3", [[1, 2, 3]]),
        ("1;2;3", [[1], [2], [3]]),
    ],
)
def test_parse_inline(text: str, expected: list[list[float]]) -> None:
    array = parse_values(text, "--input-values")
    assert array.dtype == np.float64
    np.testing.assert_array_equal(array, expected)


def test_parse_csv_file(tmp_path: Path) -> None:
    path = tmp_path / "values.csv"
    path.write_text("# a comment\n1, 2, 3\n\n4,5,6.25\n", encoding="utf-8")
    expected = [[1, 2, 3], [4, 5, 6.25]]
    np.testing.assert_array_equal(parse_values(str(path), "--input-values"), expected)
    np.testing.assert_array_equal(parse_values(path, "--input-values"), expected)


@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.uint8])
def test_parse_npy_file(tmp_path: Path, dtype: type) -> None:
    path = tmp_path / "values.npy"
    array = np.arange(6, dtype=dtype).reshape(2, 3)
    np.save(path, array)
    parsed = parse_values(str(path), "--kernel-values")
    assert parsed.dtype == np.float64
    np.testing.assert_array_equal(parsed, array)


def test_parse_array_and_list() -> None:
    np.testing.assert_array_equal(parse_values(np.eye(2, dtype=int), "--x"), np.eye(2))
    np.testing.assert_array_equal(parse_values([[1, 2]], "--x"), [[1, 2]])  # type: ignore[arg-type]


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
        elements=st.one_of(
            st.integers(-1000, 1000).map(float),
            st.floats(allow_nan=False, allow_infinity=False, width=64),
        ),
    )
)
def test_parse_inline_round_trip(array: np.ndarray) -> None:
    text = ";".join(",".join(repr(float(x)) for x in row) for row in array)
    np.testing.assert_array_equal(parse_values(text, "--input-values"), array)


def _error(source: object, option: str = "--input-values") -> str:
    with pytest.raises(ValuesError) as caught:
        parse_values(source, option)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{option}: ")
    return message


def test_parse_errors(tmp_path: Path) -> None:
    assert "ragged" in _error("1,2;3")
    assert "'x'" in _error("1,x;3,4")
    assert "'1 2'" in _error("1 2;3 4")
    assert "empty value" in _error("1,,2")
    assert "no values" in _error("  ")
    assert "finite" in _error("1,nan")
    assert "finite" in _error("inf,1")
    assert "file not found" in _error(str(tmp_path / "missing.csv"))
    assert "file not found" in _error(tmp_path / "missing.npy", "--kernel-values")

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2\n3,4,5\n", encoding="utf-8")
    message = _error(str(ragged))
    assert "ragged" in message and "line 2" in message
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,four\n", encoding="utf-8")
    assert "'four'" in _error(str(bad))

    cube = tmp_path / "cube.npy"
    np.save(cube, np.zeros((2, 3, 4)))
    assert "3-D" in _error(str(cube))
    line = tmp_path / "line.npy"
    np.save(line, np.zeros(3))
    assert "1-D" in _error(str(line))
    words = tmp_path / "words.npy"
    np.save(words, np.array([["a", "b"]]))
    assert "real numbers" in _error(str(words))
    broken = tmp_path / "broken.npy"
    broken.write_bytes(b"not a numpy file")
    assert "cannot read" in _error(str(broken))
    assert "finite" in _error(np.array([[1.0, np.inf]]))
    assert "ragged" in _error([[1, 2], [3]])


# -- checks in compute_values -------------------------------------------------
def _compute_error(spec: ConvSpec, **kwargs: object) -> str:
    with pytest.raises(ValuesError) as caught:
        compute_values(spec, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_wrong_sizes() -> None:
    spec = ConvSpec(input_size=5, kernel_size=(3, 2))
    assert (
        _compute_error(spec, input_values="1,2,3,4,5;" * 4)
        == "--input-values: expected 5x5 values for --input-size 5x5, got 4x5"
    )
    assert (
        _compute_error(spec, kernel_values="1,2;3,4")
        == "--kernel-values: expected 3x2 values for --kernel-size 3x2, got 2x2"
    )
    assert _compute_error(ConvSpec(mode="max"), kernel_values="1").startswith("--kernel-values:")


def test_padding_mode_rules() -> None:
    tight = ConvSpec(input_size=(3, 5), kernel_size=3, padding=(3, 0, 1, 1))
    message = _compute_error(tight, padding_mode="reflect")
    assert message.startswith("--padding-mode: reflect padding must be smaller than the input")
    assert "height" in message
    compute_values(tight, padding_mode="circular")  # padding 3 == height 3: allowed
    compute_values(tight, padding_mode="replicate")
    wide = ConvSpec(input_size=2, kernel_size=1, padding="0,0,3,0")
    assert "circular" in _compute_error(wide, padding_mode="circular")
    transposed = ConvSpec(padding=1, transposed=True)
    assert "ConvTranspose2d" in _compute_error(transposed, padding_mode="reflect")
    for mode in ("max", "avg"):
        message = _compute_error(ConvSpec(padding=1, mode=mode), padding_mode="replicate")
        assert message.startswith("--padding-mode:")
    assert _compute_error(ConvSpec(), padding_mode="mirror").startswith("--padding-mode:")


def test_flip_rules() -> None:
    assert _compute_error(ConvSpec(mode="max"), flip=True).startswith("--flip:")
    assert _compute_error(ConvSpec(transposed=True), flip=True).startswith("--flip:")


# -- random values ------------------------------------------------------------
def test_seed_reproducible_and_varied() -> None:
    spec = ConvSpec(input_size=5, kernel_size=3, padding=1)
    first, again = compute_values(spec, seed=4), compute_values(spec, seed=4)
    np.testing.assert_array_equal(first.input, again.input)
    np.testing.assert_array_equal(first.kernel, again.kernel)
    np.testing.assert_array_equal(first.output, again.output)
    inputs = {compute_values(spec, seed=s).input.tobytes() for s in range(10)}
    kernels = {compute_values(spec, seed=s).kernel.tobytes() for s in range(10)}
    assert len(inputs) == 10 and len(kernels) >= 8


def test_random_values_are_small_integers() -> None:
    spec = ConvSpec(input_size=(6, 7), kernel_size=(4, 3))
    for seed in range(5):
        values = compute_values(spec, seed=seed)
        for array, (low, high) in (
            (values.input, RANDOM_INPUT_RANGE),
            (values.kernel, RANDOM_KERNEL_RANGE),
        ):
            assert np.all(array == np.round(array))
            assert array.min() >= low and array.max() <= high
        pooled = compute_values(ConvSpec(input_size=(6, 7), mode="max"), seed=seed)
        low, high = RANDOM_POOLING_INPUT_RANGE
        assert pooled.input.min() >= low and pooled.input.max() <= high
        assert pooled.kernel is None and pooled.window_kernel is None


def test_given_input_keeps_the_seeded_kernel() -> None:
    spec = ConvSpec(input_size=3, kernel_size=2)
    seeded = compute_values(spec, seed=9)
    given_input = compute_values(spec, seed=9, input_values="1,1,1;1,1,1;1,1,1")
    np.testing.assert_array_equal(given_input.kernel, seeded.kernel)


def test_arrays_are_read_only() -> None:
    values = compute_values(ConvSpec())
    with pytest.raises(ValueError):
        values.output[0, 0] = 1


# -- JSON and text ------------------------------------------------------------
def test_values_to_json() -> None:
    spec = ConvSpec(input_size=(3, 4), kernel_size=2, padding=1)
    values = compute_values(spec, seed=1)
    data = values_to_json(values)
    assert np.array_equal(data["input_values"], values.input)
    assert np.array_equal(data["kernel_values"], values.kernel)
    assert np.array_equal(data["output_values"], values.output)
    assert all(type(x) is int for row in data["output_values"] for x in row)
    assert np.shape(data["output_values"]) == spec.output_size
    assert data["padding_mode"] == "zeros" and data["flip"] is False
    json.dumps(data, allow_nan=False)

    avg = values_to_json(compute_values(ConvSpec(kernel_size=3, mode="avg"), seed=1))
    assert "kernel_values" not in avg
    assert all(type(x) is float for row in avg["output_values"] for x in row)
    assert all(type(x) is int for row in avg["input_values"] for x in row)

    transposed = compute_values(ConvSpec(input_size=2, kernel_size=3, transposed=True), seed=2)
    # The weight conv_transpose2d takes, not the flipped one the window shows.
    assert values_to_json(transposed)["kernel_values"] == transposed.kernel.astype(int).tolist()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.0, "3"),
        (np.float64(12), "12"),
        (-2.0, "−2"),
        (1.5, "1.5"),
        (4 / 3, "1.33"),
        (-0.0, "0"),
        (0.1 + 0.2 - 0.3, "0"),
        (0.004, "0.004"),
        (2.999, "3"),
        (float("nan"), ""),
        (float("-inf"), "−∞"),
    ],
)
def test_format_value(value: float, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("spec", "padding_mode", "flip"),
    [case for case in CASES if case[0].mode == "conv" and case[1] == "zeros" and not case[2]],
)
def test_conv_matches_shared_reference(spec: ConvSpec, padding_mode: str, flip: bool) -> None:
    """A second, independently written loop reference (tests/reference.py), when present."""
    shared = pytest.importorskip("reference")
    if not hasattr(shared, "conv2d_naive") or not hasattr(shared, "conv_transpose2d_naive"):
        pytest.skip("tests/reference.py has no conv2d_naive / conv_transpose2d_naive")
    values = compute_values(spec, seed=17)
    if spec.transposed:
        expected = shared.conv_transpose2d_naive(
            values.input,
            values.kernel,
            spec.padding,
            spec.stride,
            spec.dilation,
            spec.output_padding,
        )
    else:
        expected = shared.conv2d_naive(
            values.input, values.kernel, spec.padding, spec.stride, spec.dilation
        )
    np.testing.assert_array_equal(values.output, expected)


@pytest.mark.parametrize("mode", ["conv", "avg"])
def test_values_whose_output_overflows_are_refused(mode: str) -> None:
    spec = ConvSpec(input_size=3, kernel_size=3, mode=mode)
    huge = np.full((3, 3), 1e308)
    with pytest.raises(ValuesError, match=r"^--input-values: the values are too large"):
        compute_values(spec, input_values=huge, kernel_values=None if mode == "avg" else huge)


def test_a_directory_is_not_a_values_file(tmp_path: Path) -> None:
    with pytest.raises(ValuesError, match="is a directory"):
        parse_values(str(tmp_path), "--input-values")
