"""The renderer: frames of a figure description, drawn with matplotlib's Agg canvas.

This is the only module that draws. It takes a
:class:`convgif.figures.model.Figure` (grids, steps of marks), places it with
:func:`convgif.layout.make_layout`, and draws it: every grid's cells (filled,
or empty with a dashed border), every mark (shaded cells, outlines, connector
lines, texts as glyph outlines on their plane, rings), the labels, the step's
equation and the caption. It knows nothing of convolutions.

No pyplot and no global matplotlib state: an animation draws on its own Agg
renderer (:class:`~matplotlib.backends.backend_agg.RendererAgg`), a still on a
:class:`matplotlib.figure.Figure` of its own (imported only then: the figure
module and the Axes it brings cost about 0.2 s to import), and the rc settings
that decide pixels are pinned while a figure is built and drawn, so a user's
``matplotlibrc`` cannot change them.

An animation draws the static scene (the grids, static texts, labels,
caption) once, keeps it as a pixel buffer, and for each step restores the part
of it the previous step drew over and draws only what moves. A mark a step
*reveals* (a computed output) is drawn once into the saved background. A grid
that lies over a grid with moving marks (a deck of channels) is redrawn with
the moving marks, so the stacking stays right. It writes no files (see
:mod:`convgif.writers`).

The artists are placed in image pixels (:class:`Surface`), not in an Axes:
an Axes (ticks, spines, limits) cost more to make and draw than the whole
scene, and the pixel map it gave is kept exactly. Every text (values,
weights, labels, caption, equation) is drawn as glyph outlines.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

import matplotlib
import numpy as np
from matplotlib.artist import Artist, allow_rasterization
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.collections import Collection, LineCollection, PolyCollection
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font, Kerning, LoadFlags
from matplotlib.patches import Patch, Polygon
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath
from matplotlib.transforms import (
    Affine2D,
    Bbox,
    BboxTransformFrom,
    BboxTransformTo,
    IdentityTransform,
    Transform,
)

from convgif.errors import RenderError
from convgif.figures.model import FILLS, Figure, Grid, Link, Outline, Ring, Shade, Text
from convgif.layout import (
    LAYOUTS,
    Layout,
    LayoutKind,
    Segment,
    clip_outside_boxes,
    make_layout,
)
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
    labels
        Write each grid's label beside it (``input 5×5``).
    equation
        Write the step's equation under the figure, when the figure has one.
    """

    theme: Theme = field(default_factory=load_theme)
    layout: LayoutKind = "oblique"
    scale: float = 1.0
    dpi: float = DEFAULT_DPI
    caption: bool = False
    transparent: bool = False
    cell_inch: float = CELL_INCH
    labels: bool = False
    equation: bool = True

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
_ItemT = TypeVar("_ItemT", "_Char", "_Run")


class Surface:
    """Where a scene puts its artists, addressed in image pixels.

    Pixel coordinates are those of :mod:`convgif.layout`: origin at the
    image's top-left corner, ``x`` right, ``y`` down.

    Attributes
    ----------
    artists
        Every artist added, in order (a draw stacks them by zorder, ties in
        this order).
    figure
        A still's matplotlib figure, which holds the artists too; None for an
        animation, drawn on a renderer of its own.
    transform
        Image pixels to display coordinates. A still's follows its figure's
        size and dpi (vector stills are saved at another dpi); an
        animation's is fixed: matplotlib freezes and multiplies a live
        composite transform for every artist it draws, every frame.
    size
        The display size ``(width, height)``: a hair over the image's, as a
        figure of that many inches would have (its canvas truncates).
    """

    def __init__(self, width_px: int, height_px: int, dpi: float, figure: Any = None) -> None:
        w, h = float(width_px), float(height_px)
        # The same floats as a figure's box (inches x dpi), hence the same pixels:
        # snapping and antialiasing follow the last bits of a coordinate.
        width_in, height_in = _figure_inches(width_px, height_px, dpi)
        self.size = (width_in * dpi, height_in * dpi)
        pixels = BboxTransformFrom(Bbox([[0.0, h], [w, 0.0]]))
        self.figure = figure
        self.artists: list[Artist] = []
        if figure is not None:
            self.transform: Transform = pixels + BboxTransformTo(figure.bbox)
        else:
            box = Bbox([[0.0, 0.0], list(self.size)])
            self.transform = Affine2D((pixels + BboxTransformTo(box)).get_matrix().copy())

    def add(self, artist: _ArtistT) -> _ArtistT:
        """Add an artist, in image pixels unless it has its own transform."""
        if not artist.is_transform_set():
            artist.set_transform(self.transform)
        self.artists.append(artist)
        if self.figure is not None:
            self.figure.add_artist(artist)
        return artist


def _figure_inches(width_px: int, height_px: int, dpi: float) -> tuple[float, float]:
    """A figure's size for an image of ``width_px × height_px``: a hair over, as its
    canvas truncates inches × dpi."""
    return ((width_px + 1e-3) / dpi, (height_px + 1e-3) / dpi)


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


def _edge(
    edge: tuple[int, int], horizontal: bool, length: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The plane points ``(row, col)`` at the ends of ``length`` unit edges from ``edge``:
    along grid line ``edge[0]`` (a row line if ``horizontal``) from ``edge[1]``."""
    line, start = edge
    if horizontal:
        return ((line, start), (line, start + length))
    return ((start, line), (start + length, line))


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
    if isinstance(artist, Outlined):
        paths, widths = [artist.get_path()], [0.0]
    elif isinstance(artist, Patch):
        paths = [artist.get_path()]
        widths = [artist.get_linewidth()]
    elif isinstance(artist, Collection):
        if len(artist.get_transforms()) or np.any(artist.get_offsets()):
            return None  # offsets or per-path transforms: not worked out here
        paths = artist.get_paths()
        widths = list(artist.get_linewidths())
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


# -- text as glyph outlines ---------------------------------------------------
# A cell's value fills at most this much of a cell; a weight shares its cell
# with a value, so it keeps to the lower-right corner.
VALUE_WIDTH_CELLS = 0.76
VALUE_HEIGHT_CELLS = 0.6
WEIGHT_WIDTH_CELLS = 0.55
WEIGHT_HEIGHT_CELLS = 0.34
# Distance of a weight's ink from its cell's right and bottom borders (cells):
# clear of the border line, which is about 0.07 cell wide.
WEIGHT_INSET_CELLS = 0.08
# Radius of the ring around max pooling's winning value (cells).
RING_RADIUS_CELLS = 0.42
_RING_POINTS = 64
# Room kept free around a text's ink where connector lines are cut (pixels).
TEXT_CLEARANCE_PX = 2.0
# Fill colours that are not the theme's input/output: RGB channel planes.
CHANNEL_FILLS: dict[str, RGB] = {
    "red": (220, 50, 47),
    "green": (133, 153, 0),
    "blue": (38, 139, 210),
}


@dataclass(frozen=True)
class _Glyphs:
    """A string's outline at a font size of 1 (em units, ``y`` up) and its ink box."""

    vertices: np.ndarray
    codes: np.ndarray
    ink: tuple[float, float, float, float]  # x0, y0, x1, y1

    @property
    def width(self) -> float:
        return self.ink[2] - self.ink[0]

    @property
    def height(self) -> float:
        return self.ink[3] - self.ink[1]


def _font_properties(family: str) -> FontProperties:
    """The theme's font, every property explicit: a user's rc settings cannot change it."""
    return FontProperties(
        family=family, style="normal", variant="normal", weight="normal", stretch="normal"
    )


def _outline_ink(vertices: np.ndarray, codes: np.ndarray) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)``: the exact box of an outline made of lines and quadratic curves.

    What :meth:`matplotlib.path.Path.get_extents` returns, worked out with
    array arithmetic: that method walks the curves one by one and costs about
    a millisecond a glyph, which made measuring texts most of a figure's set-up.
    A quadratic curve's box is its end points' and, on each axis, its value at
    ``t = (p0 - p1) / (p0 - 2 p1 + p2)`` when that ``t`` lies in (0, 1).
    Outlines with cubic curves (glyph outlines have none) are left to matplotlib.
    """
    if np.any(codes == MplPath.CURVE4):
        box = MplPath(vertices, codes).get_extents()
        return (box.x0, box.y0, box.x1, box.y1)
    quadratic = codes == MplPath.CURVE3
    index = np.arange(len(codes))
    # A run of CURVE3 codes is (control, end) pairs: a control sits an even
    # distance from its run's start.
    starts = quadratic & ~np.r_[False, quadratic[:-1]]
    run_start = np.maximum.accumulate(np.where(starts, index, 0))
    control = quadratic & ((index - run_start) % 2 == 0)
    on_curve = (codes == MplPath.MOVETO) | (codes == MplPath.LINETO) | (quadratic & ~control)
    lows = [vertices[on_curve].min(axis=0)] if on_curve.any() else []
    highs = [vertices[on_curve].max(axis=0)] if on_curve.any() else []
    at = np.flatnonzero(control)
    if len(at):
        p0, p1, p2 = vertices[at - 1], vertices[at], vertices[at + 1]
        denominator = p0 - 2.0 * p1 + p2
        safe = np.where(denominator != 0.0, denominator, 1.0)
        t = np.where(denominator != 0.0, (p0 - p1) / safe, -1.0)
        inside = (t > 0.0) & (t < 1.0)
        value = (1.0 - t) ** 2 * p0 + 2.0 * t * (1.0 - t) * p1 + t**2 * p2
        lows.append(np.where(inside, value, np.inf).min(axis=0))
        highs.append(np.where(inside, value, -np.inf).max(axis=0))
    if not lows:
        return (0.0, 0.0, 0.0, 0.0)
    low, high = np.min(lows, axis=0), np.max(highs, axis=0)
    return (float(low[0]), float(low[1]), float(high[0]), float(high[1]))


# Strings are laid out here, character by character (each glyph's advance
# width, then the font's kerning with the next), from outlines read once per
# character and words laid out once: TextPath lays out every string anew with
# its shaping engine, about 3 ms a string, and a figure with numbers writes
# hundreds of them.
_EM_PX = 100.0  # the size glyph outlines are read at, as TextPath does


@lru_cache(maxsize=8)
def _face(family: str) -> FT2Font:
    """The family's font file, opened for convgif alone: nothing else changes its size."""
    font = FT2Font(findfont(_font_properties(family)))
    font.set_size(_EM_PX, 72)
    return font


