"""Stacks of layers: sizes, receptive fields and each top cell's sources.

Checked against a brute force written here (naive loops over every output
cell and kernel tap of every layer, composed downwards; nothing from convgif's
geometry) and against PyTorch autograd through a chain of ``conv2d`` with
``F.pad``. Also the ``causal`` padding name and the ``convgif stack`` command.
"""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys

import pytest
from click.testing import CliRunner
from reference import brute_dependencies, brute_reads, layers_of, random_layer

from convgif.cli import cli
from convgif.spec import ConvSpec, SpecError
from convgif.stack import LAYER_KEYS, StackError, StackGeometry, StackSpec, parse_layer

# ---------------------------------------------------------------------------
# The brute force (with tests/reference.py: brute_reads, brute_dependencies):
# a layer is (input_size, kernel, stride, dilation, sides)
# with sides = (top, bottom, left, right); everything is counted, not derived.


def brute_output_size(size, kernel, stride, dilation, sides):
    """Count the kernel's positions inside the padded input, per axis."""
    counts = []
    for axis in (0, 1):
        padded = size[axis] + sides[2 * axis] + sides[2 * axis + 1]
        reach = dilation[axis] * (kernel[axis] - 1)
        counts.append(sum(1 for p in range(0, padded, stride[axis]) if p + reach < padded))
    return tuple(counts)


def brute_unbounded_span(layers, top_cell):
    """Smallest and largest input row/col reachable when borders are ignored."""
    cells = {top_cell}
    for _size, kernel, stride, dilation, sides in reversed(layers):
        cells = {
            (
                c[0] * stride[0] + a * dilation[0] - sides[0],
                c[1] * stride[1] + b * dilation[1] - sides[2],
            )
            for c in cells
            for a in range(kernel[0])
            for b in range(kernel[1])
        }
    rows = [c[0] for c in cells]
    cols = [c[1] for c in cells]
    return (min(rows), min(cols)), (max(rows), max(cols))


# ---------------------------------------------------------------------------
# Random stacks, written as the command line writes them.


def random_stacks(seed: int, count: int) -> list[tuple[str, list[str], StackSpec]]:
    """``count`` valid random stacks (1-3 layers, non-square inputs up to 9)."""
    rng = random.Random(seed)
    stacks = []
    while len(stacks) < count:
        size = f"{rng.randint(1, 9)}x{rng.randint(1, 9)}"
        specs = [random_layer(rng) for _ in range(rng.randint(1, 3))]
        try:
            stacks.append((size, specs, StackSpec.parse(size, specs)))
        except StackError:
            continue
    return stacks


STACKS = random_stacks(seed=12, count=150)


def test_the_random_stacks_cover_every_kind_of_layer() -> None:
    layers = [layer for _, _, stack in STACKS for layer in stack.layers]
    names = {layer.padding_name for layer in layers}
    assert {"causal", "same", "full"} <= names
    assert any(layer.padding[0] != layer.padding[1] for layer in layers)  # per side
    assert {layer.mode for layer in layers} == {"conv", "max", "avg"}
    assert {len(stack.layers) for _, _, stack in STACKS} == {1, 2, 3}
    assert any(layer.dilation[0] != layer.dilation[1] for layer in layers)
    assert any(stack.input_size[0] != stack.input_size[1] for _, _, stack in STACKS)


