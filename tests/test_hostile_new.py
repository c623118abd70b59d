"""Hostile input for the options and formats added after issue 15's first sweep.

Channels, views, stacks, video, the notebook API and the Sphinx directive get
test_hostile's treatment, one section per class of failure: 1. unbounded work
is refused by a guard naming the option that raises it, before anything of
the spec's size is made; 2. what was accepted and wrong is right or refused;
3. messages name the option; 4. an interrupted video leaves no file and no
encoder; 5. the Python API refuses wrong types by name.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from test_hostile import SMALL, _convgif, _send, _wait_for, invoke, one_error_line, stopped_by

import convgif
from convgif.api import RenderOptions, cell_count, render_stack_frames, render_stack_to_file
from convgif.errors import ConvgifError
from convgif.geometry import Geometry
from convgif.spec import ArgumentTypeError, ConvSpec
from convgif.stack import StackGeometry, StackSpec
from convgif.values import format_value

# -- 1. unbounded: channels, views and stacks count in --max-cells --------------------------

MANY_CHANNELS = ["--in-channels", "1024", "--input-size", "300", "--kernel-size", "1"]
MANY_FRAMES = ["--max-frames", "100000"]  # 90000 steps: only the cells stop it


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("geometry", ["--json"]),  # printed 369 MB in 34 s
        ("geometry", ["--numbers"]),  # ran for minutes
        ("geometry", ["--numbers", "--json", "--bias", "random"]),
        ("render", ["-o", "x.gif"]),
        ("render", ["--numbers", "--step", "0", "-o", "x.png"]),
    ],
)
def test_the_cell_guard_counts_every_channel_before_anything_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, extra: list[str]
) -> None:
    import convgif.values

    made: list[object] = []
    monkeypatch.setattr(convgif.values, "compute_values", lambda *a, **k: made.append(a))
    monkeypatch.setattr(Geometry, "to_dict", lambda self: made.append(self))
    monkeypatch.chdir(tmp_path)
    result = invoke(command, *MANY_CHANNELS, *MANY_FRAMES, *extra)
    line = one_error_line(result, "--max-cells: ")
    assert "in 1024 channels" in line and "raise it with --max-cells" in line
    assert made == []
    assert list(tmp_path.iterdir()) == []


def _listed(data: dict[str, object]) -> int:
    """What ``geometry --json`` lists, counted from the JSON: the grid in every input
    channel, each step's window in every channel it reads, a view's matrix."""
    grid = sum(len(row) for row in data["grid"]) * data["in_channels"]  # type: ignore[attr-defined]
    taps = sum(len(s["window"]) * len(s["in_channels"]) for s in data["steps"])  # type: ignore[attr-defined]
    matrix = data.get("im2col_sources") or data.get("matrix_taps") or []
    return grid + taps + sum(len(row) for row in matrix)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "args",
    [
        ["--in-channels", "3", "--out-channels", "2"],
        ["--in-channels", "4", "--out-channels", "6", "--groups", "2", "--padding", "1"],
        ["--in-channels", "3", "--depthwise", "--stride", "2"],
        ["--in-channels", "3", "--mode", "max"],
        ["--in-channels", "2", "--out-channels", "4", "--transposed", "--groups", "2"],
        ["--in-channels", "2", "--view", "im2col", "--padding", "1"],
        ["--in-channels", "2", "--out-channels", "3", "--view", "matrix"],
        ["--input-size", "3", "--view", "matrix", "--transposed", "--stride", "2"],
    ],
)
def test_max_cells_counts_what_geometry_json_lists_with_channels_and_views(
    args: list[str],
) -> None:
    data = json.loads(invoke("geometry", *args, "--json").stdout)
    listed = _listed(data)
    base = ["geometry", *args, "--json", "--max-cells"]
    one_error_line(invoke(*base, str(listed - 1)), f"--max-cells: this spec lists {listed} cells")
    assert invoke(*base, str(listed)).exit_code == 0


def test_the_cell_count_bounds_the_values_of_a_channel_figure() -> None:
    from convgif.values import compute_values

    spec = ConvSpec(input_size=6, kernel_size=3, padding=1, in_channels=4, out_channels=6, groups=2)
    values = compute_values(spec, seed=1)
    kh, kw = spec.kernel_size
    assert values.channel_sums is not None
    made = values.grid.size + values.channel_sums.size * kh * kw  # each sum reads kh·kw taps
    assert made <= cell_count(spec)


def test_a_matrix_view_too_large_to_print_is_refused_before_anything_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import convgif.views

    made: list[object] = []
    for name in ("convolution_matrix", "im2col"):
        monkeypatch.setattr(convgif.views, name, lambda *a, **k: made.append(a))
    monkeypatch.setattr(Geometry, "to_dict", lambda self: made.append(self))
    monkeypatch.setattr(Geometry, "cell_kinds", lambda self: made.append(self))
    sizes = {
        "matrix": ["--out-channels", "1024", "--input-size", "3"],  # 9216x9216
        "im2col": ["--input-size", "40"],  # 1024x1600
    }
    for view, size in sizes.items():
        big = ["--in-channels", "1024", *size, "--kernel-size", "1", "--max-frames", "100000"]
        result = invoke("geometry", *big, "--view", view, "--json")
        assert "raise it with --max-cells" in one_error_line(result, "--max-cells: ")
        # Past the cell guard, the printed matrix's own bound still comes first.
        for extra in (["--json"], []):
            result = invoke("geometry", *big, "--view", view, "--max-cells", str(10**12), *extra)
            one_error_line(result, "--view: ")
            assert result.stdout == ""
    assert made == []


def test_a_separable_figure_counts_both_stages() -> None:
    from convgif.figures.channels import separable_specs

    spec = ConvSpec(input_size=5, in_channels=3, out_channels=4)
    depthwise, pointwise = separable_specs(spec)
    both = cell_count(spec, separable=True)
    assert both > max(cell_count(depthwise), cell_count(pointwise))
    result = invoke(
        "render", "--input-size", "5", "--in-channels", "3", "--out-channels", "4",
        "--separable", "--max-cells", str(both - 1), "-o", "x.gif",
    )  # fmt: skip
    assert "both stages" in one_error_line(result, f"--max-cells: this spec lists {both} cells")


def _stack_listed(stack: StackSpec) -> int:
    """What ``stack --json`` lists, counted from the JSON and the layers' own geometry."""
    data = StackGeometry(stack).to_dict()
    listed = sum(cell_count(layer) for layer in stack.layers)
    for step in data["steps"]:
        listed += len(step["sources"]) + sum(len(cells) for cells in step["layers"])
        listed += sum(len(reads) for layer in step["links"] for _, reads in layer)
    return listed


