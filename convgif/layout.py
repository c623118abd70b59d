"""Where things go: the plane -> pixel transforms of a figure.

Pure numpy (no matplotlib): the renderer draws with these transforms and the
tests probe pixels with the very same ones.

A plane is a grid of cells in its own coordinates, ``(row, col)`` with the
grid's top-left corner at ``(0, 0)`` and one unit per cell. It is mapped to
image pixels (origin at the image's top-left corner, ``y`` down) by an affine
map. A figure has any number of grids (:class:`convgif.figures.model.Grid`),
grouped in levels. In the ``oblique`` layout every plane is slanted the way
the guide's TikZ figures are (``yslant=0.5, xslant=-0.7``), each level raised
above the one below; in the ``flat`` layout they are plain 2-D grids, side by
side, on whole pixels.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from convgif.figures.model import Cell, Grid

LayoutKind = Literal["oblique", "flat"]
LAYOUTS: tuple[LayoutKind, ...] = ("oblique", "flat")

# Image-pixel displacement, in cells, of one column and of one row. TikZ's
# yslant=0.5 after xslant=-0.7 maps (x, y) to (x - 0.7 y, 0.5 x + 0.65 y) with
# y up; a row is y = -1 and the image's y axis points down.
OBLIQUE_COL = (1.0, -0.5)
OBLIQUE_ROW = (0.7, 0.65)

# Spacing, in cells. Measured on the guide's figures: a margin of about two
# thirds of a cell all round (20 px of white around the ink, TikZ standalone's
# border: it is clear of the lines' outer edges, not of their centres); the
# output plane's lowest edge clears the input plane by about 0.8 cell.
MARGIN_CELLS = 0.66
OBLIQUE_CLEARANCE_CELLS = 0.8
FLAT_GAP_CELLS = 1.5
CAPTION_GAP_CELLS = 0.4
# A deck's planes (channels) are each shifted by this much, in cells (x right,
# y down), from the one before; in the oblique view a plane is then raised
# until it clears the one before by DECK_CLEARANCE_CELLS, so that a window
# shaded through the whole deck (a 3-D filter) shows on every plane: an
# exploded stack, closer than two levels (OBLIQUE_CLEARANCE_CELLS). Shifted
# left (back, against the rows), a plane needs less raising to clear the one
# before: the deck recedes like a staircase and stays compact.
DECK_OFFSET_CELLS = (-2.5, 0.0)
DECK_CLEARANCE_CELLS = 0.2
# Gap between a label and its grid, in cells.
LABEL_GAP_CELLS = 0.3

Segment = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Plane:
    """One grid placed in the image by an affine map.

    Attributes
    ----------
    rows, cols
        Grid size in cells.
    origin
        Image pixel ``(x, y)`` of the grid's top-left corner.
    col_px, row_px
        Image pixel displacement of one column and of one row.
    """

    rows: int
    cols: int
    origin: tuple[float, float]
    col_px: tuple[float, float]
    row_px: tuple[float, float]

    @property
    def matrix(self) -> np.ndarray:
        """``2x2`` map from ``(row, col)`` offsets to pixel ``(x, y)`` offsets."""
        return np.array(
            [[self.row_px[0], self.col_px[0]], [self.row_px[1], self.col_px[1]]], dtype=float
        )

    @functools.cached_property
    def _affine(self) -> tuple[np.ndarray, np.ndarray]:
        # Made once: a frame maps points on its planes dozens of times.
        return self.matrix.T, np.asarray(self.origin, dtype=float)

    def points(self, rc: np.ndarray | list[tuple[float, float]]) -> np.ndarray:
        """Pixel ``(x, y)`` of plane points ``(row, col)`` (any leading shape)."""
        matrix_t, origin = self._affine
        return np.asarray(rc, dtype=float) @ matrix_t + origin

    def point(self, row: float, col: float) -> tuple[float, float]:
        """Pixel ``(x, y)`` of one plane point (plain floats: a frame asks for dozens)."""
        (rx, ry), (cx, cy), (ox, oy) = self.row_px, self.col_px, self.origin
        return (row * rx + col * cx + ox, row * ry + col * cy + oy)

    def rect(self, top: float, left: float, bottom: float, right: float) -> np.ndarray:
        """The four pixel corners of a plane rectangle, clockwise from its top-left."""
        return self.points([(top, left), (top, right), (bottom, right), (bottom, left)])

    def cell_corners(self, cell: Cell) -> np.ndarray:
        """The four pixel corners of a cell, clockwise from its top-left (``4x2``)."""
        r, c = cell
        return self.rect(r, c, r + 1, c + 1)

    def cells_corners(self, cells: list[Cell] | tuple[Cell, ...]) -> np.ndarray:
        """Corners of many cells at once (``Nx4x2``)."""
        if not cells:
            return np.zeros((0, 4, 2))
        rc = np.asarray(cells, dtype=float)[:, None, :]
        unit = np.array([(0, 0), (0, 1), (1, 1), (1, 0)], dtype=float)[None, :, :]
        return self.points(rc + unit)

    def cell_center(self, cell: Cell) -> tuple[float, float]:
        """Pixel ``(x, y)`` of a cell's centre."""
        return self.point(cell[0] + 0.5, cell[1] + 0.5)

    def outline(self) -> np.ndarray:
        """The grid's four pixel corners, clockwise from its top-left."""
        return self.rect(0, 0, self.rows, self.cols)


