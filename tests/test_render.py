"""The renderer: pixel probes at cell centres against the reference geometry and the marks.

The expected window of every step comes from tests/reference.py (brute force,
independent of convgif); for figures built by hand, from their own marks. The
expected colours come from the theme's numbers and the alpha-compositing
formula. Probe positions come from ``cell_center_px``, the transform the
renderer draws with. Blitted frames are compared with full draws of the same
step.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure as MplFigure
from matplotlib.path import Path as MplPath
from reference import direct_layout, transposed_layout

from convgif import render
from convgif.api import RenderError, RenderOptions, _renderer
from convgif.figures.model import Figure, Grid, Link, Outline, Ring, Shade, Step, Text, box_of
from convgif.figures.window import window_figure
from convgif.render import Label, Outlined, Renderer, Style, Surface
from convgif.spec import ConvSpec
from convgif.theme import Theme, load_theme

SPECS = {
    "direct": ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2),
    "dilated": ConvSpec(input_size=(5, 7), kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
    "transposed": ConvSpec(
        input_size=3, kernel_size=3, padding=1, stride=2, transposed=True, output_padding=1
    ),
}
LAYOUTS = ("oblique", "flat")
TOLERANCE = 3  # per channel: fills are drawn without antialiasing


def renderer_of(spec: ConvSpec, style: Style | None = None) -> Renderer:
    """The plain sliding-window figure of a spec."""
    return Renderer(window_figure(spec), style)


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


def assert_colour(actual: np.ndarray, expected: Sequence[float], where: str) -> None:
    difference = np.abs(actual[:3].astype(int) - np.asarray(expected, int)).max()
    assert difference <= TOLERANCE, f"{where}: got {tuple(actual[:3])}, expected {expected}"


def full_draw(renderer: Renderer, k: int) -> np.ndarray:
    """Step ``k`` drawn whole: every artist live, no background kept."""
    canvas = FigureCanvasAgg(renderer.figure_for_step(k))
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def connector_segments(renderer: Renderer, figure: MplFigure) -> list[np.ndarray]:
    """The visible connector lines of a full draw (the thin line collections)."""
    width = renderer.style.points(renderer.style.theme.connector_width_pt)
    return [
        np.asarray(segment)
        for artist in figure.artists
        if isinstance(artist, LineCollection) and artist.get_visible()
        and np.allclose(artist.get_linewidths(), width)
        for segment in artist.get_segments()
    ]  # fmt: skip


@pytest.fixture(params=["boxes", "whole"])
def restore(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Frames restore the boxes the moving artists drew over, or the whole background.

    Which one a figure uses depends on its size; tests run both on small figures.
    """
    limit = 0 if request.param == "boxes" else 10**12
    monkeypatch.setattr(render, "WHOLE_RESTORE_MAX_BYTES", limit)
    return str(request.param)


@pytest.fixture(scope="module")
def theme() -> Theme:
    return load_theme("default")


# -- the window figures --------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(SPECS))
def test_each_frame_shades_exactly_the_window_and_the_output_cell(
    name: str, layout: str, theme: Theme
) -> None:
    spec = SPECS[name]
    ref = reference(spec)
    renderer = renderer_of(spec, Style(theme=theme, layout=layout))  # type: ignore[arg-type]
    frames = [frame.copy() for frame in renderer.frames()]
    rows, cols = ref.output_size
    assert len(frames) == len(renderer) == rows * cols
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
    renderer = renderer_of(SPECS["transposed"], Style(layout=layout))  # type: ignore[arg-type]
    width, height = renderer.size_px
    frames = [frame.copy() for frame in renderer.frames()]
    for frame in frames:
        assert frame.shape == (height, width, 4) and frame.dtype == np.uint8
    assert len({f.tobytes() for f in frames}) == len(frames)  # every step differs
    k = 7
    assert np.array_equal(renderer.frame(k), frames[k])
    assert np.array_equal(full_draw(renderer, k), frames[k])
    with pytest.raises(IndexError):
        renderer.frame(len(frames))
    with pytest.raises(IndexError):
        renderer.figure_for_step(-1)


def test_flat_connectors_join_the_windows_right_corners_to_the_output_cells_left() -> None:
    spec = SPECS["dilated"]
    renderer = renderer_of(spec, Style(layout="flat"))
    ref = reference(spec)
    cell = renderer.layout.cell_px
    out_cell = divmod(4, ref.output_size[1])
    window = ref.windows[out_cell]
    top, left = min(r for r, _ in window), min(c for _, c in window)
    bottom, right = max(r for r, _ in window) + 1, max(c for _, c in window) + 1
    x0, y0 = renderer.layout.plane("input").origin
    u0, v0 = renderer.layout.plane("output").origin
    del left  # the output is to the right: the window's right side faces it
    starts = {(x0 + cell * right, y0 + cell * r) for r in (top, bottom)}
    r, c = out_cell
    ends = {(u0 + cell * c, v0 + cell * rr) for rr in (r, r + 1)}
    segments = connector_segments(renderer, renderer.figure_for_step(4))
    assert len(segments) == 2
    assert {tuple(s[0]) for s in segments} == starts
    assert {tuple(s[1]) for s in segments} == ends


