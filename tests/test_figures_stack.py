"""The receptive-field figure of a stack of layers: builder, drawing, API, command line.

The shaded cells of every level at every step are checked against the
brute-force composition of tests/reference.py (naive loops over every kernel
tap, downwards from the top cell), the frames by probing pixels at the
centres of shaded and unshaded cells of every grid.
"""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.path import Path
from PIL import Image
from reference import brute_dependencies, brute_reads, layers_of, random_layer

from convgif import render
from convgif.api import (
    RenderError,
    RenderOptions,
    default_stack_output,
    render_stack_frames,
    render_stack_to_file,
)
from convgif.cli import cli
from convgif.figures.model import Figure, FigureError, Link, Outline, Shade, box_of
from convgif.figures.stack import grid_name, stack_figure
from convgif.gallery import load_gallery, render_entry
from convgif.layout import make_layout
from convgif.render import Renderer, Style
from convgif.stack import StackError, StackSpec
from convgif.theme import load_theme

TOLERANCE = 2
SEED = StackSpec.parse(7, ["kernel-size=3", "kernel-size=3"])
WAVENET = StackSpec.parse(
    "1x16", [f"kernel-size=1x2 dilation=1x{d} padding=causal" for d in (1, 2, 4, 8)]
)


def random_stacks(seed: int, count: int) -> list[StackSpec]:
    """Valid random stacks (1-3 layers, inputs up to 8, 1×N ones among them)."""
    rng = random.Random(seed)
    stacks = []
    while len(stacks) < count:
        rows = 1 if rng.random() < 0.3 else rng.randint(1, 8)
        size = f"{rows}x{rng.randint(1, 8)}"
        try:
            stacks.append(
                StackSpec.parse(size, [random_layer(rng) for _ in range(rng.randint(1, 3))])
            )
        except StackError:
            continue
    return stacks


STACKS = random_stacks(seed=7, count=60)


def shaded_cells(step, grid: str) -> set[tuple[int, int]]:
    return {cell for mark in step.marks if isinstance(mark, Shade) and mark.grid == grid
            for cell in mark.cells}  # fmt: skip


# ---------------------------------------------------------------------------
# The builder.


@pytest.mark.parametrize("stack", STACKS, ids=[f"s{i}" for i in range(len(STACKS))])
def test_shaded_cells_of_every_level_match_the_brute_force(stack: StackSpec) -> None:
    figure = stack_figure(stack)
    figure.check()
    layers = layers_of(stack)
    count = len(stack.layers)
    assert [g.name for g in figure.grids] == [grid_name(level) for level in range(count + 1)]
    sizes = [stack.input_size, *(layer.output_size for layer in stack.layers)]
    assert [(g.rows, g.cols) for g in figure.grids] == sizes
    top_rows, top_cols = stack.output_size
    assert len(figure.steps) == top_rows * top_cols
    for index, step in enumerate(figure.steps):
        top = divmod(index, top_cols)  # row-major over the top layer
        sources, per_layer = brute_dependencies(layers, top)
        expected = [sources, *per_layer]
        assert expected[-1] == {top}
        for level, cells in enumerate(expected):
            assert shaded_cells(step, grid_name(level)) == cells, (index, level)


def one_d(stack: StackSpec) -> bool:
    return all(rows == 1 for rows, _ in (stack.input_size, *stack.output_sizes))


@pytest.mark.parametrize("stack", [s for s in STACKS if one_d(s)][:15])
def test_a_1d_stack_links_each_unit_to_each_unit_it_reads(stack: StackSpec) -> None:
    figure = stack_figure(stack)
    assert figure.arrangement == "column"
    layers = layers_of(stack)
    for index, step in enumerate(figure.steps):
        _, per_layer = brute_dependencies(layers, (0, index))
        links = [m for m in step.marks if isinstance(m, Link)]
        assert all(link.style == "centre" for link in links)
        expected = set()
        for number, cells in enumerate(per_layer):  # layer number + 1 reads the level below
            for cell in cells:
                for read in brute_reads(cell, *layers[number]):
                    expected.add((grid_name(number), read, grid_name(number + 1), cell))
        got = {
            (m.source, (m.source_box[0], m.source_box[1]), m.target,
             (m.target_box[0], m.target_box[1]))
            for m in links
        }  # fmt: skip
        assert got == expected
        assert len(links) == len(expected)  # one line per pair
        assert all(m.source_box[2:] == (m.source_box[0] + 1, m.source_box[1] + 1) for m in links)


