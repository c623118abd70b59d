"""The renderer: pixel probes at cell centres against the reference geometry.

The expected window of every step comes from tests/reference.py (brute force,
independent of convgif); the expected colours from the theme's numbers and the
alpha-compositing formula. Probe positions come from ``cell_center_px``, the
transform the renderer draws with.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.text import Text
from reference import direct_layout, transposed_layout

from convgif import render
from convgif.api import RenderError
from convgif.geometry import Step
from convgif.render import Layer, Renderer, Style, Surface
from convgif.spec import ConvSpec
from convgif.theme import load_theme

SPECS = {
    "direct": ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2),
    "dilated": ConvSpec(input_size=(5, 7), kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
    "transposed": ConvSpec(
        input_size=3, kernel_size=3, padding=1, stride=2, transposed=True, output_padding=1
    ),
}
LAYOUTS = ("oblique", "flat")
TOLERANCE = 3  # per channel: fills are drawn without antialiasing


def reference(spec: ConvSpec):  # type: ignore[no-untyped-def]
    args = (spec.input_size, spec.kernel_size, spec.padding, spec.stride, spec.dilation)
    if spec.transposed:
        return transposed_layout(*args, spec.output_padding)
    return direct_layout(*args)


def over(below: Sequence[int], above: Sequence[int], alpha: float) -> np.ndarray:
    return np.rint(alpha * np.array(above, float) + (1 - alpha) * np.array(below, float))


def probe(frame: np.ndarray, xy: tuple[float, float], half: int = 3) -> np.ndarray:
    """The most common colour in a small square around a pixel position.

    A thin connecting line may cross a cell's centre; the fill still holds most
    of the square.
    """
    x, y = int(xy[0]), int(xy[1])
    patch = frame[y - half : y + half + 1, x - half : x + half + 1].reshape(-1, 4)
    colours, counts = np.unique(patch, axis=0, return_counts=True)
    return colours[counts.argmax()]


def assert_colour(actual: np.ndarray, expected: np.ndarray, where: str) -> None:
    difference = np.abs(actual[:3].astype(int) - np.asarray(expected, int)).max()
    assert difference <= TOLERANCE, f"{where}: got {tuple(actual[:3])}, expected {expected}"


@pytest.fixture(params=["boxes", "whole"])
def restore(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Frames restore the boxes the moving artists drew over, or the whole background.

    Which one a figure uses depends on its size; tests run both on small figures.
    """
    limit = 0 if request.param == "boxes" else 10**12
    monkeypatch.setattr(render, "WHOLE_RESTORE_MAX_BYTES", limit)
    return str(request.param)


@pytest.fixture(scope="module")
def theme():  # type: ignore[no-untyped-def]
    return load_theme("default")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(SPECS))
def test_each_frame_shades_exactly_the_window_and_the_output_cell(
    name: str, layout: str, theme
) -> None:  # type: ignore[no-untyped-def]
    spec = SPECS[name]
    ref = reference(spec)
    renderer = Renderer(spec, Style(theme=theme, layout=layout))
    frames = [frame.copy() for frame in renderer.frames()]
    rows, cols = ref.output_size
    assert len(frames) == rows * cols
    shade, alpha = theme.shade, theme.shade_alpha
    for k, frame in enumerate(frames):
        out_cell = divmod(k, cols)  # row-major
        window = set(ref.windows[out_cell])
        for r in range(ref.grid.shape[0]):
            for c in range(ref.grid.shape[1]):
                fill = theme.input if ref.grid[r, c] >= 0 else theme.background
                expected = over(fill, shade, alpha) if (r, c) in window else np.array(fill)
                actual = probe(frame, renderer.cell_center_px("input", (r, c)))
                assert_colour(actual, expected, f"{name}/{layout} step {k} input {(r, c)}")
        for cell in np.ndindex(rows, cols):
            expected = over(theme.output, shade, alpha) if cell == out_cell else theme.output
            actual = probe(frame, renderer.cell_center_px("output", cell))
            assert_colour(actual, expected, f"{name}/{layout} step {k} output {cell}")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_frames_are_one_size_and_match_single_frames_and_figures(layout: str) -> None:
    spec = SPECS["transposed"]
    renderer = Renderer(spec, Style(layout=layout))
    width, height = renderer.size_px
    frames = [frame.copy() for frame in renderer.frames()]
    for frame in frames:
        assert frame.shape == (height, width, 4) and frame.dtype == np.uint8
    assert len({f.tobytes() for f in frames}) == len(frames)  # every step differs
    k = 7
    assert np.array_equal(renderer.frame(k), frames[k])
    figure = renderer.figure_for_step(k)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    assert np.array_equal(np.asarray(canvas.buffer_rgba()), frames[k])