def test_oblique_connectors_start_at_the_window_corners_and_stop_at_the_output_plane() -> None:
    spec = SPECS["direct"]
    renderer = renderer_of(spec, Style(layout="oblique"))
    segments = connector_segments(renderer, renderer.figure_for_step(0))
    window = reference(spec).windows[(0, 0)]
    plane = renderer.layout.plane("input")
    corners = {(r, c) for r in (0, max(r for r, _ in window) + 1) for c in (0, 3)}
    starts = {tuple(np.round(plane.point(r, c), 6)) for r, c in corners}
    assert {tuple(np.round(s[0], 6)) for s in segments} == starts
    # The visible part of each line ends on or below the output plane's edge.
    hidden = MplPath(renderer.layout.plane("output").outline())
    for segment in segments:
        middle = (segment[0] + segment[1]) / 2
        assert not hidden.contains_point(middle)


def test_transparent_background_keeps_cells_opaque() -> None:
    renderer = renderer_of(SPECS["direct"], Style(transparent=True))
    frame = renderer.frame(0)
    assert frame[0, 0, 3] == 0 and frame[-1, -1, 3] == 0
    for cell in [(0, 0), (3, 3)]:
        assert probe(frame, renderer.cell_center_px("input", cell))[3] == 255
    assert probe(frame, renderer.cell_center_px("output", (1, 1)))[3] == 255


def test_caption_adds_a_band_of_text_below() -> None:
    spec = SPECS["direct"]
    plain = renderer_of(spec, Style(layout="flat"))
    captioned = renderer_of(spec, Style(layout="flat", caption=True))
    (w0, h0), (w1, h1) = plain.size_px, captioned.size_px
    assert h1 > h0 + 10 and w1 >= w0
    assert captioned.caption_text is not None and plain.caption_text is None
    frame = captioned.frame(0)
    theme = load_theme()
    band = frame[h0:, :, :3].reshape(-1, 3).astype(int)
    dark = np.abs(band - np.array(theme.text)).max(axis=1) < 40
    assert dark.sum() > 50  # text was drawn there
    assert captioned.size_px == renderer_of(spec, Style(layout="flat", caption=True)).size_px


def test_scale_and_dpi_change_the_pixel_size() -> None:
    spec = SPECS["direct"]
    w, h = renderer_of(spec).size_px
    for style in (Style(scale=2.0), Style(dpi=200)):
        w2, h2 = renderer_of(spec, style).size_px
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
    width, height = renderer_of(spec).size_px
    assert abs(width - anchor_size[0]) <= 0.06 * anchor_size[0]
    assert abs(height - anchor_size[1]) <= 0.06 * anchor_size[1]


@pytest.mark.parametrize("name", ["default", "dark", "contrast"])
def test_every_pixel_has_a_close_palette_colour(name: str) -> None:
    # A pixel is a fill, or an ink (line, connector, glyph) partly covering a
    # fill; the palette must hold a colour within a quarter of the way between
    # them (the half blend, or either end).
    theme = load_theme(name)
    renderer = renderer_of(SPECS["transposed"], Style(theme=theme, caption=True))
    table = renderer.palette().astype(float)
    assert len(table) <= 255
    pixels = renderer.frame(3)[..., :3].reshape(-1, 3)
    colours = np.unique(pixels, axis=0).astype(float)
    plain = (theme.background, theme.input, theme.output)
    fills = {*plain} | {tuple(over(c, theme.shade, theme.shade_alpha)) for c in plain}
    inks = {theme.line, theme.padding_line, theme.connector, theme.text}
    allowed = np.full(len(colours), np.inf)
    for fill in fills:
        for ink in inks:
            a, b = np.array(fill, float), np.array(ink, float)
            d = b - a
            t = np.clip((colours - a) @ d / max(float(d @ d), 1e-9), 0, 1)
            off_line = np.linalg.norm(colours - (a + t[:, None] * d), axis=1)
            allowed = np.minimum(allowed, off_line + np.linalg.norm(d) / 4 + 2)
    nearest = np.sqrt(((colours[:, None, :] - table[None]) ** 2).sum(axis=2)).min(axis=1)
    assert (nearest <= allowed).all()


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"layout": "isometric"}, "--layout"),
        ({"scale": 0}, "--scale"),
        ({"dpi": -5}, "--dpi"),
        ({"scale": 0.01}, "--scale"),
        ({"cell_inch": 0}, "cell_inch"),
    ],
)
def test_bad_style_names_the_option(kwargs: dict, option: str) -> None:
    with pytest.raises(RenderError) as caught:
        Style(**kwargs)
    assert str(caught.value).startswith(option)