@pytest.mark.parametrize("stack", [s for s in STACKS if not one_d(s)][:15])
def test_a_2d_stack_links_each_levels_box_to_the_box_above(stack: StackSpec) -> None:
    figure = stack_figure(stack)
    assert figure.arrangement == "stack"
    for step in figure.steps:
        cells = [shaded_cells(step, grid_name(level)) for level in range(len(figure.grids))]
        links = [m for m in step.marks if isinstance(m, Link)]
        outlines = {m.grid: m.box for m in step.marks if isinstance(m, Outline)}
        expected = {
            (grid_name(level), box_of(sorted(cells[level])), grid_name(level + 1),
             box_of(sorted(cells[level + 1])))
            for level in range(len(cells) - 1)
            if cells[level]
        }  # fmt: skip
        assert {(m.source, m.source_box, m.target, m.target_box) for m in links} == expected
        assert all(m.style == "corners" for m in links)
        assert outlines == {src: box for src, box, _, _ in expected}


def test_the_seeds_figure_fills_labels_caption_and_equations() -> None:
    figure = stack_figure(SEED)
    assert [g.fills[0] for g in figure.grids] == ["input", "input", "output"]
    assert [g.label for g in figure.grids] == ["input 7×7", "layer 1: 3×3 → 5×5",
                                               "layer 2: 3×3 → 3×3"]  # fmt: skip
    lines = figure.caption.splitlines()
    assert lines[1].endswith("field 3, jump 1, start 0")
    assert lines[2].endswith("field 5, jump 1, start 0")
    assert "receptive field 5×5" in lines[-1]
    centre = figure.steps[4]
    assert centre.equation == (
        "y₁,₁ at layer 2 sees 25 input cells: rows 1…5, columns 1…5 (field 5×5)"
    )


def test_wavenets_equations_say_where_the_field_is_padding() -> None:
    figure = stack_figure(WAVENET)
    assert figure.steps[15].equation == "y₁₅ at layer 4 sees 16 input cells, 0…15 (field 16)"
    assert figure.steps[3].equation == (
        "y₃ at layer 4 sees 4 input cells, 0…3 (field 16; part of it is padding)"
    )
    assert figure.grids[4].label == "layer 4: kernel 2, dilation 8, causal → 16"
    assert "start −15" in figure.caption


def test_a_dilated_layer_leaves_gaps_and_the_equation_counts_only_the_cells_seen() -> None:
    figure = stack_figure(StackSpec.parse(5, ["kernel-size=3 dilation=2"]))
    assert figure.steps[0].equation == (
        "y₀,₀ at layer 1 sees 9 input cells: rows 0…4, columns 0…4 (field 5×5)"
    )


def test_a_top_cell_that_reads_only_padding_shades_nothing_below() -> None:
    stack = StackSpec.parse(2, ["kernel-size=1 padding=1"])
    figure = stack_figure(stack)
    assert figure.steps[0].equation == "y₀,₀ at layer 1 sees no input cell, only padding"
    assert shaded_cells(figure.steps[0], "input") == set()
    assert not [m for m in figure.steps[0].marks if isinstance(m, Link)]


def test_the_figure_survives_json() -> None:
    figure = stack_figure(WAVENET)
    assert Figure.from_json(figure.to_json()) == figure


def test_a_link_style_must_be_known() -> None:
    with pytest.raises(FigureError, match="link style"):
        Link("a", (0, 0, 1, 1), "b", (0, 0, 1, 1), "curvy")