@pytest.mark.parametrize(("size", "specs", "stack"), STACKS, ids=[f"s{i}" for i in range(150)])
def test_sizes_fields_and_sources_match_the_brute_force(size, specs, stack) -> None:
    layers = layers_of(stack)
    below = stack.input_size
    for (layer_size, kernel, stride, dilation, sides), out in zip(
        layers, stack.output_sizes, strict=True
    ):
        assert layer_size == below
        assert out == brute_output_size(layer_size, kernel, stride, dilation, sides)
        below = out
    geometry = StackGeometry(stack)
    steps = list(geometry.steps())
    rows, cols = stack.output_size
    assert [s.output for s in steps] == [(r, c) for r in range(rows) for c in range(cols)]
    # The field, jump and start by brute force, borders ignored.
    first, last = brute_unbounded_span(layers, (0, 0))
    assert stack.starts[-1] == first
    assert stack.receptive_field == (last[0] - first[0] + 1, last[1] - first[1] + 1)
    for step in steps:
        sources, per_layer = brute_dependencies(layers, step.output)
        assert step.sources == tuple(sorted(sources))
        assert step.layers == tuple(tuple(sorted(cells)) for cells in per_layer)
        low, high = brute_unbounded_span(layers, step.output)
        assert stack.field_of(step.output) == (low, high)
        jh, jw = stack.jumps[-1]
        assert low == (first[0] + step.output[0] * jh, first[1] + step.output[1] * jw)
        # Links: each dependent cell reads exactly its window's real cells.
        for number, (links, cells) in enumerate(zip(step.links, step.layers, strict=True)):
            assert tuple(link.cell for link in links) == cells
            for link in links:
                assert set(link.reads) == brute_reads(link.cell, *layers[number])


def test_every_layers_field_jump_and_start_match_the_brute_force() -> None:
    for _, _, stack in STACKS:
        layers = layers_of(stack)
        for depth in range(1, len(layers) + 1):
            first, last = brute_unbounded_span(layers[:depth], (0, 0))
            cell1 = brute_unbounded_span(layers[:depth], (1, 1))[0]
            assert stack.starts[depth - 1] == first
            assert stack.fields[depth - 1] == (last[0] - first[0] + 1, last[1] - first[1] + 1)
            assert stack.jumps[depth - 1] == (cell1[0] - first[0], cell1[1] - first[1])


def torch_padding(sides):
    """F.pad's order: (left, right, top, bottom)."""
    top, bottom, left, right = sides
    return (left, right, top, bottom)


@pytest.mark.parametrize("seed", range(4))
def test_sources_and_layer_cells_match_torch_autograd(seed) -> None:
    """A top cell's gradient is nonzero exactly on the cells it depends on (weights all ones)."""
    torch = pytest.importorskip("torch")
    functional = pytest.importorskip("torch.nn.functional")
    for _size, _specs, stack in STACKS[seed::4][:25]:
        x = torch.ones((1, 1, *stack.input_size), dtype=torch.float64, requires_grad=True)
        activations = []
        y = x
        for layer in stack.layers:
            y = functional.pad(y, torch_padding(layer.padding))
            # Pooling reads the same window as a convolution; ones keep every path visible.
            weight = torch.ones((1, 1, *layer.kernel_size), dtype=torch.float64)
            y = functional.conv2d(y, weight, stride=layer.stride, dilation=layer.dilation)
            y.retain_grad()
            activations.append(y)
        assert [tuple(a.shape[2:]) for a in activations] == list(stack.output_sizes)
        for step in StackGeometry(stack).steps():
            for tensor in (x, *activations):
                tensor.grad = None
            y[0, 0, step.output[0], step.output[1]].backward(retain_graph=True)
            reached = [tuple(map(tuple, (t.grad[0, 0] != 0).nonzero().tolist())) for t in (x,)]
            assert reached[0] == step.sources
            for activation, cells in zip(activations, step.layers, strict=True):
                assert tuple(map(tuple, (activation.grad[0, 0] != 0).nonzero().tolist())) == cells


# ---------------------------------------------------------------------------
# The figures the issue names.


def test_the_seeds_two_3x3_layers_see_a_5x5_patch() -> None:
    stack = StackSpec.parse(7, ["kernel-size=3", "kernel-size=3"])
    assert stack.output_sizes == ((5, 5), (3, 3))
    assert stack.fields == ((3, 3), (5, 5))
    step = StackGeometry(stack).step(4)  # the centre of the 3x3 top
    assert step.output == (1, 1)
    assert step.sources == tuple((r, c) for r in range(1, 6) for c in range(1, 6))
    assert step.layers[0] == tuple((r, c) for r in range(1, 4) for c in range(1, 4))  # 3x3
    assert step.layers[1] == ((1, 1),)


