"""``convgif geometry``: the JSON contract, the summary, and one line per bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from reference import PADDING, ZERO, direct_layout, transposed_layout

from convgif.cli import cli
from convgif.spec import ConvSpec, SpecError


def run(*args: str):
    return CliRunner().invoke(cli, ["geometry", *args])


def run_json(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def check_json_against_reference(data: dict, spec_kwargs: dict) -> None:
    """The JSON agrees with the brute-force reference for these spec values."""
    if spec_kwargs.get("transposed"):
        ref = transposed_layout(
            spec_kwargs["input_size"],
            spec_kwargs["kernel_size"],
            spec_kwargs["padding"],
            spec_kwargs["stride"],
            spec_kwargs["dilation"],
            spec_kwargs["output_padding"],
        )
    else:
        ref = direct_layout(
            spec_kwargs["input_size"],
            spec_kwargs["kernel_size"],
            spec_kwargs["padding"],
            spec_kwargs["stride"],
            spec_kwargs["dilation"],
        )
    size, sources = ref.output_size, ref.sources
    letters = {PADDING: "p", ZERO: "z"}
    assert data["grid"] == ["".join(letters.get(int(m), "i") for m in row) for row in ref.grid]
    assert data["output_size"] == list(size)
    out_h, out_w = size
    assert [s["output"] for s in data["steps"]] == [
        [i, j] for i in range(out_h) for j in range(out_w)
    ]
    gh, gw = data["grid_size"]
    kh, kw = spec_kwargs["kernel_size"]
    for step in data["steps"]:
        assert len(step["window"]) == kh * kw
        assert all(0 <= r < gh and 0 <= c < gw for r, c in step["window"])
        assert {tuple(c) for c in step["sources"]} == sources[tuple(step["output"])]


# -- the JSON contract ----------------------------------------------------------------

CASES = [
    # (CLI arguments, the same spec as the reference reads it)
    (
        ["--input-size", "5", "--kernel-size", "3", "--padding", "1", "--stride", "2"],
        {"input_size": (5, 5), "kernel_size": (3, 3), "padding": (1, 1, 1, 1),
         "stride": (2, 2), "dilation": (1, 1)},
    ),
    (
        ["--input-size", "5x7", "--kernel-size", "2x3", "--padding", "0,1,2,0",
         "--stride", "1x2", "--dilation", "2x1"],
        {"input_size": (5, 7), "kernel_size": (2, 3), "padding": (0, 1, 2, 0),
         "stride": (1, 2), "dilation": (2, 1)},
    ),
    (
        ["--input-size", "6", "--padding", "same", "--stride", "2"],
        # TensorFlow's rule: total 1, the extra row/column at the bottom/right.
        {"input_size": (6, 6), "kernel_size": (3, 3), "padding": (0, 1, 0, 1),
         "stride": (2, 2), "dilation": (1, 1)},
    ),
    (
        ["--input-size", "4x3", "--kernel-size", "2", "--padding", "full"],
        {"input_size": (4, 3), "kernel_size": (2, 2), "padding": (1, 1, 1, 1),
         "stride": (1, 1), "dilation": (1, 1)},
    ),
    (
        ["--input-size", "3", "--padding", "1", "--stride", "2", "--transposed",
         "--output-padding", "1"],
        {"input_size": (3, 3), "kernel_size": (3, 3), "padding": (1, 1, 1, 1),
         "stride": (2, 2), "dilation": (1, 1), "transposed": True, "output_padding": (1, 1)},
    ),
    (
        ["--input-size", "2x3", "--kernel-size", "3x2", "--padding", "2,0,0,1",
         "--stride", "2x3", "--dilation", "1x2", "--transposed", "--output-padding", "1x0"],
        {"input_size": (2, 3), "kernel_size": (3, 2), "padding": (2, 0, 0, 1),
         "stride": (2, 3), "dilation": (1, 2), "transposed": True, "output_padding": (1, 0)},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("args", "spec_kwargs"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_json_matches_the_reference(args, spec_kwargs):
    data = run_json(*args)
    assert {"output_size", "grid_size", "steps"} <= data.keys()
    assert data["padding"] == list(spec_kwargs["padding"])
    assert data["input_size"] == list(spec_kwargs["input_size"])
    check_json_against_reference(data, spec_kwargs)


def test_json_is_the_api_serialised():
    from convgif.geometry import Geometry

    data = run_json("--input-size", "5x6", "--padding", "1,0,0,2", "--stride", "2")
    spec = ConvSpec(input_size=(5, 6), padding=(1, 0, 0, 2), stride=2)
    steps = list(Geometry(spec).steps())
    assert data["grid_size"] == list(spec.grid_size)
    assert [s["window"] for s in data["steps"]] == [[list(c) for c in s.window] for s in steps]
    assert [s["sources"] for s in data["steps"]] == [[list(c) for c in s.sources] for s in steps]


def test_defaults_are_input_5_kernel_3_padding_0_stride_1_dilation_1():
    data = run_json()
    assert data["output_size"] == list(
        direct_layout((5, 5), (3, 3), (0, 0, 0, 0), (1, 1), (1, 1)).output_size
    )
    assert (data["input_size"], data["kernel_size"], data["padding"]) == (
        [5, 5],
        [3, 3],
        [0, 0, 0, 0],
    )
    assert (data["stride"], data["dilation"], data["transposed"]) == ([1, 1], [1, 1], False)


def test_summary_without_json_has_the_arithmetic_and_the_step_count():
    result = run("--input-size", "5", "--padding", "1", "--stride", "2")
    assert result.exit_code == 0
    (out_h, out_w) = direct_layout(5, 3, 1, 2, 1).output_size
    text = result.stdout
    # The relation with the numbers substituted: ⌊(5 + 1 + 1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 3
    assert "(5 + 1 + 1" in text
    assert any(line.rstrip().endswith(f"= {out_h}") for line in text.splitlines())
    assert f"{out_h * out_w} steps" in text
    assert result.stderr == ""


def test_python_dash_m_convgif_geometry():
    done = subprocess.run(
        [sys.executable, "-m", "convgif", "geometry", "--input-size", "4x5", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["output_size"] == list(direct_layout((4, 5), 3, 0, 1, 1).output_size)


# -- bad input: one line, exit 2, the same message as the API --------------------------

# (spec values as the CLI takes them, the start of the message)
BAD_INPUTS = [
    ({"stride": "0"}, "--stride: must be at least 1"),
    ({"stride": "2x0"}, "--stride: must be at least 1"),
    ({"dilation": "0"}, "--dilation: must be at least 1"),
    ({"padding": "-1"}, "--padding: must not be negative"),
    ({"padding": "1,0,-1,0"}, "--padding: must not be negative"),
    ({"padding": "1,2,3"}, "--padding: must be a non-negative integer, HxW, T,B,L,R"),
    ({"padding": "half"}, "--padding: must be a non-negative integer, HxW, T,B,L,R"),
    ({"kernel_size": "6"}, "--kernel-size: the kernel (dilated size 6) is larger than the padded"),
    ({"kernel_size": "3", "dilation": "3"}, "--kernel-size: the kernel (dilated size 7)"),
    ({"input_size": "abc"}, "--input-size: must be a positive integer or HxW"),
    ({"input_size": "3x"}, "--input-size: must be a positive integer or HxW"),
    ({"input_size": "3.5"}, "--input-size: must be a positive integer or HxW"),
    ({"input_size": "0"}, "--input-size: must be at least 1"),
    ({"input_size": "-1"}, "--input-size: must be at least 1"),
    ({"kernel_size": ""}, "--kernel-size: must be a positive integer or HxW"),
    ({"output_padding": "1"}, "--output-padding: only applies to a transposed convolution"),
    ({"transposed": True, "output_padding": "1"}, "--output-padding: must be smaller than"),
    ({"transposed": True, "stride": "2", "output_padding": "2"}, "--output-padding: must be"),
    ({"transposed": True, "stride": "2x1", "dilation": "1x3", "output_padding": "2x3"},
     "--output-padding: must be smaller than the stride or the dilation"),
    ({"transposed": True, "input_size": "2", "padding": "3"}, "--padding: too large"),
    ({"transposed": True, "padding": "0,7,0,0"}, "--padding: too large"),
    ({"transposed": True, "kernel_size": "2", "stride": "3", "padding": "same"},
     "--padding: 'same' is undefined for this transposed convolution"),
    ({"mode": "max", "transposed": True}, "--transposed: pooling (--mode max) has no transposed"),
    ({"mode": "avg", "transposed": True}, "--transposed: pooling (--mode avg) has no transposed"),
    ({"mode": "avg", "dilation": "2"}, "--dilation: average pooling has no dilation"),
    ({"mode": "max", "padding": "2"}, "--padding: pooling padding must be at most half"),
    ({"mode": "avg", "kernel_size": "4", "padding": "0,3,0,0"}, "--padding: pooling padding"),
    ({"mode": "max", "dilation": "2", "padding": "2"}, "--padding: pooling padding"),
]  # fmt: skip


def _cli_args(values: dict) -> list[str]:
    args = []
    for name, value in values.items():
        option = "--" + name.replace("_", "-")
        args += [option] if value is True else [f"{option}={value}"]
    return args


@pytest.mark.parametrize(
    ("values", "message"), BAD_INPUTS, ids=[" ".join(_cli_args(b[0])) for b in BAD_INPUTS]
)
def test_bad_input_is_one_line_exit_2_and_a_spec_error(values, message):
    for extra in ([], ["--json"]):
        result = run(*_cli_args(values), *extra)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"convgif: error: {message}")

    with pytest.raises(SpecError) as caught:
        ConvSpec(**values)
    assert isinstance(caught.value, ValueError)
    assert f"convgif: error: {caught.value}" == lines[0]


def test_unknown_option_is_one_line_exit_2():
    result = run("--strides", "2")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("convgif: error: ")
    assert "Traceback" not in result.stderr


def test_negative_values_after_a_space_are_values_not_options():
    result = run("--padding", "-1")
    assert result.exit_code == 2
    assert result.stderr.startswith("convgif: error: --padding: must not be negative, got -1")


# -- values (--numbers) ----------------------------------------------------------------

X5 = "3,1,4,1,5;9,2,6,5,3;5,8,9,7,9;3,2,3,8,4;6,2,6,4,3"
W3 = "1,-2,0;3,1,-1;0,2,1"


def table(text: str):  # type: ignore[no-untyped-def]
    import numpy as np

    return np.array([[float(v) for v in row.split(",")] for row in text.split(";")])


# (CLI arguments, padding as (top, bottom, left, right), what the naive loop computes)
VALUE_CASES = [
    (["--padding", "1", "--stride", "2"], (1, 1, 1, 1), "conv"),
    (["--padding", "2", "--dilation", "2"], (2, 2, 2, 2), "conv"),
    (["--padding", "0,1,2,0", "--stride", "2x1", "--flip"], (0, 1, 2, 0), "flip"),
    (["--padding", "2", "--padding-mode", "reflect"], (2, 2, 2, 2), "reflect"),
    (["--padding", "1,2,0,3", "--padding-mode", "replicate"], (1, 2, 0, 3), "replicate"),
    (["--padding", "3", "--stride", "2", "--padding-mode", "circular"], (3, 3, 3, 3), "circular"),
    (["--mode", "max", "--padding", "1", "--stride", "2"], (1, 1, 1, 1), "max"),
    (["--mode", "max", "--dilation", "2"], (0, 0, 0, 0), "max"),
    (["--mode", "avg", "--padding", "1"], (1, 1, 1, 1), "avg"),
    (["--transposed", "--padding", "1", "--stride", "2", "--output-padding", "1"],
     (1, 1, 1, 1), "transposed"),
    (["--transposed", "--stride", "2", "--dilation", "2"], (0, 0, 0, 0), "transposed"),
]  # fmt: skip


def naive(kind: str, args: list[str], padding: tuple[int, ...]):  # type: ignore[no-untyped-def]
    from value_reference import avg_pool2d, conv2d, conv_transpose2d, max_pool2d

    def option(name: str, default: str) -> tuple[int, int]:
        text = args[args.index(name) + 1] if name in args else default
        parts = [int(v) for v in text.split("x")]
        return (parts[0], parts[-1])

    stride, dilation = option("--stride", "1"), option("--dilation", "1")
    x, w = table(X5), table(W3)
    if kind == "max":
        return max_pool2d(x, (3, 3), padding, stride, dilation)[0]
    if kind == "avg":
        return avg_pool2d(x, (3, 3), padding, stride)
    if kind == "transposed":
        return conv_transpose2d(x, w, padding, stride, dilation, option("--output-padding", "0"))
    mode = kind if kind in ("reflect", "replicate", "circular") else "zeros"
    return conv2d(x, w, padding, stride, dilation, mode, flip=kind == "flip")


@pytest.mark.parametrize(
    ("args", "padding", "kind"), VALUE_CASES, ids=[" ".join(c[0]) for c in VALUE_CASES]
)
def test_json_values_equal_the_naive_loops(args, padding, kind):
    import numpy as np

    pooling = kind in ("max", "avg")
    values = ["--input-values", X5] + ([] if pooling else ["--kernel-values", W3])
    data = run_json(*args, *values)
    assert data["input_values"] == table(X5).astype(int).tolist()
    if pooling:
        assert "kernel_values" not in data
    else:
        assert data["kernel_values"] == table(W3).astype(int).tolist()
    expected = naive(kind, args, padding)
    assert np.array(data["output_values"]).shape == tuple(data["output_size"])
    assert np.allclose(np.array(data["output_values"], dtype=float), expected, atol=1e-6)
    # The rest of the JSON is the geometry, as without values.
    geometry_args = [a for a in args if a != "--flip"]
    if "--padding-mode" in geometry_args:
        at = geometry_args.index("--padding-mode")
        del geometry_args[at : at + 2]
    plain = run_json(*geometry_args)
    assert {k: v for k, v in data.items() if k in plain} == plain


def test_json_random_values_are_consistent_and_seeded():
    import numpy as np
    from value_reference import conv2d

    data = run_json("--padding", "1", "--seed", "7")
    x, w = np.array(data["input_values"], float), np.array(data["kernel_values"], float)
    assert x.shape == (5, 5) and w.shape == (3, 3)
    expected = conv2d(x, w, (1, 1, 1, 1), (1, 1), (1, 1))
    assert np.allclose(data["output_values"], expected)
    assert run_json("--padding", "1", "--numbers", "--seed", "7") == data
    assert run_json("--padding", "1", "--numbers", "--seed", "8") != data
    assert run_json("--padding", "1", "--numbers")["input_values"] != data["input_values"]


@pytest.mark.parametrize("extra", [[], ["--mode", "max"], ["--mode", "avg", "--padding", "1"]])
def test_json_without_numbers_has_no_values(extra):
    data = run_json(*extra)
    assert not {"input_values", "kernel_values", "output_values"} & data.keys()


def test_json_values_match_torch():
    torch = pytest.importorskip("torch")
    import numpy as np

    functional = torch.nn.functional
    x, w = torch.tensor(table(X5))[None, None], torch.tensor(table(W3))[None, None]
    checks = [
        (["--padding", "1", "--stride", "2"], functional.conv2d(x, w, padding=1, stride=2)),
        (["--transposed", "--padding", "1", "--stride", "2", "--output-padding", "1"],
         functional.conv_transpose2d(x, w, padding=1, stride=2, output_padding=1)),
        (["--mode", "avg", "--padding", "1", "--stride", "2"],
         functional.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True)),
        (["--mode", "max", "--padding", "1"], functional.max_pool2d(x, 3, 1, 1)),
    ]  # fmt: skip
    for args, expected in checks:
        values = ["--input-values", X5]
        if "--mode" not in args:
            values += ["--kernel-values", W3]
        data = run_json(*args, *values)
        assert np.allclose(data["output_values"], expected[0, 0].numpy(), atol=1e-6), args
    data = run_json("--padding", "2", "--padding-mode", "reflect", "--input-values", X5,
                    "--kernel-values", W3)  # fmt: skip
    layer = torch.nn.Conv2d(1, 1, 3, padding=2, padding_mode="reflect", bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(w)
        assert np.allclose(data["output_values"], layer(x)[0, 0].numpy())


def test_summary_with_numbers_prints_the_tables():
    result = run("--input-size", "3", "--kernel-size", "2", "--input-values", "1,2,3;4,5,6;7,8,9",
                 "--kernel-values", "1,0;0,-1")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "input values (3x3):" in text and "kernel values (2x2):" in text
    # x[i,j] - x[i+1,j+1] = -4 everywhere, written with a minus sign.
    assert text.rstrip().endswith("output values (2x2):\n  \u22124 \u22124\n  \u22124 \u22124")


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["--input-size", "5", "--input-values", "1,2;3,4"], "--input-values: expected 5x5"),
        (["--mode", "avg", "--kernel-values", "1"], "--kernel-values"),
        (["--padding-mode", "reflect", "--padding", "5"], "--padding-mode: reflect padding"),
    ],
)
def test_bad_values_are_one_line_exit_2(args, start):
    for extra in ([], ["--json"]):
        result = run(*args, *extra)
        assert result.exit_code == 2
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"convgif: error: {start}"), lines


def test_geometry_refuses_more_steps_than_max_frames() -> None:
    result = run("--input-size", "100", "--json")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("convgif: error: --max-frames: this spec has 9604")
    assert result.stdout == ""
    assert run("--input-size", "100", "--max-frames", "10000").exit_code == 0