def test_the_builder_needs_no_matplotlib() -> None:
    code = (
        "import sys; from convgif.figures.stack import stack_figure; "
        "from convgif.stack import StackSpec; stack_figure(StackSpec.parse(5, [''])); "
        "print('matplotlib' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


# ---------------------------------------------------------------------------
# The drawing.


def probe(frame: np.ndarray, xy: tuple[float, float], half: int = 2) -> np.ndarray:
    """The most common colour in a small square around a pixel (a thin line may cross it)."""
    x, y = int(xy[0]), int(xy[1])
    patch = frame[y - half : y + half + 1, x - half : x + half + 1].reshape(-1, 4)
    colours, counts = np.unique(patch, axis=0, return_counts=True)
    return colours[counts.argmax()]


@pytest.fixture(scope="module")
def theme():  # type: ignore[no-untyped-def]
    return load_theme("default")


@pytest.mark.parametrize(
    ("stack", "layout"),
    [
        (SEED, "oblique"),
        (SEED, "flat"),
        (StackSpec.parse("6x5", ["kernel-size=2 stride=2 padding=1", "kernel-size=2x1"]), "flat"),
        (WAVENET, "flat"),
    ],
    ids=["seed-oblique", "seed-flat", "strided-flat", "wavenet"],
)
def test_each_frame_shades_exactly_the_dependent_cells_of_every_grid(
    stack: StackSpec, layout: str, theme
) -> None:  # type: ignore[no-untyped-def]
    figure = stack_figure(stack)
    renderer = Renderer(figure, Style(theme=theme, layout=layout))
    layers = layers_of(stack)
    cols = stack.output_size[1]
    frames = [frame.copy() for frame in renderer.frames()]
    assert len(frames) == stack.step_count
    for index, frame in enumerate(frames):
        sources, per_layer = brute_dependencies(layers, divmod(index, cols))
        for level, (grid, cells) in enumerate(
            zip(figure.grids, [sources, *per_layer], strict=True)
        ):
            fill = theme.input if level < len(figure.grids) - 1 else theme.output
            for cell in np.ndindex(grid.rows, grid.cols):
                expected = theme.shaded(fill) if cell in cells else fill
                actual = probe(frame, renderer.cell_center_px(grid.name, cell))
                difference = np.abs(actual[:3].astype(int) - np.asarray(expected)).max()
                assert difference <= TOLERANCE, (layout, index, grid.name, cell, actual, expected)


def test_a_centre_link_is_one_line_between_the_facing_sides_of_two_rows() -> None:
    figure = stack_figure(WAVENET)
    layout = make_layout(figure.grids, "flat", 30, "column")
    link = Link("layer3", (0, 7, 1, 8), "layer4", (0, 15, 1, 16), "centre")
    segments = render._link_segments(layout, link)
    assert len(segments) == 1
    below, above = layout.plane("layer3"), layout.plane("layer4")
    assert segments[0][0] == pytest.approx(below.point(0, 7.5))  # the top side's middle
    assert segments[0][1] == pytest.approx(above.point(1, 15.5))  # the bottom side's middle


def test_a_centre_link_in_the_oblique_view_is_one_line_hidden_behind_the_grids_in_front() -> None:
    figure = stack_figure(SEED)
    layout = make_layout(figure.grids, "oblique", 30, "stack")
    link = Link("input", (3, 3, 4, 4), "layer2", (1, 1, 2, 2), "centre")
    segments = render._link_segments(layout, link)
    start = np.array(layout.plane("input").cell_center((3, 3)))
    end = np.array(layout.plane("layer2").cell_center((1, 1)))
    assert 1 <= len(segments) <= 3
    assert segments[0][0] == pytest.approx(tuple(start))
    direction = (end - start) / np.linalg.norm(end - start)
    layer1 = Path(layout.plane("layer1").outline())
    for a, b in segments:
        for point in (np.array(a), np.array(b)):  # on the line from centre to centre
            offset = point - start
            assert abs(offset[0] * direction[1] - offset[1] * direction[0]) < 1e-6
        assert not layer1.contains_point((np.array(a) + np.array(b)) / 2.0)  # hidden behind it


def test_wavenets_lines_are_drawn_between_the_rows(theme) -> None:  # type: ignore[no-untyped-def]
    figure = stack_figure(WAVENET)
    renderer = Renderer(figure, Style(theme=theme, layout="flat"))
    frame = renderer.frame(15)
    # The middle of the line from layer 4's unit 15 down to layer 3's unit 7.
    (x0, y0), (x1, y1) = (
        renderer.cell_center_px("layer3", (0, 7)),
        renderer.cell_center_px("layer4", (0, 15)),
    )
    x, y = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    patch = frame[int(y) - 2 : int(y) + 3, int(x) - 2 : int(x) + 3, :3].reshape(-1, 3)
    assert (np.abs(patch.astype(int) - np.asarray(theme.background)).max(axis=1) > 40).any()
    # No line at that place at step 0 (unit 0 reads only unit 0 below).
    patch = renderer.frame(0)[int(y) - 2 : int(y) + 3, int(x) - 2 : int(x) + 3, :3]
    assert (np.abs(patch.reshape(-1, 3).astype(int) - np.asarray(theme.background)) <= 2).all()


def test_lines_are_cut_around_the_grids_labels(theme) -> None:  # type: ignore[no-untyped-def]
    figure = stack_figure(WAVENET)
    renderer = Renderer(figure, Style(theme=theme, layout="flat", labels=True))
    scene = render._Scene(renderer, animated=False)
    scene.set_step(15)
    boxes = [label.box_px for label in scene.grid_labels]
    assert len(boxes) == len(figure.grids)
    for segments in scene.links.values():
        for (x0, y0), (x1, y1) in segments.get_segments():
            for t in np.linspace(0.02, 0.98, 25):
                x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                assert not any(b[0] < x < b[2] and b[1] < y < b[3] for b in boxes)


# ---------------------------------------------------------------------------
# The API and the command line.


def test_render_stack_to_file_writes_one_frame_per_top_cell(tmp_path) -> None:
    written = render_stack_to_file(SEED, tmp_path / "s.gif", RenderOptions(layout="flat"))
    assert written.frame_count == 9
    with Image.open(written.path) as image:
        assert image.n_frames == 9


def test_a_still_is_the_animations_frame(tmp_path) -> None:
    animation = render_stack_to_file(SEED, tmp_path / "s.gif", RenderOptions(layout="flat"))
    still = render_stack_to_file(SEED, tmp_path / "s.png", RenderOptions(layout="flat", step=4))
    with Image.open(animation.path) as image:
        image.seek(4)
        frame = np.asarray(image.convert("RGB"))
    with Image.open(still.path) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), frame)