def _random_stacks(count: int) -> list[StackSpec]:
    rng = np.random.default_rng(15)
    stacks = []
    while len(stacks) < count:
        layers = []
        for _ in range(rng.integers(1, 4)):
            kernel = f"{rng.integers(1, 4)}x{rng.integers(1, 4)}"
            stride = f"{rng.integers(1, 3)}x{rng.integers(1, 3)}"
            dilation = f"{rng.integers(1, 3)}x{rng.integers(1, 3)}"
            layers.append(f"kernel-size={kernel} stride={stride} dilation={dilation} "
                          f"padding={rng.integers(0, 2)}")  # fmt: skip
        try:
            stacks.append(StackSpec.parse(f"{rng.integers(3, 12)}x{rng.integers(3, 12)}", layers))
        except ConvgifError:
            continue  # an empty output
    return stacks


@pytest.mark.parametrize("stack", _random_stacks(25), ids=lambda s: str(len(s.layers)))
def test_a_stacks_cell_count_bounds_what_its_json_lists(stack: StackSpec) -> None:
    assert _stack_listed(stack) <= stack.cell_count


@pytest.mark.parametrize(
    "args",
    [
        ["--input-size", "2000", "--layer", "kernel-size=1990", "--json"],  # ran for minutes
        ["--input-size", "2000", "--layer", "kernel-size=1990", "-o", "x.gif"],
        ["--input-size", "2000", "--layer", "kernel-size=1990", "--step", "0", "-o", "x.png"],
        ["--input-size", "2000", "--layer", "kernel-size=1990", "--frames", "fr"],
        ["--input-size", "1x100000", "--layer", "kernel-size=1x99990", "--json"],  # 22 MB
        ["--input-size", "300", *["--layer", "kernel-size=1"] * 200, "--step", "0", "-o", "x.png"],
    ],
)
def test_a_huge_stack_is_refused_by_max_cells_before_anything_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    made: list[object] = []
    monkeypatch.setattr(StackGeometry, "to_dict", lambda self: made.append(self))
    monkeypatch.setattr(StackGeometry, "step", lambda self, k: made.append(k))
    monkeypatch.chdir(tmp_path)
    result = invoke("stack", *args)
    line = one_error_line(result, "--max-cells: this stack lists up to ")
    assert "raise it with --max-cells" in line
    assert made == [] and list(tmp_path.iterdir()) == []


