"""ConvSpec: normalisation, named padding, arithmetic text and validation rules.

Sizes are compared with the brute-force reference (tests/reference.py), which
counts outputs by sliding or scattering; the rules for bad input are compared
with PyTorch when it is installed.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re

import pytest
from reference import direct_layout, layout_of, transposed_sources

from convgif.spec import ConvSpec, SpecError

# -- normalisation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pair"),
    [(5, (5, 5)), ("5", (5, 5)), ("5x7", (5, 7)), (" 5 X 7 ", (5, 7)), ("5×7", (5, 7)),
     ((5, 7), (5, 7)), ([5, 7], (5, 7)), ("+5", (5, 5))],
)  # fmt: skip
def test_sizes_normalise_to_pairs(value, pair):
    spec = ConvSpec(input_size=value, kernel_size=1, stride=value, dilation=value)
    assert spec.input_size == spec.stride == spec.dilation == pair
    assert all(type(v) is int for v in spec.input_size)


@pytest.mark.parametrize(
    ("value", "sides"),
    [(0, (0, 0, 0, 0)), (2, (2, 2, 2, 2)), ("2", (2, 2, 2, 2)), ((1, 2), (1, 1, 2, 2)),
     ("1x2", (1, 1, 2, 2)), ((0, 1, 2, 3), (0, 1, 2, 3)), ([0, 1, 2, 3], (0, 1, 2, 3)),
     ("0,1,2,3", (0, 1, 2, 3)), (" 0 , 1,2 ,3 ", (0, 1, 2, 3)), ("valid", (0, 0, 0, 0)),
     ("VALID", (0, 0, 0, 0))],
)  # fmt: skip
def test_padding_normalises_to_sides(value, sides):
    assert ConvSpec(input_size=6, kernel_size=3, padding=value).padding == sides


def test_output_padding_normalises_to_a_pair():
    spec = ConvSpec(kernel_size=3, stride=(2, 3), transposed=True, output_padding="1x2")
    assert spec.output_padding == (1, 2)
    assert ConvSpec(stride=2, transposed=True, output_padding=1).output_padding == (1, 1)


def test_spec_is_frozen_and_hashable():
    spec = ConvSpec(input_size=5, padding="same")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.stride = (2, 2)  # type: ignore[misc]
    # Equal specs compare equal however they were written.
    same_by_number = ConvSpec(input_size=(5, 5), padding=(1, 1, 1, 1))
    assert spec == same_by_number
    assert hash(spec) == hash(same_by_number)
    assert len({spec, same_by_number, ConvSpec(input_size=5, padding=0)}) == 2


@pytest.mark.parametrize(
    "name",
    ["output_size", "effective_kernel_size", "grid_size", "step_count", "display_stride",
     "weight_shape", "in_channels_per_group", "out_channels_per_group", "is_single_channel",
     "is_depthwise"],
)  # fmt: skip
def test_derived_values_are_properties(name):
    assert isinstance(getattr(ConvSpec, name), property)


@pytest.mark.parametrize(("k", "d"), list(itertools.product((1, 2, 3, 5), (1, 2, 3))))
def test_effective_kernel_size_is_the_extent_of_the_taps(k, d):
    extent = d * (k - 1) + 1
    spec = ConvSpec(input_size=(extent, extent + 1), kernel_size=(k, k), dilation=d)
    window = direct_layout(spec.input_size, spec.kernel_size, 0, 1, d).windows[(0, 0)]
    first, last = window[0], window[-1]
    assert spec.effective_kernel_size == (last[0] - first[0] + 1, last[1] - first[1] + 1)


def test_padding_name_is_remembered_only_while_it_still_holds():
    spec = ConvSpec(input_size=6, kernel_size=3, padding="same")
    assert spec.padding_name == "same"
    assert spec.parameters_text().count("same") == 1
    # Still "same" at another input size with the same padding.
    assert dataclasses.replace(spec, input_size=7).padding_name == "same"
    # "same" at stride 2 would be (0, 1): the resolved (1, 1) is no longer "same".
    strided = dataclasses.replace(spec, stride=2)
    assert strided.padding == (1, 1, 1, 1)
    assert strided.padding_name is None
    assert "same" not in strided.parameters_text()
    assert ConvSpec(padding=1, padding_name="nonsense").padding_name is None


# -- named padding ---------------------------------------------------------------


def _axes(spec: ConvSpec):
    """Per-axis (i, k, s, d, before, after)."""
    t, b, left, r = spec.padding
    for axis, pads in ((0, (t, b)), (1, (left, r))):
        yield (
            spec.input_size[axis],
            spec.kernel_size[axis],
            spec.stride[axis],
            spec.dilation[axis],
            *pads,
        )


def _direct_out(i: int, k: int, s: int, d: int, before: int, after: int) -> int:
    return direct_layout((i, 1), (k, 1), (before, after, 0, 0), (s, 1), (d, 1)).output_size[0]


# Height and width take different parameters, so the two axes are checked apart.
SAME_CASES = list(itertools.product(range(1, 8), range(1, 5), range(1, 4), range(1, 3)))


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_padding_follows_tensorflow(stride):
    for (ih, kh, _, dh), (iw, kw, _, dw) in zip(SAME_CASES, reversed(SAME_CASES), strict=True):
        spec = ConvSpec(
            input_size=(ih, iw),
            kernel_size=(kh, kw),
            padding="same",
            stride=stride,
            dilation=(dh, dw),
        )
        for i, k, s, d, before, after in _axes(spec):
            # Output ceil(i/s) (= i at stride 1), counted by sliding.
            assert _direct_out(i, k, s, d, before, after) == -(-i // s)
            # The extra row/column, if any, goes bottom/right.
            assert after - before in (0, 1)
            # And no less padding would do.
            if before + after > 0:
                fewer = (before, after - 1) if after > before else (before - 1, after)
                assert _direct_out(i, k, s, d, *fewer) < -(-i // s)


@pytest.mark.parametrize(("s", "d"), list(itertools.product((1, 2, 3), (1, 2))))
def test_same_padding_of_a_transposed_convolution_multiplies_by_the_stride(s, d):
    for i, k in itertools.product(range(1, 5), range(1, 5)):
        effective = d * (k - 1) + 1
        ops = range(max(s, d))
        for op in ops:
            make = lambda op=op, i=i, k=k: ConvSpec(  # noqa: E731
                input_size=(i, 2),
                kernel_size=(k, 1),
                padding="same",
                stride=(s, 1),
                dilation=(d, 1),
                transposed=True,
                output_padding=(op, 0),
            )
            if s > effective:
                with pytest.raises(SpecError, match=r"^--padding: 'same' is undefined"):
                    make()
                continue
            spec = make()
            t, b, _, _ = spec.padding
            assert b - t in (0, 1)
            (out, _), _ = transposed_sources((i, 2), (k, 1), spec.padding, (s, 1), (d, 1), (op, 0))
            assert out == i * s + op


@pytest.mark.parametrize(("k", "d"), list(itertools.product((1, 2, 3), (1, 2))))
def test_full_padding_lets_the_kernel_touch_every_overlap(k, d):
    spec = ConvSpec(input_size=(4, 3), kernel_size=k, padding="full", dilation=d)
    assert spec.padding == (d * (k - 1),) * 4
    ref = direct_layout(spec.input_size, spec.kernel_size, spec.padding, 1, d)
    # The first window's last tap is the first input cell; the last window's
    # first tap is the last input cell.
    first_window = ref.windows[(0, 0)]
    last_window = ref.windows[(ref.output_size[0] - 1, ref.output_size[1] - 1)]
    assert ref.grid[first_window[-1]] == 0
    assert ref.grid[last_window[0]] == 4 * 3 - 1
    assert spec.output_size == ref.output_size


# -- the arithmetic text -----------------------------------------------------------


def _evaluate(expression: str) -> int:
    """Evaluate the written relation: ⌊x⌋, ·, − read as Python."""
    python = (
        expression.replace("⌊", "math.floor(").replace("⌋", ")").replace("·", "*").replace("−", "-")
    )
    assert re.fullmatch(r"[\d\s()+\-*/.a-z]+", python), python
    return eval(python, {"math": math})


ARITHMETIC_SPECS = [
    ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2),
    ConvSpec(input_size=7, kernel_size=3, dilation=2),
    ConvSpec(input_size=(6, 5), kernel_size=(3, 2), padding=(1, 0, 2, 1), stride=(2, 1)),
    ConvSpec(input_size=3, kernel_size=3, padding=1, stride=2, transposed=True, output_padding=1),
    ConvSpec(input_size=(3, 4), kernel_size=(4, 3), padding=(2, 1, 0, 0), stride=(3, 1),
             dilation=(1, 2), transposed=True, output_padding=(2, 1)),
]  # fmt: skip


@pytest.mark.parametrize("spec", ARITHMETIC_SPECS, ids=[s.slug() for s in ARITHMETIC_SPECS])
def test_arithmetic_writes_out_a_true_relation(spec):
    expected = layout_of(spec).output_size
    lines = spec.arithmetic().splitlines()
    assert len(lines) == (1 if expected[0] == expected[1] and spec.is_square else 2)
    for axis, line in enumerate(lines):
        # "[axis: ]o = <relation> = <numbers substituted> = <result>"
        parts = [p.strip() for p in line.split("=")]
        assert len(parts) == 4, line
        substituted, result = parts[2], int(parts[3])
        assert _evaluate(substituted) == result == expected[axis]
        # The spec's own numbers appear in the substitution.
        assert str(spec.input_size[axis]) in substituted
        assert str(spec.kernel_size[axis]) in substituted


@pytest.mark.parametrize("spec", ARITHMETIC_SPECS, ids=[s.slug() for s in ARITHMETIC_SPECS])
def test_describe_gives_arithmetic_grid_and_step_count(spec):
    text = spec.describe()
    assert spec.arithmetic() in text
    out_h, out_w = spec.output_size
    assert re.search(rf"\b{out_h * out_w} steps\b", text)
    assert f"{spec.grid_size[0]}x{spec.grid_size[1]}" in text


def test_slug_is_a_file_name_and_tells_specs_apart():
    slugs = {s.slug() for s in ARITHMETIC_SPECS}
    assert len(slugs) == len(ARITHMETIC_SPECS)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", s) for s in slugs)


# -- bad input through the API (the CLI table is in test_cli_geometry.py) -----------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_size": 2.5}, "--input-size: must be a positive integer or HxW"),
        ({"input_size": True}, "--input-size: must be a positive integer or HxW"),
        ({"input_size": (5, 5, 5)}, "--input-size: must be a positive integer or HxW"),
        ({"input_size": (5, "5")}, "--input-size: must be a positive integer or HxW"),
        ({"kernel_size": 0}, "--kernel-size: must be at least 1, got 0"),
        ({"stride": (1, 0)}, "--stride: must be at least 1, got 1x0"),
        ({"dilation": -2}, "--dilation: must be at least 1, got -2"),
        ({"padding": -1}, "--padding: must not be negative, got -1"),
        ({"padding": (1, -1)}, "--padding: must not be negative, got 1x-1"),
        ({"padding": (0, 0, -1, 0)}, "--padding: must not be negative, got (0, 0, -1, 0)"),
        ({"padding": "1,0,-2,0"}, "--padding: must not be negative, got 1,0,-2,0"),
        ({"padding": (1, 2, 3)}, "--padding: must be a non-negative integer, HxW, T,B,L,R"),
        ({"padding": "samey"}, "--padding: must be a non-negative integer, HxW, T,B,L,R"),
        ({"padding": 1.0}, "--padding: must be a non-negative integer"),
        ({"output_padding": -1, "transposed": True}, "--output-padding: must not be negative"),
        ({"mode": "min"}, "--mode: must be one of conv, max, avg, got 'min'"),
    ],
)
def test_malformed_values_raise_spec_error(kwargs, message):
    with pytest.raises(SpecError) as caught:
        ConvSpec(**kwargs)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


# -- the rules against PyTorch -------------------------------------------------------


def _torch_accepts(call) -> bool:
    try:
        call()
    except RuntimeError:
        return False
    return True


def _spec_accepts(**kwargs) -> bool:
    try:
        ConvSpec(**kwargs)
    except SpecError:
        return False
    return True


def test_spec_refuses_what_pytorch_refuses():
    torch = pytest.importorskip("torch")
    functional = pytest.importorskip("torch.nn.functional")
    checked = 0
    for i, k, p, s, d in itertools.product((1, 2, 4), (1, 2, 3), (0, 1, 3), (1, 2, 3), (1, 2)):
        x = torch.zeros(1, 1, i, i)
        w = torch.zeros(1, 1, k, k)
        common = {"input_size": i, "kernel_size": k, "padding": p, "stride": s, "dilation": d}
        assert _spec_accepts(**common) == _torch_accepts(
            lambda x=x, w=w, p=p, s=s, d=d: functional.conv2d(x, w, None, s, p, d)
        ), common
        for op in range(4):
            assert _spec_accepts(**common, transposed=True, output_padding=op) == _torch_accepts(
                lambda x=x, w=w, p=p, s=s, d=d, op=op: functional.conv_transpose2d(
                    x, w, None, s, p, op, 1, d
                )
            ), (common, op)
        assert _spec_accepts(**common, mode="max") == _torch_accepts(
            lambda x=x, k=k, p=p, s=s, d=d: functional.max_pool2d(x, k, s, p, d)
        ), common
        if d == 1:
            assert _spec_accepts(**common, mode="avg") == _torch_accepts(
                lambda x=x, k=k, p=p, s=s: functional.avg_pool2d(x, k, s, p)
            ), common
        checked += 1
    assert checked == 162