def test_flat_connectors_join_window_corners_to_output_cell_corners() -> None:
    spec = SPECS["dilated"]
    renderer = Renderer(spec, Style(layout="flat"))
    ref = reference(spec)
    cell = renderer.layout.cell_px
    figure = renderer.figure_for_step(4)
    out_cell = divmod(4, ref.output_size[1])
    window = ref.windows[out_cell]
    top, left = min(r for r, _ in window), min(c for _, c in window)
    bottom, right = max(r for r, _ in window) + 1, max(c for _, c in window) + 1
    x0, y0 = renderer.layout.input.origin
    u0, v0 = renderer.layout.output.origin
    starts = {(x0 + cell * c, y0 + cell * r) for r in (top, bottom) for c in (left, right)}
    r, c = out_cell
    ends = {(u0 + cell * cc, v0 + cell * rr) for rr in (r, r + 1) for cc in (c, c + 1)}
    (connectors,) = [
        a for a in figure.artists if isinstance(a, LineCollection) and a.get_zorder() > 20
    ]
    segments = [tuple(map(tuple, s)) for s in connectors.get_segments()]
    assert {s[0] for s in segments} == starts
    assert {s[1] for s in segments} == ends


def test_oblique_connectors_start_at_the_window_corners_and_stop_at_the_output_plane() -> None:
    spec = SPECS["direct"]
    renderer = Renderer(spec, Style(layout="oblique"))
    figure = renderer.figure_for_step(0)
    (connectors,) = [
        a for a in figure.artists if isinstance(a, LineCollection) and a.get_zorder() > 20
    ]
    window = reference(spec).windows[(0, 0)]
    plane = renderer.layout.input
    corners = {(r, c) for r in (0, max(r for r, _ in window) + 1) for c in (0, 3)}
    starts = {tuple(np.round(plane.point(r, c), 6)) for r, c in corners}
    assert {tuple(np.round(s[0], 6)) for s in connectors.get_segments()} == starts
    # The visible part of each line ends on or below the output plane's edge.
    from matplotlib.path import Path as MplPath

    hidden = MplPath(renderer.layout.output.outline())
    for segment in connectors.get_segments():
        middle = (segment[0] + segment[1]) / 2
        assert not hidden.contains_point(middle)


def test_transparent_background_keeps_cells_opaque() -> None:
    spec = SPECS["direct"]
    renderer = Renderer(spec, Style(transparent=True))
    frame = renderer.frame(0)
    assert frame[0, 0, 3] == 0 and frame[-1, -1, 3] == 0
    for cell in [(0, 0), (3, 3)]:
        assert probe(frame, renderer.cell_center_px("input", cell))[3] == 255
    assert probe(frame, renderer.cell_center_px("output", (1, 1)))[3] == 255


def test_caption_adds_a_band_of_text_below() -> None:
    spec = SPECS["direct"]
    plain = Renderer(spec, Style(layout="flat"))
    captioned = Renderer(spec, Style(layout="flat", caption=True))
    (w0, h0), (w1, h1) = plain.size_px, captioned.size_px
    assert h1 > h0 + 10 and w1 >= w0
    frame = captioned.frame(0)
    theme = load_theme()
    band = frame[h0:, :, :3].reshape(-1, 3).astype(int)
    dark = np.abs(band - np.array(theme.text)).max(axis=1) < 40
    assert dark.sum() > 50  # text was drawn there
    assert captioned.size_px == Renderer(spec, Style(layout="flat", caption=True)).size_px


def test_scale_and_dpi_change_the_pixel_size() -> None:
    spec = SPECS["direct"]
    w, h = Renderer(spec).size_px
    for style in (Style(scale=2.0), Style(dpi=200)):
        w2, h2 = Renderer(spec, style).size_px
        assert abs(w2 - 2 * w) <= 4 and abs(h2 - 2 * h) <= 4