@dataclass(frozen=True)
class _Char:
    """One character's glyph at a font size of 1 (em units, ``y`` up)."""

    index: int  # the glyph's index in the font (for kerning)
    vertices: np.ndarray
    codes: np.ndarray
    advance: float
    ink: tuple[float, float, float, float] | None  # None: no ink (a space)

    @property
    def first(self) -> int:
        """The glyph kerned with what stands before it (itself: see :class:`_Run`)."""
        return self.index

    @property
    def last(self) -> int:
        return self.index


@lru_cache(maxsize=4096)
def _char(character: str, family: str) -> _Char | None:
    """``character``'s glyph; None when the font has none (TextPath then falls back)."""
    font = _face(family)
    index = font.get_char_index(ord(character))
    if index == 0:
        return None
    glyph = font.load_glyph(index, flags=LoadFlags.NO_HINTING)
    vertices, codes = font.get_path()
    vertices = np.asarray(vertices, dtype=float).reshape(-1, 2) / _EM_PX
    codes = np.asarray(codes, dtype=np.uint8)
    ink = _outline_ink(vertices, codes) if len(codes) else None
    return _Char(index, vertices, codes, glyph.linearHoriAdvance / 65536.0 / _EM_PX, ink)


@lru_cache(maxsize=65536)
def _kerning(left: int, right: int, family: str) -> float:
    return _face(family).get_kerning(left, right, Kerning.DEFAULT) / 64.0 / _EM_PX


@dataclass(frozen=True)
class _Run:
    """A piece of a line of text laid out from ``x = 0`` (em): each glyph with its
    ``x``, where the next piece starts, the first and last glyphs (for kerning)
    and the ink's box (None: none, a space)."""

    placed: tuple[tuple[_Char, float], ...]
    advance: float
    first: int
    last: int
    ink: tuple[float, float, float, float] | None


def _side_by_side(items: list[_ItemT], family: str) -> tuple[list[tuple[_ItemT, float]], float]:
    """Glyphs or runs set one after another, each kerned with the one before:
    each with its ``x`` (em), and where the next would start."""
    placed: list[tuple[_ItemT, float]] = []
    x, previous = 0.0, None
    for item in items:
        if previous is not None:
            x += _kerning(previous, item.first, family)
        placed.append((item, x))
        x += item.advance
        previous = item.last
    return placed, x


@lru_cache(maxsize=16384)
def _run(text: str, family: str) -> _Run | None:
    """``text`` (a word, or a space) laid out; None if the font lacks a character."""
    glyphs = [_char(character, family) for character in text]
    if None in glyphs:
        return None
    placed, end = _side_by_side(glyphs, family)  # type: ignore[arg-type]
    ink = _placed_ink([(glyph.ink, x) for glyph, x in placed])
    return _Run(tuple(placed), end, placed[0][0].first, placed[-1][0].last, ink)


def _line(text: str, family: str) -> list[tuple[_Run, float]] | None:
    """One line of plain text as its words and spaces, each laid out once and placed
    (kerned with its neighbours: the same as laying the line out character by
    character); None for mathematics or a character the font lacks.

    Wrapping measures the same words in many candidate lines.
    """
    if "$" in text or "\n" in text:
        return None
    words = text.split(" ")
    pieces = [piece for k, word in enumerate(words) for piece in ((" ", word) if k else (word,))]
    runs = [_run(piece, family) for piece in pieces if piece]
    if None in runs:
        return None
    return _side_by_side(runs, family)[0]  # type: ignore[arg-type]


def _placed_ink(
    inks: list[tuple[tuple[float, float, float, float] | None, float]],
) -> tuple[float, float, float, float] | None:
    """The box of ink boxes each moved right by its ``x``; None if none has ink."""
    boxes = [(box, x) for box, x in inks if box is not None]
    if not boxes:
        return None
    return (
        min(box[0] + x for box, x in boxes),
        min(box[1] for box, _ in boxes),
        max(box[2] + x for box, x in boxes),
        max(box[3] for box, _ in boxes),
    )


def _ink_of(pieces: list[tuple[_Run, float]]) -> tuple[float, float, float, float]:
    return _placed_ink([(run.ink, x) for run, x in pieces]) or (0.0, 0.0, 0.0, 0.0)


def _ink_width(text: str, family: str) -> float:
    """The width of a line's ink in em, without building its outline."""
    pieces = _line(text, family)
    if pieces is None:
        return _glyphs(text, family).width
    ink = _ink_of(pieces)
    return ink[2] - ink[0]


@lru_cache(maxsize=8192)
def _glyphs(text: str, family: str) -> _Glyphs:
    pieces = _line(text, family)
    if pieces is None:
        path = TextPath((0.0, 0.0), text, size=1.0, prop=_font_properties(family))
        vertices = np.asarray(path.vertices, dtype=float)
        codes = np.asarray(_codes(path), dtype=np.uint8)
        ink = _outline_ink(vertices, codes) if len(vertices) else (0.0, 0.0, 0.0, 0.0)
        return _Glyphs(vertices, codes, ink)
    inked = [(g, x + gx) for run, x in pieces for g, gx in run.placed if len(g.codes)]
    if not inked:
        return _Glyphs(np.zeros((0, 2)), np.zeros(0, dtype=np.uint8), (0.0, 0.0, 0.0, 0.0))
    vertices = np.concatenate([g.vertices + np.array([x, 0.0]) for g, x in inked])
    codes = np.concatenate([g.codes for g, _ in inked])
    return _Glyphs(vertices, codes, _ink_of(pieces))