def test_max_cells_on_a_stack_lets_through_what_it_counts() -> None:
    args = ["stack", "--input-size", "7", "--layer", "kernel-size=3", "--layer", "kernel-size=3"]
    cells = StackSpec.parse(7, ["kernel-size=3", "kernel-size=3"]).cell_count
    one_error_line(invoke(*args, "--json", "--max-cells", str(cells - 1)), "--max-cells: ")
    assert invoke(*args, "--json", "--max-cells", str(cells)).exit_code == 0


def test_two_hundred_layers_print_their_table() -> None:
    result = invoke("stack", "--input-size", "300", *["--layer", "kernel-size=1"] * 200)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") > 200


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e300, "1e300"), (-1.5e300, "−1.5e300"), (1e9, "1e9"), (2.346e12, "2.35e12"),
     (999_999_999.0, "999999999"), (1e308, "1e308")],
)  # fmt: skip
def test_huge_values_are_written_in_a_few_characters(value: float, text: str) -> None:
    assert format_value(value) == text
    assert len(format_value(value, 6)) <= 14


def test_a_figure_of_huge_values_is_drawn_at_its_usual_size(tmp_path: Path) -> None:
    # The 300-digit numbers made the image 47057 px wide: refused after 11 s by --scale.
    from PIL import Image

    out = tmp_path / "x.png"
    huge = "1e300,1e300,1e300;1,1,1;1,1,1"
    ones = "1,1,1;1,1,1;1,1,1"
    for name, kernel in (("huge.png", huge), ("x.png", ones)):
        result = invoke("render", "--kernel-values", kernel, "--bias", "1e308", "--step", "0",
                        "-o", str(tmp_path / name))  # fmt: skip
        assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "huge.png") as huge_image, Image.open(out) as plain:
        assert huge_image.width < 2 * plain.width
    result = invoke("geometry", "--kernel-values", huge)
    assert "1e300" in result.stdout and "0" * 20 not in result.stdout


# -- 2. accepted before, wrong --------------------------------------------------------------


@pytest.mark.parametrize("command", ["render", "geometry"])
def test_channel_values_give_the_sizes_as_a_single_channel_does(
    tmp_path: Path, command: str
) -> None:
    # It said "--input-values: expected a 2-D array of values, got 3-D" for --in-channels 2.
    args = [
        "--in-channels",
        "2",
        "--out-channels",
        "2",
        "--input-values",
        "1,2,3;4,5,6|7,8,9;1,2,3",
    ]
    args += ["--kernel-values", "1|2||3|4"]
    extra = ["-o", str(tmp_path / "x.gif")] if command == "render" else ["--json"]
    result = invoke(command, *args, *extra)
    assert result.exit_code == 0, result.output
    if command == "geometry":
        data = json.loads(result.stdout)
        assert data["input_size"] == [2, 3] and data["kernel_size"] == [1, 1]


def test_channel_values_that_disagree_with_the_channels_still_say_so() -> None:
    result = invoke(
        "geometry", "--in-channels", "3", "--kernel-size", "1", "--input-values", "1,2;3,4|5,6;7,8"
    )
    assert "expected 3x2x2 values" in one_error_line(result, "--input-values: ")