@pytest.mark.parametrize(
    ("spec", "anchor_size"),
    [
        (ConvSpec(input_size=4, kernel_size=3), (244, 259)),
        (ConvSpec(input_size=5, kernel_size=3, padding=2), (495, 576)),
        (ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2), (395, 381)),
    ],
)
def test_default_size_is_about_the_guides(spec: ConvSpec, anchor_size: tuple[int, int]) -> None:
    width, height = Renderer(spec).size_px
    assert abs(width - anchor_size[0]) <= 0.06 * anchor_size[0]
    assert abs(height - anchor_size[1]) <= 0.06 * anchor_size[1]


@pytest.mark.parametrize("name", ["default", "dark", "contrast"])
def test_every_pixel_has_a_close_palette_colour(name: str) -> None:
    # A pixel is a theme colour or an antialiased mix of two; the palette must
    # hold a colour about as close as an even 4-step blend between them allows.
    theme = load_theme(name)
    renderer = Renderer(SPECS["transposed"], Style(theme=theme, caption=True))
    table = renderer.palette().astype(float)
    pixels = renderer.frame(3)[..., :3].reshape(-1, 3)
    colours = np.unique(pixels, axis=0).astype(float)
    fills = (theme.background, theme.input, theme.output)
    flat = {*fills, theme.line, theme.padding_line, theme.connector, theme.text}
    flat |= {tuple(over(c, theme.shade, theme.shade_alpha)) for c in fills}
    base = np.array(sorted(flat), float)
    allowed = np.full(len(colours), np.inf)
    for a, b in itertools.combinations(base, 2):
        d = b - a
        t = np.clip((colours - a) @ d / max(float(d @ d), 1e-9), 0, 1)
        off_line = np.linalg.norm(colours - (a + t[:, None] * d), axis=1)
        allowed = np.minimum(allowed, off_line + np.linalg.norm(d) / 8 + 2)
    nearest = np.sqrt(((colours[:, None, :] - table[None]) ** 2).sum(axis=2)).min(axis=1)
    assert (nearest <= allowed).all()


def test_a_layer_draws_its_moving_artists_each_step() -> None:
    class StepNumber(Layer):
        def __init__(self) -> None:
            self.seen: list[int] = []
            self.text: Text | None = None

        def add_moving(self, surface: Surface, renderer: Renderer) -> list[Text]:
            self.text = surface.text(5, 5, "", va="top", fontsize=20)
            return [self.text]

        def update(self, step: Step) -> None:
            assert self.text is not None
            self.text.set_text(str(step.index))
            self.seen.append(step.index)

    spec = SPECS["direct"]
    layer = StepNumber()
    with_layer = [f.copy() for f in Renderer(spec, layers=[layer]).frames()]
    without = [f.copy() for f in Renderer(spec).frames()]
    assert layer.seen == list(range(len(without)))
    for a, b in zip(with_layer, without, strict=True):
        differs = (a != b).any(axis=2)
        ys, xs = np.nonzero(differs)
        assert len(ys) and ys.max() < 40 and xs.max() < 40  # only the corner text changed


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"layout": "isometric"}, "--layout"),
        ({"scale": 0}, "--scale"),
        ({"dpi": -5}, "--dpi"),
        ({"scale": 0.01}, "--scale"),
    ],
)
def test_bad_style_names_the_option(kwargs: dict, option: str) -> None:
    with pytest.raises(RenderError) as caught:
        Style(**kwargs)
    assert str(caught.value).startswith(option)


def test_a_users_matplotlib_settings_do_not_change_the_pixels() -> None:
    import matplotlib

    spec = SPECS["dilated"]
    expected = Renderer(spec, Style(caption=True)).frame(2)
    changed = {"lines.scale_dashes": True, "path.snap": False, "text.hinting": "none"}
    with matplotlib.rc_context(changed):
        assert np.array_equal(Renderer(spec, Style(caption=True)).frame(2), expected)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_settings_a_user_changes_between_frames_do_not_change_them(layout: str) -> None:
    import matplotlib

    class StepNumber(Layer):
        def add_moving(self, surface: Surface, renderer: Renderer) -> list[Text]:
            self.text = surface.text(5, 5, "", va="top", fontsize=15)
            return [self.text]

        def update(self, step: Step) -> None:
            self.text.set_text(f"step {step.index}")

    spec = SPECS["dilated"]
    style = Style(layout=layout, caption=True)
    expected = [f.copy() for f in Renderer(spec, style, layers=[StepNumber()]).frames()]
    changed = {
        "lines.antialiased": False,
        "patch.antialiased": False,
        "path.sketch": (2.0, 50.0, 1.0),
        "font.weight": "bold",
        "path.snap": False,
        "agg.path.chunksize": 3,
        "text.hinting": "none",  # read while a text is drawn, each frame
    }
    with matplotlib.rc_context(changed):
        renderer = Renderer(spec, style, layers=[StepNumber()])
        for k, frame in enumerate(renderer.frames()):
            assert np.array_equal(frame, expected[k]), k
            # The user's settings are theirs again between frames.
            assert {key: matplotlib.rcParams[key] for key in changed} == changed


