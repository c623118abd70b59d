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