def test_the_notebook_refuses_what_the_command_line_refuses() -> None:
    # A matrix view with channels was drawn as the window; scatter of a direct
    # convolution was a bare ValueError from deep inside.
    with pytest.raises(ConvgifError, match=r"^--view: the matrix figure is drawn for one channel"):
        convgif.animate(view="matrix", in_channels=2)
    with pytest.raises(ConvgifError, match=r"^--view: scatter shows a transposed convolution"):
        convgif.animate(view="scatter")
    with pytest.raises(ConvgifError, match=r"^--view: the convolution matrix of this spec is"):
        convgif.animate(view="matrix", input_size=20, kernel_size=1, max_frames=400)


@pytest.mark.parametrize(
    "options",
    [
        {"view": "scatter", "transposed": True, "input_size": 2},  # said 16 frames
        {"view": "matrix", "transposed": True, "input_size": 2},
        {"separable": True, "in_channels": 2, "out_channels": 3},  # said 27
    ],
)
def test_the_notebook_counts_the_frames_it_draws(options: dict[str, object]) -> None:
    figure = convgif.animate(**options)
    assert figure.frame_count == len(figure.frames())
    assert f"; {figure.frame_count} frames," in repr(figure)


# -- 3. messages name the option --------------------------------------------------------------


@pytest.mark.parametrize("values", ["1,2;3,4|", "1,2;3,4||", "|1,2;3,4", "1,2;3,4|;|5,6;7,8"])
def test_an_empty_channel_is_named_cleanly(values: str) -> None:
    result = invoke("geometry", "--in-channels", "2", "--input-values", values)
    line = one_error_line(result, "--input-values: no values in ")
    assert not line.endswith(",") and line.split(" in ", 1)[1].startswith(("channel", "filter"))


def test_symbols_with_a_bias_names_the_bias() -> None:
    result = invoke("render", *SMALL, "--view", "matrix", "--symbols", "--bias", "1")
    assert "--bias" in one_error_line(result, "--symbols: ")


# -- 4. an interrupted video: no file, no encoder ------------------------------------------------


def test_an_error_while_encoding_kills_ffmpeg_instead_of_waiting_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("imageio_ffmpeg")
    from convgif.writers import write_video

    started: list[subprocess.Popen[bytes]] = []
    real = subprocess.Popen

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        process = real(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(subprocess, "Popen", recording)

    def frames():  # type: ignore[no-untyped-def]
        for _ in range(3):
            yield np.zeros((16, 16, 3), dtype=np.uint8)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_video(tmp_path / "x.mp4", frames(), duration_ms=100)
    # The encoder reads raw frames from its stdin (other runs may probe the binary).
    (ffmpeg,) = [p for p in started if "rawvideo" in str(p.args)]
    assert ffmpeg.wait(timeout=10) == -signal.SIGKILL  # killed, not left to finish the file
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
@pytest.mark.parametrize(
    ("signum", "to_group"),
    [(signal.SIGINT, True), (signal.SIGINT, False), (signal.SIGTERM, False)],
    ids=["sigint-group", "sigint-parent", "sigterm-parent"],
)
def test_a_signal_during_a_video_encode_leaves_no_file_and_no_ffmpeg(
    tmp_path: Path, suffix: str, signum: int, to_group: bool
) -> None:
    pytest.importorskip("imageio_ffmpeg")
    process = _convgif(
        "render", "--input-size", "12", "--padding", "1", "-o", "x" + suffix, cwd=tmp_path
    )
    # The encode has begun when its temporary file is there.
    _wait_for(lambda: any(p.name.startswith(".") for p in tmp_path.iterdir()), process)
    time.sleep(0.3)  # some frames in ffmpeg
    _send(process, signum, to_group)
    stopped_by(process, signum)
    assert list(tmp_path.iterdir()) == []
    left = subprocess.run(["ps", "-o", "pid=,stat=,comm=", "-g", str(process.pid)],
                          capture_output=True, text=True).stdout  # fmt: skip
    assert [line for line in left.splitlines() if " Z" not in line] == []


# -- 5. the Python API: wrong types by name -------------------------------------------------------

STACK = StackSpec.parse(5, ["kernel-size=3"])


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda out: render_stack_to_file("7", out), "stack"),  # type: ignore[arg-type]
        (lambda out: render_stack_to_file(None, out), "stack"),  # type: ignore[arg-type]
        (lambda out: render_stack_to_file(ConvSpec(), out), "stack"),  # type: ignore[arg-type]
        (lambda out: render_stack_to_file(STACK, out, {"layout": "flat"}), "options"),  # type: ignore[arg-type]
        (lambda out: render_stack_to_file(STACK, os.fsencode(out)), "output"),  # type: ignore[arg-type]
        (lambda out: render_stack_to_file(STACK, 5), "output"),  # type: ignore[arg-type]
        (lambda out: render_stack_frames("7", out.parent / "f"), "stack"),  # type: ignore[arg-type]
        (lambda out: render_stack_frames(STACK, None), "directory"),  # type: ignore[arg-type]
        (lambda out: render_stack_frames(STACK, b"frames"), "directory"),  # type: ignore[arg-type]
        (lambda out: StackSpec.parse(7, 5), "layers"),  # type: ignore[arg-type]
        (lambda out: StackSpec.parse(7, None), "layers"),  # type: ignore[arg-type]
        (lambda out: StackSpec.parse(7, b"kernel-size=3"), "layers"),  # type: ignore[arg-type]
        (lambda out: StackSpec(7, None), "layers"),  # type: ignore[arg-type]
        (lambda out: StackSpec(7, 3), "layers"),  # type: ignore[arg-type]
        (lambda out: convgif.animate(**SMALL_OPTIONS).save(b"x.gif"), "path"),
        (lambda out: convgif.animate(**SMALL_OPTIONS).save(None), "path"),  # type: ignore[arg-type]
        (lambda out: convgif.animate(**SMALL_OPTIONS).save(5), "path"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_raise_the_projects_error_naming_the_argument(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    call,
    argument: str,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ArgumentTypeError, match=f"^{argument}: must be") as caught:
        call(tmp_path / "out.gif")
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)
    assert list(tmp_path.iterdir()) == []