class Tally(Layer):
    """One mark per step, kept once its step has passed (a backdrop), drawn with a count."""

    def __init__(self) -> None:
        self.marks: list[Text] = []
        self.draws: list[int] = []

    def add_moving(self, surface: Surface, renderer: Renderer) -> list[Text]:
        count = len(renderer)
        self.draws = [0] * count
        self.marks = []
        for k in range(count):
            mark = surface.text(4 + 9 * k, 12, "|", fontsize=12, zorder=12, visible=False)
            real_draw = mark.draw

            def draw(*args: object, _k: int = k, _draw=real_draw) -> None:  # type: ignore[no-untyped-def]
                self.draws[_k] += 1
                _draw(*args)

            mark.draw = draw  # type: ignore[method-assign]
            self.marks.append(mark)
        return self.marks

    def update(self, step: Step) -> None:
        for k, mark in enumerate(self.marks):
            mark.set_visible(k <= step.index)

    def backdrop(self, step: Step) -> list[Text]:
        return self.marks[: step.index]


def test_backdrop_artists_are_drawn_once_and_frames_match_full_draws(restore: str) -> None:
    from convgif.render import _Scene

    spec = SPECS["direct"]
    layer = Tally()
    renderer = Renderer(spec, layers=[layer])
    frames = [frame.copy() for frame in renderer.frames()]
    assert layer.draws[:-1] == [2] * (len(frames) - 1)  # as the current mark, then baked once
    assert layer.draws[-1] == 1
    for k in (0, 5, 8):
        canvas = FigureCanvasAgg(renderer.figure_for_step(k))
        canvas.draw()
        assert np.array_equal(np.asarray(canvas.buffer_rgba()), frames[k]), k
    scene = _Scene(renderer, animated=True)
    steps = list(renderer.geometry.steps())
    for k in (7, 3, 8, 0):  # back and forth: the background is redrawn going back
        assert np.array_equal(scene.blit(steps[k]), frames[k]), k


def test_larger_cells_and_extra_palette_colours() -> None:
    spec = SPECS["direct"]
    assert Renderer(spec, Style(cell_inch=0.4)).layout.cell_px == 40
    assert Renderer(spec, Style(cell_inch=0.4, scale=2)).layout.cell_px == 80

    class Red(Layer):
        def colours(self, theme):  # type: ignore[no-untyped-def]
            return [(255, 0, 0)]

    table = {tuple(int(v) for v in c) for c in Renderer(spec, layers=[Red()]).palette()}
    assert (255, 0, 0) in table
    assert (255, 0, 0) not in {tuple(int(v) for v in c) for c in Renderer(spec).palette()}
    with pytest.raises(RenderError, match="cell_inch"):
        Style(cell_inch=0)


@pytest.mark.parametrize(("size", "dpi"), [((244, 259), 100), ((601, 645), 100), ((97, 31), 72.5)])
def test_the_surface_maps_pixels_as_an_axes_over_the_figure_would(
    size: tuple[int, int], dpi: float
) -> None:
    # The reference: an Axes spanning the figure with limits (0, w), (h, 0),
    # the way the figures were first drawn; the same floats give the same pixels.
    from matplotlib.figure import Figure

    w, h = size
    figure = Figure(figsize=((w + 1e-3) / dpi, (h + 1e-3) / dpi), dpi=dpi)
    ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    surface = Surface(figure, w, h)
    assert np.array_equal(surface.transform.get_matrix(), ax.transData.get_matrix())
    corners = np.array([[0.0, 0.0], [w, h], [w / 3, h / 7]])
    expected = np.column_stack([corners[:, 0], h - corners[:, 1]]) * (1 + 1e-3 / np.array([w, h]))
    assert np.allclose(surface.transform.transform(corners), expected)
    figure.set_dpi(2 * dpi)  # vector stills are saved at another dpi: the map follows
    assert np.array_equal(surface.transform.get_matrix(), ax.transData.get_matrix())