_NO_TRANSFORMS = np.zeros((0, 3, 3))
_NO_OFFSETS = np.zeros((0, 2))


@allow_rasterization
def _draw_in_one_call(collection: Collection, renderer: Any) -> None:
    """Draw a collection of paths in one call to the renderer.

    What :meth:`~matplotlib.collections.Collection.draw` does for a collection
    without offsets, hatches, clipping or effects. That method also works out
    the box of a lone path by walking its curves (to draw it as a marker) and
    calls the renderer twice to learn whether it takes hatch colours: for the
    few polygons and lines a step moves, most of their drawing.
    """
    if not collection.get_visible():
        return
    paths = collection.get_paths()
    if not len(paths):
        return
    name = type(collection).__name__
    renderer.open_group(name, collection.get_gid())
    gc = renderer.new_gc()
    gc.set_snap(collection.get_snap())
    gc.set_joinstyle(collection.get_joinstyle() or "round")
    gc.set_capstyle(collection.get_capstyle() or "butt")
    renderer.draw_path_collection(
        gc, collection.get_transform().frozen(), paths, _NO_TRANSFORMS, _NO_OFFSETS,
        IdentityTransform(), collection.get_facecolor(), collection.get_edgecolor(),
        collection.get_linewidth(), collection.get_linestyle(), collection.get_antialiased(),
        collection.get_urls(), "screen", hatchcolors=collection.get_hatchcolor(),
    )  # fmt: skip
    gc.restore()
    renderer.close_group(name)
    collection.stale = False


class _Polygons(PolyCollection):
    """Polygons drawn in one renderer call: cells, shades, outlines, rings."""

    draw = _draw_in_one_call
    # The face colours and line widths last set by :meth:`set_styles`.
    _faces_set: tuple[tuple[float, float, float, float], ...] | None = None
    _widths_set: tuple[float, ...] | None = None

    def set_styles(
        self,
        faces: tuple[tuple[float, float, float, float], ...],
        widths: tuple[float, ...],
    ) -> None:
        """Set face colours and line widths, each only when it changed.

        A moving shade's next frame mostly has the same (a window over the same
        kind of cells), and matplotlib's setters convert and check each anew.
        """
        if faces != self._faces_set:
            self.set_facecolor(np.array(faces))
            self._faces_set = faces
        if widths != self._widths_set:
            self.set_linewidth(list(widths))
            self._widths_set = widths


class _Lines(LineCollection):
    """Lines drawn in one renderer call: grid lines, connectors."""

    draw = _draw_in_one_call


