"""Channels: in/out channels, groups, depthwise, bias; spec, geometry, values, CLI.

Dependency sets are compared with the brute-force reference
(tests/reference.py ``channel_sources``) and with PyTorch's one-hot
responses; values with the naive loops of tests/value_reference.py and with
PyTorch's ``conv2d`` / ``conv_transpose2d`` (with ``groups`` and a bias) and
per-channel pooling, over seeded sweeps of random specs.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import value_reference as vref
from click.testing import CliRunner, Result
from reference import channel_sources

from convgif.api import RenderOptions, default_output
from convgif.errors import RenderError
from convgif.gallery import _entry
from convgif.geometry import Geometry
from convgif.spec import ConvSpec, SpecError
from convgif.values import (
    RANDOM_BIAS_RANGE,
    RANDOM_INPUT_RANGE,
    RANDOM_KERNEL_RANGE,
    ValuesError,
    compute_values,
    parse_values,
    values_to_json,
)

SWEEP = 240  # random specs per sweep: a few seconds in all


def run(*args: str) -> Result:
    return CliRunner().invoke(cli_main(), list(args))


def cli_main():
    from convgif.cli import cli

    return cli


def one_error_line(result: Result, start: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"convgif: error: {start}"), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


# -- random specs ----------------------------------------------------------------


def _random_spec(rng: np.random.Generator, kind: str, symmetric: bool = False) -> ConvSpec:
    """A random valid spec of one kind (``conv``, ``transposed``, ``max``, ``avg``).

    Channels 1..6, groups drawn from {1, 2, 3, C} where they divide C, out
    channels a multiple of the groups; non-square sizes, padding, stride and
    dilation. ``symmetric`` keeps the padding the same on both sides of an
    axis (what PyTorch's padding argument takes).
    """
    while True:
        c = int(rng.integers(1, 7))
        h, w = (int(n) for n in rng.integers(1, 7, size=2))
        k = tuple(int(n) for n in rng.integers(1, 4, size=2))
        s = tuple(int(n) for n in rng.integers(1, 4, size=2))
        d = tuple(int(n) for n in rng.integers(1, 3, size=2))
        if symmetric:
            ph, pw = (int(n) for n in rng.integers(0, 3, size=2))
            padding: tuple[int, ...] = (ph, ph, pw, pw)
        else:
            padding = tuple(int(n) for n in rng.integers(0, 3, size=4))
        fields: dict = {"input_size": (h, w), "kernel_size": k, "padding": padding, "stride": s}
        if kind in ("max", "avg"):
            fields.update(mode=kind, in_channels=c, out_channels=c)
            fields["padding"] = tuple(min(p, k[i // 2] // 2) for i, p in enumerate(padding))
            if kind == "max":
                fields["dilation"] = d
        else:
            groups = int(rng.choice(sorted({g for g in (1, 2, 3, c) if c % g == 0})))
            out = groups * int(rng.integers(1, 3))
            fields.update(in_channels=c, out_channels=out, groups=groups, dilation=d)
            if kind == "transposed":
                op = tuple(int(rng.integers(0, max(s[i], d[i]))) for i in range(2))
                fields.update(transposed=True, output_padding=op)
        try:
            return ConvSpec(**fields)
        except SpecError:
            continue


KINDS = ("conv", "transposed", "max", "avg")


def _specs(kind: str, count: int, seed: int, symmetric: bool = False) -> list[ConvSpec]:
    rng = np.random.default_rng(seed)
    return [_random_spec(rng, kind, symmetric) for _ in range(count)]


# -- spec -----------------------------------------------------------------------------


def test_defaults_are_one_channel_and_equal_the_old_spec():
    spec = ConvSpec()
    assert (spec.in_channels, spec.out_channels, spec.groups) == (1, 1, 1)
    assert spec.is_single_channel and not spec.is_depthwise
    assert spec == ConvSpec(in_channels=1, out_channels="1", groups=1)
    # Text mentions channels only when there are some.
    assert "channel" not in spec.parameters_text() + spec.describe() + spec.slug()


@pytest.mark.parametrize("name", ["in_channels", "out_channels", "groups"])
@pytest.mark.parametrize(
    ("value", "rule"),
    [(0, "must be at least 1, got 0"), (-2, "must be at least 1, got -2"),
     ("x", "must be a positive integer, got 'x'"), (1.5, "must be a positive integer"),
     (True, "must be a positive integer, got True"), (1025, "must be at most 1024, got 1025")],
)  # fmt: skip
def test_bad_counts_name_their_option(name, value, rule):
    with pytest.raises(SpecError) as caught:
        ConvSpec(**{name: value})
    option = "--" + name.replace("_", "-")
    assert str(caught.value).startswith(f"{option}: {rule}")


def test_counts_accept_strings_and_numpy_integers():
    spec = ConvSpec(in_channels="4", out_channels=np.int64(2), groups=np.int32(2))
    assert (spec.in_channels, spec.out_channels, spec.groups) == (4, 2, 2)
    assert all(type(n) is int for n in (spec.in_channels, spec.out_channels, spec.groups))


@pytest.mark.parametrize(
    ("kwargs", "start"),
    [({"in_channels": 3, "groups": 2}, "--groups: 2 does not divide --in-channels 3"),
     ({"in_channels": 4, "out_channels": 3, "groups": 2},
      "--groups: 2 does not divide --out-channels 3"),
     ({"in_channels": 2, "out_channels": 2, "groups": 4}, "--groups: 4 does not divide"),
     ({"in_channels": 3, "mode": "max"}, "--out-channels: pooling (--mode max) keeps"),
     ({"in_channels": 2, "out_channels": 2, "groups": 2, "mode": "avg"},
      "--groups: pooling (--mode avg) has no groups")],
)  # fmt: skip
def test_bad_channel_combinations(kwargs, start):
    with pytest.raises(SpecError) as caught:
        ConvSpec(**kwargs)
    assert str(caught.value).startswith(start)
    assert "\n" not in str(caught.value)


def test_channel_rules_are_pytorchs():
    torch = pytest.importorskip("torch")
    nn = pytest.importorskip("torch.nn")
    checked = 0
    for c, m, g in itertools.product(range(1, 6), repeat=3):
        for transposed in (False, True):
            layer = nn.ConvTranspose2d if transposed else nn.Conv2d
            try:
                weight = layer(c, m, (2, 3), groups=g, device="meta").weight
            except ValueError:
                weight = None
            try:
                spec = ConvSpec(
                    in_channels=c,
                    out_channels=m,
                    groups=g,
                    kernel_size=(2, 3),
                    transposed=transposed,
                )
            except SpecError:
                spec = None
            assert (spec is None) == (weight is None), (c, m, g, transposed)
            if spec is not None:
                assert spec.weight_shape == tuple(weight.shape)
                checked += 1
    assert checked > 50
    del torch


def test_pooling_has_no_weight_and_reads_its_own_channel():
    spec = ConvSpec(in_channels=3, out_channels=3, mode="max")
    assert spec.weight_shape is None
    assert [spec.in_channels_of(m) for m in range(3)] == [(0,), (1,), (2,)]
    assert [spec.out_channels_of(c) for c in range(3)] == [(0,), (1,), (2,)]


@pytest.mark.parametrize("transposed", [False, True])
def test_in_and_out_channels_of_are_each_others_inverse(transposed):
    for c, m, g in itertools.product(range(1, 7), repeat=3):
        if c % g or m % g:
            continue
        spec = ConvSpec(in_channels=c, out_channels=m, groups=g, transposed=transposed)
        pairs_in = {(i, o) for o in range(m) for i in spec.in_channels_of(o)}
        pairs_out = {(i, o) for i in range(c) for o in spec.out_channels_of(i)}
        assert pairs_in == pairs_out
        assert len(pairs_in) == c * m // g  # each group is complete, nothing crosses
        assert spec.in_channels_per_group * spec.groups == c
        assert spec.out_channels_per_group * spec.groups == m
    with pytest.raises(IndexError):
        ConvSpec(in_channels=2).in_channels_of(1)
    with pytest.raises(IndexError):
        ConvSpec(in_channels=2).out_channels_of(2)


def test_depthwise_convenience():
    spec = ConvSpec.depthwise(3, kernel_size=2)
    assert (spec.in_channels, spec.out_channels, spec.groups) == (3, 3, 3)
    assert spec.kernel_size == (2, 2) and spec.is_depthwise
    assert spec.weight_shape == (3, 1, 2, 2)
    doubled = ConvSpec.depthwise(3, multiplier=2)
    assert (doubled.out_channels, doubled.groups) == (6, 3) and doubled.is_depthwise
    assert [doubled.in_channels_of(m) for m in range(6)] == [(0,), (0,), (1,), (1,), (2,), (2,)]
    assert not ConvSpec(in_channels=4, out_channels=4, groups=2).is_depthwise


def test_texts_mention_channels():
    spec = ConvSpec(in_channels=4, out_channels=2, groups=2, padding=1)
    assert "channels 4 → 2, groups 2" in spec.parameters_text()
    assert "weight 2x2x3x3 (out, in/groups, kh, kw)" in spec.describe()
    assert f"{spec.step_count} steps (2 output channels × 5x5" in spec.describe()
    assert spec.slug().endswith("_c4to2_g2")
    depthwise = ConvSpec.depthwise(3, transposed=True)
    assert "(depthwise)" in depthwise.parameters_text()
    assert "weight 3x1x3x3 (in, out/groups, kh, kw)" in depthwise.describe()
    pooled = ConvSpec(in_channels=3, out_channels=3, mode="avg")
    assert "channels 3," in pooled.parameters_text() and pooled.slug().endswith("_c3")
    slugs = {
        s.slug()
        for s in (spec, depthwise, pooled, ConvSpec(in_channels=4, out_channels=2), ConvSpec())
    }
    assert len(slugs) == 5


# -- geometry ---------------------------------------------------------------------------


def test_steps_go_output_channel_first_then_row_major():
    spec = ConvSpec(input_size=(4, 5), kernel_size=(2, 3), in_channels=4, out_channels=6, groups=2)
    geometry = Geometry(spec)
    rows, cols = spec.output_size
    assert len(geometry) == spec.step_count == 6 * rows * cols
    expected = [(m, (i, j)) for m in range(6) for i in range(rows) for j in range(cols)]
    steps = list(geometry.steps())
    assert [(s.out_channel, s.output) for s in steps] == expected
    assert [s.index for s in steps] == list(range(len(expected)))
    single = Geometry(dataclasses.replace(spec, in_channels=1, out_channels=1, groups=1))
    for step in steps:
        plain = single.step(step.index % (rows * cols))
        assert (step.window, step.sources) == (plain.window, plain.sources)
        assert geometry.step_index(step.output, step.out_channel) == step.index
    with pytest.raises(IndexError):
        geometry.step(len(expected))
    with pytest.raises(IndexError):
        geometry.step_index((0, 0), 6)


@pytest.mark.parametrize("kind", KINDS)
def test_dependency_sets_match_the_reference(kind):
    for spec in _specs(kind, SWEEP // 4, seed=11):
        reference = channel_sources(spec)
        found = {
            (s.out_channel, s.output): frozenset(
                (c, r, q) for c in s.in_channels for r, q in s.sources
            )
            for s in Geometry(spec).steps()
        }
        assert found == reference, spec


def _torch_channel_dependencies(spec: ConvSpec) -> np.ndarray:
    """``reached[m, i, j, c, r, q]``: does output (m, i, j) respond to input (c, r, q)?"""
    torch = pytest.importorskip("torch")
    functional = pytest.importorskip("torch.nn.functional")
    c, (h, w) = spec.in_channels, spec.input_size
    one_hots = torch.eye(c * h * w, dtype=torch.float64).reshape(c * h * w, c, h, w)
    t, _, left, _ = spec.padding
    if spec.mode == "max":
        out = functional.max_pool2d(
            one_hots, spec.kernel_size, spec.stride, (t, left), spec.dilation
        )
    elif spec.mode == "avg":
        out = functional.avg_pool2d(one_hots, spec.kernel_size, spec.stride, (t, left))
    else:
        ones = torch.ones(spec.weight_shape, dtype=torch.float64)
        call = functional.conv_transpose2d if spec.transposed else functional.conv2d
        extra = {"output_padding": spec.output_padding} if spec.transposed else {}
        out = call(
            one_hots,
            ones,
            stride=spec.stride,
            padding=(t, left),
            dilation=spec.dilation,
            groups=spec.groups,
            **extra,
        )
    reached = (out > 0).numpy().reshape(c, h, w, *out.shape[1:])
    return reached.transpose(3, 4, 5, 0, 1, 2)


@pytest.mark.parametrize("kind", KINDS)
def test_dependency_sets_match_pytorch(kind):
    pytest.importorskip("torch")
    for spec in _specs(kind, SWEEP // 12, seed=12, symmetric=True):
        reached = _torch_channel_dependencies(spec)
        assert reached.shape[:3] == (spec.out_channels, *spec.output_size), spec
        for step in Geometry(spec).steps():
            found = {(c, r, q) for c in step.in_channels for r, q in step.sources}
            theirs = set(zip(*np.nonzero(reached[step.out_channel, *step.output]), strict=True))
            # Max pooling responds only where a one-hot wins; every source can.
            assert found == {tuple(int(n) for n in cell) for cell in theirs}, (spec, step)


def test_geometry_json_carries_the_channels():
    spec = ConvSpec(in_channels=2, out_channels=4, groups=2, transposed=True, kernel_size=2)
    data = json.loads(json.dumps(Geometry(spec).to_dict()))
    assert (data["in_channels"], data["out_channels"], data["groups"]) == (2, 4, 2)
    assert data["weight_shape"] == [2, 2, 2, 2]
    rows, cols = spec.output_size
    assert len(data["steps"]) == 4 * rows * cols
    assert [s["out_channel"] for s in data["steps"]] == [
        m for m in range(4) for _ in range(rows * cols)
    ]
    assert {tuple(s["in_channels"]) for s in data["steps"]} == {(0,), (1,)}
    plain = Geometry(ConvSpec()).to_dict()
    assert (plain["in_channels"], plain["out_channels"], plain["groups"]) == (1, 1, 1)
    assert all(s["out_channel"] == 0 and s["in_channels"] == [0] for s in plain["steps"])
    assert plain["weight_shape"] == [1, 1, 3, 3]
    assert Geometry(ConvSpec(mode="max")).to_dict()["weight_shape"] is None


# -- values ------------------------------------------------------------------------------


def _reference_values(spec: ConvSpec, x: np.ndarray, w: np.ndarray | None, bias):
    """Output ``M×Ho×Wo`` and partial sums from the naive loops."""
    if spec.mode == "max":
        planes = [vref.max_pool2d(p, spec.kernel_size, spec.padding, spec.stride, spec.dilation)[0]
                  for p in x]  # fmt: skip
        return np.stack(planes), None
    if spec.mode == "avg":
        return np.stack(
            [vref.avg_pool2d(p, spec.kernel_size, spec.padding, spec.stride) for p in x]
        ), None
    if spec.transposed:
        return vref.conv_transpose2d_channels(
            x, w, bias, spec.groups, spec.padding, spec.stride, spec.dilation, spec.output_padding
        )
    return vref.conv2d_channels(x, w, bias, spec.groups, spec.padding, spec.stride, spec.dilation)


@pytest.mark.parametrize("kind", KINDS)
def test_values_match_the_naive_loops(kind):
    rng = np.random.default_rng(21)
    for spec in _specs(kind, SWEEP // 4, seed=22):
        x = rng.standard_normal((spec.in_channels, *spec.input_size))
        w = None if spec.weight_shape is None else rng.standard_normal(spec.weight_shape)
        bias = None
        if kind in ("conv", "transposed") and rng.integers(2):
            bias = rng.standard_normal(spec.out_channels)
        values = compute_values(spec, input_values=x, kernel_values=w, bias=bias)
        output, partial = _reference_values(spec, x, w, bias)
        np.testing.assert_allclose(values.output_planes, output, atol=1e-9, err_msg=str(spec))
        if partial is None:
            assert values.channel_sums is None
            continue
        np.testing.assert_allclose(values.channel_sums, partial, atol=1e-9, err_msg=str(spec))
        for step in Geometry(spec).steps():
            parts = values.partial_sums(step.index)
            assert len(parts) == len(step.in_channels)
            total = parts.sum() + values.bias_of(step.out_channel)
            assert values.output_value(step.index) == pytest.approx(total, abs=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_values_match_pytorch(kind):
    torch = pytest.importorskip("torch")
    functional = pytest.importorskip("torch.nn.functional")
    rng = np.random.default_rng(31)
    for spec in _specs(kind, SWEEP // 4, seed=32, symmetric=True):
        x = rng.standard_normal((spec.in_channels, *spec.input_size))
        tx = torch.from_numpy(x)[None]
        t, _, left, _ = spec.padding
        if kind == "max":
            values = compute_values(spec, input_values=x)
            theirs = functional.max_pool2d(
                tx, spec.kernel_size, spec.stride, (t, left), spec.dilation
            )
        elif kind == "avg":
            values = compute_values(spec, input_values=x)
            theirs = functional.avg_pool2d(tx, spec.kernel_size, spec.stride, (t, left))
        else:
            w = rng.standard_normal(spec.weight_shape)
            bias = rng.standard_normal(spec.out_channels)
            values = compute_values(spec, input_values=x, kernel_values=w, bias=bias)
            common = {
                "stride": spec.stride,
                "padding": (t, left),
                "dilation": spec.dilation,
                "groups": spec.groups,
            }
            tw, tb = torch.from_numpy(w), torch.from_numpy(bias)
            if spec.transposed:
                theirs = functional.conv_transpose2d(
                    tx, tw, tb, output_padding=spec.output_padding, **common
                )
            else:
                theirs = functional.conv2d(tx, tw, tb, **common)
        np.testing.assert_allclose(
            values.output_planes, theirs[0].numpy(), atol=1e-9, err_msg=str(spec)
        )


def test_max_pooling_winners_are_per_step_in_their_channel():
    x = np.array([[[1, 5], [2, 0]], [[7, 0], [0, 8]], [[3, 3], [3, 3]]], dtype=float)
    spec = ConvSpec(input_size=2, kernel_size=2, in_channels=3, out_channels=3, mode="max")
    values = compute_values(spec, input_values=x)
    assert values.winners == ((0, 1), (1, 1), (0, 0))  # the first maximum on a tie
    assert values.output.tolist() == [[[5.0]], [[8.0]], [[3.0]]]


def test_one_channel_keeps_its_2d_arrays_and_random_numbers():
    spec = ConvSpec(input_size=(4, 5), kernel_size=(2, 3), padding=1)
    values = compute_values(spec, seed=5)
    assert values.input.ndim == values.kernel.ndim == values.grid.ndim == 2
    assert values.output.shape == spec.output_size and values.window_kernel.shape == (2, 3)
    # The documented draw: the input, then the kernel, from default_rng(seed).
    rng = np.random.default_rng(5)
    low, high = RANDOM_INPUT_RANGE
    np.testing.assert_array_equal(values.input, rng.integers(low, high + 1, size=(4, 5)))
    low, high = RANDOM_KERNEL_RANGE
    np.testing.assert_array_equal(values.kernel, rng.integers(low, high + 1, size=(2, 3)))
    assert values.bias is None
    assert values.channel_sums.shape == (1, 1, *spec.output_size)
    data = values_to_json(values)
    assert np.array(data["input_values"]).shape == (4, 5)
    assert np.array(data["kernel_values"]).shape == (2, 3)
    assert "bias_values" not in data


def test_random_values_with_channels_are_seeded_and_small():
    spec = ConvSpec(in_channels=3, out_channels=2, groups=1)
    first = compute_values(spec, seed=9, bias="random")
    again = compute_values(spec, seed=9, bias="random")
    np.testing.assert_array_equal(first.output, again.output)
    np.testing.assert_array_equal(first.bias, again.bias)
    assert first.input.shape == (3, 5, 5) and first.kernel.shape == (2, 3, 3, 3)
    assert first.bias.shape == (2,)
    for array in (first.input, first.kernel, first.output, first.bias, first.channel_sums):
        assert not array.flags.writeable
    low, high = RANDOM_BIAS_RANGE
    assert np.all((first.bias >= low) & (first.bias <= high))
    assert np.all(first.bias == np.round(first.bias))
    # The bias is drawn last: it changes nothing else.
    plain = compute_values(spec, seed=9)
    np.testing.assert_array_equal(plain.input, first.input)
    np.testing.assert_array_equal(plain.kernel, first.kernel)
    np.testing.assert_array_equal(plain.output + first.bias[:, None, None], first.output)


def test_json_with_channels():
    spec = ConvSpec(in_channels=2, out_channels=3, input_size=(3, 4), kernel_size=2)
    values = compute_values(spec, seed=1, bias="1,-1,0.5")
    data = json.loads(json.dumps(values_to_json(values)))
    assert np.array(data["input_values"]).shape == (2, 3, 4)
    assert np.array(data["kernel_values"]).shape == (3, 2, 2, 2)
    assert np.array(data["output_values"]).shape == (3, *spec.output_size)
    assert data["bias_values"] == [1, -1, 0.5]
    np.testing.assert_allclose(data["output_values"], values.output)
    pooled = compute_values(ConvSpec(in_channels=2, out_channels=2, mode="avg"), seed=1)
    assert "kernel_values" not in values_to_json(pooled)


# -- value inputs ------------------------------------------------------------------------


def test_inline_channels_and_filters():
    cube = parse_values("1,2;3,4 | 5,6;7,8", "--input-values", ndims=(2, 3, 4))
    np.testing.assert_array_equal(cube, np.arange(1, 9).reshape(2, 2, 2))
    weight = parse_values("1 | 2 | 3 || 4 | 5 | 6", "--kernel-values", ndims=(2, 3, 4))
    np.testing.assert_array_equal(weight, np.arange(1, 7).reshape(2, 3, 1, 1))
    one_each = parse_values("1,0;0,1 || 2,0;0,2", "--kernel-values", ndims=(2, 3, 4))
    assert one_each.shape == (2, 1, 2, 2)


@pytest.mark.parametrize(
    ("text", "part"),
    [("1,2;3,4 | 5,6", "ragged channels: channel 2 has 1x2 values, the first has 2x2"),
     ("1 | 2 || 3", "ragged filters: filter 2 has 1 channels, filter 1 has 2"),
     ("1,2 | | 3,4", "no values in channel 2"),
     ("1 | x", "not a number: 'x' in channel 2, row 1"),
     ("1 || 2,3", "ragged channels: filter 2, channel 1 has 1x2 values")],
)  # fmt: skip
def test_inline_errors_name_the_channel(text, part):
    with pytest.raises(ValuesError) as caught:
        parse_values(text, "--input-values", ndims=(2, 3, 4))
    message = str(caught.value)
    assert message.startswith("--input-values: ") and part in message
    assert "\n" not in message


def test_a_2d_only_table_refuses_channels():
    with pytest.raises(ValuesError, match="expected a 2-D array of values, got 3-D"):
        parse_values("1 | 2", "--input-values")


def test_npy_channels_and_weights(tmp_path: Path):
    spec = ConvSpec(in_channels=2, out_channels=4, groups=2, input_size=3, kernel_size=2)
    rng = np.random.default_rng(0)
    x, w = rng.integers(-3, 4, (2, 3, 3)), rng.integers(-3, 4, (4, 1, 2, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "b.npy", np.array([1.0, 2.0, 3.0, 4.0]))
    values = compute_values(
        spec,
        input_values=str(tmp_path / "x.npy"),
        kernel_values=str(tmp_path / "w.npy"),
        bias=str(tmp_path / "b.npy"),
    )
    np.testing.assert_array_equal(values.input, x)
    np.testing.assert_array_equal(values.kernel, w)
    np.testing.assert_array_equal(values.bias, [1, 2, 3, 4])
    (tmp_path / "b.csv").write_text("1\n2\n3\n4\n", encoding="utf-8")
    column = compute_values(spec, input_values=x, kernel_values=w, bias=str(tmp_path / "b.csv"))
    np.testing.assert_array_equal(column.output, values.output)


def test_a_one_by_one_weight_may_be_its_matrix():
    spec = ConvSpec(in_channels=3, out_channels=2, kernel_size=1, input_size=2)
    matrix = compute_values(spec, seed=0, kernel_values="1,2,3;4,5,6")
    planes = compute_values(spec, seed=0, kernel_values="1 | 2 | 3 || 4 | 5 | 6")
    np.testing.assert_array_equal(matrix.kernel, planes.kernel)
    assert matrix.kernel.shape == (2, 3, 1, 1)
    # Output channel 1 is 4·x0 + 5·x1 + 6·x2 at every pixel.
    x = matrix.input
    np.testing.assert_array_equal(matrix.output[1], 4 * x[0] + 5 * x[1] + 6 * x[2])


@pytest.mark.parametrize(
    ("spec", "kwargs", "start"),
    [(ConvSpec(in_channels=3), {"input_values": "1,2;3,4"},
      "--input-values: expected 3x5x5 values (--in-channels 3, --input-size 5x5), got 2x2"),
     (ConvSpec(in_channels=3, out_channels=2), {"kernel_values": "1,2;3,4"},
      "--kernel-values: expected 2x3x3x3 values (the weight's shape (out, in/groups, kh, kw)"),
     (ConvSpec(in_channels=4, out_channels=2, groups=2, transposed=True),
      {"kernel_values": np.zeros((2, 4, 3, 3))},
      "--kernel-values: expected 4x1x3x3 values (the weight's shape (in, out/groups, kh, kw)"),
     (ConvSpec(out_channels=2), {"bias": "1,2,3"},
      "--bias: expected 2 values, one per output channel (--out-channels 2), got 3"),
     (ConvSpec(in_channels=2, out_channels=2, mode="max"), {"bias": "random"},
      "--bias: pooling (--mode max) has no bias"),
     (ConvSpec(), {"kernel_values": np.zeros((3, 3, 3))},
      "--kernel-values: expected a 2-D array of values, got 3-D"),
     (ConvSpec(), {"input_values": np.zeros((2, 5, 5))},
      "--input-values: expected a 2-D array of values, got 3-D")],
)  # fmt: skip
def test_wrong_shapes_name_the_option_and_the_shape(spec, kwargs, start):
    with pytest.raises(ValuesError) as caught:
        compute_values(spec, **kwargs)
    assert str(caught.value).startswith(start), str(caught.value)
    assert "\n" not in str(caught.value)


def test_one_channel_accepts_pytorchs_4d_weight():
    spec = ConvSpec(kernel_size=2)
    weight = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    values = compute_values(spec, seed=0, kernel_values=weight)
    assert values.kernel.shape == (2, 2)
    np.testing.assert_array_equal(values.kernel, weight[0, 0])


# -- the Python API and the gallery ---------------------------------------------------


def test_render_options_take_a_bias():
    assert RenderOptions(bias="random").shows_numbers
    assert not RenderOptions().shows_numbers
    for bad in (True, 3, 1.5, "  "):
        with pytest.raises(RenderError, match=r"^--bias: "):
            RenderOptions(bias=bad)
    assert "_bias" in default_output(ConvSpec(), RenderOptions(bias="random")).name


def test_gallery_entries_take_the_channel_keys():
    spec = {"in_channels": 4, "out_channels": 2, "groups": 2}
    entry = _entry(
        {"name": "grouped", "spec": spec, "render": {"bias": "random"}}, {}, 1, Path("."), False
    )
    assert entry.error is None
    bad = _entry({"name": "bad", "spec": {"in_channels": 3, "groups": 2}}, {}, 2, Path("."), False)
    assert bad.error is not None and bad.error.startswith("--groups: ")


# -- command line ------------------------------------------------------------------------


def _json(*args: str) -> dict:
    result = run("geometry", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "channels"),
    [([], (1, 1, 1)),
     (["--in-channels", "3"], (3, 1, 1)),
     (["--in-channels", "4", "--out-channels", "6", "--groups", "2"], (4, 6, 2)),
     (["--depthwise", "--in-channels", "3"], (3, 3, 3)),
     (["--depthwise", "--in-channels", "3", "--out-channels", "6"], (3, 6, 3)),
     (["--depthwise", "--out-channels", "2"], (2, 2, 2)),
     (["--depthwise", "--in-channels", "3", "--groups", "3"], (3, 3, 3)),
     (["--mode", "max", "--in-channels", "3"], (3, 3, 1)),
     (["--mode", "avg", "--in-channels", "2", "--out-channels", "2"], (2, 2, 1))],
)  # fmt: skip
def test_cli_channel_options(args, channels):
    data = _json(*args)
    assert (data["in_channels"], data["out_channels"], data["groups"]) == channels
    rows, cols = data["output_size"]
    assert len(data["steps"]) == channels[1] * rows * cols


@pytest.mark.parametrize(
    ("args", "start"),
    [(["--in-channels", "0"], "--in-channels: must be at least 1, got 0"),
     (["--out-channels", "two"], "--out-channels: must be a positive integer, got 'two'"),
     (["--groups", "-1"], "--groups: must be at least 1, got -1"),
     (["--in-channels", "3", "--groups", "2"], "--groups: 2 does not divide --in-channels 3"),
     (["--in-channels", "2", "--out-channels", "3", "--groups", "2"],
      "--groups: 2 does not divide --out-channels 3"),
     (["--mode", "max", "--in-channels", "3", "--out-channels", "2"],
      "--out-channels: pooling (--mode max) keeps the channels"),
     (["--mode", "avg", "--in-channels", "2", "--groups", "2"],
      "--groups: pooling (--mode avg) has no groups"),
     (["--mode", "max", "--depthwise"], "--depthwise: pooling (--mode max)"),
     (["--depthwise", "--in-channels", "4", "--groups", "2"],
      "--depthwise: means --groups equal to --in-channels (4), got --groups 2"),
     (["--in-channels", "3", "--input-size", "5", "--input-values", "1,2;3,4"],
      "--input-values: expected 3x5x5"),
     (["--in-channels", "2", "--kernel-size", "3", "--kernel-values", "1,2;3,4"],
      "--kernel-values: expected 1x2x3x3"),
     (["--in-channels", "2", "--input-values", "1 | 2,3"], "--input-values: ragged channels"),
     (["--out-channels", "2", "--bias", "1"], "--bias: expected 2 values"),
     (["--bias", "x"], "--bias: not a number: 'x'"),
     (["--bias", "missing.npy"], "--bias: file not found"),
     (["--mode", "max", "--bias", "random"], "--bias: pooling (--mode max) has no bias")],
)  # fmt: skip
def test_cli_bad_combinations_are_one_line_exit_2(args, start, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_error_line(run("geometry", *args), start)
    # Until channels are drawn, render may refuse them first; either way one line.
    line = one_error_line(run("render", *args, "-o", "x.gif"), "")
    assert line.startswith(f"convgif: error: {start}") or "not drawn yet" in line, line
    assert list(tmp_path.iterdir()) == []


def test_cli_json_contract_with_values():
    args = ["--in-channels", "2", "--out-channels", "2", "--groups", "2", "--input-size", "3"]
    data = _json(*args, "--kernel-size", "2", "--bias", "1,-1", "--seed", "4")
    assert data["weight_shape"] == [2, 1, 2, 2]
    x, w = np.array(data["input_values"]), np.array(data["kernel_values"])
    assert x.shape == (2, 3, 3) and w.shape == (2, 1, 2, 2)
    output = np.array(data["output_values"])
    expected, _ = vref.conv2d_channels(
        x.astype(float), w.astype(float), np.array([1.0, -1.0]), 2, (0, 0, 0, 0), (1, 1), (1, 1)
    )
    np.testing.assert_allclose(output, expected)
    assert data["bias_values"] == [1, -1]
    for step in data["steps"]:
        assert step["in_channels"] == [step["out_channel"]]  # groups = channels


def test_cli_text_output_names_the_channels():
    result = run("geometry", "--in-channels", "2", "--out-channels", "3", "--numbers",
                 "--bias", "random", "--input-size", "3", "--kernel-size", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "channels 2 → 3" in text and "weight 3x2x2x2" in text
    assert "input values, channel 1 (3x3):" in text
    assert "kernel values, filter 2, channel 1 (2x2):" in text
    assert "output values, channel 2 (2x2):" in text
    assert "bias values (3, one per output channel):" in text
    transposed = run("geometry", "--in-channels", "2", "--out-channels", "4", "--groups", "2",
                     "--transposed", "--numbers", "--kernel-size", "2").stdout  # fmt: skip
    assert "kernel values, input channel 1 → output channel 3 (2x2):" in transposed
    assert "input channel 1 → output channel 1" not in transposed  # another group
    plain = run("geometry", "--numbers").stdout
    assert "channel" not in plain and "input values (5x5):" in plain