@dataclass(frozen=True)
class Layout:
    """The placement of a whole figure.

    Attributes
    ----------
    kind
        ``oblique`` or ``flat``.
    width_px, height_px
        Image size.
    cell_px
        Side of a cell, in pixels (before slanting).
    planes
        Every grid's plane, by grid name, in drawing order.
    levels
        Every grid's level (a link is hidden behind grids of higher levels in
        the oblique view).
    labels
        Every label's anchor: pixel ``(x, y)`` and horizontal alignment
        (``right``: the text ends there, centred vertically; ``center``: the
        text's bottom centre).
    equation_xy, caption_xy
        Pixel ``(x, y)`` of the equation's and the caption's top centre, or None.
    indices
        Every grid's index in its level's deck (a deck's later planes lie
        over its earlier ones, and hide links from them as higher levels do).
    """

    kind: LayoutKind
    width_px: int
    height_px: int
    cell_px: int
    planes: dict[str, Plane]
    levels: dict[str, int]
    labels: dict[str, tuple[float, float, str]]
    equation_xy: tuple[float, float] | None
    caption_xy: tuple[float, float] | None
    indices: dict[str, int] = field(default_factory=dict)

    def plane(self, name: str) -> Plane:
        """The plane of a grid."""
        try:
            return self.planes[name]
        except KeyError:
            raise ValueError(f"no grid named {name!r}") from None

    def connectors(
        self, source: str, source_box: tuple[int, int, int, int], target: str,
        target_box: tuple[int, int, int, int],
    ) -> list[Segment]:  # fmt: skip
        """The lines from the corners of a box on one grid to those of a box on another.

        Returns
        -------
        list of segments
            The visible parts. In the oblique view a grid of a higher level
            than the source lies in front of the lines, so a line's part over
            it is hidden, as in the guide's figures; the flat view has no
            depth and shows whole lines. A later plane of the source's own deck
            hides them too.
        """
        starts = self.plane(source).rect(*source_box)
        ends = self.plane(target).rect(*target_box)
        if self.kind == "flat":
            # No depth to hide lines behind: only the two lines between the
            # boxes' facing sides, which cross neither box's own cells.
            return [_segment(starts[i], ends[j]) for i, j in _facing(starts, ends)]
        segments = [_segment(p0, p1) for p0, p1 in zip(starts, ends, strict=True)]
        for edges in self._front_edges((self.levels[source], self.indices.get(source, 0))):
            segments = [part for s in segments for part in _clip_outside(*s, edges)]
        return segments

    def _front_edges(self, depth: tuple[int, int]) -> list[tuple[_Edge, ...]]:
        """The edges of every plane in front of a ``(level, index)`` (worked out once each)."""
        cache = self.__dict__.setdefault("_edges_cache", {})
        if depth not in cache:
            cache[depth] = [
                _inward_edges(plane.outline())
                for name, plane in self.planes.items()
                if (self.levels[name], self.indices.get(name, 0)) > depth
            ]
        return cache[depth]  # type: ignore[no-any-return]


# An edge of a convex polygon: a point on it and its inward normal, (ax, ay, nx, ny).
_Edge = tuple[float, float, float, float]


def _inward_edges(polygon: np.ndarray) -> tuple[_Edge, ...]:
    """The edges of a convex polygon, each with its normal pointing inwards."""
    corners = [(float(x), float(y)) for x, y in polygon]
    cx = sum(x for x, _ in corners) / len(corners)
    cy = sum(y for _, y in corners) / len(corners)
    edges = []
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        nx, ny = ay - by, bx - ax  # the edge's normal ...
        if nx * (cx - ax) + ny * (cy - ay) < 0:
            nx, ny = -nx, -ny  # ... pointing inwards
        edges.append((ax, ay, nx, ny))
    return tuple(edges)