def test_an_image_too_large_is_refused_before_drawing() -> None:
    with pytest.raises(RenderError, match="--scale/--dpi: the image would be"):
        renderer_of(ConvSpec(input_size=64), Style(scale=40))


def with_equations(spec: ConvSpec) -> Figure:
    """The plain figure of a spec with a step number written under it (a text that moves)."""
    figure = window_figure(spec)
    steps = tuple(replace(s, equation=f"step {k}") for k, s in enumerate(figure.steps))
    return replace(figure, steps=steps)


def test_the_equation_is_written_under_the_figure_and_changes_nothing_else() -> None:
    spec = ConvSpec(input_size=(4, 12), kernel_size=3, stride=(1, 3))  # wider than a line of text
    plain = renderer_of(spec)
    written = Renderer(with_equations(spec))
    assert written.equations == [f"step {k}" for k in range(len(plain))]
    assert Renderer(with_equations(spec), Style(equation=False)).equations is None
    width, height = plain.size_px
    assert written.size_px[0] == width and written.size_px[1] > height
    assert written.layout.equation_xy is not None and plain.layout.equation_xy is None
    top = int(written.layout.equation_xy[1]) - 2
    bands = set()
    for a, b in zip(written.frames(), plain.frames(), strict=True):
        # Above the equation the figure is the same, up to the last bit of an
        # antialiased edge (the pixel map depends on the image's height in its
        # last bits).
        assert np.abs(a[:top].astype(int) - b[:top]).max() <= 2
        assert np.array_equal(b[top:], np.full_like(b[top:], 255))  # plain: white below
        bands.add(a[top:].tobytes())
    assert len(bands) == len(plain)  # a text of its own at every step


def test_a_users_matplotlib_settings_do_not_change_the_pixels() -> None:
    import matplotlib

    spec = SPECS["dilated"]
    expected = renderer_of(spec, Style(caption=True)).frame(2)
    changed = {"lines.scale_dashes": True, "path.snap": False, "text.hinting": "none"}
    with matplotlib.rc_context(changed):
        assert np.array_equal(renderer_of(spec, Style(caption=True)).frame(2), expected)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_settings_a_user_changes_between_frames_do_not_change_them(layout: str) -> None:
    import matplotlib

    figure = with_equations(SPECS["dilated"])
    style = Style(layout=layout, caption=True)  # type: ignore[arg-type]
    expected = [f.copy() for f in Renderer(figure, style).frames()]
    changed = {
        "lines.antialiased": False,
        "patch.antialiased": False,
        "path.sketch": (2.0, 50.0, 1.0),
        "path.snap": False,
        "agg.path.chunksize": 3,
        "text.hinting": "none",  # read while a text is drawn, each frame
    }
    with matplotlib.rc_context(changed):
        renderer = Renderer(figure, style)
        for k, frame in enumerate(renderer.frames()):
            assert np.array_equal(frame, expected[k]), k
            # The user's settings are theirs again between frames.
            assert {key: matplotlib.rcParams[key] for key in changed} == changed


def test_a_users_font_settings_do_not_change_the_layout() -> None:
    import matplotlib

    figure = with_equations(SPECS["dilated"])
    style = Style(caption=True)
    expected = Renderer(figure, style)
    try:
        for changed in ({"font.weight": "bold"}, {"font.stretch": "condensed"}):
            with matplotlib.rc_context(changed):
                renderer = Renderer(figure, style)
                assert renderer.caption_text == expected.caption_text
                assert renderer.size_px == expected.size_px
                assert np.array_equal(renderer.frame(1), expected.frame(1))
    finally:
        render._glyphs.cache_clear()  # glyphs outlined under those settings must not stay cached


@pytest.mark.parametrize(("size", "dpi"), [((244, 259), 100), ((601, 645), 100), ((97, 31), 72.5)])
def test_the_surface_maps_pixels_as_an_axes_over_the_figure_would(
    size: tuple[int, int], dpi: float
) -> None:
    # The reference: an Axes spanning the figure with limits (0, w), (h, 0),
    # the way the figures were first drawn; the same floats give the same pixels.
    w, h = size
    figure = MplFigure(figsize=((w + 1e-3) / dpi, (h + 1e-3) / dpi), dpi=dpi)
    ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    surface = Surface(w, h, dpi, figure)
    animation = Surface(w, h, dpi)  # no figure: the same map, fixed
    assert np.array_equal(surface.transform.get_matrix(), ax.transData.get_matrix())
    assert np.array_equal(animation.transform.get_matrix(), ax.transData.get_matrix())
    assert animation.size == tuple(figure.bbox.size)
    corners = np.array([[0.0, 0.0], [w, h], [w / 3, h / 7]])
    expected = np.column_stack([corners[:, 0], h - corners[:, 1]]) * (1 + 1e-3 / np.array([w, h]))
    assert np.allclose(surface.transform.transform(corners), expected)
    figure.set_dpi(2 * dpi)  # vector stills are saved at another dpi: the map follows
    assert np.array_equal(surface.transform.get_matrix(), ax.transData.get_matrix())