def test_render_stack_frames_writes_a_png_per_step(tmp_path) -> None:
    written = render_stack_frames(WAVENET, tmp_path / "frames", RenderOptions())
    assert written.frame_count == 16
    assert len(list((tmp_path / "frames").glob("*.png"))) == 16


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (RenderOptions(numbers=True), "--numbers: a stack figure is drawn without numbers"),
        (RenderOptions(view="matrix"), "--view: a stack is drawn as its receptive field"),
        (RenderOptions(step=9), "--step: must be from 0 to 8 (this stack has 9 steps)"),
        (RenderOptions(max_frames=8), "--max-frames: this stack has 9 steps"),
    ],
)
def test_options_a_stack_cannot_draw_are_refused_before_writing(
    options: RenderOptions, message: str, tmp_path
) -> None:
    suffix = ".png" if options.step is not None else ".gif"
    with pytest.raises(RenderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        render_stack_to_file(SEED, tmp_path / f"s{suffix}", options)
    assert list(tmp_path.iterdir()) == []


def test_the_default_output_is_named_after_the_stack() -> None:
    stack = StackSpec.parse(7, ["kernel-size=3", "kernel-size=3 dilation=2 mode=max"])
    assert str(default_stack_output(stack, RenderOptions())) == "stack_i7_k3p0s1_maxk3p0s1d2.gif"
    still = default_stack_output(stack, RenderOptions(step=2))
    assert str(still) == "stack_i7_k3p0s1_maxk3p0s1d2_step2.png"


def run(*args: str):
    return CliRunner().invoke(cli, ["stack", *args])


def test_cli_draws_one_frame_per_top_cell(tmp_path) -> None:
    out = tmp_path / "wavenet.gif"
    args = ["--input-size", "1x16"]
    for d in (1, 2, 4, 8):
        args += ["--layer", f"kernel-size=1x2 dilation=1x{d} padding=causal"]
    result = run(*args, "-o", str(out), "--caption", "--duration-ms", "200")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    with Image.open(out) as image:
        assert image.n_frames == 16
        assert image.info["duration"] == 200


def test_cli_draws_a_still_with_the_render_options(tmp_path) -> None:
    out = tmp_path / "seed.png"
    result = run(
        "--input-size", "7", "--layer", "kernel-size=3", "--layer", "kernel-size=3",
        "--step", "4", "-o", str(out), "--layout", "flat", "--scale", "0.5", "--labels",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    expected = Renderer(stack_figure(SEED), Style(layout="flat", scale=0.5, labels=True))
    with Image.open(out) as image:
        assert image.size == expected.size_px


@pytest.mark.parametrize(
    "layers",
    [["kernel-size=3", "dilation=0"], ["kernel-size=9"], ["stride"], ["colour=red"]],
)
def test_cli_a_bad_layer_is_one_line_exit_2_and_no_file(layers, tmp_path) -> None:
    out = tmp_path / "out.gif"
    args = ["--input-size", "7"]
    for layer in layers:
        args += ["--layer", layer]
    result = run(*args, "-o", str(out))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"convgif: error: --layer {len(layers)}:")
    assert not out.exists()


# ---------------------------------------------------------------------------
# The gallery's stack entries.


def test_the_gallery_stacks_load_and_one_renders(tmp_path) -> None:
    entries = {e.name: e for e in load_gallery()}
    for name in ("receptive_field", "receptive_field_dilated", "wavenet_causal"):
        assert entries[name].error is None, entries[name].error
        assert entries[name].stack is not None
    assert entries["receptive_field"].stack_spec().receptive_field == (5, 5)
    assert entries["receptive_field_dilated"].stack_spec().receptive_field == (15, 15)
    assert entries["wavenet_causal"].stack_spec().receptive_field == (1, 16)
    result = render_entry(entries["receptive_field"], tmp_path)
    assert result.ok, result.error
    assert result.frame_count == 9


def test_a_bad_stack_entry_keeps_its_error(tmp_path) -> None:
    gallery = tmp_path / "g.toml"
    gallery.write_text(
        '[[figure]]\nname = "bad_layer"\nstack = { input_size = 5, layers = ["dilation=0"] }\n'
        '[[figure]]\nname = "bad_key"\nstack = { input_size = 5, layer = [] }\n'
        '[[figure]]\nname = "both"\nspec = { input_size = 5 }\n'
        'stack = { input_size = 5, layers = [""] }\n'
        '[[figure]]\nname = "not_a_table"\nstack = 3\n'
        '[[figure]]\nname = "good"\nstack = { input_size = 5, layers = [""] }\n',
        encoding="utf-8",
    )
    errors = {e.name: e.error for e in load_gallery(gallery)}
    assert errors["bad_layer"].startswith("--layer 1: dilation")
    assert "stack.layer" in errors["bad_key"]
    assert "not both" in errors["both"]
    assert "must be a table" in errors["not_a_table"]
    assert errors["good"] is None