def test_wavenet_causal_stack_sees_16_past_samples() -> None:
    layers = [f"kernel-size=1x2 dilation=1x{d} padding=causal" for d in (1, 2, 4, 8)]
    stack = StackSpec.parse("1x16", layers)
    assert stack.output_sizes == ((1, 16),) * 4
    assert stack.receptive_field == (1, 1 + 1 + 2 + 4 + 8)
    assert stack.fields == ((1, 2), (1, 4), (1, 8), (1, 16))
    assert stack.starts[-1] == (0, -15)
    assert stack.jumps[-1] == (1, 1)
    for step in StackGeometry(stack).steps():
        t = step.output[1]
        # Causal: the past and present only, and all of it within the field.
        assert step.sources == tuple((0, c) for c in range(max(0, t - 15), t + 1))
    last = StackGeometry(stack).step(15)
    assert len(last.sources) == 16
    # The WaveNet picture: each layer's unit reads itself and the unit d back.
    assert [len(cells) for cells in last.layers] == [8, 4, 2, 1]
    top_link = last.links[3][0]
    assert top_link.cell == (0, 15)
    assert top_link.reads == ((0, 7), (0, 15))


def test_dilations_1_2_4_grow_the_field_exponentially() -> None:
    dilated = StackSpec.parse(15, [f"kernel-size=3 dilation={d} padding=same" for d in (1, 2, 4)])
    plain = StackSpec.parse(15, ["kernel-size=3 padding=same"] * 3)
    assert dilated.fields == ((3, 3), (7, 7), (15, 15))
    assert plain.receptive_field == (7, 7)
    assert dilated.output_size == (15, 15)


# ---------------------------------------------------------------------------
# Parsing and errors.


def test_missing_keys_take_the_defaults_and_mappings_work_too() -> None:
    stack = StackSpec.parse(5, ["", {"kernel_size": 2, "padding": "causal"}])
    assert stack.layers[0] == ConvSpec(input_size=5)
    assert stack.layers[1] == ConvSpec(input_size=3, kernel_size=2, padding=(1, 0, 1, 0))
    assert stack.layers[1].padding_name == "causal"