def clip_outside(p0: np.ndarray, p1: np.ndarray, polygon: np.ndarray) -> list[Segment]:
    """The parts of segment ``p0``-``p1`` outside a convex polygon (Cyrus-Beck).

    In plain floats: it runs four times a frame on 2-vectors, where numpy's
    per-call overhead was most of its cost (about a sixth of a blitted frame).
    """
    return _clip_outside(p0, p1, _inward_edges(polygon))


def _clip_outside(p0: np.ndarray, p1: np.ndarray, edges: tuple[_Edge, ...]) -> list[Segment]:
    x0, y0 = float(p0[0]), float(p0[1])
    dx, dy = float(p1[0]) - x0, float(p1[1]) - y0
    t_in, t_out = 0.0, 1.0
    for ax, ay, nx, ny in edges:
        num = nx * (x0 - ax) + ny * (y0 - ay)
        den = nx * dx + ny * dy
        if abs(den) < 1e-12:
            if num < 0:
                return [_segment(p0, p1)]  # parallel to this edge and outside it
            continue
        t = -num / den
        if den > 0:
            t_in = max(t_in, t)
        else:
            t_out = min(t_out, t)
    if t_in >= t_out:
        return [_segment(p0, p1)]
    pieces = []
    if t_in > 1e-9:
        pieces.append(((x0, y0), (x0 + t_in * dx, y0 + t_in * dy)))
    if t_out < 1 - 1e-9:
        pieces.append(((x0 + t_out * dx, y0 + t_out * dy), (float(p1[0]), float(p1[1]))))
    return pieces


def _facing(starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, int]]:
    """Corner pairs (source, target) of two upright boxes' facing sides.

    Corners are clockwise from the top-left: 0 top-left, 1 top-right,
    2 bottom-right, 3 bottom-left.
    """
    dx, dy = ends.mean(axis=0) - starts.mean(axis=0)
    if abs(dx) >= abs(dy):
        return [(1, 0), (2, 3)] if dx > 0 else [(0, 1), (3, 2)]
    return [(3, 0), (2, 1)] if dy > 0 else [(0, 3), (1, 2)]


def _segment(a: np.ndarray, b: np.ndarray) -> Segment:
    return ((float(a[0]), float(a[1])), (float(b[0]), float(b[1])))


def _span_y(polygon: np.ndarray, x: float) -> tuple[float, float] | None:
    """Lowest and highest pixel ``y`` of a convex polygon on the vertical line at ``x``."""
    ys = []
    for a, b in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        lo, hi = sorted((a[0], b[0]))
        if lo - 1e-9 <= x <= hi + 1e-9:
            if hi - lo < 1e-12:
                ys.extend((a[1], b[1]))
            else:
                t = (x - a[0]) / (b[0] - a[0])
                ys.append(a[1] + t * (b[1] - a[1]))
    return (min(ys), max(ys)) if ys else None


def _raise_above(lower: np.ndarray, upper: np.ndarray, clearance: float) -> float:
    """Vertical shift (pixels, negative is up) that puts ``upper`` ``clearance`` above ``lower``.

    Both are convex polygons; the smallest vertical gap between ``upper``'s
    bottom and ``lower``'s top, over the x range they share, becomes
    ``clearance``. Both boundaries are piecewise linear, so checking every
    vertex x suffices.
    """
    xs = sorted({float(x) for x in np.concatenate([lower[:, 0], upper[:, 0]])})
    lo = max(lower[:, 0].min(), upper[:, 0].min())
    hi = min(lower[:, 0].max(), upper[:, 0].max())
    gaps = []
    for x in [lo, hi, *xs]:
        if not lo <= x <= hi:
            continue
        below, above = _span_y(lower, x), _span_y(upper, x)
        if below is not None and above is not None:
            gaps.append(below[0] - above[1])
    if not gaps:  # no shared x range: line the centres up instead
        return float(lower[:, 1].min() - upper[:, 1].max() - clearance)
    return float(min(gaps) - clearance)