class Outlined(Artist):
    """A filled outline without a stroke (glyphs), in the coordinates of its transform.

    What a :class:`~matplotlib.patches.PathPatch` without an edge draws, for a
    tenth of its cost to make and half of it to draw: a figure with numbers
    makes hundreds and draws dozens a frame.
    """

    def __init__(
        self,
        path: MplPath,
        facecolor: tuple[float, float, float, float],
        zorder: float,
        text: str = "",
    ) -> None:
        super().__init__()
        self._path = path
        self._facecolor = facecolor
        self.zorder = zorder
        self.text = text
        self._ink_px: tuple[float, float, float, float] | None = None
        # Where the ink's exact box comes from when not from the path's curves.
        self.ink_of: Callable[[], tuple[float, float, float, float]] | None = None

    def get_path(self) -> MplPath:
        return self._path

    def set_path(self, path: MplPath) -> None:
        self._path = path
        self._ink_px = None
        self.ink_of = None
        self.__dict__.pop("vertex_box_px", None)
        self.stale = True

    def get_text(self) -> str:
        """The string drawn (as :meth:`matplotlib.text.Text.get_text`)."""
        return self.text

    @functools.cached_property
    def vertex_box_px(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``((x0, y0), (x1, y1))``: the box of the outline's vertices (it holds the ink)."""
        vertices = self._path.vertices
        if not len(vertices):
            return ((math.inf, math.inf), (-math.inf, -math.inf))
        (x0, y0), (x1, y1) = vertices.min(axis=0), vertices.max(axis=0)
        return ((float(x0), float(y0)), (float(x1), float(y1)))

    @property
    def box_px(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)``: the ink's box in image pixels, with the clearance lines keep.

        Worked out when first asked (only texts near a connector line are).
        """
        if self._ink_px is None and self.ink_of is not None:
            self._ink_px = self.ink_of()
        if self._ink_px is None:
            path = self.get_path()
            self._ink_px = _outline_ink(np.asarray(path.vertices, dtype=float), _codes(path))
        x0, y0, x1, y1 = self._ink_px
        pad = TEXT_CLEARANCE_PX
        return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)

    def get_facecolor(self) -> tuple[float, float, float, float]:
        return self._facecolor

    @allow_rasterization
    def draw(self, renderer: Any) -> None:
        if not self.get_visible() or not len(self._path.vertices):
            return
        renderer.open_group("patch", self.get_gid())
        gc = renderer.new_gc()
        gc.set_linewidth(0.0)
        gc.set_antialiased(True)
        gc.set_snap(self.get_snap())
        transform = self.get_transform()
        path = transform.transform_path_non_affine(self._path)
        renderer.draw_path(gc, path, transform.get_affine(), self._facecolor)
        gc.restore()
        renderer.close_group("patch")
        self.stale = False


def _codes(path: MplPath) -> np.ndarray:
    """A path's codes; for one without (straight segments from its first vertex), spelled out."""
    if path.codes is not None:
        return path.codes
    codes = np.full(len(path.vertices), MplPath.LINETO, dtype=MplPath.code_type)
    codes[:1] = MplPath.MOVETO
    return codes


def _joined(paths: list[MplPath]) -> MplPath:
    """One path of many (the glyph outlines of several texts, drawn in one call)."""
    paths = [path for path in paths if len(path.vertices)]
    if not paths:
        return MplPath(np.zeros((0, 2)))
    codes = np.concatenate([_codes(path) for path in paths])
    return MplPath(np.concatenate([path.vertices for path in paths]), codes)


class Label(Outlined):
    """A text mark written on a plane as glyph outlines; :attr:`text` is what it says.

    Outlines placed with the plane's own affine map lie on a slanted plane as
    its cells do, and their ink is centred on the cell exactly.
    """

    def __init__(
        self,
        mark: Text,
        path: MplPath,
        *,
        facecolor: tuple[float, float, float, float],
        zorder: float,
    ) -> None:
        super().__init__(path, facecolor, zorder, mark.text)
        self.mark = mark


def _fill_rgb(theme: Theme, fill: str | None) -> RGB:
    if fill is None:
        return theme.background
    if fill == "input":
        return theme.input
    if fill == "output":
        return theme.output
    return CHANNEL_FILLS[fill]


def _wrap(text: str, width_px: float, measure: Callable[[str], float]) -> str:
    """Break each line of ``text`` at spaces so no line is wider than ``width_px``.

    A sum breaks before a ``+`` where it can, so each line starts with its sign.
    Greedy: a line takes words while it fits. A line's width only grows as
    words are added, so the first word that does not fit is found by halving
    (a measure costs about a millisecond; an equation has dozens of words).
    """
    out: list[str] = []
    for line in text.split("\n"):
        if "$" in line:  # mathematics is measured as typeset, not as its source
            out.append(line)
            continue
        words = line.split(" ")
        current, start = "", 0
        while start < len(words):
            if not current:
                current, start = words[start], start + 1
                continue
            # The first word (index) that does not fit after ``current``; len(words): none.
            low, high = start, len(words)
            while low < high:
                middle = (low + high) // 2
                if measure(" ".join([current, *words[start : middle + 1]])) > width_px:
                    high = middle
                else:
                    low = middle + 1
            current = " ".join([current, *words[start:low]])
            if low == len(words):
                break
            word, start = words[low], low + 1
            # Keep an operator with the term after it.
            if current.endswith(("+", "=", "−")) and " " in current:
                head, op = current.rsplit(" ", 1)
                out.append(head)
                current = op + " " + word
            else:
                out.append(current)
                current = "    " + word if out else word
        out.append(current)
    return "\n".join(out)


@dataclass(frozen=True)
class _Block:
    """Lines of upright text at a font size of 1 (em): their glyphs and their extent."""

    lines: tuple[_Glyphs, ...]
    width: float  # the widest line's ink
    ascent: float  # from the block's top to the first baseline
    height: float  # from the block's top to its bottom

    @staticmethod
    def of(text: str, family: str) -> _Block:
        """Lines :data:`LINE_SPACING` em apart. The top and bottom are a capital's
        ascent and a descender's depth ("Ay"), or the first and last lines' own
        ink if it reaches further (mathematics), so blocks of plain text have
        one height however their glyphs run."""
        lines = tuple(_glyphs(line.strip(), family) for line in text.split("\n"))
        nominal = _glyphs("Ay", family).ink
        ascent = max(nominal[3], lines[0].ink[3])
        descent = max(-nominal[1], -lines[-1].ink[1])
        height = ascent + (len(lines) - 1) * LINE_SPACING + descent
        return _Block(lines, max(g.width for g in lines), ascent, height)


def _text_block(
    text: str,
    xy: tuple[float, float],
    size_px: float,
    family: str,
    ha: str = "center",
    va: str = "top",
) -> MplPath:
    """Lines of upright text as one glyph-outline path in image pixels.

    Each line's ink is centred on ``xy``'s ``x`` (``ha="center"``) or ends
    (``"right"``) or starts (``"left"``) there; the block's top (``va="top"``),
    middle (``"center"``) or bottom (``"bottom"``) is at ``xy``'s ``y``.
    """
    block = _Block.of(text, family)
    x, y = xy
    height_px = block.height * size_px
    top = {"top": y, "center": y - height_px / 2.0, "bottom": y - height_px}[va]
    vertices, codes = [], []
    for k, glyphs in enumerate(block.lines):
        if not len(glyphs.vertices):
            continue
        baseline = top + (block.ascent + k * LINE_SPACING) * size_px
        x0, _, x1, _ = glyphs.ink
        start = {"center": (x0 + x1) / 2.0, "right": x1, "left": x0}[ha]
        xs = x + (glyphs.vertices[:, 0] - start) * size_px
        ys = baseline - glyphs.vertices[:, 1] * size_px  # glyphs' y points up
        vertices.append(np.column_stack([xs, ys]))
        codes.append(glyphs.codes)
    if not vertices:
        return MplPath(np.zeros((1, 2)), [MplPath.MOVETO])
    return MplPath(np.concatenate(vertices), np.concatenate(codes))


class Renderer:
    """Frames of one figure description in one style.

    Parameters
    ----------
    figure
        What to draw (:class:`convgif.figures.model.Figure`).
    style
        Its look.
    """

    def __init__(self, figure: Figure, style: Style | None = None) -> None:
        self.figure = figure
        self.style = style if style is not None else Style()
        theme = self.style.theme
        self._measure_text = _TextMeasure(self.style)
        grids = figure.grids
        line_px = self.style.points_to_px(max(theme.line_width_pt, theme.window_width_pt))
        kind = self.style.layout
        label_sizes = None
        if self.style.labels:
            label_sizes = {
                g.name: self._measure_text.size(g.label, theme.caption_font_pt)
                for g in grids
                if g.label
            }
        self.cell_px = self._fitted_cell_px()
        bare = make_layout(grids, kind, self.cell_px, figure.arrangement, line_px, label_sizes)
        # Text under the figure wraps to the drawing's width (at least a
        # readable line), so a long sum never widens the image.
        wrap_px = max(
            bare.width_px - 2 * bare.cell_px, 24 * self._measure_text.em(theme.equation_pt)
        )
        self.equations: list[str] | None = None
        if self.style.equation and any(step.equation for step in figure.steps):
            self.equations = [
                _wrap(step.equation or "", wrap_px, self._measure_text.width(theme.equation_pt))
                for step in figure.steps
            ]
        self.caption_text: str | None = None
        if self.style.caption and figure.caption:
            self.caption_text = _wrap(
                figure.caption, wrap_px, self._measure_text.width(theme.caption_font_pt)
            )
        equation_size = None
        if self.equations is not None:
            # The block is as wide as the wrap, so the image's size does not
            # depend on the numbers, only its height on the most lines.
            heights = [self._measure_text.size(e, theme.equation_pt)[1] for e in self.equations]
            equation_size = (wrap_px, max(heights))
        caption_size = (
            self._measure_text.size(self.caption_text, theme.caption_font_pt)
            if self.caption_text
            else None
        )
        self.layout: Layout = make_layout(
            grids, kind, self.cell_px, figure.arrangement, line_px, label_sizes,
            equation_size, caption_size,
        )  # fmt: skip
        w, h = self.size_px
        if w * h > MAX_PIXELS or max(w, h) > MAX_SIDE_PX:
            raise RenderError(
                f"--scale/--dpi: the image would be {w}x{h} px, more than "
                f"{MAX_PIXELS:,} pixels or {MAX_SIDE_PX} px a side; use a smaller --scale or --dpi"
            )
        self._font_sizes = self._fit_fonts()
        # Ink boxes of texts relative to their anchors (:meth:`label_ink_px`).
        self._ink_offsets: dict[tuple[Any, ...], tuple[float, float, float, float]] = {}

    # -- geometry ------------------------------------------------------------
    @property
    def size_px(self) -> tuple[int, int]:
        """Image ``(width, height)`` in pixels, the same for every frame."""
        return (self.layout.width_px, self.layout.height_px)

    def __len__(self) -> int:
        return len(self.figure)

    def cell_center_px(self, grid: str, cell: tuple[int, int]) -> tuple[float, float]:
        """Pixel ``(x, y)`` (origin top-left) of a cell's centre on a grid.

        From the transform the figure is drawn with, so a test can probe the
        pixel there.
        """
        return self.layout.plane(grid).cell_center(cell)

    def palette(self) -> np.ndarray:
        """Every colour a frame can hold, ``(N, 3)`` uint8 with ``N <= 255``."""
        theme = self.style.theme
        named = {f for g in self.figure.grids for f in g.fills} - {None, "input", "output"}
        colours = [_fill_rgb(theme, fill) for fill in sorted(named)]  # type: ignore[type-var]
        fills = [*colours, *(theme.shaded(c) for c in colours)]
        inks: list[RGB] = []
        if self.figure.all_texts():
            # Numbers are written in text_on(fill): the text colour or the background.
            inks.append(theme.faint_text())
            inks += [theme.text_on(f) for f in (*theme.fill_colours, *fills)]
        return theme_palette(theme, fills, inks)

    # -- frames ----------------------------------------------------------------
    def frames(self) -> Iterator[np.ndarray]:
        """One ``HxWx4`` RGBA uint8 frame per step.

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
        for index in range(len(self.figure)):
            yield scene.blit(index)

    def frame(self, index: int) -> np.ndarray:
        """The frame of one step, as :meth:`frames` draws it (an array of its own)."""
        self._check_index(index)
        return _Scene(self, animated=True).blit(index).copy()

    def figure_for_step(self, index: int) -> Any:
        """A complete figure of one step (every artist live), for SVG/PDF/PNG stills."""
        self._check_index(index)
        scene = _Scene(self, animated=False)
        scene.set_step(index)
        return scene.figure

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self.figure):
            raise IndexError(f"step {index} out of range (0..{len(self.figure) - 1})")

    # -- text ------------------------------------------------------------------
    def _widest_em(self) -> dict[str, float]:
        """The widest text of each role (value, weight), in em."""
        family = self.style.theme.font_family
        widest: dict[str, float] = {}
        for mark in self.figure.all_texts():
            role = "weight" if mark.role == "weight" else "value"
            widest[role] = max(widest.get(role, 0.0), _glyphs(mark.text, family).width)
        return widest

    def _fitted_cell_px(self) -> int:
        """The style's cell, grown until every text fits at the theme's sizes.

        A value must fit its cell's width; a weight its corner, at least as
        tall as a readable digit, clear below the value it shares the cell with.
        """
        style, theme = self.style, self.style.theme
        cell = float(style.cell_px)
        widest = self._widest_em()
        if not widest:
            return style.cell_px
        digit = _glyphs("0", theme.font_family).height
        value_px = style.points_to_px(theme.value_font_pt)
        cell = max(cell, widest.get("value", 0.0) * value_px / VALUE_WIDTH_CELLS)
        if "weight" in widest:
            weight_px = style.points_to_px(theme.weight_font_pt)
            cell = max(cell, widest["weight"] * weight_px / WEIGHT_WIDTH_CELLS)
            below_value = digit * value_px / 2.0 + digit * weight_px + TEXT_CLEARANCE_PX
            cell = max(cell, below_value / (0.5 - WEIGHT_INSET_CELLS))
        return math.ceil(cell - 1e-9)

    def _fit_fonts(self) -> dict[str, float]:
        """One font size per text role (em, in cells), fitted to the role's widest text.

        The theme's size, scaled with the cell, made smaller for the whole
        role until its widest text fits its cell: numbers of a role read alike.
        """
        theme, family = self.style.theme, self.style.theme.font_family
        cell_px = self.layout.cell_px
        digit = _glyphs("0", family).height
        widest = self._widest_em()
        sizes = {}
        for role, font_pt, width_cells, height_cells in (
            ("value", theme.value_font_pt, VALUE_WIDTH_CELLS, VALUE_HEIGHT_CELLS),
            ("weight", theme.weight_font_pt, WEIGHT_WIDTH_CELLS, WEIGHT_HEIGHT_CELLS),
        ):
            size = self.style.points_to_px(font_pt) / cell_px
            size = min(size, height_cells / digit)
            if widest.get(role, 0.0) > 0:
                size = min(size, width_cells / widest[role])
            sizes[role] = size
        return sizes

    def _placement(self, mark: Text) -> tuple[_Glyphs, float, float, float, tuple[float, float]]:
        """A text mark's glyphs, font size (cells), the glyph point ``(u0, v0)`` put at
        ``anchor`` (plane ``(row, col)``)."""
        family = self.style.theme.font_family
        glyphs = _glyphs(mark.text, family)
        weight = mark.role == "weight"
        size = self._font_sizes["weight" if weight else "value"]
        r, c = mark.cell
        if weight:
            u0, v0 = glyphs.ink[2], 0.0
            corner = 1.0 - WEIGHT_INSET_CELLS
            return glyphs, size, u0, v0, (r + corner, c + corner)
        digit = _glyphs("0", family).height
        u0, v0 = (glyphs.ink[0] + glyphs.ink[2]) / 2.0, digit / 2.0
        return glyphs, size, u0, v0, (r + 0.5, c + 0.5)

    def label_ink_px(self, mark: Text) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)``: the exact box of :meth:`label_path`'s ink, in image pixels.

        The box relative to the text's anchor depends only on the text, its
        role's size and its plane's map, and a figure repeats its numbers over
        many cells: that relative box is worked out once, from the outline's
        curves (:func:`_outline_ink`).
        """
        glyphs, size, u0, v0, anchor = self._placement(mark)
        plane = self.layout.plane(mark.grid)
        key = (mark.text, size, u0, v0, plane.row_px, plane.col_px)
        offsets = self._ink_offsets.get(key)
        if offsets is None:
            u, v = glyphs.vertices[:, 0], glyphs.vertices[:, 1]
            relative = np.column_stack([-(v - v0) * size, (u - u0) * size]) @ plane.matrix.T
            offsets = self._ink_offsets[key] = _outline_ink(relative, glyphs.codes)
        x, y = plane.point(*anchor)
        return (x + offsets[0], y + offsets[1], x + offsets[2], y + offsets[3])

    def label_path(self, mark: Text) -> MplPath:
        """The outline of a text mark, in image pixels, on its grid's plane.

        A value is centred on its cell by its ink horizontally and by the
        height of a digit vertically (so the numbers of a row share a
        baseline); a weight's ink ends at its cell's lower-right corner.
        """
        glyphs, size, u0, v0, anchor = self._placement(mark)
        u, v = glyphs.vertices[:, 0], glyphs.vertices[:, 1]
        rows = anchor[0] - (v - v0) * size  # the glyphs' y points up, rows go down
        cols = anchor[1] + (u - u0) * size
        pixels = self.layout.plane(mark.grid).points(np.column_stack([rows, cols]))
        return MplPath(pixels, glyphs.codes if len(glyphs.codes) else None)


class _TextMeasure:
    """Pixel sizes of upright text in the theme's font, as its glyph outlines are drawn."""

    def __init__(self, style: Style) -> None:
        self.style = style
        self.family = style.theme.font_family

    def width(self, size_pt: float) -> Callable[[str], float]:
        """The ink width in pixels of a line of text at ``size_pt``."""
        size_px, family = self.style.points_to_px(size_pt), self.family

        def measure(text: str) -> float:
            return _ink_width(text, family) * size_px

        return measure

    def em(self, size_pt: float) -> float:
        return self.style.points_to_px(size_pt)

    def size(self, text: str, size_pt: float) -> tuple[float, float]:
        """Width and height of a block of lines (:func:`_text_block`), in pixels."""
        block = _Block.of(text, self.family)
        size_px = self.style.points_to_px(size_pt)
        return (block.width * size_px, block.height * size_px)


LINE_SPACING = 1.4
# zorder within a grid's band (grid k draws between 10·k and 10·k + 10): the
# static grid, then what a step reveals, then what moves.
_Z_FILL, _Z_DASHED, _Z_SOLID, _Z_TEXT = 1.0, 2.0, 3.0, 4.0
_Z_REVEAL, _Z_REVEAL_TEXT = 4.5, 4.6
_Z_LINK, _Z_SHADE, _Z_MARK_TEXT, _Z_RING = 5.0, 6.0, 7.0, 8.0
_Z_WORDS = 1e6  # the equation, labels and caption: over everything


def _still_figure(width_px: int, height_px: int, style: Style) -> Any:
    """A matplotlib figure of the image's size, for a still (imported only now)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    figure = MplFigure(figsize=_figure_inches(width_px, height_px, style.dpi), dpi=style.dpi)
    if style.transparent:
        figure.patch.set_alpha(0.0)
    else:
        figure.patch.set_facecolor(_rgb(style.theme.background))
    FigureCanvasAgg(figure)
    return figure


class _Scene:
    """The artists of a renderer, static and moving, and what they are drawn on.

    An animation (``animated``) draws on an Agg renderer of its own; a still
    on a matplotlib figure (:attr:`figure`), which SVG and PDF are saved from.
    """

    def __init__(self, renderer: Renderer, animated: bool) -> None:
        self.renderer = renderer
        self.animated = animated
        self.figure_description = description = renderer.figure
        style = renderer.style
        self.theme = style.theme
        self.band = {grid.name: 10.0 * k for k, grid in enumerate(description.grids)}
        w, h = renderer.size_px
        with _pinned_rc():
            self.figure = None if animated else _still_figure(w, h, style)
            self.surface = Surface(w, h, style.dpi, self.figure)
            self.dynamic = self._dynamic_grids()
            self.moving: list[Artist] = []
            for grid in description.grids:
                artists = self._add_grid(grid)
                if grid.name in self.dynamic:
                    self.moving += artists
            self._add_words()
            self._add_texts()
            self._add_moving_shapes()
            self._add_reveals()
            for artist in self.moving:
                artist.set_animated(animated)
            # A full draw stacks artists by zorder (ties in the order they
            # were added); a blitted frame draws them in the same order.
            self.moving.sort(key=lambda artist: artist.get_zorder())
            self._baked: set[int] = set()  # ids of revealed artists in the background
            self._last_index = -1
            if animated:
                self.agg = RendererAgg(*self.surface.size, style.dpi)
                self._draw_background()

    # -- static --------------------------------------------------------------
    def _dynamic_grids(self) -> set[str]:
        """Grids drawn over a grid that has moving marks (a deck): redrawn every frame."""
        description, layout = self.figure_description, self.renderer.layout
        marked = set()
        for step in description.steps:
            for mark in step.marks:
                marked.add(mark.source if isinstance(mark, Link) else mark.grid)
        dynamic: set[str] = set()
        for k, grid in enumerate(description.grids):
            plane = layout.plane(grid.name)
            centres = plane.points(
                [(r + 0.5, c + 0.5) for r in range(grid.rows) for c in range(grid.cols)]
            )
            for lower in description.grids[:k]:
                if lower.name in marked or lower.name in dynamic:
                    outline = MplPath(layout.plane(lower.name).outline())
                    if outline.contains_points(centres).any():
                        dynamic.add(grid.name)
                        break
        return dynamic

    def _line_kw(self, width_pt: float) -> dict[str, Any]:
        return {"linewidths": self.renderer.style.points(width_pt)}

    def _add_grid(self, grid: Grid) -> list[Artist]:
        """A grid's fills, dashed empty-cell borders and solid borders."""
        plane = self.renderer.layout.plane(grid.name)
        theme, style = self.theme, self.renderer.style
        z = self.band[grid.name]
        rows, cols = grid.rows, grid.cols
        artists: list[Artist] = []
        filled = [(r, c) for r in range(rows) for c in range(cols) if grid.fill((r, c))]
        if len(filled) == rows * cols and len(set(grid.fills)) == 1:
            # One polygon for a uniform grid: no seams between cells.
            artists.append(
                Polygon(
                    plane.outline(), closed=True, facecolor=_rgb(_fill_rgb(theme, grid.fills[0])),
                    edgecolor="none", antialiased=False, zorder=z + _Z_FILL,
                )
            )  # fmt: skip
        elif filled:
            # Fills without antialiasing: the borders drawn on top cover their
            # edges, and the frame keeps few distinct colours.
            artists.append(
                _Polygons(
                    plane.cells_corners(filled),
                    facecolors=[_rgb(_fill_rgb(theme, grid.fill(cell))) for cell in filled],
                    edgecolors="none", antialiaseds=False, zorder=z + _Z_FILL,
                )
            )  # fmt: skip

        def is_filled(r: int, c: int) -> bool:
            return 0 <= r < rows and 0 <= c < cols and grid.fill((r, c)) is not None

        # Unit edges: horizontal (line r, from column c), vertical (line c, from row r).
        solid_h, dashed_h, solid_v, dashed_v = [], [], [], []
        for r in range(rows + 1):
            for c in range(cols):
                solid = is_filled(r - 1, c) or is_filled(r, c)
                (solid_h if solid else dashed_h).append((r, c))
        for c in range(cols + 1):
            for r in range(rows):
                solid = is_filled(r, c - 1) or is_filled(r, c)
                (solid_v if solid else dashed_v).append((c, r))
        px_per_pt = style.dpi / 72.0
        col_len = math.hypot(*plane.col_px)
        row_len = math.hypot(*plane.row_px)
        on, off = (style.points(v) for v in theme.dash_pt)
        for edges, horizontal, length in ((dashed_h, True, col_len), (dashed_v, False, row_len)):
            if not edges:
                continue
            segments = plane.points([_edge(e, horizontal, 1) for e in edges])
            artists.append(
                _Lines(
                    segments, colors=[_rgb(theme.padding_line)],
                    linestyles=[_fitted_dashes(length, on, off, px_per_pt)],
                    capstyle="butt", zorder=z + _Z_DASHED, **self._line_kw(theme.line_width_pt),
                )
            )  # fmt: skip
        solid = [_edge((line, a), True, b - a) for line, a, b in _merge_runs(solid_h)]
        solid += [_edge((line, a), False, b - a) for line, a, b in _merge_runs(solid_v)]
        if solid:
            artists.append(
                _Lines(
                    plane.points(solid), colors=[_rgb(theme.line)], capstyle="projecting",
                    zorder=z + _Z_SOLID, **self._line_kw(theme.line_width_pt),
                )
            )  # fmt: skip
        for artist in artists:
            self.surface.add(artist)
        return artists

    def _add_words(self) -> None:
        """Labels, caption (static) and the equation (moving), as glyph outlines."""
        renderer, layout, theme = self.renderer, self.renderer.layout, self.theme
        family, colour = theme.font_family, _rgb(theme.text)
        caption_px = renderer.style.points_to_px(theme.caption_font_pt)
        self.grid_labels: list[Outlined] = []
        for grid in self.figure_description.grids:
            if grid.name in layout.labels and grid.label:
                x, y, ha = layout.labels[grid.name]
                va = "center" if ha == "right" else "bottom"
                path = _text_block(grid.label, (x, y), caption_px, family, ha, va)
                label = Outlined(path, colour, _Z_WORDS, grid.label)
                self.grid_labels.append(self.surface.add(label))
        if renderer.caption_text and layout.caption_xy is not None:
            path = _text_block(renderer.caption_text, layout.caption_xy, caption_px, family)
            self.surface.add(Outlined(path, colour, _Z_WORDS, renderer.caption_text))
        # The equation of each step, made once and shown at its step.
        self.equations: list[Outlined] = []
        self._equation_shown: int | None = None
        if renderer.equations is not None and layout.equation_xy is not None:
            size_px = renderer.style.points_to_px(theme.equation_pt)
            paths: dict[str, MplPath] = {}
            for text in renderer.equations:
                if text not in paths:
                    paths[text] = _text_block(text, layout.equation_xy, size_px, family)
                patch = Outlined(paths[text], colour, _Z_WORDS, text)
                patch.set_visible(False)
                self.surface.add(patch)
                self.equations.append(patch)
            self.moving += self.equations

    def _text_colour(self, mark: Text) -> tuple[float, float, float, float]:
        """The colour of a text on its cell (contrast ratios: worked out once per fill)."""
        fill = self.figure_description.grid(mark.grid).fill(mark.cell)
        key = (fill, mark.on_shade, mark.role == "faint" and not mark.on_shade)
        if key not in self._text_colours:
            theme = self.theme
            colour = _fill_rgb(theme, fill)
            ink = theme.text_on(theme.shaded(colour) if mark.on_shade else colour)
            self._text_colours[key] = _rgb(theme.faint_text() if key[2] else ink)
        return self._text_colours[key]

    def _label(self, mark: Text, z: float, drawn: bool = True) -> Label:
        label = Label(
            mark, self.renderer.label_path(mark), facecolor=self._text_colour(mark),
            zorder=self.band[mark.grid] + z,
        )  # fmt: skip
        label.ink_of = functools.partial(self.renderer.label_ink_px, mark)
        return self.surface.add(label) if drawn else label

    def _add_texts(self) -> None:
        """Static texts, and one artist per distinct text mark of the steps (hidden).

        An animation draws its texts merged, one outline per grid, colour and
        kind (static or the step's): one renderer call instead of one a text
        (a frame of a channels figure writes about 70, a matrix's background
        a hundred). Their own artists are then not drawn; they give the boxes
        lines are cut around.
        """
        merge = self.animated
        description = self.figure_description
        self._text_colours: dict[tuple[str | None, bool, bool], tuple[float, ...]] = {}
        self.static_labels = []
        merged: dict[tuple[float, tuple[float, ...]], list[Label]] = {}
        for mark in description.texts:
            label = self._label(mark, _Z_TEXT, drawn=not merge)
            self.static_labels.append(label)
            if merge:
                merged.setdefault((label.zorder, label.get_facecolor()), []).append(label)
            elif mark.grid in self.dynamic:
                self.moving.append(label)
        for (z, colour), labels in merged.items():
            outline = Outlined(_joined([label.get_path() for label in labels]), colour, z)
            self.surface.add(outline)
            if labels[0].mark.grid in self.dynamic:  # one grid a zorder band
                self.moving.append(outline)
        self.mark_labels: dict[Text, Label] = {}
        # Per (zorder, colour): the outline that draws the step's texts of it.
        self.text_layers: dict[tuple[float, tuple[float, ...]], Outlined] = {}
        for step in description.steps:
            for mark in step.marks:
                if isinstance(mark, Text) and mark not in self.mark_labels:
                    self.mark_labels[mark] = label = self._label(mark, _Z_MARK_TEXT, not merge)
                    label.set_visible(False)
                    key = (label.zorder, label.get_facecolor())
                    if not merge:
                        self.moving.append(label)
                    elif key not in self.text_layers:
                        layer = Outlined(_joined([]), key[1], key[0])
                        self.text_layers[key] = layer
                        self.moving.append(self.surface.add(layer))
        self._shown: list[Label] = []  # a still's texts of the step set
        self._static_texts = _TextBoxes([*self.static_labels, *self.grid_labels])

    def _add_moving_shapes(self) -> None:
        """Per grid: the shaded cells, the outlines, the links into it, the rings.

        Only those some step has: a collection costs about half a millisecond
        to make.
        """
        theme, style = self.theme, self.renderer.style
        marked = {
            (type(mark), mark.target if isinstance(mark, Link) else mark.grid)
            for step in self.figure_description.steps
            for mark in step.marks
        }
        width = style.points(theme.line_width_pt)
        self._widths = (width, style.points(theme.window_width_pt))
        # Shaded cells and outlines of a grid share one collection (outlines
        # last, unfilled): one artist to draw per grid and frame, not two.
        self.shades: dict[str, PolyCollection] = {}
        self.links: dict[str, LineCollection] = {}
        self.rings: dict[str, PolyCollection] = {}
        for grid in self.figure_description.grids:
            name, z = grid.name, self.band[grid.name]
            if (Shade, name) in marked or (Outline, name) in marked:
                self.shades[name] = self._shade_polygons(z + _Z_SHADE)
            if (Link, name) in marked:
                self.links[name] = _Lines(
                    [], colors=[_rgb(theme.connector)], capstyle="butt", zorder=z + _Z_LINK,
                    antialiaseds=True, **self._line_kw(theme.connector_width_pt),
                )  # fmt: skip
            if (Ring, name) in marked:
                self.rings[name] = _Polygons(
                    [], facecolors="none", linewidths=style.points(theme.window_width_pt),
                    zorder=z + _Z_RING,
                )  # fmt: skip
        for group in (self.shades, self.links, self.rings):
            for artist in group.values():
                self.surface.add(artist)
                self.moving.append(artist)
        angles = np.linspace(0.0, 2.0 * np.pi, _RING_POINTS, endpoint=False)
        self._ring_rc = RING_RADIUS_CELLS * np.column_stack([np.sin(angles), np.cos(angles)])

    def _add_reveals(self) -> None:
        """One artist per revealed mark, hidden until its step."""
        self.reveals: list[list[Artist]] = []
        for step in self.figure_description.steps:
            artists: list[Artist] = []
            for mark in step.reveals:
                if isinstance(mark, Text):
                    artist: Artist = self._label(mark, _Z_REVEAL_TEXT)
                elif isinstance(mark, Shade):
                    artist = self._shade_artist(mark, self.band[mark.grid] + _Z_REVEAL)
                else:
                    raise ValueError(f"a step can reveal texts and shades, not {mark!r}")
                artist.set_visible(False)
                artists.append(artist)
                self.moving.append(artist)
            self.reveals.append(artists)
        self._revealed_upto = -1  # reveals shown are those of steps 0..this
        # Per step, the revealed texts (lines are cut around them from that step on).
        self._revealed_labels = [
            [a for a in artists if isinstance(a, Label)] for artists in self.reveals
        ]

    def _shade_polygons(self, z: float) -> _Polygons:
        """An empty collection for shaded cells and outlines (:meth:`_set_shade` fills it)."""
        return _Polygons([], edgecolors=[_rgb(self.theme.line)], joinstyle="miter", zorder=z)

    def _shade_artist(self, mark: Shade, z: float) -> PolyCollection:
        artist = self._shade_polygons(z)
        self._set_shade(artist, [mark])
        self.surface.add(artist)
        return artist

    def _set_shade(
        self,
        artist: PolyCollection,
        marks: list[Shade],
        outlines: list[Outline] = (),  # type: ignore[assignment]
    ) -> None:
        """Shaded cells (with borders), then unfilled outlines, in one collection."""
        if not marks and not outlines:
            if len(artist.get_paths()):
                artist.set_verts([])
            return
        name = (marks or outlines)[0].grid
        plane = self.renderer.layout.plane(name)
        grid = self.figure_description.grid(name)
        cells = [cell for mark in marks for cell in mark.cells]
        boxes = [plane.rect(*m.box) for m in outlines]
        verts = plane.cells_corners(cells)
        # One (N, 4, 2) array: matplotlib's fast path, one template for every polygon.
        artist.set_verts(np.concatenate([verts, np.reshape(boxes, (-1, 4, 2))]) if boxes else verts)
        # A shaded empty cell shows the (opaque) shaded background, which keeps
        # a transparent figure's window visible.
        # Colours as one (N, 4) float array: matplotlib converts a list colour by colour.
        shaded = self._shaded_rgba
        faces = (*(shaded[grid.fill(cell)] for cell in cells), *[(0.0, 0.0, 0.0, 0.0)] * len(boxes))
        width, window = self._widths
        artist.set_styles(faces, (width,) * len(cells) + (window,) * len(boxes))

    @functools.cached_property
    def _shaded_rgba(self) -> dict[str | None, tuple[float, float, float, float]]:
        """Every fill role's colour under the shade (worked out once, not per cell and frame)."""
        theme = self.theme
        return {fill: _rgb(theme.shaded(_fill_rgb(theme, fill))) for fill in (None, *FILLS)}

    # -- moving --------------------------------------------------------------
    def set_step(self, index: int) -> None:
        """Put the moving artists where they are at step ``index``."""
        layout = self.renderer.layout
        step = self.figure_description.steps[index]
        by_grid: dict[tuple[type, str], list[Any]] = {}
        for mark in step.marks:
            key = mark.target if isinstance(mark, Link) else mark.grid
            by_grid.setdefault((type(mark), key), []).append(mark)
        texts = [  # every text shown at this step
            self.mark_labels[mark]
            for (kind, _), marks in by_grid.items()
            if kind is Text
            for mark in marks
        ]
        if not self.animated:  # a still draws each text's own artist
            for label in self._shown:
                label.set_visible(False)
            for label in texts:
                label.set_visible(True)
            self._shown = texts
        if self.text_layers:
            paths: dict[tuple[float, tuple[float, ...]], list[MplPath]] = {}
            for label in texts:
                paths.setdefault((label.zorder, label.get_facecolor()), []).append(label.get_path())
            for key, layer in self.text_layers.items():
                layer.set_path(_joined(paths.get(key, [])))
        # Reveals change only between the last step set and this one (all of
        # them when going back), not over every step each frame.
        upto = self._revealed_upto
        changed = range(len(self.reveals)) if index < upto else range(upto + 1, index + 1)
        for k in changed:
            for artist in self.reveals[k]:
                artist.set_visible(k <= index)
        self._revealed_upto = index
        texts_shown: _TextBoxes | None = None  # when a link needs them
        for name, shades in self.shades.items():
            outlines = by_grid.get((Outline, name), [])
            self._set_shade(shades, by_grid.get((Shade, name), []), outlines)
        for name, links in self.links.items():
            segments = [
                part for m in by_grid.get((Link, name), []) for part in _link_segments(layout, m)
            ]
            if segments:
                if texts_shown is None:
                    revealed = [a for step in self._revealed_labels[: index + 1] for a in step]
                    texts_shown = _TextBoxes([*texts, *revealed])
                near = texts_shown.near(segments) + self._static_texts.near(segments)
                if near:
                    segments = clip_outside_boxes(segments, [text.box_px for text in near])
            links.set_segments(segments)
        for name, circles in self.rings.items():
            plane, rings = layout.plane(name), by_grid.get((Ring, name), [])
            centres = np.array([(m.cell[0] + 0.5, m.cell[1] + 0.5) for m in rings]).reshape(
                -1, 1, 2
            )
            circles.set_verts(plane.points(centres + self._ring_rc))
            if rings:
                circles.set_edgecolors([self._ring_colour(m) for m in rings])
        # One equation shown: hide the last one, not every step's each frame.
        if self.equations and self._equation_shown != index:
            if self._equation_shown is not None:
                self.equations[self._equation_shown].set_visible(False)
            self.equations[index].set_visible(True)
            self._equation_shown = index

    def _ring_colour(self, mark: Ring) -> tuple[float, float, float, float]:
        fill = _fill_rgb(self.theme, self.figure_description.grid(mark.grid).fill(mark.cell))
        return _rgb(self.theme.text_on(self.theme.shaded(fill)))

    def _draw_background(self) -> None:
        """Draw the static scene (animated artists are skipped) and save its pixels.

        As a figure draws itself: its background, then its artists by zorder
        (ties in the order they were added).
        """
        agg = self.agg
        agg.clear()
        # The renderer's own pixels (a writable view, drawn into in place) ...
        self.pixels = np.asarray(agg.buffer_rgba())
        if not self.renderer.style.transparent:
            # The figure's background rectangle covers every pixel whole. One
            # 32-bit word a pixel: a fill of four separate bytes is ~5x slower.
            r, g, b = self.theme.background
            words = self.pixels.view(np.dtype("<u4"))
            words[...] = r | g << 8 | b << 16 | 255 << 24
        static = [a for a in self.surface.artists if not a.get_animated()]
        with _pinned_rc():
            for artist in sorted(static, key=lambda artist: artist.get_zorder()):
                artist.draw(agg)
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
        renderer = self.agg
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

    def blit(self, index: int) -> np.ndarray:
        """Draw one step over the saved background; the canvas's pixels, read-only.

        Only what the previous step drew over is restored. Revealed marks are
        drawn into the background the first step they appear (unless their
        grid is redrawn every frame); going back to an earlier step redraws
        the background. The array returned is the canvas itself, drawn over
        by the next call.
        """
        if not _drawing_rc_pinned():
            with _pinned_rc():
                return self._blit(index)
        return self._blit(index)

    def _blit(self, index: int) -> np.ndarray:
        if index < self._last_index:
            self._draw_background()
        self._last_index = index
        self.set_step(index)
        _copy_box(self.pixels, self.background, self._dirty)
        settled = [
            artist
            for artists in self.reveals[: index + 1]
            for artist in artists
            if id(artist) not in self._baked and not self._on_dynamic(artist)
        ]
        if settled:
            _copy_box(self.background, self.pixels, self._draw(settled))
            self._baked.update(id(artist) for artist in settled)
        self._dirty = self._draw(
            [
                a
                for a in self.moving
                if a.get_visible() and id(a) not in self._baked and not _is_empty(a)
            ]
        )
        return self.frame_view

    def _on_dynamic(self, artist: Artist) -> bool:
        band = math.floor(artist.get_zorder() / 10.0)
        return self.figure_description.grids[band].name in self.dynamic


def _is_empty(artist: Artist) -> bool:
    """A collection without paths: drawing it changes no pixel (skipped, it costs ~0.1 ms)."""
    return isinstance(artist, Collection) and not len(artist.get_paths())


def _link_segments(layout: Layout, mark: Link) -> list[Segment]:
    """The visible lines of a link, in image pixels (see :class:`Link`'s styles)."""
    if mark.style == "corners":
        return layout.connectors(mark.source, mark.source_box, mark.target, mark.target_box)
    source, target = layout.plane(mark.source), layout.plane(mark.target)
    if layout.kind == "flat":
        # The sides facing the other grid (not the other box: a far diagonal
        # line would then leave through a neighbouring cell).
        (sx, sy), (tx, ty) = (p.point(p.rows / 2.0, p.cols / 2.0) for p in (source, target))
        dx, dy = tx - sx, ty - sy
        horizontal = abs(dx) >= abs(dy)
        ends = []
        for plane, box, sign in ((source, mark.source_box, 1.0), (target, mark.target_box, -1.0)):
            top, left, bottom, right = box
            forward = sign * (dx if horizontal else dy) > 0
            if horizontal:  # the middle of the right or left side
                ends.append(plane.point((top + bottom) / 2.0, right if forward else left))
            else:  # of the bottom or top side
                ends.append(plane.point(bottom if forward else top, (left + right) / 2.0))
        return [(ends[0], ends[1])]
    # Oblique: centre to centre, hidden behind the grids in front as corner
    # lines are: the corner lines of two boxes shrunk to their centres (all
    # four alike; keep one).
    centres = []
    for top, left, bottom, right in (mark.source_box, mark.target_box):
        r, c = (top + bottom) / 2.0, (left + right) / 2.0
        centres.append((r, c, r, c))
    parts = layout.connectors(mark.source, centres[0], mark.target, centres[1])  # type: ignore[arg-type]
    return parts[: len(parts) // 4]


class _TextBoxes:
    """Texts that lines are cut around, and which of them a frame's lines may meet.

    Judged by the box of each outline's vertices, which holds its ink (a
    curve stays within its control points) and costs two reductions, not
    the exact box's curve arithmetic; the boxes are one array, made when
    first asked (a figure with numbers shows hundreds of texts, and a
    frame's lines come near a few).
    """

    def __init__(self, texts: list[Outlined]) -> None:
        self.texts = texts
        self._boxes: np.ndarray | None = None

    def near(self, segments: list[Segment]) -> list[Outlined]:
        """The texts the segments' bounding box may meet (the others cannot cut them)."""
        if not self.texts:
            return []
        if self._boxes is None:
            self._boxes = np.array(
                [(a, b, c, d) for text in self.texts for (a, b), (c, d) in [text.vertex_box_px]]
            )
        points = np.array([p for s in segments for p in s])
        (x0, y0), (x1, y1) = (
            points.min(axis=0) - TEXT_CLEARANCE_PX,
            points.max(axis=0) + TEXT_CLEARANCE_PX,
        )
        a, b, c, d = self._boxes.T
        meets = (a <= x1) & (c >= x0) & (b <= y1) & (d >= y0)
        return [self.texts[k] for k in np.flatnonzero(meets)]


__all__ = ["Label", "RenderError", "Renderer", "Style", "Surface"]