SMALL_OPTIONS = {"input_size": 3, "kernel_size": 2}


def test_layers_may_be_any_iterable_of_specs() -> None:
    spec = StackSpec.parse(np.int64(7), (layer for layer in ["kernel-size=3", {"stride": 2}]))
    assert spec == StackSpec.parse(7, ["kernel-size=3", "stride=2"])


def test_the_notebook_saves_to_a_path_like(tmp_path: Path) -> None:
    written = convgif.animate(**SMALL_OPTIONS).save(tmp_path / "x.gif")
    assert written.path == tmp_path / "x.gif" and written.frame_count == 4
    options = RenderOptions()
    assert render_stack_to_file(STACK, str(tmp_path / "s.gif"), options).frame_count == 9


# -- the Sphinx directive -----------------------------------------------------------------------


def _build(tmp_path: Path, builder: str, page: str) -> str:
    """Build ``page``; the warnings."""
    import io
    import re

    application = pytest.importorskip("sphinx.application")
    from sphinx.util.docutils import docutils_namespace

    source = tmp_path / "source"
    source.mkdir(exist_ok=True)
    (source / "conf.py").write_text('extensions = ["convgif.sphinx"]\nproject = "x"\n')
    (source / "index.rst").write_text(page)
    warnings = io.StringIO()
    with docutils_namespace():
        app = application.Sphinx(
            str(source), str(source), str(tmp_path / builder), str(tmp_path / "doctrees"),
            builder, status=None, warning=warnings, freshenv=True,
        )  # fmt: skip
        app.build()
    return re.sub(r"\x1b\[[0-9;]*m", "", warnings.getvalue())


@pytest.mark.parametrize(
    "options",
    [
        "--transposed --view scatter --input-size 2",  # 4 scatter steps; the spec has 16
        "--separable --in-channels 2 --input-size 3 --kernel-size 2",
    ],
)
def test_a_latex_build_draws_the_middle_step_of_the_view(tmp_path: Path, options: str) -> None:
    warnings = _build(tmp_path, "latex", f"T\n=\n\n.. convgif:: {options}\n")
    assert warnings == ""
    assert len(list((tmp_path / "latex").glob("convgif-*.pdf"))) == 1


def test_help_in_a_directive_is_an_error_at_its_line_and_prints_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    warnings = _build(tmp_path, "html", "T\n=\n\n.. convgif:: --padding 1 --help\n")
    assert "index.rst:4: ERROR: convgif: --help has no place in a document" in warnings
    assert "Usage:" not in capfd.readouterr().out