def make_layout(
    grids: Sequence[Grid],
    kind: LayoutKind = "oblique",
    cell_px: int = 30,
    arrangement: str = "stack",
    line_px: float = 0.0,
    label_sizes_px: dict[str, tuple[float, float]] | None = None,
    equation_size_px: tuple[float, float] | None = None,
    caption_size_px: tuple[float, float] | None = None,
) -> Layout:
    """Place every grid, its label, the equation and the caption, and size the image.

    Parameters
    ----------
    grids
        The figure's grids; their ``level`` and ``index`` say where they go.
    kind
        ``oblique`` (the guide's view) or ``flat`` (plain 2-D). The ``row``
        and ``column`` arrangements are always flat.
    cell_px
        Side of a cell in pixels; everything else is proportional to it.
    arrangement
        ``stack``: levels above one another (oblique) or left to right
        (flat), each level's grids a deck; ``row``: levels left to right,
        top-aligned (matrices); ``column``: levels bottom to top.
    line_px
        Width of the planes' outer lines, in pixels: the margin is measured
        from their outer edges, half a line beyond the planes' corners.
    label_sizes_px
        Width and height of each grid's label, by grid name, if labels are drawn.
    equation_size_px, caption_size_px
        Width and height of the text blocks under the figure, if any.
    """
    if kind not in LAYOUTS:
        raise ValueError(f"--layout: must be one of {', '.join(LAYOUTS)}, got {kind!r}")
    if not grids:
        raise ValueError("a layout needs at least one grid")
    s = float(cell_px)
    oblique = kind == "oblique" and arrangement == "stack"
    if oblique:
        col = (OBLIQUE_COL[0] * s, OBLIQUE_COL[1] * s)
        row = (OBLIQUE_ROW[0] * s, OBLIQUE_ROW[1] * s)
        origins = _oblique_origins(grids, s, col, row)
    else:
        col, row = (s, 0.0), (0.0, s)
        origins = _flat_origins(grids, s, arrangement)
    planes = {
        g.name: Plane(g.rows, g.cols, origin=origins[g.name], col_px=col, row_px=row) for g in grids
    }
    corners = np.concatenate([p.outline() for p in planes.values()])
    labels = _label_anchors(planes, oblique, s)
    boxes = [corners]
    for name, (w, h) in (label_sizes_px or {}).items():
        boxes.append(_label_box(labels[name], w, h))
    x0, y0 = np.concatenate(boxes).min(axis=0)
    x1, y1 = np.concatenate(boxes).max(axis=0)
    scene_w, scene_h = x1 - x0, y1 - y0
    # A whole number of pixels, so a flat figure's lines stay on whole pixels.
    margin = round(MARGIN_CELLS * s + line_px / 2.0)
    width = scene_w + 2 * margin
    height = scene_h + 2 * margin
    blocks_y = []
    for size in (equation_size_px, caption_size_px):
        if size is None:
            blocks_y.append(None)
            continue
        blocks_y.append(height - margin + CAPTION_GAP_CELLS * s)
        width = max(width, size[0] + 2 * margin)
        height += CAPTION_GAP_CELLS * s + size[1]
    width_px, height_px = math.ceil(width - 1e-6), math.ceil(height - 1e-6)
    # Shift the scene to whole pixels (centred when a text block is wider).
    shift_x = math.floor((width_px - scene_w) / 2.0) - x0
    shift_y = margin - y0
    planes = {name: _moved(plane, shift_x, shift_y) for name, plane in planes.items()}
    labels = {n: (x + shift_x, y + shift_y, ha) for n, (x, y, ha) in labels.items()}
    equation_xy, caption_xy = (
        None if y is None else (width_px / 2.0, y) for y in blocks_y
    )  # fmt: skip
    return Layout(
        kind=kind if arrangement == "stack" else "flat",
        width_px=width_px,
        height_px=height_px,
        cell_px=cell_px,
        planes=planes,
        levels={g.name: g.level for g in grids},
        indices={g.name: g.index for g in grids},
        labels=labels if label_sizes_px else {},
        equation_xy=equation_xy,
        caption_xy=caption_xy,
    )


def _levels(grids: Sequence[Grid]) -> list[list[Grid]]:
    """The grids by level (ascending), each level's grids by index."""
    by_level: dict[int, list[Grid]] = {}
    for grid in grids:
        by_level.setdefault(grid.level, []).append(grid)
    return [sorted(by_level[level], key=lambda g: g.index) for level in sorted(by_level)]


def _oblique_origins(
    grids: Sequence[Grid], s: float, col: tuple[float, float], row: tuple[float, float]
) -> dict[str, tuple[float, float]]:
    """The guide's view: each level's deck centred above the level below, clear of it."""
    origins: dict[str, tuple[float, float]] = {}
    below: np.ndarray | None = None
    centre_x = 0.0
    for level in _levels(grids):
        deck: list[Plane] = []
        for k, grid in enumerate(level):
            dx, dy = DECK_OFFSET_CELLS[0] * s * k, DECK_OFFSET_CELLS[1] * s * k
            plane = Plane(grid.rows, grid.cols, (dx, dy), col, row)
            if deck:
                lift = _raise_above(deck[-1].outline(), plane.outline(), DECK_CLEARANCE_CELLS * s)
                plane = _moved(plane, 0.0, min(lift, 0.0))
            deck.append(plane)
        outline = np.concatenate([p.outline() for p in deck])
        if below is None:
            shift_x = shift_y = 0.0
            centre_x = outline[:, 0].mean()
        else:
            # Centre the deck above the first level, then raise it until it clears.
            shift_x = centre_x - outline[:, 0].mean()
            moved = [_moved(p, shift_x, 0.0) for p in deck]
            shift_y = _raise_above(below, _hull(moved), OBLIQUE_CLEARANCE_CELLS * s)
        deck = [_moved(p, shift_x, shift_y) for p in deck]
        for grid, plane in zip(level, deck, strict=True):
            origins[grid.name] = plane.origin
        below = _hull(deck)
    return origins