def test_spaces_after_commas_in_a_per_side_padding_are_read() -> None:
    stack = StackSpec.parse(5, ["padding=1, 0, 2, 0 stride=2"])
    assert stack.layers[0].padding == (1, 0, 2, 0)
    assert stack.layers[0].stride == (2, 2)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (["kernel-size=3", "dilation=0"], "--layer 2: dilation: must be at least 1, got 0"),
        (["kernal-size=3"], "--layer 1: unknown key 'kernal-size' (known: "),
        (["transposed=1"], "--layer 1: unknown key 'transposed' (a stack's layers are direct)"),
        (["", "", "stride"], "--layer 3: malformed 'stride'"),
        (["=2"], "--layer 1: malformed '=2'"),
        (["stride=1 stride=2"], "--layer 1: stride given twice"),
        (["", "kernel-size=5"], "--layer 2: kernel-size: the kernel (dilated size 5) is larger "),
        (["stride=x"], "--layer 1: stride: must be a positive integer or HxW"),
        (["padding=causal mode=max"], "--layer 1: padding: 'causal' is for convolutions"),
        (["mode=min"], "--layer 1: mode: must be one of conv, max, avg, got 'min'"),
        (["padding=-1"], "--layer 1: padding: must not be negative, got -1"),
        ([], "--layer: a stack needs at least one layer"),
    ],
)
def test_a_bad_layer_is_one_line_naming_it(layers, message) -> None:
    with pytest.raises(StackError) as caught:
        StackSpec.parse(5, layers)
    text = str(caught.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_every_known_key_is_listed_in_the_unknown_key_message() -> None:
    with pytest.raises(StackError) as caught:
        parse_layer("size=3", 4)
    assert str(caught.value) == (
        "--layer 4: unknown key 'size' (known: kernel-size, stride, dilation, padding, mode)"
    )
    assert set(LAYER_KEYS) == {"kernel-size", "stride", "dilation", "padding", "mode"}


def test_a_bad_input_size_names_the_option() -> None:
    with pytest.raises(SpecError, match=r"^--input-size: must be at least 1, got 0$"):
        StackSpec.parse(0, ["kernel-size=1"])


def test_layers_built_by_hand_must_chain() -> None:
    first = ConvSpec(input_size=6)
    StackSpec(input_size=6, layers=(first, ConvSpec(input_size=4)))
    with pytest.raises(StackError, match=r"^--layer 2: input-size: must be the output size"):
        StackSpec(input_size=6, layers=(first, ConvSpec(input_size=5)))
    with pytest.raises(StackError, match=r"^--layer 1: transposed: "):
        StackSpec(input_size=6, layers=(ConvSpec(input_size=6, transposed=True),))


def test_stack_is_a_frozen_hashable_value() -> None:
    a = StackSpec.parse("4x6", ["kernel-size=2 stride=2"])
    b = StackSpec.parse((4, 6), ["stride=2 kernel-size=2"])
    assert a == b and hash(a) == hash(b)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.input_size = (1, 1)  # type: ignore[misc]


def test_the_table_shows_each_layers_size_field_jump_and_start() -> None:
    stack = StackSpec.parse(
        "1x16", ["kernel-size=1x2 dilation=1x8 padding=causal", "kernel-size=1x3 stride=1x2"]
    )
    rows = stack.table_rows()
    assert rows[0] == (
        "layer", "kind", "kernel", "stride", "dilation", "padding", "output", "field", "jump",
        "start",
    )  # fmt: skip
    assert rows[1] == ("input", "", "", "", "", "", "1x16", "1", "1", "0")
    assert rows[2] == ("1", "conv", "1x2", "1", "1x8", "causal", "1x16", "1x9", "1", "0x-8")
    assert rows[3] == ("2", "conv", "1x3", "1x2", "1", "0", "1x7", "1x11", "1x2", "0x-8")
    assert len(rows) == 4


def test_describe_ends_with_the_receptive_field_and_the_step_count() -> None:
    stack = StackSpec.parse(7, ["kernel-size=3", "kernel-size=3 stride=2 mode=max"])
    lines = stack.describe().splitlines()
    assert lines[0].split() == list(stack.table_rows()[0])
    assert lines[3].split() == ["2", "max", "pool", "3", "2", "1", "0", "2", "5", "2", "0"]
    assert lines[-1] == "4 steps"
    assert lines[-3].startswith("receptive field 5x5: ")


def test_the_stack_module_needs_no_matplotlib_nor_numpy() -> None:
    code = "import convgif.stack, sys; print('matplotlib' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------------------
# The causal padding name.


@pytest.mark.parametrize(("k", "d"), [((1, 2), (1, 1)), ((1, 2), (1, 4)), ((3, 2), (2, 3))])
def test_causal_pads_the_top_and_left_by_the_dilated_kernel(k, d) -> None:
    spec = ConvSpec(input_size=(4, 9), kernel_size=k, dilation=d, padding="causal")
    assert spec.padding == (d[0] * (k[0] - 1), 0, d[1] * (k[1] - 1), 0)
    assert spec.output_size == spec.input_size
    assert spec.padding_name == "causal"
    # Like every other name: kept while it still holds, dropped when it does not.
    assert dataclasses.replace(spec, input_size=(5, 5)).padding_name == "causal"
    assert dataclasses.replace(spec, dilation=(d[0], d[1] + 1)).padding_name is None
    assert "causal" in spec.parameters_text()


def test_causal_is_refused_for_transposed_convolutions_and_pooling() -> None:
    with pytest.raises(SpecError, match=r"^--padding: 'causal' is for a direct convolution"):
        ConvSpec(kernel_size=2, padding="causal", transposed=True)
    for mode in ("max", "avg"):
        with pytest.raises(SpecError, match=r"^--padding: 'causal' is for convolutions, not "):
            ConvSpec(kernel_size=2, padding="causal", mode=mode)


def test_causal_matches_a_left_padded_conv1d() -> None:
    torch = pytest.importorskip("torch")
    functional = pytest.importorskip("torch.nn.functional")
    from convgif.values import compute_values

    spec = ConvSpec(input_size=(1, 10), kernel_size=(1, 3), dilation=(1, 2), padding="causal")
    values = compute_values(spec, seed=5)
    signal = torch.tensor(values.input[0], dtype=torch.float64).reshape(1, 1, -1)
    weight = torch.tensor(values.kernel[0], dtype=torch.float64).reshape(1, 1, -1)
    expected = functional.conv1d(functional.pad(signal, (4, 0)), weight, dilation=2)
    assert values.output[0].tolist() == expected[0, 0].tolist()


# ---------------------------------------------------------------------------
# The command line.


def run(*args: str):
    return CliRunner().invoke(cli, ["stack", *args])


def test_cli_json_is_the_contract() -> None:
    result = run(
        "--input-size", "7", "--layer", "kernel-size=3", "--layer", "kernel-size=3", "--json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [layer["output_size"] for layer in data["layers"]] == [[5, 5], [3, 3]]
    assert data["receptive_field"] == [5, 5]
    assert len(data["steps"]) == 9
    centre = data["steps"][4]
    assert centre["output"] == [1, 1]
    assert centre["sources"] == [[r, c] for r in range(1, 6) for c in range(1, 6)]
    assert centre["layers"][1] == [[1, 1]]
    assert centre["links"][1] == [[[1, 1], [[r, c] for r in range(1, 4) for c in range(1, 4)]]]
    stack = StackSpec.parse(7, ["kernel-size=3"] * 2)
    for step, expected in zip(StackGeometry(stack).steps(), data["steps"], strict=True):
        assert [list(c) for c in step.sources] == expected["sources"]


def test_cli_wavenet_json() -> None:
    args = ["--input-size", "1x16"]
    for d in (1, 2, 4, 8):
        args += ["--layer", f"kernel-size=1x2 dilation=1x{d} padding=causal"]
    data = json.loads(run(*args, "--json").stdout)
    assert data["receptive_field"] == [1, 16]
    assert [layer["output_size"] for layer in data["layers"]] == [[1, 16]] * 4
    assert [layer["padding"] for layer in data["layers"]] == [[0, 0, d, 0] for d in (1, 2, 4, 8)]
    assert data["steps"][15]["sources"] == [[0, c] for c in range(16)]


def test_cli_prints_the_table_without_json() -> None:
    result = run("--input-size", "7", "--layer", "kernel-size=3", "--layer", "kernel-size=3")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == StackSpec.parse(7, ["kernel-size=3"] * 2).describe() + "\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--layer", "kernel-size=3", "--layer", "dilation=0"], "--layer 2: dilation: must be"),
        (["--layer", "kernal-size=3"], "--layer 1: unknown key 'kernal-size'"),
        (["--layer", "", "--layer", "", "--layer", "stride"], "--layer 3: malformed 'stride'"),
        (["--layer", "", "--layer", "kernel-size=5"], "--layer 2: kernel-size: the kernel"),
        (["--input-size", "0", "--layer", ""], "--input-size: must be at least 1"),
        ([], "--layer: a stack needs at least one layer"),
        (["--layer", "dilation=0", "-o", "out.gif"], "--layer 1: dilation: must be"),
        (["--layer", "", "--json", "-o", "out.gif"], "--json prints the steps"),
        (["--layer", "", "--step", "9", "-o", "out.png"], "--step: must be from 0 to 8"),
        (["--layer", "", "-o", "out.svg"], "--output: .svg is for a still"),
        (["--layer", "", "--max-frames", "8", "-o", "out.gif"], "--max-frames: this stack has 9"),
        (["--layer", "", "--json", "--max-frames", "8"], "--max-frames: this stack has 9 steps"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_nothing_written(
    args, message, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("convgif: error: "), lines[0]
    assert message in lines[0]
    assert list(tmp_path.iterdir()) == []