def test_scenes_draw_on_the_figure_without_an_axes() -> None:
    figure = renderer_of(SPECS["direct"], Style(caption=True)).figure_for_step(0)
    assert figure.axes == []
    assert len(figure.artists) > 5


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
    renderer = renderer_of(spec, style)
    count = 0
    for k, frame in enumerate(renderer.frames()):
        assert np.array_equal(frame, full_draw(renderer, k)), k
        count += 1
    assert count == len(renderer)


def test_labels_widen_the_image_and_are_drawn() -> None:
    spec = SPECS["direct"]
    plain, labelled = renderer_of(spec), renderer_of(spec, Style(labels=True))
    assert set(labelled.layout.labels) == {"input", "output"} and plain.layout.labels == {}
    assert labelled.size_px[0] > plain.size_px[0]
    texts = [a.get_text() for a in labelled.figure_for_step(0).artists if isinstance(a, Outlined)]
    assert "input 5×5, padding 1, stride 2" in texts and "output 3×3" in texts


def test_frames_share_one_read_only_buffer_and_frame_returns_its_own() -> None:
    renderer = renderer_of(SPECS["direct"])
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


def test_a_moving_artist_of_unknown_extent_restores_the_whole_frame(
    restore: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every moving artist the renderer makes has a known extent; one that had
    # not (as the box helper answers None for an artist it cannot bound) must
    # make the frame restore its whole background.
    known = render._ink_box

    def unknown_for_texts(artist, *args):  # type: ignore[no-untyped-def]
        return None if isinstance(artist, Outlined) else known(artist, *args)

    monkeypatch.setattr(render, "_ink_box", unknown_for_texts)
    spec = SPECS["direct"]
    from convgif.values import compute_values

    renderer = Renderer(window_figure(spec, compute_values(spec, seed=1)), Style(layout="flat"))
    frames = [frame.copy() for frame in renderer.frames()]
    for k, frame in enumerate(frames):
        assert np.array_equal(frame, full_draw(renderer, k)), k
    if restore == "boxes":
        scene = render._Scene(renderer, animated=True)
        scene.blit(0)
        assert scene._dirty is None  # the next frame restores everything


def test_a_large_figure_restores_only_what_moved() -> None:
    spec = ConvSpec(input_size=40, kernel_size=3)
    renderer = renderer_of(spec, Style(layout="flat"))
    width, height = renderer.size_px
    assert width * height * 4 > render.WHOLE_RESTORE_MAX_BYTES
    frames = renderer.frames()
    for k in range(3):
        frame = next(frames)
        assert np.array_equal(frame, full_draw(renderer, k)), k
    scene = render._Scene(renderer, animated=True)
    last = scene.blit(len(renderer) - 1).copy()
    assert scene._dirty is not None
    top, bottom, left, right = scene._dirty
    assert (bottom - top) * (right - left) < width * height / 10
    assert np.array_equal(last, full_draw(renderer, len(renderer) - 1))


# -- reveals and arbitrary marks ---------------------------------------------------------


def revealing(spec: ConvSpec) -> Figure:
    """The plain figure of a spec whose step k reveals a text in output cell k - 1."""
    figure = window_figure(spec)
    cols = spec.output_size[1]
    steps = tuple(
        replace(step, reveals=(Text("output", divmod(k - 1, cols), f"r{k - 1}"),) if k else ())
        for k, step in enumerate(figure.steps)
    )
    return replace(figure, steps=steps)


def test_revealed_marks_are_drawn_once_and_frames_match_full_draws(
    restore: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws: dict[Text, int] = {}
    real_draw = Label.draw

    def counting_draw(self: Label, *args: object) -> None:
        if self.get_visible():  # an artist drawn while hidden draws nothing
            draws[self.mark] = draws.get(self.mark, 0) + 1
        real_draw(self, *args)

    monkeypatch.setattr(Label, "draw", counting_draw)
    figure = revealing(SPECS["direct"])
    renderer = Renderer(figure)
    frames = [frame.copy() for frame in renderer.frames()]
    revealed = [mark for step in figure.steps for mark in step.reveals]
    assert len(revealed) == len(frames) - 1
    # Drawn once, into the background, and kept there for the later frames.
    assert draws == dict.fromkeys(revealed, 1)
    draws.clear()
    for k in (0, 5, 8):
        assert np.array_equal(full_draw(renderer, k), frames[k]), k
        assert draws == dict.fromkeys(revealed[:k], 1)  # a full draw: those revealed so far
        draws.clear()
    scene = render._Scene(renderer, animated=True)
    for k in (7, 3, 8, 0, 2):  # back and forth: the background is redrawn going back
        assert np.array_equal(scene.blit(k), frames[k]), k
    # The revealed text is in its cell from its step on, not before.
    plain = [frame.copy() for frame in renderer_of(SPECS["direct"]).frames()]
    cell = renderer.layout.plane("output").cell_corners((0, 0))
    (x0, y0), (x1, y1) = np.floor(cell.min(axis=0)).astype(int), np.ceil(cell.max(axis=0))
    inside = (slice(y0, int(y1)), slice(x0, int(x1)))
    assert np.array_equal(frames[0][inside], plain[0][inside])
    for k in range(2, len(frames)):
        assert not np.array_equal(frames[k][inside], plain[k][inside]), k


def test_a_step_cannot_reveal_an_outline() -> None:
    figure = window_figure(SPECS["direct"])
    steps = (replace(figure.steps[0], reveals=(Outline("input", (0, 0, 1, 1)),)),)
    with pytest.raises(ValueError, match="reveal texts and shades"):
        Renderer(replace(figure, steps=steps)).frame(0)


def test_arbitrary_marks_draw_only_where_they_are(theme: Theme) -> None:
    # Marks a builder adds to a step (a text, a ring, a shade) change the frame
    # in their cells and nowhere else.
    spec = SPECS["direct"]
    figure = window_figure(spec)
    extra = (Text("input", (6, 0), "7"), Ring("input", (6, 6)), Shade("input", ((0, 6),)))
    steps = tuple(replace(s, marks=(*s.marks, *extra)) for s in figure.steps[:3])
    marked = Renderer(replace(figure, steps=steps))
    plain = renderer_of(spec)
    plane = marked.layout.plane("input")
    near = np.zeros(plain.size_px[::-1], bool)
    for cell in ((6, 0), (6, 6), (0, 6)):
        path = MplPath(plane.cell_corners(cell))
        ys, xs = np.mgrid[0 : near.shape[0], 0 : near.shape[1]]
        centres = np.column_stack([xs.ravel() + 0.5, ys.ravel() + 0.5])
        near |= path.contains_points(centres, radius=-4.0).reshape(near.shape)  # grown 2 px
        near |= path.contains_points(centres, radius=4.0).reshape(near.shape)
    for k, (a, b) in enumerate(zip(marked.frames(), plain.frames(), strict=False)):
        differs = (a != b).any(axis=2)
        assert differs.any() and not (differs & ~near).any(), k
        # The shaded empty corner cell shows the shaded background.
        expected = theme.shaded(theme.background)
        assert_colour(probe(a, marked.cell_center_px("input", (0, 6))), expected, f"step {k}")
        assert np.array_equal(a, full_draw(marked, k))
    labels = [a for a in marked.figure_for_step(1).artists if isinstance(a, Label)]
    assert [(label.text, label.mark) for label in labels if label.get_visible()] == [
        ("7", extra[0])
    ]


def test_channel_fills_are_in_the_palette_shaded_or_not(theme: Theme) -> None:
    fills = ("red", "green", "blue")
    grids = tuple(Grid.filled(f, 2, 2, f, level=k) for k, f in enumerate(fills))
    steps = tuple(Step(marks=(Shade(f, ((0, 0),)), Text(f, (1, 1), "5"))) for f in fills)
    renderer = Renderer(Figure(grids, steps, arrangement="row"))
    table = {tuple(int(v) for v in colour) for colour in renderer.palette()}
    for k, f in enumerate(fills):
        frame = renderer.frame(k)
        unshaded = tuple(int(v) for v in probe(frame, renderer.cell_center_px(f, (0, 1)))[:3])
        shaded = tuple(int(v) for v in probe(frame, renderer.cell_center_px(f, (0, 0)))[:3])
        assert unshaded == render.CHANNEL_FILLS[f]
        assert shaded == theme.shaded(render.CHANNEL_FILLS[f])
        assert {unshaded, shaded, theme.text_on(render.CHANNEL_FILLS[f])} <= table
    assert render.CHANNEL_FILLS["red"] not in {
        tuple(int(v) for v in c) for c in renderer_of(SPECS["direct"]).palette()
    }


def test_larger_cells() -> None:
    spec = SPECS["direct"]
    assert renderer_of(spec, Style(cell_inch=0.4)).layout.cell_px == 40
    assert renderer_of(spec, Style(cell_inch=0.4, scale=2)).layout.cell_px == 80


# -- a figure of three grids, built by hand ------------------------------------------------

A_FILLS = tuple(None if (r, c) in {(0, 3), (3, 3), (3, 2)} else "input"
                for r in range(4) for c in range(4))  # fmt: skip


def three_grids(arrangement: str = "stack") -> Figure:
    """Levels 0, 1, 2: a 4×4 input with empty cells, a 3×3 output, a 2×2 red grid.

    Step k shades a 2×2 window of ``a`` at (k, k), outlines it, links it to
    cell (k, k) of ``b``, which links on to a cell of ``c``; a value and a
    weight are written in the window, a ring around its first cell, a value on
    ``c``. Step k reveals ``b``'s cell k - 1 shaded and a text on it.
    """
    grids = (
        Grid("a", 4, 4, A_FILLS, level=0, label="a"),
        Grid.filled("b", 3, 3, "output", level=1, label="b"),
        Grid.filled("c", 2, 2, "red", level=2, label="c"),
    )
    steps = []
    for k in range(3):
        window = ((k, k), (k, k + 1), (k + 1, k), (k + 1, k + 1))
        c_cell = divmod(k, 2)
        marks = (
            Shade("a", window),
            Outline("a", box_of(window)),
            Link("a", box_of(window), "b", (k, k, k + 1, k + 1)),
            Shade("b", ((k, k),)),
            Link("b", (k, k, k + 1, k + 1), "c", (*c_cell, c_cell[0] + 1, c_cell[1] + 1)),
            Shade("c", (c_cell,)),
            Text("a", (k + 1, k + 1), "−3", on_shade=True),
            Text("a", (k + 1, k + 1), "2", "weight", on_shade=True),
            Ring("a", (k, k)),
            Text("c", c_cell, str(k), on_shade=True),
        )
        reveals = () if k == 0 else (Shade("b", ((k - 1, k - 1),)), Text("b", (k - 1, k - 1), "9"))
        steps.append(Step(marks=marks, reveals=reveals, equation=f"c = {k}"))
    return Figure(
        grids, tuple(steps), texts=(Text("a", (3, 0), "4"), Text("b", (2, 0), "1", "faint")),
        arrangement=arrangement,  # type: ignore[arg-type]
    )  # fmt: skip


def expected_colours(figure: Figure, k: int, theme: Theme) -> dict[tuple[str, tuple], tuple]:
    """Every cell's colour at step k, from the figure's own marks, skipping cells with values."""
    fills = {"input": theme.input, "output": theme.output, "red": render.CHANNEL_FILLS["red"],
             None: theme.background}  # fmt: skip
    shaded = set()
    valued = {(t.grid, t.cell) for t in figure.texts}
    for step in figure.steps[: k + 1]:
        for mark in step.reveals:
            if isinstance(mark, Shade):
                shaded |= {(mark.grid, cell) for cell in mark.cells}
            else:
                valued.add((mark.grid, mark.cell))
    for mark in figure.steps[k].marks:
        if isinstance(mark, Shade):
            shaded |= {(mark.grid, cell) for cell in mark.cells}
        elif isinstance(mark, Text) and mark.role != "weight":
            valued.add((mark.grid, mark.cell))
    colours = {}
    for grid in figure.grids:
        for cell in itertools.product(range(grid.rows), range(grid.cols)):
            if (grid.name, cell) in valued:
                continue
            fill = fills[grid.fill(cell)]
            colours[(grid.name, cell)] = theme.shaded(fill) if (grid.name, cell) in shaded else fill
    return colours


@pytest.mark.parametrize(
    ("arrangement", "layout"),
    [("stack", "oblique"), ("stack", "flat"), ("row", "oblique"), ("column", "flat")],
)
def test_a_three_grid_figure_built_by_hand_is_drawn_as_described(
    arrangement: str, layout: str, theme: Theme, restore: str
) -> None:
    figure = three_grids(arrangement)
    figure.check()
    renderer = Renderer(figure, Style(theme=theme, layout=layout, caption=True))  # type: ignore[arg-type]
    frames = [frame.copy() for frame in renderer.frames()]
    assert len(frames) == 3
    for k, frame in enumerate(frames):
        for (name, cell), colour in expected_colours(figure, k, theme).items():
            actual = probe(frame, renderer.cell_center_px(name, cell))
            assert_colour(actual, colour, f"{arrangement}/{layout} step {k} {name} {cell}")
        assert np.array_equal(frame, full_draw(renderer, k)), k
    scene = render._Scene(renderer, animated=True)
    for k in (2, 0, 1, 2):
        assert np.array_equal(scene.blit(k), frames[k]), k
    # The levels go where the arrangement says.
    centres = {n: renderer.layout.plane(n).outline().mean(axis=0) for n in "abc"}
    if arrangement == "row":
        assert centres["a"][0] < centres["b"][0] < centres["c"][0]
        tops = {n: renderer.layout.plane(n).outline()[:, 1].min() for n in "abc"}
        assert len(set(tops.values())) == 1
    elif arrangement == "column" or layout == "oblique":
        assert centres["a"][1] > centres["b"][1] > centres["c"][1]
    else:
        assert centres["a"][0] < centres["b"][0] < centres["c"][0]
    # The texts are the marks', on their cells.
    labels = [a for a in renderer.figure_for_step(2).artists if isinstance(a, Label)]
    shown = {(lab.mark.grid, lab.mark.cell, lab.text) for lab in labels if lab.get_visible()}
    assert shown == {
        ("a", (3, 0), "4"), ("b", (2, 0), "1"), ("a", (3, 3), "−3"), ("a", (3, 3), "2"),
        ("c", (1, 0), "2"), ("b", (0, 0), "9"), ("b", (1, 1), "9"),
    }  # fmt: skip
    assert renderer.equations == ["c = 0", "c = 1", "c = 2"]


@pytest.mark.parametrize(
    "figure",
    [window_figure(SPECS["direct"]), three_grids("column")],
    ids=["window-oblique", "three-grids-column"],
)
def test_frames_with_labels_equal_full_draws(figure: Figure, restore: str) -> None:
    layout = "flat" if figure.arrangement == "column" else "oblique"
    renderer = Renderer(figure, Style(layout=layout, labels=True, caption=True))  # type: ignore[arg-type]
    for k, frame in enumerate(renderer.frames()):
        assert np.array_equal(frame, full_draw(renderer, k)), k


def distance_to_outline(point: np.ndarray, polygon: np.ndarray) -> float:
    """Distance from a point to a polygon's edges."""
    distances = []
    for a, b in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        t = np.clip(np.dot(point - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0)
        distances.append(float(np.linalg.norm(point - (a + t * (b - a)))))
    return min(distances)


def deck(layout: str) -> Renderer:
    """Two 4×4 grids on level 0 (index 0 and 1), marks on the lower one, a 2×2 output above."""
    grids = (
        Grid.filled("x0", 4, 4, "blue", level=0, index=0),
        Grid.filled("x1", 4, 4, "green", level=0, index=1),
        Grid.filled("y", 2, 2, "output", level=1),
    )
    steps = []
    for k, (r, c) in enumerate(itertools.product(range(2), range(2))):
        window = tuple((r + i, c + j) for i in range(3) for j in range(3))
        marks = (
            Shade("x0", window),
            Outline("x0", box_of(window)),
            Link("x0", box_of(window), "y", (r, c, r + 1, c + 1)),
            Shade("y", ((r, c),)),
            Text("x0", (r + 2, c), str(k), on_shade=True),
        )
        reveals = (Text("y", divmod(k - 1, 2), "8"),) if k else ()
        steps.append(Step(marks=marks, reveals=reveals))
    return Renderer(Figure(grids, tuple(steps)), Style(layout=layout))  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_deck_is_stacked_right_in_every_frame(
    layout: str, theme: Theme, restore: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Decks are exploded by default (no plane over another); a negative
    # clearance makes them overlap, which is what the renderer must get right:
    # the upper grid over the lower one's moving marks, in every frame.
    from convgif import layout as layout_module

    monkeypatch.setattr(layout_module, "DECK_CLEARANCE_CELLS", -2.0)
    renderer = deck(layout)
    frames = [frame.copy() for frame in renderer.frames()]
    for k, frame in enumerate(frames):
        assert np.array_equal(frame, full_draw(renderer, k)), k
    scene = render._Scene(renderer, animated=True)
    for k in (3, 1, 2, 0):
        assert np.array_equal(scene.blit(k), frames[k]), k
    outline = renderer.layout.plane("x1").outline()
    upper = MplPath(outline)
    blue, green = render.CHANNEL_FILLS["blue"], render.CHANNEL_FILLS["green"]
    covered = 0
    for k, frame in enumerate(frames):
        r, c = divmod(k, 2)
        window = {(r + i, c + j) for i in range(3) for j in range(3)}
        for cell in itertools.product(range(4), range(4)):
            xy = renderer.cell_center_px("x0", cell)
            if distance_to_outline(np.array(xy), outline) < 8.0:
                continue  # too near the upper grid's edge to probe
            if upper.contains_point(xy):
                # The upper grid lies over the lower one and its marks.
                assert_colour(probe(frame, xy), green, f"step {k} x0 {cell} (covered)")
                covered += 1
            elif cell != (r + 2, c):  # (a value is written there)
                expected = theme.shaded(blue) if cell in window else blue
                assert_colour(probe(frame, xy), expected, f"step {k} x0 {cell}")
        for cell in itertools.product(range(4), range(4)):
            assert_colour(probe(frame, renderer.cell_center_px("x1", cell)), green, f"x1 {cell}")
    if layout == "oblique":
        assert covered > 0  # the deck overlaps, and the marks stay under the upper grid
    else:
        assert covered == 0


# -- connector lines never cross a digit (issue 13) -------------------------------------


def segment_meets_box(p0: np.ndarray, p1: np.ndarray, box: Sequence[float]) -> bool:
    """Whether a segment has a point inside an axis-aligned box ``(x0, y0, x1, y1)`` (slabs)."""
    t0, t1 = 0.0, 1.0
    for axis in (0, 1):
        start, delta = float(p0[axis]), float(p1[axis] - p0[axis])
        low, high = box[axis], box[axis + 2]
        if abs(delta) < 1e-12:
            if not low < start < high:
                return False
            continue
        a, b = (low - start) / delta, (high - start) / delta
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
    return t0 < t1


def ink_of(label: Label, grow_px: float, cache: dict) -> tuple[float, float, float, float]:
    """A label's ink box in image pixels, grown by ``grow_px``: the glyphs' own extents."""
    if id(label) not in cache:
        ink = label.get_path().get_extents()
        cache[id(label)] = (ink.x0 - grow_px, ink.y0 - grow_px, ink.x1 + grow_px, ink.y1 + grow_px)
    return cache[id(label)]  # type: ignore[no-any-return]


NUMBERS_CASES = [
    (ConvSpec(input_size=8, kernel_size=2, stride=2, mode="max"), 5),
    (ConvSpec(input_size=5, kernel_size=3, padding=1, stride=2), 3),
    (ConvSpec(input_size=3, kernel_size=3, padding=1, stride=2, transposed=True,
              output_padding=1), 1),
    (ConvSpec(input_size=(5, 6), kernel_size=(2, 3), dilation=(2, 1)), 2),
    (ConvSpec(input_size=4, kernel_size=3, padding=1, mode="avg"), 4),
]  # fmt: skip


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("spec", "seed"), NUMBERS_CASES, ids=lambda v: str(v))
def test_no_connector_line_crosses_a_digit(spec: ConvSpec, seed: int, layout: str) -> None:
    renderer = _renderer(spec, RenderOptions(numbers=True, seed=seed, layout=layout))
    style = renderer.style
    half_line_px = style.points_to_px(style.theme.connector_width_pt) / 2.0
    crossed_uncut = 0
    cache: dict[int, tuple[float, float, float, float]] = {}
    # A full draw's scene, stepped (what figure_for_step gives, without a new scene per step).
    scene = render._Scene(renderer, animated=False)
    figure = scene.figure
    for k, step in enumerate(renderer.figure.steps):
        scene.set_step(k)
        segments = connector_segments(renderer, figure)
        assert segments, k
        inks = [
            ink_of(label, half_line_px, cache)
            for label in figure.artists
            if isinstance(label, Label) and label.get_visible() and label.text
        ]
        for p0, p1 in segments:
            for ink in inks:
                assert not segment_meets_box(p0, p1, ink), (k, (p0, p1), ink)
        # The lines as they would be without the cut (so the test can fail).
        (link,) = [m for m in step.marks if isinstance(m, Link)]
        uncut = renderer.layout.connectors(link.source, link.source_box, link.target,
                                           link.target_box)  # fmt: skip
        crossed_uncut += any(
            segment_meets_box(np.array(p0), np.array(p1), ink) for p0, p1 in uncut for ink in inks
        )
    assert crossed_uncut > 0


def _greedy_wrap(text: str, width_px: float, measure) -> str:  # type: ignore[no-untyped-def]
    """The reference: measure every word's trial line in turn (what ``_wrap`` must equal)."""
    out: list[str] = []
    for line in text.split("\n"):
        if "$" in line:
            out.append(line)
            continue
        current = ""
        for word in line.split(" "):
            trial = word if not current else current + " " + word
            if current and measure(trial) > width_px:
                if current.endswith(("+", "=", "−")) and " " in current:
                    head, op = current.rsplit(" ", 1)
                    out.append(head)
                    current = op + " " + word
                else:
                    out.append(current)
                    current = "    " + word if out else word
            else:
                current = trial
        out.append(current)
    return "\n".join(out)


def test_wrap_equals_word_by_word_greedy() -> None:
    """Halving to the first word that does not fit breaks lines where a word-by-word
    greedy fill does (seeded sweep; widths by character count and by the real font)."""
    import random

    rng = random.Random(16)
    words = ["y₁,₂", "=", "+", "−", "3·0", "", "12", "(a", "b)", "receptive", "x₀..₄"]
    font = render._TextMeasure(Style()).width(10.0)
    for trial in range(400):
        text = "\n".join(
            " ".join(rng.choice(words) for _ in range(rng.randint(0, 18)))
            for _ in range(rng.randint(1, 3))
        )
        measure = font if trial % 20 == 0 else (lambda s: 7.0 * len(s))
        width = rng.uniform(0.0, 200.0)
        assert render._wrap(text, width, measure) == _greedy_wrap(text, width, measure)