def _flat_origins(
    grids: Sequence[Grid], s: float, arrangement: str
) -> dict[str, tuple[float, float]]:
    """Plain 2-D: levels left to right (``stack``, ``row``) or bottom to top (``column``).

    A level's grids go top to bottom (or, in a column, left to right); levels
    are centred across (``row``: top-aligned, so matrices' rows line up).
    Origins are whole pixels, so lines stay crisp.
    """
    across = arrangement == "column"
    levels = _levels(grids)
    if across:
        levels = levels[::-1]  # the first level at the bottom
    extents = []  # (along, across) of each level, in cells
    for level in levels:
        sizes = [(g.cols, g.rows) if across else (g.rows, g.cols) for g in level]
        depth = sum(a for a, _ in sizes) + FLAT_GAP_CELLS * (len(sizes) - 1)
        extents.append((max(b for _, b in sizes), depth))
    widest = max(depth for _, depth in extents)
    origins: dict[str, tuple[float, float]] = {}
    position = 0.0
    for level, (length, depth) in zip(levels, extents, strict=True):
        offset = 0.0 if arrangement == "row" else (widest - depth) / 2.0
        for grid in level:
            if across:  # level along y, deck along x
                origins[grid.name] = (round(offset * s), round(position * s))
                offset += grid.cols + FLAT_GAP_CELLS
            else:
                origins[grid.name] = (round(position * s), round(offset * s))
                offset += grid.rows + FLAT_GAP_CELLS
        position += length + FLAT_GAP_CELLS
    return origins


def _hull(planes: list[Plane]) -> np.ndarray:
    """The convex hull of planes' corners (monotone chain), for clearances."""
    points = sorted({(float(x), float(y)) for p in planes for x, y in p.outline()})
    if len(points) <= 2:
        return np.array(points)

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in points:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(points):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


def _label_anchors(
    planes: dict[str, Plane], oblique: bool, s: float
) -> dict[str, tuple[float, float, str]]:
    """Where each grid's label goes: left of a slanted plane, above a flat one."""
    anchors = {}
    for name, plane in planes.items():
        if oblique:
            x, y = plane.point(0, 0)  # the slanted plane's leftmost corner
            anchors[name] = (x - LABEL_GAP_CELLS * s, y, "right")
        else:
            x, y = plane.point(0, plane.cols / 2.0)
            anchors[name] = (x, y - LABEL_GAP_CELLS * s, "center")
    return anchors


def _label_box(anchor: tuple[float, float, str], w: float, h: float) -> np.ndarray:
    x, y, ha = anchor
    if ha == "right":
        return np.array([[x - w, y - h / 2.0], [x, y + h / 2.0]])
    return np.array([[x - w / 2.0, y - h], [x + w / 2.0, y]])


def _moved(plane: Plane, dx: float, dy: float) -> Plane:
    x, y = plane.origin
    return Plane(plane.rows, plane.cols, (x + dx, y + dy), plane.col_px, plane.row_px)


def clip_outside_boxes(
    segments: list[Segment], boxes: Sequence[tuple[float, float, float, float]]
) -> list[Segment]:
    """The parts of segments outside every box ``(x0, y0, x1, y1)`` (texts lines must not cross)."""
    for x0, y0, x1, y1 in boxes:
        # The box's sides, each with its inward normal (as _inward_edges gives them).
        edges = ((x0, y0, 0.0, 1.0), (x1, y0, -1.0, 0.0), (x1, y1, 0.0, -1.0), (x0, y1, 1.0, 0.0))
        kept: list[Segment] = []
        for (ax, ay), (bx, by) in segments:
            if max(ax, bx) < x0 or min(ax, bx) > x1 or max(ay, by) < y0 or min(ay, by) > y1:
                kept.append(((ax, ay), (bx, by)))  # clear of the box: nothing to cut
            else:
                kept += _clip_outside((ax, ay), (bx, by), edges)
        segments = kept
    return segments