def test_scenes_draw_on_the_figure_without_an_axes() -> None:
    figure = Renderer(SPECS["direct"], Style(caption=True)).figure_for_step(0)
    assert figure.axes == []
    assert len(figure.artists) > 5


def full_draw(renderer: Renderer, k: int) -> np.ndarray:
    """Step ``k`` drawn whole: every artist live, no background kept."""
    canvas = FigureCanvasAgg(renderer.figure_for_step(k))
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


@pytest.mark.parametrize(
    ("spec", "style"),
    [
        (SPECS["direct"], Style()),
        (SPECS["dilated"], Style(layout="flat", transparent=True)),
        (ConvSpec(input_size=2, kernel_size=3, transposed=True), Style(caption=True, scale=2.0)),
        (ConvSpec(input_size=(3, 9), kernel_size=(1, 4), stride=(1, 1)), Style(dpi=170)),
    ],
    ids=["oblique", "flat-transparent", "caption-scale2", "thick-lines"],
)
def test_streamed_frames_equal_full_draws_of_every_step(
    spec: ConvSpec, style: Style, restore: str
) -> None:
    # Each frame restores only the box the previous one drew over: a pixel
    # outside it would stay drawn. Every frame must be the step drawn whole.
    renderer = Renderer(spec, style)
    count = 0
    for k, frame in enumerate(renderer.frames()):
        assert np.array_equal(frame, full_draw(renderer, k)), k
        count += 1
    assert count == len(renderer)


def test_frames_share_one_read_only_buffer_and_frame_returns_its_own() -> None:
    renderer = Renderer(SPECS["direct"])
    iterator = renderer.frames()
    first = next(iterator)
    kept = first.copy()
    with pytest.raises(ValueError):
        first[0, 0] = 0  # read-only: a consumer cannot spoil the next frame
    second = next(iterator)
    assert second is first  # the same canvas, drawn over
    assert not np.array_equal(kept, second)
    assert np.array_equal(kept, renderer.frame(0))
    a, b = renderer.frame(1), renderer.frame(1)
    assert a.flags.writeable and a.flags.owndata and not np.shares_memory(a, b)
    assert np.array_equal(a, second)


def test_a_moving_artist_of_unknown_extent_restores_the_whole_frame(restore: str) -> None:
    from matplotlib.lines import Line2D

    class Pointer(Layer):
        """A thick line from the image's corner to the output cell (extent not worked out)."""

        def add_moving(self, surface: Surface, renderer: Renderer) -> list[Line2D]:
            self.renderer = renderer
            self.line = surface.add(Line2D([0, 0], [0, 0], linewidth=6, zorder=25))
            return [self.line]

        def update(self, step: Step) -> None:
            x, y = self.renderer.cell_center_px("output", step.output)
            self.line.set_data([2, x], [2, y])

    renderer = Renderer(SPECS["direct"], layers=[Pointer()])
    # Frames first: a full draw makes a new figure, and the layer's artists with it.
    frames = [frame.copy() for frame in renderer.frames()]
    for k, frame in enumerate(frames):
        assert np.array_equal(frame, full_draw(renderer, k)), k


def test_a_large_figure_restores_only_what_moved() -> None:
    spec = ConvSpec(input_size=40, kernel_size=3)
    renderer = Renderer(spec, Style(layout="flat"))
    width, height = renderer.size_px
    assert width * height * 4 > render.WHOLE_RESTORE_MAX_BYTES
    frames = renderer.frames()
    for k in range(3):
        frame = next(frames)
        assert np.array_equal(frame, full_draw(renderer, k)), k
    scene = render._Scene(renderer, animated=True)
    steps = list(renderer.geometry.steps())
    last = scene.blit(steps[-1]).copy()
    assert scene._dirty is not None
    top, bottom, left, right = scene._dirty
    assert (bottom - top) * (right - left) < width * height / 10
    assert np.array_equal(last, full_draw(renderer, len(steps) - 1))
