"""The renderer: frames of a convolution, drawn with matplotlib's Agg canvas.

No pyplot and no global matplotlib state: every figure is a
:class:`matplotlib.figure.Figure` on its own :class:`FigureCanvasAgg`, and the
rc settings that decide pixels are pinned while a figure is built and drawn,
so a user's ``matplotlibrc`` cannot change them.

An animation draws the static scene (both planes, their grids, the caption)
once, keeps it as a pixel buffer, and for each step restores the part of it
the previous step drew over and draws only what moves: the window's taps and
outline, the four connecting lines and the current output cell. It writes no
files (see :mod:`convgif.writers`).

Extra drawing (the numbers of a numerical figure) plugs in as a
:class:`Layer`: its static artists are drawn once with the scene, its moving
artists are updated and drawn each step.

The artists are put on the figure itself, in image pixels (:class:`Surface`),
not in an Axes: an Axes (ticks, spines, limits) cost more to make and draw
than the whole scene, and the pixel map it gave is kept exactly.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection, LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon
from matplotlib.text import Text
from matplotlib.transforms import Affine2D, Bbox, BboxTransformFrom, BboxTransformTo, Transform

from convgif.errors import RenderError
from convgif.geometry import CellKind, Geometry, Step
from convgif.layout import LAYOUTS, Layout, LayoutKind, Plane, make_layout
from convgif.spec import ConvSpec
from convgif.theme import RGB, Theme, load_theme
from convgif.theme import palette as theme_palette

# One cell is 0.3 inch at scale 1: 30 px at the default 100 dpi, the size of
# the guide's figures.
CELL_INCH = 0.3
# A numerical figure's cells are larger (40 px at 100 dpi), so that a value
# of four characters ("4.33", "−12") fits a cell at the theme's value size
# (digits 10 px tall at 100 dpi) and a weight fits the corner beside it. Lines
# and text keep their sizes: only the cells grow.
NUMBERS_CELL_INCH = 0.4
DEFAULT_DPI = 100
# Refuse images larger than this (width x height): a typo in --scale must not
# allocate gigabytes.
MAX_PIXELS = 40_000_000
MAX_SIDE_PX = 65_535  # a GIF stores its width and height as 16-bit numbers

# rc settings that change pixels, pinned while a figure is built and drawn so
# a user's matplotlibrc cannot change the output: matplotlib's defaults,
# except that dashes are in points rather than multiples of the line width.
# (SVG/PDF settings are the writer's, at save time.)
_RC: dict[str, Any] = {
    "lines.scale_dashes": False,
    "lines.antialiased": True,
    "patch.antialiased": True,
    "path.snap": True,
    "path.simplify": True,
    "path.simplify_threshold": 0.111111111111,
    "path.sketch": None,
    "path.effects": [],
    "agg.path.chunksize": 0,
    "font.style": "normal",
    "font.variant": "normal",
    "font.weight": "normal",
    "font.stretch": "normal",
    "text.hinting": "default",
    "text.hinting_factor": None,
    "text.kerning_factor": None,
    "text.antialiased": True,
    "text.usetex": False,
    "axes.unicode_minus": True,
}
# Of those, the ones matplotlib reads while it draws (or makes the paths a
# step moves) rather than when an artist is made: checked every frame.
_DRAW_RC = (
    "path.snap",
    "path.simplify",
    "path.simplify_threshold",
    "agg.path.chunksize",
    "text.hinting",
    "text.hinting_factor",
    "text.kerning_factor",
)


@contextlib.contextmanager
def _pinned_rc() -> Iterator[None]:
    """:func:`matplotlib.rc_context` with :data:`_RC`, saving and restoring only those keys.

    ``rc_context`` copies every setting (about 0.4 ms, twice per figure).
    """
    params = matplotlib.rcParams
    saved = {key: params[key] for key in _RC}
    try:
        params.update(_RC)
        yield
    finally:
        params.update(saved)


def _drawing_rc_pinned() -> bool:
    """Whether the settings read while drawing have our values (unless a user changed them)."""
    params = matplotlib.rcParams
    return all(params[key] == _RC[key] for key in _DRAW_RC)


@dataclass(frozen=True)
class Style:
    """How a figure looks, apart from the spec.

    Attributes
    ----------
    theme
        Colours, line weights, fonts.
    layout
        ``oblique`` (the guide's slanted planes) or ``flat`` (side by side).
    scale
        Size factor of the whole figure (cells, lines, text); also the size of
        SVG/PDF stills.
    dpi
        Pixels per inch of raster output.
    caption
        Write the parameters and the output-size arithmetic under the figure.
    transparent
        Transparent background instead of the theme's.
    cell_inch
        Side of a cell at scale 1, in inches: :data:`CELL_INCH`, or
        :data:`NUMBERS_CELL_INCH` for a figure with numbers in its cells.
    """

    theme: Theme = field(default_factory=load_theme)
    layout: LayoutKind = "oblique"
    scale: float = 1.0
    dpi: float = DEFAULT_DPI
    caption: bool = False
    transparent: bool = False
    cell_inch: float = CELL_INCH

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise RenderError(f"--layout: must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        for name, option in (("scale", "--scale"), ("dpi", "--dpi"), ("cell_inch", "cell_inch")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RenderError(f"{option}: must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise RenderError(f"{option}: must be positive, got {value}")
        if self.cell_px < 4:
            raise RenderError(
                f"--scale/--dpi: a cell would be {self.cell_px} px wide; use a larger "
                f"--scale or --dpi (at least 4 px per cell)"
            )

    @property
    def cell_px(self) -> int:
        """Side of a cell in pixels (whole pixels keep the flat layout crisp)."""
        return round(self.cell_inch * self.scale * self.dpi)

    def points(self, length_pt: float) -> float:
        """A theme length in points, at this scale."""
        return length_pt * self.scale

    def points_to_px(self, length_pt: float) -> float:
        """A theme length in points, at this scale, in pixels."""
        return length_pt * self.scale * self.dpi / 72.0


_ArtistT = TypeVar("_ArtistT", bound=Artist)


class Surface:
    """A figure addressed in image pixels, where a scene and its layers put their artists.

    Pixel coordinates are those of :mod:`convgif.layout`: origin at the
    image's top-left corner, ``x`` right, ``y`` down.

    Attributes
    ----------
    figure
        The matplotlib figure drawn.
    transform
        Image pixels to the figure's display coordinates. It follows the
        figure's size and dpi (vector stills are saved at another dpi),
        unless ``frozen``.

    Parameters
    ----------
    frozen
        Fix the transform as it is now: for an animation, whose canvas keeps
        its dpi. Matplotlib freezes and multiplies a live composite transform
        for every artist it draws, every frame; a fixed affine map is cheaper.
    """

    def __init__(self, figure: Figure, width_px: int, height_px: int, frozen: bool = False) -> None:
        self.figure = figure
        # The map of an Axes spanning the figure with x limits (0, w) and y
        # limits (h, 0), built from the same parts so that it gives the same
        # floats, hence the same pixels (snapping and antialiasing follow the
        # last bits of a coordinate); the figure is a hair larger than w x h.
        w, h = float(width_px), float(height_px)
        live = BboxTransformFrom(Bbox([[0.0, h], [w, 0.0]])) + BboxTransformTo(figure.bbox)
        self.transform: Transform = Affine2D(live.get_matrix().copy()) if frozen else live

    def add(self, artist: _ArtistT) -> _ArtistT:
        """Add an artist to the figure, in image pixels unless it has its own transform."""
        if not artist.is_transform_set():
            artist.set_transform(self.transform)
        self.figure.add_artist(artist)
        return artist

    def text(self, x: float, y: float, text: str, **kwargs: Any) -> Text:
        """Add a :class:`~matplotlib.text.Text` at pixel ``(x, y)`` (as ``Axes.text``)."""
        return self.add(Text(x, y, text, **kwargs))


class Layer:
    """Extra artists drawn with a figure (e.g. the numbers of a numerical figure).

    Subclasses override what they need. The renderer calls :meth:`add_static`
    and :meth:`add_moving` once per figure, and :meth:`update` before drawing
    each step. The artists :meth:`add_moving` returns are drawn every step
    they are visible, in zorder (the window is 20, its outline 21, the
    connecting lines 22, the output cell 23), as a full draw would stack them.
    Artists that stay put once shown (an output value, once computed) can be
    named by :meth:`backdrop`: an animation then draws them once, into its
    saved background, instead of every frame.
    """

    def add_static(self, surface: Surface, renderer: Renderer) -> None:
        """Add artists that never change (drawn once, into the background)."""

    def add_moving(self, surface: Surface, renderer: Renderer) -> Sequence[Artist]:
        """Add the artists that change with the step and return them (hidden or not)."""
        return ()

    def update(self, step: Step) -> None:
        """Set the moving artists for one step."""

    def backdrop(self, step: Step) -> Sequence[Artist]:
        """Moving artists that, from this step on, stay visible and unchanged.

        They must have a zorder below 20 (under everything that moves), so a
        frame with them in the background is the frame a full draw gives.
        """
        return ()

    def colours(self, theme: Theme) -> Sequence[RGB]:
        """Flat colours this layer draws with that are not the theme's own (for the palette)."""
        return ()


def _rgb(colour: RGB, alpha: float = 1.0) -> tuple[float, float, float, float]:
    return (colour[0] / 255.0, colour[1] / 255.0, colour[2] / 255.0, alpha)


def _fitted_dashes(edge_px: float, on_pt: float, off_pt: float, px_per_pt: float) -> tuple:
    """A dash pattern (points) with a whole number of periods along one cell edge.

    Each edge starts and ends halfway through a dash, so dashes meet at the
    corners and the grid reads as cells, as in the guide's figures.
    """
    edge_pt = edge_px / px_per_pt
    period = on_pt + off_pt
    count = max(1, round(edge_pt / period))
    stretch = edge_pt / (count * period)
    on, off = on_pt * stretch, off_pt * stretch
    return (on / 2.0, (on, off))


def _merge_runs(edges: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Merge unit edges ``(line, start)`` into runs ``(line, start, stop)`` along each line.

    One long stroke per run draws cleaner joins than many short ones.
    """
    runs: list[tuple[int, int, int]] = []
    for line, start in sorted(edges):
        if runs and runs[-1][0] == line and runs[-1][2] == start:
            runs[-1] = (line, runs[-1][1], start + 1)
        else:
            runs.append((line, start, start + 1))
    return runs


# A box of image pixels: (top, bottom, left, right) as slice bounds; None is
# the whole image.
_Box = tuple[int, int, int, int]
_NO_BOX: _Box = (0, 0, 0, 0)
# Up to this size a frame restores its whole background: copying a few
# megabytes (within the CPU's caches) takes 5-120 us, less than working out
# the boxes the moving artists drew over (15-30 us an artist, 60 us for a
# plain figure, 500 us with numbers); a larger copy runs at memory speed
# (a 64x64 input's 30 MB frame: about 5 ms) and is what the boxes spare.
WHOLE_RESTORE_MAX_BYTES = 4_000_000


def _copy_box(target: np.ndarray, source: np.ndarray, box: _Box | None) -> None:
    """``target[box] = source[box]``."""
    if box is None:
        target[...] = source
    elif box != _NO_BOX:
        top, bottom, left, right = box
        target[top:bottom, left:right] = source[top:bottom, left:right]


def _union(a: _Box, b: _Box) -> _Box:
    if a[0] >= a[1] or a[2] >= a[3]:
        return b
    if b[0] >= b[1] or b[2] >= b[3]:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


def _ink_box(
    artist: Artist, renderer: Any, pixels: Transform, width_px: int, height_px: int
) -> _Box | None:
    """The image pixels that drawing ``artist`` may change, or None if that is not known.

    The box of its paths' vertices (a curve stays within its control points),
    widened by the stroke: Agg extends a line by half its width, more at a
    miter join, up to its miter limit (the line width in pixels for solid
    lines, 4 for dashed ones), and antialiasing and snapping spread it by
    about a pixel more. The box is generous; a pixel it missed would stay
    drawn in the next frame, which the tests compare with full draws.
    ``pixels`` is the surface's transform: vertices it maps are image pixels
    already (within a thousandth of a pixel).
    """
    if isinstance(artist, Patch):
        paths = [artist.get_path()]
        widths = [artist.get_linewidth()]
    elif isinstance(artist, Collection):
        if len(artist.get_transforms()) or np.any(artist.get_offsets()):
            return None  # offsets or per-path transforms: not worked out here
        paths = artist.get_paths()
        widths = list(artist.get_linewidths())
    elif isinstance(artist, Text):
        box = artist.get_window_extent(renderer)
        corners = np.array([[box.x0, height_px - box.y1], [box.x1, height_px - box.y0]])
        overhang_px = renderer.points_to_pixels(artist.get_fontsize()) / 4.0  # glyphs' overhang
        return _pixel_box(corners, overhang_px, width_px, height_px)
    else:
        return None
    if not paths:
        return _NO_BOX
    points = np.concatenate([path.vertices for path in paths])
    transform = artist.get_transform()
    if transform is not pixels:  # e.g. the weights' shared offset
        if not transform.is_affine:
            return None
        display = transform.transform_affine(points)
        points = pixels.inverted().transform_affine(display)
    stroke_px = renderer.points_to_pixels(max(widths, default=0.0))
    return _pixel_box(points, 0.5 * stroke_px * max(4.0, stroke_px), width_px, height_px)


def _pixel_box(points: np.ndarray, pad_px: float, width_px: int, height_px: int) -> _Box | None:
    """The image pixels within ``pad_px`` (plus two, for antialiasing) of image points."""
    if not len(points):
        return _NO_BOX
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    if not np.isfinite([x0, y0, x1, y1]).all():
        return None
    pad = pad_px + 2.0
    top = max(0, math.floor(y0 - pad))
    bottom = min(height_px, math.ceil(y1 + pad))
    left = max(0, math.floor(x0 - pad))
    right = min(width_px, math.ceil(x1 + pad))
    if top >= bottom or left >= right:
        return _NO_BOX
    return (top, bottom, left, right)


class Renderer:
    """Frames of one spec in one style.

    Parameters
    ----------
    spec
        The convolution to draw.
    style
        Its look.
    layers
        Extra drawing (see :class:`Layer`), drawn above the window.
    """

    def __init__(
        self, spec: ConvSpec, style: Style | None = None, layers: Sequence[Layer] = ()
    ) -> None:
        self.spec = spec
        self.style = style if style is not None else Style()
        self.geometry = Geometry(spec)
        self.layers = tuple(layers)
        self._caption_text = (
            spec.parameters_text() + "\n" + spec.arithmetic() if self.style.caption else None
        )
        caption_size = self._measure_caption() if self._caption_text else None
        theme = self.style.theme
        self.layout: Layout = make_layout(
            spec.grid_size,
            spec.output_size,
            self.style.layout,
            self.style.cell_px,
            caption_size,
            line_px=self.style.points_to_px(max(theme.line_width_pt, theme.window_width_pt)),
        )
        w, h = self.size_px
        if w * h > MAX_PIXELS or max(w, h) > MAX_SIDE_PX:
            raise RenderError(
                f"--scale/--dpi: the image would be {w}x{h} px, more than "
                f"{MAX_PIXELS:,} pixels or {MAX_SIDE_PX} px a side; use a smaller --scale or --dpi"
            )

    # -- geometry ------------------------------------------------------------
    @property
    def size_px(self) -> tuple[int, int]:
        """Image ``(width, height)`` in pixels, the same for every frame."""
        return (self.layout.width_px, self.layout.height_px)

    def __len__(self) -> int:
        return len(self.geometry)

    def cell_center_px(self, plane: str, cell: tuple[int, int]) -> tuple[float, float]:
        """Pixel ``(x, y)`` (origin top-left) of a cell's centre on ``input`` or ``output``.

        From the transform the figure is drawn with, so a test can probe the
        pixel there.
        """
        return self.layout.plane(plane).cell_center(cell)

    def window_extent(self, step: Step) -> tuple[int, int, int, int]:
        """The window's ``(top, left, bottom, right)`` in grid cells (bottom/right exclusive)."""
        rows = [r for r, _ in step.window]
        cols = [c for _, c in step.window]
        return (min(rows), min(cols), max(rows) + 1, max(cols) + 1)

    def palette(self) -> np.ndarray:
        """Every colour a frame can hold, ``(N, 3)`` uint8 with ``N <= 255``."""
        theme = self.style.theme
        extra = [colour for layer in self.layers for colour in layer.colours(theme)]
        return theme_palette(theme, extra)

    # -- frames ----------------------------------------------------------------
    def frames(self) -> Iterator[np.ndarray]:
        """One ``HxWx4`` RGBA uint8 frame per step, row-major over the output.

        The static scene is drawn once; each frame restores the part of it the
        previous frame drew over and draws the moving artists on top
        (blitting), on one reused canvas.

        Every frame is the same read-only array, a view of that canvas, which
        the next step draws over: use a frame before asking for the next one,
        and copy it to keep it (``[f.copy() for f in renderer.frames()]``;
        :meth:`frame` returns a copy). This spares a copy of every frame,
        which for a large figure costs more than drawing it.
        """
        scene = _Scene(self, animated=True)
        for step in self.geometry.steps():
            yield scene.blit(step)

    def frame(self, index: int) -> np.ndarray:
        """The frame of one step, as :meth:`frames` draws it (an array of its own)."""
        step = self.geometry.step(index)
        return _Scene(self, animated=True).blit(step).copy()

    def figure_for_step(self, index: int) -> Figure:
        """A complete figure of one step (every artist live), for SVG/PDF/PNG stills."""
        step = self.geometry.step(index)
        scene = _Scene(self, animated=False)
        scene.set_step(step)
        return scene.figure

    # -- text ------------------------------------------------------------------
    def _font(self, size_pt: float) -> dict[str, Any]:
        return {"family": self.style.theme.font_family, "size": self.style.points(size_pt)}

    def _measure_caption(self) -> tuple[float, float]:
        """Pixel width and height of the caption, measured with the Agg text engine."""
        with _pinned_rc():
            figure = Figure(figsize=(1, 1), dpi=self.style.dpi)
            canvas = FigureCanvasAgg(figure)
            text = figure.text(
                0, 0, self._caption_text, ha="left", va="bottom", linespacing=1.4,
                **self._font(self.style.theme.caption_font_pt),
            )  # fmt: skip
            box = text.get_window_extent(renderer=canvas.get_renderer())
        return (box.width, box.height)


class _Scene:
    """One figure of a renderer: the static artists and the moving ones."""

    def __init__(self, renderer: Renderer, animated: bool) -> None:
        self.renderer = renderer
        self.animated = animated
        style, layout = renderer.style, renderer.layout
        theme = style.theme
        self.theme = theme
        w, h = renderer.size_px
        with _pinned_rc():
            # A hair over the exact size: the canvas truncates inches x dpi.
            figure = Figure(figsize=((w + 1e-3) / style.dpi, (h + 1e-3) / style.dpi), dpi=style.dpi)
            if style.transparent:
                figure.patch.set_alpha(0.0)
            else:
                figure.patch.set_facecolor(_rgb(theme.background))
            self.canvas = FigureCanvasAgg(figure)
            self.figure = figure
            self.surface = surface = Surface(figure, w, h, frozen=animated)
            self._add_input_plane(layout.input)
            self._add_output_plane(layout.output)
            if renderer._caption_text and layout.caption_xy is not None:
                surface.text(
                    *layout.caption_xy, renderer._caption_text, ha="center", va="top",
                    linespacing=1.4, color=_rgb(theme.text),
                    **renderer._font(theme.caption_font_pt),
                )  # fmt: skip
            for layer in renderer.layers:
                layer.add_static(surface, renderer)
            self.moving = self._add_moving()
            for layer in renderer.layers:
                self.moving.extend(layer.add_moving(surface, renderer))
            for artist in self.moving:
                artist.set_animated(animated)
            # A full draw stacks artists by zorder (ties in the order they
            # were added); a blitted frame draws them in the same order.
            self.moving.sort(key=lambda artist: artist.get_zorder())
            self._baked: set[int] = set()  # ids of backdrop artists in the background
            self._last_index = -1
            if animated:
                self._draw_background()

    # -- static --------------------------------------------------------------
    def _line_kw(self, width_pt: float) -> dict[str, Any]:
        return {"linewidths": self.renderer.style.points(width_pt)}

    def _add_input_plane(self, plane: Plane) -> None:
        geometry, theme, style = self.renderer.geometry, self.theme, self.renderer.style
        kinds = geometry.cell_kinds()
        rows, cols = plane.rows, plane.cols
        inputs = [(r, c) for r in range(rows) for c in range(cols) if kinds[r][c] == CellKind.INPUT]
        # Fills without antialiasing: the borders drawn on top cover their
        # edges, and the frame keeps few distinct colours.
        self.surface.add(
            PolyCollection(
                plane.cells_corners(inputs), facecolors=[_rgb(theme.input)],
                edgecolors="none", antialiaseds=False, zorder=1,
            )
        )  # fmt: skip

        def is_input(r: int, c: int) -> bool:
            return 0 <= r < rows and 0 <= c < cols and kinds[r][c] == CellKind.INPUT

        # Unit edges: horizontal (line r, from column c), vertical (line c, from row r).
        solid_h, dashed_h, solid_v, dashed_v = [], [], [], []
        for r in range(rows + 1):
            for c in range(cols):
                solid = is_input(r - 1, c) or is_input(r, c)
                (solid_h if solid else dashed_h).append((r, c))
        for c in range(cols + 1):
            for r in range(rows):
                solid = is_input(r, c - 1) or is_input(r, c)
                (solid_v if solid else dashed_v).append((c, r))
        px_per_pt = style.dpi / 72.0
        col_len = math.hypot(*plane.col_px)
        row_len = math.hypot(*plane.row_px)
        on, off = (style.points(v) for v in theme.dash_pt)
        for edges, horizontal, length in ((dashed_h, True, col_len), (dashed_v, False, row_len)):
            if not edges:
                continue
            segments = [self._edge(plane, e, horizontal, 1) for e in edges]
            self.surface.add(
                LineCollection(
                    segments, colors=[_rgb(theme.padding_line)],
                    linestyles=[_fitted_dashes(length, on, off, px_per_pt)],
                    capstyle="butt", zorder=2, **self._line_kw(theme.line_width_pt),
                )
            )  # fmt: skip
        solid = [self._edge(plane, (line, a), True, b - a) for line, a, b in _merge_runs(solid_h)]
        solid += [self._edge(plane, (line, a), False, b - a) for line, a, b in _merge_runs(solid_v)]
        if solid:
            self.surface.add(
                LineCollection(
                    solid, colors=[_rgb(theme.line)], capstyle="projecting", zorder=3,
                    **self._line_kw(theme.line_width_pt),
                )
            )  # fmt: skip

    @staticmethod
    def _edge(plane: Plane, edge: tuple[int, int], horizontal: bool, length: int) -> np.ndarray:
        line, start = edge
        if horizontal:
            return plane.points([(line, start), (line, start + length)])
        return plane.points([(start, line), (start + length, line)])

    def _add_output_plane(self, plane: Plane) -> None:
        theme = self.theme
        self.surface.add(
            Polygon(
                plane.outline(), closed=True, facecolor=_rgb(theme.output), edgecolor="none",
                antialiased=False, zorder=10,
            )
        )  # fmt: skip
        lines = [plane.points([(r, 0), (r, plane.cols)]) for r in range(plane.rows + 1)]
        lines += [plane.points([(0, c), (plane.rows, c)]) for c in range(plane.cols + 1)]
        self.surface.add(
            LineCollection(
                lines, colors=[_rgb(theme.line)], capstyle="projecting", zorder=11,
                **self._line_kw(theme.line_width_pt),
            )
        )  # fmt: skip

    # -- moving --------------------------------------------------------------
    def _add_moving(self) -> list[Artist]:
        theme, style = self.theme, self.renderer.style
        width = style.points(theme.line_width_pt)
        self.taps = PolyCollection(
            [], edgecolors=[_rgb(theme.line)], linewidths=width, joinstyle="miter", zorder=20
        )
        self.outline = Polygon(
            np.zeros((4, 2)), closed=True, fill=False, edgecolor=_rgb(theme.line),
            linewidth=style.points(theme.window_width_pt), joinstyle="miter", zorder=21,
        )  # fmt: skip
        self.connectors = LineCollection(
            [], colors=[_rgb(theme.connector)], capstyle="butt", zorder=22, antialiaseds=False,
            **self._line_kw(theme.connector_width_pt),
        )  # fmt: skip
        self.output_cell = Polygon(
            np.zeros((4, 2)), closed=True, facecolor=_rgb(theme.shaded(theme.output)),
            edgecolor=_rgb(theme.line), linewidth=width, joinstyle="miter", zorder=23,
        )  # fmt: skip
        artists: list[Artist] = [self.taps, self.outline, self.connectors, self.output_cell]
        self.surface.add(self.taps)
        self.surface.add(self.outline)
        self.surface.add(self.connectors)
        self.surface.add(self.output_cell)
        kinds = self.renderer.geometry.cell_kinds()
        shaded_input = _rgb(theme.shaded(theme.input))
        shaded_empty = _rgb(theme.shaded(theme.background))
        # A tap over an input cell shows the input shaded; over padding or an
        # inserted zero it shows the (opaque) shaded background, which keeps a
        # transparent figure's window visible.
        self._tap_colour = [
            [shaded_input if k == CellKind.INPUT else shaded_empty for k in row] for row in kinds
        ]
        return artists

    def set_step(self, step: Step) -> None:
        """Put the moving artists where they are at ``step``."""
        layout = self.renderer.layout
        self.taps.set_verts(layout.input.cells_corners(step.window))
        self.taps.set_facecolors([self._tap_colour[r][c] for r, c in step.window])
        extent = self.renderer.window_extent(step)
        self.outline.set_xy(layout.input.rect(*extent))
        self.connectors.set_segments(layout.connectors(extent, step.output))
        self.output_cell.set_xy(layout.output.cell_corners(step.output))
        for layer in self.renderer.layers:
            layer.update(step)

    def _draw_background(self) -> None:
        """Draw the static scene (animated artists are skipped) and save its pixels."""
        with _pinned_rc():
            self.canvas.draw()
        # The canvas's own pixels (a writable view, drawn into in place) ...
        self.pixels = np.asarray(self.canvas.buffer_rgba())
        self.background = self.pixels.copy()
        # ... and what the blitted frames see: the same memory, read-only.
        self.frame_view = self.pixels.view()
        self.frame_view.flags.writeable = False
        self._dirty: _Box | None = _NO_BOX  # where the canvas differs from the background
        self._baked.clear()

    def _draw(self, artists: list[Artist]) -> _Box | None:
        """Draw artists on the canvas; the box of pixels they may have changed.

        A small frame does not look: its whole background is restored.
        """
        # What Figure.draw_artist does, with the renderer looked up once
        # (the lookup works out the canvas size, each time).
        renderer = self.canvas.get_renderer()
        if self.background.nbytes <= WHOLE_RESTORE_MAX_BYTES:
            for artist in artists:
                artist.draw(renderer)
            return None if artists else _NO_BOX
        box: _Box | None = _NO_BOX
        height, width = self.pixels.shape[:2]
        pixels = self.surface.transform
        for artist in artists:
            artist.draw(renderer)
            if box is not None:
                ink = _ink_box(artist, renderer, pixels, width, height)
                box = None if ink is None else _union(box, ink)
        return box

    def blit(self, step: Step) -> np.ndarray:
        """Draw one step over the saved background; the canvas's pixels, read-only.

        Only what the previous step drew over is restored. Layers' backdrop
        artists are drawn into the background the first step they appear;
        going back to an earlier step redraws the background. The array
        returned is the canvas itself, drawn over by the next call.
        """
        if not _drawing_rc_pinned():
            with _pinned_rc():
                return self._blit(step)
        return self._blit(step)

    def _blit(self, step: Step) -> np.ndarray:
        if step.index < self._last_index:
            self._draw_background()
        self._last_index = step.index
        self.set_step(step)
        _copy_box(self.pixels, self.background, self._dirty)
        settled = [
            artist
            for layer in self.renderer.layers
            for artist in layer.backdrop(step)
            if id(artist) not in self._baked
        ]
        if settled:
            _copy_box(self.background, self.pixels, self._draw(settled))
            self._baked.update(id(artist) for artist in settled)
        self._dirty = self._draw(
            [a for a in self.moving if a.get_visible() and id(a) not in self._baked]
        )
        return self.frame_view


__all__ = ["Layer", "RenderError", "Renderer", "Style", "Surface"]
